"""Declared checks log in once, retrying a login that fails at first (a busy guest, a remote tunnel).

Against a real sshd on 127.0.0.1 (tests/remote_host.py) that starts only after the checks began: without the
retry the first check would fail with the refused connection instead of checking its file.
"""

from __future__ import annotations

import os
import threading
import time
from types import SimpleNamespace

import pytest
from remote_host import LoopbackSSHD, _free_port, sshd_binary

from doctest_runner.checks.testinfra import run_checks
from doctest_runner.model import Check

pytestmark = pytest.mark.skipif(sshd_binary() is None or os.geteuid() != 0,
                                reason="needs root and sshd (apt-get install openssh-server; .ci/setup does)")


def test_checks_wait_for_a_login_that_fails_at_first(tmp_path):
    sshd = LoopbackSSHD(tmp_path / "sshd", port=_free_port())
    marker = tmp_path / "marker"
    marker.write_text("hello from the check\n")
    machine = SimpleNamespace(ssh_host="127.0.0.1", ssh_port=sshd.port, user="root", key_path=sshd.key)
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
