"""Logins to a VM retry what passes (a refused or reset connection), not what does not (a refused key).

Against a real sshd on 127.0.0.1 (tests/remote_host.py) that starts only after the login began: without the
retry the declared checks would fail with the refused connection instead of checking their file, and
`LibvirtMachine.connect` would raise (as it did after cloud-init restarted a guest's sshd right after boot).
"""

from __future__ import annotations

import os
import threading
import time
from types import SimpleNamespace

import paramiko
import pytest
from remote_host import LoopbackSSHD, _free_port, _keygen, sshd_binary

from doctest_runner.checks.testinfra import run_checks
from doctest_runner.model import Check, HostInfo
from doctest_runner.vm.machine import LibvirtMachine

pytestmark = pytest.mark.skipif(sshd_binary() is None or os.geteuid() != 0,
                                reason="needs root and sshd (apt-get install openssh-server; .ci/setup does)")


def test_checks_wait_for_a_login_that_fails_at_first(tmp_path):
    sshd = LoopbackSSHD(tmp_path / "sshd", port=_free_port())
    marker = tmp_path / "marker"
    marker.write_text("hello from the check\n")
    machine = SimpleNamespace(ssh_host="127.0.0.1", ssh_port=sshd.port, user="root", key_path=sshd.key, host_key=None)
    checks = [Check(kind="file", target=str(marker), expect={"exists": True, "contains": "hello from the check"}),
              Check(kind="file", target=str(tmp_path / "absent"), expect={"exists": True})]
    starter = threading.Timer(3.0, sshd.start)
    t0 = time.monotonic()
    starter.start()
    try:
        results = run_checks(machine, checks, [], tmp_path)
    finally:
        starter.join()
        sshd.stop()
    assert time.monotonic() - t0 >= 3.0  # the checks really waited for the late sshd
    assert [(r.passed, r.message) for r in results] == [(True, "ok"), (False, "does not exist")]


def test_machine_connect_retries_a_refused_connection_not_a_refused_key(tmp_path):
    sshd = LoopbackSSHD(tmp_path / "sshd", port=_free_port())
    sshd.workdir.mkdir()
    _keygen(sshd.key)  # the client key exists before its sshd does
    machine = LibvirtMachine(name="doctest-login-retry", ssh_host="127.0.0.1", ssh_port=sshd.port, user="root",
                      key_path=sshd.key, console_log=tmp_path / "console.log", overlay=tmp_path / "overlay.qcow2",
                      host=HostInfo(accel="tcg", why="test"))
    with pytest.raises(OSError):  # nothing listens yet (paramiko: NoValidConnectionsError), and no retry asked for
        machine.connect(retry_s=0)
    starter = threading.Timer(2.0, sshd.start)
    starter.start()
    try:
        client = machine.connect()  # the default retries until sshd answers
        try:
            assert client.get_transport().is_authenticated()
        finally:
            client.close()
        t0 = time.monotonic()
        with pytest.raises(paramiko.AuthenticationException):
            machine.connect(user="nobody")  # a refused login is final at once
        assert time.monotonic() - t0 < 10
    finally:
        starter.join()
        sshd.stop()
