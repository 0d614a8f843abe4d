"""A loopback "remote" libvirt host for tests: a private sshd on 127.0.0.1 with key-only root login.

The same libvirtd answers both `qemu:///system` and `qemu+ssh://root@127.0.0.1:<port>/system`, but the
second goes through ssh and virt-ssh-helper exactly as a real remote host would; so the remote code path
(tunnelled guest SSH, image upload, remote overlay, remote cleanup) is exercised end to end here.

sshd runs in the foreground (-D) from a temp dir with its own config, host key and authorized key, is
started by the fixture (no systemd needed) and stopped by its pid. Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/bin/sshd")


def sshd_binary() -> str | None:
    for p in SSHD_CANDIDATES:
        if os.access(p, os.X_OK):
            return p
    return shutil.which("sshd")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "doctest-runner-test", "-f", str(path)],
                   check=True, capture_output=True)


@dataclass
class LoopbackSSHD:
    """sshd on 127.0.0.1:<port> serving as the "remote" libvirt host; use as a context manager."""

    workdir: Path
    port: int = 0
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def key(self) -> Path:
        return self.workdir / "client_ed25519"

    @property
    def uri(self) -> str:
        """The libvirt URI for this endpoint (what `--host` takes). `command=` points libvirt at an ssh wrapper
        that keeps the test's throwaway host key out of ~/.ssh/known_hosts."""
        return (f"qemu+ssh://root@127.0.0.1:{self.port}/system?keyfile={self.key}&no_verify=1"
                f"&command={self.workdir / 'ssh'}")

    def start(self, timeout: float = 10) -> LoopbackSSHD:
        binary = sshd_binary()
        if binary is None:
            raise RuntimeError("sshd is not installed (apt-get install openssh-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o700)
        host_key = self.workdir / "host_ed25519"
        for k in (host_key, self.key):
            if not k.exists():
                _keygen(k)
        wrapper = self.workdir / "ssh"
        wrapper.write_text("#!/bin/sh\nexec ssh -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \"$@\"\n")
        os.chmod(wrapper, 0o755)
        auth = self.workdir / "authorized_keys"
        auth.write_text(self.key.with_suffix(".pub").read_text())
        os.chmod(auth, 0o600)
        self.port = self.port or _free_port()
        conf = self.workdir / "sshd_config"
        conf.write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {host_key}\n"
            f"PidFile {self.workdir / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {auth}\n"
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "AllowTcpForwarding yes\n"
            "X11Forwarding no\n"
            "MaxSessions 50\n"
            "MaxStartups 50:30:100\n"
            "Subsystem sftp internal-sftp\n"
            "LogLevel ERROR\n"
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        check = subprocess.run([binary, "-t", "-f", str(conf)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"sshd rejects its test config: {check.stderr.strip()}")
        log = open(self.workdir / "sshd.log", "ab")
        self.proc = subprocess.Popen([binary, "-D", "-e", "-f", str(conf)], stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.proc.returncode}: "
                                   f"{(self.workdir / 'sshd.log').read_text(errors='replace')[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(4).startswith(b"SSH-"):
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"sshd did not answer on 127.0.0.1:{self.port} within {timeout} s")

    def stop(self) -> None:
        """Stop the listener (by pid) and the per-connection children it forked."""
        if self.proc is None:
            return
        with_proc, self.proc = self.proc, None
        children = _children(with_proc.pid)
        with_proc.send_signal(signal.SIGTERM)
        try:
            with_proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with_proc.kill()
            with_proc.wait()
        for c in children:  # sessions still open (they would end with their clients anyway)
            try:
                os.kill(c, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def __enter__(self) -> LoopbackSSHD:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _children(pid: int) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and fields[1] == str(pid):
            out.append(int(p.name))
    return out
