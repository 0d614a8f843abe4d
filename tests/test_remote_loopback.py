"""Remote hosts for real, against a second libvirt endpoint reached over SSH on loopback (see remote_host.py).

The endpoint is the same libvirtd as qemu:///system, so remote VMs use their own prefix (doctest-remote-)
and their own pool (doctest-runner-test); "nothing left behind there" is checked through the SSH URI:
no domain of the run, no overlay or console file or partial upload in the pool, no owner record here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from remote_host import LoopbackSSHD, sshd_binary

from doctest_runner.vm.remotehost import REMOTE_PREFIX, Forwarder, RemoteHost, parse_host, reap_remote, records_dir

REPO = Path(__file__).resolve().parents[1]
EX = "docs_under_test/examples"
CLEAN = f"{EX}/hello-service.md"
POOL = "doctest-runner-test"

pytestmark = pytest.mark.skipif(sshd_binary() is None or os.geteuid() != 0,
                                reason="needs root and sshd (apt-get install openssh-server; .ci/setup does)")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    with LoopbackSSHD(tmp_path_factory.mktemp("sshd")) as sshd:
        yield sshd


@pytest.fixture
def pool_env(monkeypatch):
    monkeypatch.setenv("DOCTEST_RUNNER_REMOTE_POOL", POOL)
    return {**os.environ, "DOCTEST_RUNNER_REMOTE_POOL": POOL}


def _leftovers(uri: str, prefix: str) -> list[str]:
    """Everything of VMs named `prefix`* on the host and here: domains, pool files, owner records."""
    spec = parse_host(uri)
    with RemoteHost(spec) as rh:
        doms = [d.name() for d in rh.conn.listAllDomains() if d.name().startswith(prefix)]
        pool = rh.pool()
        pool.refresh(0)
        vols = [n for n in pool.listVolumes() if n.startswith(prefix) or n.startswith(".part-")]
        files = [n for n in rh.sftp().listdir(rh.pool_dir(pool)) if n.startswith(prefix) or n.startswith(".part-")]
    records = [p.name for p in records_dir(spec).glob(f"{prefix}*")]
    return doms + vols + files + records


def test_forwarder_tunnels_through_the_ssh_connection(endpoint):
    """A local socket whose connections come out of the SSH host: here, the sshd itself answers."""
    from doctest_runner.vm.remotehost import ssh_client

    client = ssh_client(parse_host(endpoint.uri))
    try:
        fwd = Forwarder(client.get_transport(), "127.0.0.1", endpoint.port)
        for _ in range(3):  # each connection gets its own channel
            with socket.create_connection(("127.0.0.1", fwd.port), timeout=10) as s:
                s.settimeout(10)
                assert s.recv(64).startswith(b"SSH-2.0-OpenSSH")
        closed = Forwarder(client.get_transport(), "127.0.0.1", 1)  # nothing listens there: EOF, no hang
        with socket.create_connection(("127.0.0.1", closed.port), timeout=10) as s:
            s.settimeout(20)
            assert s.recv(64) == b""
        fwd.close()
        closed.close()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", fwd.port), timeout=2).close()
    finally:
        client.close()


def test_probe_matches_the_local_decision(endpoint):
    """Same machine behind both URIs: the remote decision from capabilities must equal the local one."""
    from doctest_runner.vm import choose_accel
    from doctest_runner.vm.remotehost import probe_hosts

    (probe,) = probe_hosts([endpoint.uri])
    assert probe.host.accel == choose_accel(None, env={}).accel
    assert probe.cores == os.cpu_count()
    assert probe.slots >= 1 and probe.free_mb > 0
    assert probe.libvirt_version.count(".") == 2


@pytest.mark.vm
def test_three_example_guides_on_remote_host_match_local_and_leave_nothing(endpoint, pool_env, tmp_path):
    """Three guides of the example set on the loopback SSH host — the clean one with its checks, a permission
    failure under sudo and a command-not-found — give the same verdicts as a local run
    (tests/test_run_examples.py), console logs come back, and nothing of the run is left there. (Three, not all
    ten: every remote guide cold-boots, and the whole set cost 8-10 minutes of the CI budget for no other path.)"""
    from test_run_examples import CLEAN as CLEAN_SET
    from test_run_examples import SEEDED as ALL_SEEDED

    SEEDED = {p: v for p, v in ALL_SEEDED.items() if p in (f"{EX}/ip-forward.md", f"{EX}/missing-tool.md")}
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "doctest_runner", "run", *sorted(CLEAN_SET), *sorted(SEEDED), "--host", endpoint.uri,
         "--no-local",
         "--out", str(out), "--no-progress"],
        cwd=REPO, capture_output=True, text=True, timeout=2400, env=pool_env)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-3000:]
    for path, (line, failed, _cat) in SEEDED.items():
        assert f"{path}:{failed or line}" in proc.stdout, proc.stdout
    assert re.search(rf"host root@127\.0\.0\.1:{endpoint.port}: [1-8] VM slot\(s\) .*acceleration (tcg|kvm)",
                     proc.stdout + proc.stderr)
    report = json.loads((out / "report.json").read_text())
    assert report["host"]["why"].startswith("root@127.0.0.1:")  # the remote host's acceleration is reported
    docs = {d["path"]: d for d in report["docs"]}
    assert set(docs) == set(SEEDED) | CLEAN_SET
    for path in CLEAN_SET:
        assert docs[path]["status"] == "passed", docs[path]
    for path, (line, failed_line, category) in SEEDED.items():  # failed_line None: not pinned by SEEDED
        failed = [(s["line"], s["failed_line"] if failed_line is not None else None, s["category"])
                  for s in docs[path]["steps"] if s["status"] in ("failed", "error")]
        assert failed == [(line, failed_line, category)], (path, failed)
    for path in docs:  # every guide ran on the remote host: its console log came back from there
        logs = list(Path(docs[path]["artifacts"]).glob(f"{REMOTE_PREFIX}*.console.log"))
        assert len(logs) == 1 and "login:" in logs[0].read_text(errors="replace"), path
    assert _leftovers(endpoint.uri, f"{REMOTE_PREFIX}{report['run_id']}") == []


def _start_run(uri: str, out: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "doctest_runner", "run", CLEAN, "--host", uri, "--no-local", "--out", str(out),
         "--no-progress"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _wait_for(cond, proc: subprocess.Popen, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        got = cond()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.vm
def test_sigterm_and_kill_9_leave_nothing_on_the_host(endpoint, pool_env, tmp_path):
    """SIGTERM once the guide runs: the run removes its VM there itself. kill -9 while the VM boots: the owner
    record here lets `reap_remote` remove it later, and only it."""
    spec = parse_host(endpoint.uri)
    out = tmp_path / "term"
    proc = _start_run(endpoint.uri, out, pool_env)
    steps = out / "artifacts" / "docs_under_test_examples_hello-service.md" / "steps"
    _wait_for(lambda: steps.is_dir() and any(steps.iterdir()), proc, 600, "the first step")
    name = json.loads((out / "report.json").read_text())["run_id"]
    assert _leftovers(endpoint.uri, f"{REMOTE_PREFIX}{name}")  # the VM is there while the guide runs
    proc.send_signal(signal.SIGTERM)
    # the VM goes at once; the process then waits for its guide thread, whose session retries the lost guest
    # for up to GuestSession.connect_timeout (120 s) before it gives up
    proc.wait(timeout=300)
    assert proc.returncode != 0
    assert _leftovers(endpoint.uri, f"{REMOTE_PREFIX}{name}") == []

    out = tmp_path / "kill"
    proc = _start_run(endpoint.uri, out, pool_env)
    record = _wait_for(lambda: [p for p in records_dir(spec).glob(f"{REMOTE_PREFIX}*") if (p / "remote.json").exists()
                                and (out / "report.json").exists()], proc, 300, "the VM's owner record")[0]
    with RemoteHost(spec) as rh:
        _wait_for(lambda: any(d.name() == record.name for d in rh.conn.listAllDomains()), proc, 120, "the domain")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert record.name in _leftovers(endpoint.uri, record.name)
    assert reap_remote(spec) == [record.name]
    assert _leftovers(endpoint.uri, record.name) == []
