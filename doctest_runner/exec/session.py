"""Run a guide's steps in the guest over SSH, one terminal-like shell session per guide.

Design (why it looks like this):
- One persistent SSH transport per session; every step is a fresh exec channel running `bash` on a
  generated script (script.py) whose first line sources guest/lib.sh. The library restores the shell
  state a terminal would keep (cwd, variables, functions, aliases, umask, options) and saves it from an
  EXIT trap, so `exit` in a step ends only that step and state carries over from step to step.
- Scripts go up over SFTP, so heredocs and quotes arrive byte for byte.
- Stdin is the channel, held open and never written: a command that reads it blocks instead of getting a
  silent EOF. After `interactive_grace` seconds a root watcher (guest/watch.sh) looks for processes
  blocked reading that very pipe (or pty); when it finds one we mark the step interactive and send EOF
  (closing stdin, or ^D on a pty), so the step continues as with </dev/null, but we know why.
- A timeout runs guest/kill.sh as root: it stops and kills the step's session, process group and every
  descendant (which catches what `sudo` started in a new session); the SSH session stays usable.
- Output arrives through an ordered transport (ssh.py): stdout and stderr interleaved as sent.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import io
import posixpath
import queue
import re
import secrets
import shlex
import stat
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import paramiko

from doctest_runner.exec.output import OnOutput, OutputCollector, interactive_evidence, write_transcript
from doctest_runner.exec.script import build_script, file_step_command, is_reboot_command
from doctest_runner.exec.ssh import OrderedTransport, connect_retry, load_key, set_hook
from doctest_runner.model import DoctestError, ExecResult, Machine, Step
from doctest_runner.shell import ShellState, parse_state
from doctest_runner.wait import Deadline

GUEST_FILES = ("lib.sh", "kill.sh", "watch.sh")
_WATCH_LINE = re.compile(r"^interactive (\d+) (.*)$")


def guest_file(name: str) -> bytes:
    """A helper script shipped in doctest_runner/exec/guest/."""
    return importlib.resources.files("doctest_runner.exec").joinpath("guest", name).read_bytes()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "step"


@dataclass
class _Channel:
    """An exec channel whose traffic lands, in order, in a queue shared by one step's channels."""

    key: str
    chan: paramiko.Channel
    status: int | None = None
    eof: bool = False
    closed: bool = False
    status_at: float | None = None

    @property
    def done(self) -> bool:
        return self.closed or (self.status is not None and self.eof)

    def read(self, stream: str, n: int) -> bytes:
        """Exactly the `n` bytes the hook announced (they are buffered already)."""
        recv = self.chan.recv if stream == "stdout" else self.chan.recv_stderr
        parts: list[bytes] = []
        while n > 0:
            try:
                b = recv(n)
            except TimeoutError:
                break
            if not b:
                break
            parts.append(b)
            n -= len(b)
        return b"".join(parts)


class GuestSession:
    """One guide's shell session in the guest. Use as a context manager; see the module docstring."""

    interactive_grace = 1.0  # seconds a step runs before we start looking for reads from stdin
    watch_interval = 0.5  # how often the watcher looks (seconds)
    eof_grace = 0.5  # after exit status, how long to wait for output to end (background jobs keep it open)
    connect_timeout = 120.0

    def __init__(self, machine: Machine, *, log_dir: Path | None = None):
        self.machine = machine
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self._key = load_key(Path(machine.key_path))
        self._t: OrderedTransport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self.home = ""
        self.dir = ""  # the session's private directory in the guest
        self._n = 0
        self.inline = False  # the login shell is bash: a step's script is the channel's command itself
        self._lingering: list[threading.Thread] = []
        self._lock = threading.Lock()

    # --- lifecycle ----------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Connect and lay out the session directory (`~/.doctest/<id>/`, mode 0700)."""
        self._connect(Deadline(self.connect_timeout))
        sftp = self._require_sftp()
        self.home = sftp.normalize(".")
        base = posixpath.join(self.home, ".doctest")
        with contextlib.suppress(OSError):
            sftp.mkdir(base, 0o700)
        self.dir = posixpath.join(base, secrets.token_hex(4))
        sftp.mkdir(self.dir, 0o700)
        sftp.mkdir(posixpath.join(self.dir, "steps"), 0o700)
        sftp.mkdir(posixpath.join(self.dir, "upload"), 0o700)
        for name in GUEST_FILES:
            sftp.putfo(io.BytesIO(guest_file(name)), posixpath.join(self.dir, name))
        for name in ("state.0", "state.1"):  # created by the user, so root steps writing them keep them the user's
            sftp.putfo(io.BytesIO(b""), posixpath.join(self.dir, name))
        rc, out = self._simple('echo "${BASH_VERSION-}"', timeout=60)
        self.inline = rc == 0 and out.strip() != ""

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._sftp is not None:
                self._sftp.close()
        with contextlib.suppress(Exception):
            if self._t is not None:
                self._t.close()
        self._sftp = None
        self._t = None
        for th in self._lingering:
            th.join(timeout=2)
        self._lingering.clear()

    def _connect(self, deadline: Deadline) -> None:
        m = self.machine
        self._t = connect_retry(m.ssh_host, int(m.ssh_port), m.user, self._key, deadline=deadline,
                                host_key=m.host_key)
        self._sftp = paramiko.SFTPClient.from_transport(self._t)

    def _require_sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            raise DoctestError("guest session is not open")
        return self._sftp

    def _transport(self) -> OrderedTransport:
        if self._t is None or not self._t.is_active():
            raise DoctestError(f"lost the SSH connection to {self.machine.name}")
        return self._t

    # --- files --------------------------------------------------------------------------------------

    def upload(self, local: Path, remote: str) -> None:
        """Copy a local file or directory to the guest; relative `remote` is relative to the user's home.

        Paths the user cannot write (e.g. /etc/...) go through a staging copy and `sudo install`/`cp -a`.
        """
        local = Path(local)
        if not local.exists():
            raise DoctestError(f"fixture {local} does not exist")
        dest = remote if remote.startswith("/") else posixpath.join(self.home, remote)
        if dest.rstrip("/") == self.home or dest.startswith(self.home + "/"):
            try:
                self._put_tree(local, dest)
                return
            except PermissionError:
                pass
        stage = posixpath.join(self.dir, "upload", secrets.token_hex(4), posixpath.basename(dest.rstrip("/")) or "x")
        self._put_tree(local, stage)
        parent = posixpath.dirname(dest.rstrip("/")) or "/"
        rc, out = self._simple(f"sudo -n mkdir -p -- {shlex.quote(parent)} && "
                               f"sudo -n cp -a --no-preserve=ownership -T -- {shlex.quote(stage)} {shlex.quote(dest)}",
                               timeout=120)
        if rc != 0:
            raise DoctestError(f"could not upload {local} to {remote} in the guest: {out.strip()}")

    def upload_all(self, fixtures: Sequence[tuple[str, str]]) -> None:
        """Upload a plan's fixtures, (local, guest path) pairs, before the first step."""
        for local, remote in fixtures:
            self.upload(Path(local), remote)

    def _mkdirs(self, path: str) -> None:
        sftp = self._require_sftp()
        parts: list[str] = []
        p = path
        while p not in ("", "/"):
            try:
                sftp.stat(p)
                break
            except FileNotFoundError:
                parts.append(p)
                p = posixpath.dirname(p)
        for d in reversed(parts):
            sftp.mkdir(d)

    def _put_tree(self, local: Path, remote: str) -> None:
        sftp = self._require_sftp()
        self._mkdirs(posixpath.dirname(remote.rstrip("/")))
        if local.is_dir():
            self._mkdirs(remote)
            for child in sorted(local.iterdir()):
                self._put_tree(child, posixpath.join(remote, child.name))
        else:
            sftp.put(str(local), remote)
            sftp.chmod(remote, stat.S_IMODE(local.stat().st_mode))

    def _write(self, remote: str, data: bytes) -> None:
        with self._require_sftp().open(remote, "wb") as f:
            f.write(data)

    def _read(self, remote: str) -> bytes | None:
        try:
            with self._require_sftp().open(remote, "rb") as f:
                return f.read()
        except (OSError, EOFError, paramiko.SSHException):
            return None

    # --- channels -----------------------------------------------------------------------------------

    def _open(self, key: str, command: str, q: queue.SimpleQueue[tuple], *, pty: bool = False) -> _Channel:
        try:
            chan = self._transport().open_session(timeout=30)
            chan.settimeout(10)
            set_hook(chan, lambda ev, stream, n: q.put((key, time.monotonic(), ev, stream, n)))
            if pty:
                chan.get_pty(term="xterm", width=200, height=50)
            chan.exec_command(command)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise DoctestError(f"SSH to {self.machine.name} failed: {exc}") from None
        return _Channel(key, chan)

    @staticmethod
    def _event(ch: _Channel, t: float, ev: str) -> None:
        if ev == "request" and ch.chan.exit_status_ready() and ch.status is None:
            ch.status = ch.chan.recv_exit_status()
            ch.status_at = t
        elif ev == "eof":
            ch.eof = True
        elif ev == "close":
            ch.closed = True

    def _simple(self, command: str, *, timeout: float | None = 60) -> tuple[int | None, str]:
        """Run a harness command (no session state), return (exit status, stdout+stderr in order)."""
        q: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        ch = self._open("c", command, q)
        col = OutputCollector(time.monotonic())
        deadline = None if timeout is None else Deadline(timeout)
        try:
            while not ch.done:
                wait = 1.0 if deadline is None else deadline.left
                if deadline is not None and deadline.expired:
                    return None, col.output
                try:
                    _, t, ev, stream, n = q.get(timeout=min(wait, 1.0))
                except queue.Empty:
                    if self._t is None or not self._t.is_active():
                        break
                    continue
                if ev == "data":
                    col.feed(t, stream, ch.read(stream, n))
                else:
                    self._event(ch, t, ev)
            col.finish(time.monotonic())
            return ch.status, col.output
        finally:
            set_hook(ch.chan, None)
            ch.chan.close()

    def capture(self, cmd: str, *, root: bool = True, timeout: float = 120) -> str:
        """Harness-side command for artifacts (`journalctl -b`, `dmesg`): output only, no session state."""
        command = f"sudo -n bash -c {shlex.quote(cmd)}" if root else cmd
        _, out = self._simple(command, timeout=timeout)
        return out

    def state(self) -> ShellState:
        """The shell state saved after the last step (empty before the first one)."""
        cur = self._read(posixpath.join(self.dir, "state.cur"))
        raw = self._read(posixpath.join(self.dir, f"state.{cur.decode().strip()}")) if cur else None
        return parse_state(raw.decode("utf-8", "replace")) if raw else ShellState()

    # --- steps --------------------------------------------------------------------------------------

    def run(self, command: str, *, user: str | None = None, timeout: float | None = 600, pty: bool = False,
            line_map: Sequence[int] = (), on_output: OnOutput | None = None, errexit: bool = True,
            name: str | None = None) -> ExecResult:
        """Run one step's command in the session.

        `errexit`: the first failing top-level command ends the step (bare blocks); a prompted command
        runs without it and its status is the command's. `failed_line_index` is the 0-based line of
        `command` that failed (`line_map` maps it to the doc; it is used here only for the log file).
        """
        root = self._is_root(user)
        self._n += 1
        n = self._n
        steps = posixpath.join(self.dir, "steps")
        script = build_script(command, lib_path=posixpath.join(self.dir, "lib.sh"), step_no=n, errexit=errexit,
                              root=root, pid_file=posixpath.join(steps, f"{n}.pid"))
        if self.inline and not root and len(script.text) < 64 * 1024:
            leader = script.text  # sshd runs it with the login shell: no upload, no second bash
        else:
            path = posixpath.join(steps, f"{n}.sh")
            self._write(path, script.text.encode())
            sudo = "sudo -n -H " if root else ""
            leader = f"exec {sudo}bash --noprofile --norc {shlex.quote(path)}"

        q: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        t0 = time.monotonic()
        col = OutputCollector(t0, on_output=on_output, pty=pty)
        step = self._open("step", leader, q, pty=pty)
        chans = {"step": step}
        watcher: _Channel | None = None
        watch_buf = b""
        readers: list[str] = []
        timed_out = False
        killed_at: float | None = None
        lingering = False
        deadline = None if timeout is None else t0 + timeout
        try:
            while not step.done:
                now = time.monotonic()
                if watcher is None and now - t0 >= self.interactive_grace:
                    watch_sh = shlex.quote(posixpath.join(self.dir, "watch.sh"))
                    watcher = self._open("watch", f"exec sudo -n bash {watch_sh}"
                                         f" {shlex.quote(self.dir)} {n} {self.watch_interval}", q)
                    chans["watch"] = watcher
                if deadline is not None and not timed_out and now >= deadline:
                    timed_out = True
                    killed_at = now
                    self._kill(n)
                if killed_at is not None and now - killed_at > 15:
                    break  # the kill did not close the channel: give up on it, the session goes on
                if step.status is not None and not step.eof and now - (step.status_at or now) > self.eof_grace:
                    lingering = True  # a background job still holds stdout: hand it to a drain thread
                    break
                waits = [0.25]
                if watcher is None:
                    waits.append(t0 + self.interactive_grace - now)
                if deadline is not None and not timed_out:
                    waits.append(deadline - now)
                if step.status_at is not None:
                    waits.append(step.status_at + self.eof_grace - now)
                try:
                    key, t, ev, stream, nbytes = q.get(timeout=max(0.001, min(waits)))
                except queue.Empty:
                    if self._t is None or not self._t.is_active():
                        break
                    continue
                ch = chans[key]
                if ev == "data":
                    data = ch.read(stream, nbytes)
                    if key == "step":
                        col.feed(t, stream, data)
                    elif stream == "stdout":
                        watch_buf += data
                        *lines, watch_buf = watch_buf.split(b"\n")
                        for line in lines:
                            m = _WATCH_LINE.match(line.decode(errors="replace"))
                            if m:
                                readers.append(m.group(2))
                                self._release_stdin(step, pty)
                else:
                    self._event(ch, t, ev)
        finally:
            if watcher is not None:
                set_hook(watcher.chan, None)
                watcher.chan.close()
            set_hook(step.chan, None)
            if not (step.done or lingering or timed_out) and self._t is not None and self._t.is_active():
                with contextlib.suppress(Exception):  # interrupted (Ctrl-C, on_output raised): leave nothing behind
                    self._kill(n)
            if lingering:
                self._linger(step.chan, n)
            else:
                step.chan.close()
        dropped = not timed_out and not step.done and not lingering and not (self._t and self._t.is_active())
        if dropped:
            # The connection went away mid-step: most likely the step rebooted or powered off the machine.
            note = "\n[doctest-runner: the SSH connection dropped during this step; did it reboot the machine?]\n"
            col.feed(time.monotonic(), "stderr", note.encode())
            self._reconnect()
        col.finish(time.monotonic())
        duration = time.monotonic() - t0
        exit_code = None if timed_out else step.status
        output = col.output
        failed: int | None = None
        if exit_code not in (None, 0):
            res = self._read(posixpath.join(steps, f"{n}.res"))
            if res:
                parts = res.decode(errors="replace").split()
                if len(parts) == 2 and parts[1].isdigit():
                    failed = script.command_line(int(parts[1]))
        interactive = bool(readers)
        evidence = None
        if (exit_code != 0 or timed_out) and not interactive:
            evidence = interactive_evidence(output)
            interactive = evidence is not None
        result = ExecResult(exit_code=exit_code, output=output, duration_s=round(duration, 3), timed_out=timed_out,
                            interactive=interactive, failed_line_index=failed, transcript=list(col.chunks))
        if self.log_dir is not None:
            src_line = line_map[failed] if failed is not None and failed < len(line_map) else None
            write_transcript(
                self.log_dir / f"{n:03d}-{_slug(name or command.split(chr(10))[0])}.log",
                header={"step": name, "user": "root" if root else self.machine.user, "pty": pty or None,
                        "timeout": timeout, "command": "\n#   ".join(command.split("\n"))},
                chunks=col.chunks,
                footer={"exit": exit_code, "duration_s": result.duration_s, "timed_out": timed_out or None,
                        "interactive": ", ".join(readers) or evidence or (True if interactive else None),
                        "failed_line_index": failed, "failed_doc_line": src_line},
            )
        return result

    def _kill(self, n: int) -> None:
        """Kill step `n`'s process tree as root (retrying while its pid file is not written yet)."""
        kill = f"sudo -n bash {shlex.quote(posixpath.join(self.dir, 'kill.sh'))} {shlex.quote(self.dir)} {n}"
        for _ in range(5):
            rc, _out = self._simple(kill, timeout=60)
            if rc == 0:
                return
            time.sleep(1)

    def _is_root(self, user: str | None) -> bool:
        if user in (None, "", self.machine.user):
            return False
        if user == "root":
            return True
        raise DoctestError(f"steps can run as {self.machine.user} (default) or root, not as {user!r}")

    @staticmethod
    def _release_stdin(step: _Channel, pty: bool) -> None:
        """Give a reader EOF: close stdin (pipe) or type ^D (pty)."""
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            if pty:
                step.chan.send(b"\x04")
            else:
                step.chan.shutdown_write()

    def _linger(self, chan: paramiko.Channel, n: int) -> None:
        """Keep reading a finished step's channel while its background jobs still write to it."""
        log = self.log_dir / f"{n:03d}-background.log" if self.log_dir is not None else None
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)

        def drain() -> None:
            with contextlib.ExitStack() as stack:
                out = stack.enter_context(open(log, "ab")) if log is not None else None
                stack.callback(chan.close)
                with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                    while True:
                        got = b""
                        if chan.recv_ready():
                            got += chan.recv(65536)
                        if chan.recv_stderr_ready():
                            got += chan.recv_stderr(65536)
                        if out is not None and got:
                            out.write(got)
                            out.flush()
                        ended = chan.closed or chan.eof_received or self._t is None or not self._t.is_active()
                        if ended and not chan.recv_ready() and not chan.recv_stderr_ready():
                            break  # the last data can come with EOF and close: read it first
                        if not got:
                            time.sleep(0.2)

        th = threading.Thread(target=drain, name=f"doctest-linger-{n}", daemon=True)
        th.start()
        self._lingering.append(th)

    def run_step(self, step: Step, *, default_timeout: float | None = 600,
                 on_output: OnOutput | None = None) -> ExecResult:
        """Run a planned step with its options (user, timeout, pty, reboot, expect_exit)."""
        opts = step.options
        timeout = opts.timeout if opts.timeout is not None else default_timeout
        t0 = time.monotonic()
        if opts.reboot and is_reboot_command(step.command):
            self.reboot()
            return ExecResult(exit_code=0, output="", duration_s=round(time.monotonic() - t0, 3))
        user = opts.user
        if step.kind == "file":
            if not step.file_path:
                raise DoctestError("file step without a path", step.path, step.line)
            content = posixpath.join(self.dir, "steps", f"{self._n + 1}.content")
            text = step.command if step.command.endswith("\n") else step.command + "\n"
            self._write(content, text.encode())
            dest = step.file_path
            if user is None and dest.startswith("/") and not dest.startswith((self.home + "/", "/tmp/")):
                user = "root"  # a reader writes /etc/... with sudo
            command = file_step_command(content, dest)
            line_map: Sequence[int] = (step.line,)
        elif not step.command.strip():
            return ExecResult(exit_code=0, output="", duration_s=0.0)
        else:
            command = step.command
            line_map = step.line_map
        result = self.run(command, user=user, timeout=timeout, pty=opts.pty, line_map=line_map,
                          on_output=on_output, errexit=step.kind != "prompted", name=step.id)
        if step.kind == "file" and result.failed_line_index is not None:
            result.failed_line_index = 0
        if opts.reboot and result.exit_code == opts.expect_exit:
            self.reboot()
            result.duration_s = round(time.monotonic() - t0, 3)
        if result.exit_code == opts.expect_exit:
            result.failed_line_index = None
        return result

    def _reconnect(self) -> None:
        """Connect again after the guest went away (state lives on its disk); DoctestError if it stays away."""
        self.close()
        try:
            self._connect(Deadline(self.connect_timeout))
        except TimeoutError as exc:
            raise DoctestError(f"lost {self.machine.name} and could not reconnect: {exc}") \
                from None

    # --- reboot -------------------------------------------------------------------------------------

    def boot_id(self) -> str:
        rc, out = self._simple("cat /proc/sys/kernel/random/boot_id", timeout=30)
        if rc != 0:
            raise DoctestError(f"cannot read the guest's boot id: {out.strip()}")
        return out.strip()

    def reboot(self, timeout: float = 300) -> None:
        """Reboot the VM and reconnect; the session's state (on the guest's disk) is intact after."""
        old = self.boot_id()
        deadline = Deadline(timeout)
        with contextlib.suppress(Exception):
            q: queue.SimpleQueue[tuple] = queue.SimpleQueue()
            ch = self._open("r", "sudo -n systemctl reboot", q)
            sent = Deadline(10)
            while not ch.done and not sent.expired and self._t is not None and self._t.is_active():
                with contextlib.suppress(queue.Empty):
                    _, t, ev, _, _ = q.get(timeout=0.5)
                    self._event(ch, t, ev)
        self.close()
        while True:
            try:
                self._connect(deadline)
                new = self.boot_id()
            except (TimeoutError, DoctestError, paramiko.SSHException, OSError, EOFError) as exc:
                if deadline.expired:
                    raise DoctestError(f"{self.machine.name} did not come back within "
                                       f"{timeout:.0f} s after a reboot: {exc}") from None
                self.close()
                time.sleep(1)
                continue
            if new != old:
                return
            self.close()  # still the old system on its way down
            if deadline.expired:
                raise DoctestError(f"{self.machine.name} did not reboot within {timeout:.0f} s")
            time.sleep(1)


__all__ = ["GuestSession", "guest_file"]
