"""The guests' package cache (vm/pkgcache.py): loopback only, its files under the harness cache, a guest setting
that falls back to the origin, and a size limit. The daemon itself is exercised where apt-cacher-ng is installed."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest

from doctest_runner.vm import pkgcache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCTEST_RUNNER_CACHE", str(tmp_path))
    return tmp_path


def test_config_listens_on_loopback_only_and_keeps_its_files_under_the_cache(cache):
    conf = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "")
                for line in pkgcache.config_text(pkgcache.root()).splitlines() if line)
    assert conf["BindAddress"] == "127.0.0.1"
    assert conf["Port"] == str(pkgcache.PORT)
    for key in ("CacheDir", "LogDir", "PidFile", "SocketPath"):
        assert conf[key].startswith(str(cache / "package-cache")), key
    assert conf["ReportPage"] == ""  # no admin page for guests
    assert not any(k.startswith("Remap-") for k in conf)  # the origin a guide names is the origin fetched


def test_guest_setting_is_valid_shell_and_falls_back_to_direct(tmp_path):
    on, off = pkgcache.guest_setup_command(True), pkgcache.guest_setup_command(False)
    for cmd in (on, off):
        assert subprocess.run(["bash", "-n", "-c", cmd]).returncode == 0
    assert pkgcache.GUEST_CONF in off and pkgcache.GUEST_HELPER in off and off.startswith("rm -f ")
    # run the setting against a scratch root: the helper it writes answers DIRECT when nothing listens
    root = tmp_path / "guest"
    local = on.replace(pkgcache.GUEST_CONF, str(root / "conf")).replace(
        pkgcache.GUEST_HELPER, str(root / "helper")).replace(
        f"mkdir -p {os.path.dirname(pkgcache.GUEST_HELPER)}", f"mkdir -p {root}")
    assert subprocess.run(["bash", "-c", local]).returncode == 0
    assert f'Acquire::http::Proxy-Auto-Detect "{root / "helper"}";' in (root / "conf").read_text()
    assert f'Acquire::http::Proxy-Auto-Detect "{pkgcache.GUEST_HELPER}";' in on
    helper = (root / "helper").read_text().replace(pkgcache.GUEST_HOST, "127.0.0.1")
    with socket.socket() as s:  # a port nothing listens on: the helper must not point apt at it
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    out = subprocess.run(["sh", "-c", helper.replace(str(pkgcache.PORT), str(free))], capture_output=True, text=True)
    assert out.stdout.strip() == "DIRECT"
    with socket.socket() as srv:  # and the cache's address when it answers
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        out = subprocess.run(["sh", "-c", helper.replace(str(pkgcache.PORT), str(port))], capture_output=True,
                             text=True)
    assert out.stdout.strip() == f"http://127.0.0.1:{port}"


def test_prune_drops_least_recently_used_downloads_with_their_head_files(cache):
    data = pkgcache.root() / "data" / "deb.debian.org" / "debian" / "pool"
    data.mkdir(parents=True)
    now = time.time()
    for i, name in enumerate(("old.deb", "mid.deb", "new.deb")):
        f = data / name
        f.write_bytes(b"x" * 64 * 1024)
        (data / f"{name}.head").write_text("HTTP/1.1 200 OK\n")
        os.utime(f, (now - 3000 + i * 1000, now - 3000 + i * 1000))
    size = pkgcache.disk_size()
    assert size >= 3 * 64 * 1024
    freed = pkgcache.prune(size - 1)  # one file too many: the oldest goes
    assert freed >= 64 * 1024
    assert sorted(p.name for p in data.iterdir()) == ["mid.deb", "mid.deb.head", "new.deb", "new.deb.head"]
    pkgcache.prune(0)
    assert list(data.iterdir()) == []


def test_status_without_daemon_is_not_running(cache):
    st = pkgcache.status()
    assert not st.running and st.pid is None and pkgcache.disk_size() == 0
    assert "not running" in st.describe() or "not installed" in st.describe()


@pytest.mark.skipif(not os.path.isfile(pkgcache.DAEMON), reason="apt-cacher-ng not installed")
def test_a_port_held_by_another_program_is_never_used(cache):
    """Guests are only pointed at our own daemon: if anything else answers on the port, nothing starts."""
    held = None
    if not pkgcache._answers():
        held = socket.socket()
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", pkgcache.PORT))
        held.listen()
    try:
        said: list[str] = []
        st = pkgcache.start(log=said.append)
        assert not st.running and st.pid is None
        assert said == [f"package cache: 127.0.0.1:{pkgcache.PORT} is taken by another program; not started"]
    finally:
        if held is not None:
            held.close()


def test_traffic_sums_what_was_fetched_and_served_in_the_window(cache):
    log = pkgcache.root() / "log"
    log.mkdir(parents=True)
    (log / "apt-cacher.log").write_text(
        "1000|I|500|127.0.0.1|deb.debian.org/debian/pool/main/j/jq/jq_1.6.deb\n"
        "1000|O|500|127.0.0.1|deb.debian.org/debian/pool/main/j/jq/jq_1.6.deb\n"
        "2000|O|700|127.0.0.1|deb.debian.org/debian/pool/main/j/jq/jq_1.6.deb\n"
        "2000|I|40|127.0.0.1|deb.debian.org/debian/dists/bookworm/InRelease\n"
        "2000|E|9|127.0.0.1|deb.debian.org/debian/dists/nosuch/InRelease\n"
        "garbage line\n|I|x|\n"
        "3000|O|1|127.0.0.1|late\n")
    assert pkgcache.traffic(0) == (540, 1201)
    assert pkgcache.traffic(1500, 2500) == (40, 700)  # the second run: served from disk, little fetched
    (log / "apt-cacher.log").unlink()
    assert pkgcache.traffic(0) == (0, 0)
