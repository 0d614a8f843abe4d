"""testinfra's paramiko backend with the guest's SSH host key enforced.

testinfra 10.x (testinfra/backend/paramiko.py) reads `StrictHostKeyChecking` from an ssh_config only to turn
checking *off*, never reads `UserKnownHostsFile`, and otherwise accepts any key with a warning. The checks
log in to a guest whose host key the harness knows (the image's, or a restored clone's new one: vm/machine.py),
so this backend makes the login itself from the same ssh_config: the known_hosts file it names is loaded and
an unknown key is refused. Without a pinned known_hosts in the config it is testinfra's backend unchanged.

Declared checks swap it onto their host (`pin`); check modules, which run in a pytest subprocess, load this
module as a plugin (`-p doctest_runner.checks.pinned`) so `paramiko://` hosts there are made with it.
"""

from __future__ import annotations

import functools
from typing import Any

import paramiko
import testinfra.backend
from testinfra.backend.paramiko import ParamikoBackend

CLASS_PATH = f"{__name__}.PinnedParamikoBackend"


def pinned_known_hosts(config: dict[str, Any]) -> str | None:
    """The known_hosts file an ssh_config host entry pins, or None when it does not ask for strict checking."""
    files = config.get("userknownhostsfile")  # one file, as `known_hosts_config` writes it (quotes removed)
    path = files if isinstance(files, str) else (files[0] if files else None)
    if config.get("stricthostkeychecking") != "yes" or not path or path == "/dev/null":
        return None
    return path


class PinnedParamikoBackend(ParamikoBackend):
    """ParamikoBackend whose login checks the host key against the ssh_config's UserKnownHostsFile."""

    @functools.cached_property
    def client(self) -> paramiko.SSHClient:
        config = paramiko.SSHConfig.from_path(self.ssh_config).lookup(self.host.name) if self.ssh_config else {}
        known = pinned_known_hosts(config)
        if known is None:
            return ParamikoBackend.client.func(self)
        client = paramiko.SSHClient()
        client.load_host_keys(known)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        identity = config.get("identityfile")
        try:
            client.connect(config.get("hostname", self.host.name), port=int(config.get("port", 22)),
                           username=config.get("user", self.host.user), timeout=self.timeout,
                           key_filename=identity[0] if identity else None, allow_agent=False, look_for_keys=False)
        except BaseException:
            client.close()
            raise
        return client


def pin(host: Any) -> Any:
    """A testinfra host made with `paramiko://`, switched to the pinned backend before its first login."""
    if isinstance(host.backend, ParamikoBackend) and "client" not in vars(host.backend):
        host.backend.__class__ = PinnedParamikoBackend
    return host


def pytest_configure(config: Any) -> None:
    """As a pytest plugin (check modules' subprocess): `paramiko://` hosts use the pinned backend."""
    testinfra.backend.BACKENDS["paramiko"] = CLASS_PATH
