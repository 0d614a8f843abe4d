"""The QEMU guest agent: a root command in a local guest over its virtio-serial port, without an SSH login.

Why: under TCG an SSH login costs about 1.5 s in the guest (sshd's re-exec and key exchange, then the PAM
session), and a restored clone needed one just to get its new identity before the guide's own login. The
agent (Debian's `qemu-guest-agent`, in the image) is already running in the saved machine; libvirt relays
`guest-exec` to it, so the identity script runs as soon as the memory image is loaded. Only the harness talks
to it, only right after a restore (before any doc command has run in that guest); an image or a checkpoint
without a working agent gets AgentUnavailable, and the caller uses SSH as before.

The request and reply handling is pure (unit-tested); `run_script` is the one function that talks to libvirt.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from doctest_runner.wait import Deadline

MAX_OUTPUT = 64 * 1024  # the identity script prints a word; anything longer is cut, never kept whole


class AgentUnavailable(Exception):
    """No working guest agent in this guest (not configured, not connected, or it failed): use SSH instead."""


def exec_request(script: str, shell: str = "/bin/sh") -> str:
    """`guest-exec` of `shell -s` with the script on its standard input, output captured."""
    return json.dumps({"execute": "guest-exec", "arguments": {
        "path": shell, "arg": ["-s"], "input-data": base64.b64encode(script.encode()).decode(),
        "capture-output": True}})


def status_request(pid: int) -> str:
    return json.dumps({"execute": "guest-exec-status", "arguments": {"pid": pid}})


def exec_pid(reply: str) -> int:
    """The guest pid from a `guest-exec` reply (AgentUnavailable when the reply is not one)."""
    try:
        pid = json.loads(reply)["return"]["pid"]
    except (ValueError, KeyError, TypeError):
        raise AgentUnavailable(f"unexpected guest-exec reply: {reply[:200]!r}") from None
    if not isinstance(pid, int):
        raise AgentUnavailable(f"unexpected guest-exec pid: {pid!r}")
    return pid


def _decode(data: Any) -> str:
    if not isinstance(data, str):
        return ""
    try:
        return base64.b64decode(data[: MAX_OUTPUT * 2]).decode(errors="replace")[:MAX_OUTPUT]
    except ValueError:
        return ""


def exec_status(reply: str) -> tuple[int, str] | None:
    """(exit status, stdout then stderr) once the command has exited, None while it runs. A command ended by
    a signal gets 128 + the signal number, as a shell reports it."""
    try:
        ret = json.loads(reply)["return"]
        exited = ret["exited"]
    except (ValueError, KeyError, TypeError):
        raise AgentUnavailable(f"unexpected guest-exec-status reply: {reply[:200]!r}") from None
    if not exited:
        return None
    code = ret.get("exitcode")
    if not isinstance(code, int):
        sig = ret.get("signal")
        code = 128 + sig if isinstance(sig, int) else 255
    return code, _decode(ret.get("out-data")) + _decode(ret.get("err-data"))


def run_script(domain: Any, script: str, *, timeout: float = 20, poll_s: float = 0.02) -> tuple[int, str]:
    """(exit status, output) of `sh -s` < script, as root in the guest of the libvirt `domain`, through its
    guest agent. AgentUnavailable when the domain has no agent channel, the agent does not answer, or the
    command does not end within `timeout` s."""
    import libvirt  # lazy: the `vm` extra's binding
    import libvirt_qemu

    deadline = Deadline(timeout)

    def call(request: str) -> str:
        try:
            return str(libvirt_qemu.qemuAgentCommand(domain, request, max(1, int(deadline.left)), 0))
        except libvirt.libvirtError as exc:
            raise AgentUnavailable(exc.get_error_message() or str(exc)) from None

    pid = exec_pid(call(exec_request(script)))
    while True:
        done = exec_status(call(status_request(pid)))
        if done is not None:
            return done
        if deadline.expired:
            raise AgentUnavailable(f"the command did not end within {timeout:g} s")
        deadline.sleep(poll_s)
