"""The VM layer: machines from providers behind one typed interface (model.Machine), one lifecycle, one store.

- `lifecycle.py`: the one order of a VM's life (claim, owner record, signal guard, port retry by error kind,
  keep or destroy) and the one run id; `providers/` (cold boot, restore, remote host) implement what differs;
  `fresh.py` picks restore or cold boot for a guide (`fresh_machine`).
- `machine.py`: the libvirt machine and the local libvirt plumbing; `domain.py` its XML (nothing outside this
  package sees domain XML); `state.py` owner records (`list_vms` decides staleness, for doctor too);
  `agent.py` the guest agent (a restored clone's identity, the harness's settings before a guide's first step).
- `accel.py`: host facts, decided once at the command's edge (`decide_host`) and passed down as a HostInfo.
- `store/`: saved states, checkpoints and layers; `remotehost.py`: other libvirt hosts; `pkgcache.py`: the
  guests' package cache; `hostfix.py`: doctor's fixes of the host.
"""

from doctest_runner.vm import hostfix, pkgcache, remotehost, store
from doctest_runner.vm.accel import (
    NESTED_PARAMS,
    choose_accel,
    cpu_virt_flag,
    decide_host,
    qemu_version,
    requested_accel,
)
from doctest_runner.vm.fresh import ensure_state, fresh_machine
from doctest_runner.vm.lifecycle import new_run_id
from doctest_runner.vm.machine import (
    LibvirtMachine,
    connect,
    quiet_paramiko,
    reap_stale,
    remove_run_vms,
    setup_as_root,
)
from doctest_runner.vm.providers import RemoteMachine, boot, boot_remote
from doctest_runner.vm.remotehost import RemoteHost, Scheduler, parse_host, probe_hosts, reap_remote, records_dir
from doctest_runner.vm.state import VMRecord, bases_in_use, list_vms

__all__ = [
    "NESTED_PARAMS",
    "LibvirtMachine",
    "RemoteHost",
    "RemoteMachine",
    "Scheduler",
    "VMRecord",
    "bases_in_use",
    "boot",
    "boot_remote",
    "choose_accel",
    "connect",
    "cpu_virt_flag",
    "decide_host",
    "ensure_state",
    "fresh_machine",
    "hostfix",
    "list_vms",
    "new_run_id",
    "parse_host",
    "pkgcache",
    "probe_hosts",
    "qemu_version",
    "quiet_paramiko",
    "reap_remote",
    "reap_stale",
    "records_dir",
    "remotehost",
    "remove_run_vms",
    "requested_accel",
    "setup_as_root",
    "store",
]
