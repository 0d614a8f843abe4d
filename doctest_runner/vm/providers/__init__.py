"""Ways of getting a machine, one module each, over one lifecycle (vm/lifecycle.py): `cold` boots the image,
`restore` brings up a saved state or checkpoint, `remote` cold-boots on another libvirt host. Each implements
only the steps that differ; vm/fresh.py chooses between restore and cold boot."""

from doctest_runner.vm.providers.cold import boot, cold_boot_host_key
from doctest_runner.vm.providers.remote import RemoteMachine, boot_remote
from doctest_runner.vm.providers.restore import RestoreError, identity_script, restore

__all__ = ["RemoteMachine", "RestoreError", "boot", "boot_remote", "cold_boot_host_key", "identity_script", "restore"]
