"""The pool of host keys for restored clones (vm/hostkeys.py), with the host's real ssh-keygen."""

from __future__ import annotations

import os
import shutil
import stat
import threading
import time

import pytest

from doctest_runner.vm import hostkeys

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen (openssh-client)")


def _mode(p) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_empty_pool_gives_nothing_and_a_refill_makes_private_sets(tmp_path):
    claim = tmp_path / "vm"
    claim.mkdir()
    assert hostkeys.take(claim, root=tmp_path) is None
    assert hostkeys.refill(2, root=tmp_path) == 2
    assert hostkeys.refill(2, root=tmp_path) == 0  # already full
    pool = hostkeys.pool_dir(tmp_path)
    sets = sorted(pool.glob("set-*"))
    assert len(sets) == 2 and _mode(pool) == 0o700
    for d in sets:
        assert _mode(d) == 0o700
        assert {p.name for p in d.iterdir()} == {"ed25519", "ed25519.pub", "ecdsa", "ecdsa.pub", "rsa", "rsa.pub"}
        assert all(_mode(d / kind) == 0o600 for kind in ("ed25519", "ecdsa", "rsa"))


def test_each_set_is_taken_once_and_then_gone(tmp_path):
    hostkeys.refill(2, root=tmp_path)
    claim = tmp_path / "vm"
    claim.mkdir()
    first = hostkeys.take(claim, root=tmp_path)
    second = hostkeys.take(claim, root=tmp_path)
    assert first is not None and second is not None
    assert hostkeys.take(claim, root=tmp_path) is None
    assert first["ed25519"] != second["ed25519"]
    for keys in (first, second):
        assert set(keys) == {"ed25519", "ecdsa", "rsa"}
        assert keys["ed25519"][0].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
        assert keys["ed25519"][1].startswith("ssh-ed25519 ") and keys["rsa"][1].startswith("ssh-rsa ")
    assert list(claim.iterdir()) == []  # the claimed copy is deleted once read


def test_racing_restores_never_share_a_set(tmp_path):
    hostkeys.refill(3, root=tmp_path)
    got: list = []
    lock = threading.Lock()

    def grab(i: int) -> None:
        claim = tmp_path / f"vm{i}"
        claim.mkdir()
        keys = hostkeys.take(claim, root=tmp_path)
        with lock:
            got.append(keys)

    threads = [threading.Thread(target=grab, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [k["ed25519"][1] for k in got if k is not None]
    assert len(taken) == 3 and len(set(taken)) == 3  # three sets, three different VMs, three empty-handed


def test_half_written_sets_are_never_taken_and_old_ones_are_cleaned(tmp_path):
    pool = hostkeys.pool_dir(tmp_path)
    pool.mkdir(parents=True)
    fresh, old = pool / "tmp-fresh", pool / "tmp-old"
    for d in (fresh, old):
        d.mkdir()
        (d / "ed25519").write_text("partial")
    past = time.time() - hostkeys.STALE_PARTIAL_S - 5
    os.utime(old, (past, past))
    claim = tmp_path / "vm"
    claim.mkdir()
    assert hostkeys.take(claim, root=tmp_path) is None
    hostkeys.refill(1, root=tmp_path)
    assert fresh.exists() and not old.exists()  # another process may still be writing the fresh one


def test_generate_reports_ssh_keygen_failure_in_one_line(tmp_path):
    with pytest.raises(hostkeys.KeygenError, match="ssh-keygen failed"):
        hostkeys.generate(tmp_path / "missing-folder")
