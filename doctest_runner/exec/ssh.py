"""A paramiko transport that reports channel traffic in the order it arrives.

Why: paramiko keeps stdout and stderr in two separate buffers, so a reader can no longer tell which came
first. This transport subclass hooks the two data handlers (and EOF, close, requests such as
exit-status) and tells a per-channel callback `(event, stream, nbytes)` right after the data is
buffered. The consumer then reads exactly `nbytes` from that stream's buffer: order is exact, and
paramiko's flow control (window adjusts on read) keeps working. Channels without a callback behave
as usual (SFTP, the VM layer's own clients are not affected: only our transport has this table).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import paramiko
from paramiko.channel import Channel
from paramiko.common import (
    MSG_CHANNEL_CLOSE,
    MSG_CHANNEL_DATA,
    MSG_CHANNEL_EOF,
    MSG_CHANNEL_EXTENDED_DATA,
    MSG_CHANNEL_REQUEST,
)

from doctest_runner.vm import quiet_paramiko  # while the guest reboots, refused connections are expected
from doctest_runner.wait import Deadline

Hook = Callable[[str, str, int], None]  # (event: data|eof|close|request, stream: stdout|stderr|"", nbytes)


def _hook(chan: Channel) -> Hook | None:
    return getattr(chan, "doctest_hook", None)


def set_hook(chan: Channel, hook: Hook | None) -> None:
    """Tell `hook` of this channel's traffic from now on (None: stop). The attribute is ours, not paramiko's."""
    setattr(chan, "doctest_hook", hook)


def _on_data(chan: Channel, m: paramiko.Message) -> None:
    s = m.get_binary()
    chan.in_buffer.feed(s)
    hook = _hook(chan)
    if hook is not None:
        hook("data", "stdout", len(s))


def _on_extended(chan: Channel, m: paramiko.Message) -> None:
    code = m.get_int()
    s = m.get_binary()
    if code != 1:
        return  # only stderr (1) is defined
    if chan.combine_stderr:
        chan.in_buffer.feed(s)
        stream = "stdout"
    else:
        chan.in_stderr_buffer.feed(s)
        stream = "stderr"
    hook = _hook(chan)
    if hook is not None:
        hook("data", stream, len(s))


Handler = Callable[[Channel, paramiko.Message], None]


# paramiko's private pieces OrderedTransport overrides: the channel message table and three handlers. They are
# the same since paramiko 2 and pyproject bounds paramiko below its next major version; if one disappears,
# importing this module fails with this message (and tests/test_exec_ssh_private.py fails) instead of a step
# silently losing its output order.
PRIVATE_TABLE = "_channel_handler_table"
PRIVATE_HANDLERS = ("_handle_request", "_handle_eof", "_handle_close")


def missing_private() -> list[str]:
    """The private paramiko names this module relies on that this paramiko lacks (empty: all there)."""
    missing = [] if isinstance(getattr(paramiko.Transport, PRIVATE_TABLE, None), dict) else \
        [f"paramiko.Transport.{PRIVATE_TABLE}"]
    return missing + [f"paramiko.Channel.{n}" for n in PRIVATE_HANDLERS if not callable(getattr(Channel, n, None))]


if missing_private():
    raise ImportError(f"paramiko {paramiko.__version__} lacks {', '.join(missing_private())}, which "
                      "doctest_runner/exec/ssh.py overrides; install a paramiko within pyproject's bound")


def _private(owner: type, name: str) -> Handler:
    """One of paramiko's message handlers: private, so not in its type stubs (checked above)."""
    handler: Handler = getattr(owner, name)
    return handler


def _after(handler: Handler, event: str) -> Handler:
    def wrapped(chan: Channel, m: paramiko.Message) -> None:
        handler(chan, m)
        hook = _hook(chan)
        if hook is not None:
            hook(event, "", 0)

    return wrapped


class OrderedTransport(paramiko.Transport):
    """`paramiko.Transport` whose channels may carry a `doctest_hook` told of traffic in arrival order."""

    _channel_handler_table: ClassVar[dict[int, Handler]] = {
        **getattr(paramiko.Transport, PRIVATE_TABLE),
        MSG_CHANNEL_DATA: _on_data,
        MSG_CHANNEL_EXTENDED_DATA: _on_extended,
        MSG_CHANNEL_REQUEST: _after(_private(Channel, "_handle_request"), "request"),
        MSG_CHANNEL_EOF: _after(_private(Channel, "_handle_eof"), "eof"),
        MSG_CHANNEL_CLOSE: _after(_private(Channel, "_handle_close"), "close"),
    }


def load_key(path: Path) -> paramiko.PKey:
    """The machine's private key, whatever its type."""
    return paramiko.PKey.from_path(str(path))


def open_transport(host: str, port: int, user: str, key: paramiko.PKey, *, timeout: float = 20,
                   host_key: str | None = None) -> OrderedTransport:
    """One authenticated SSH connection. `host_key` ("ssh-ed25519 AAAA..."): the key the server must present
    (a restored clone's new key); None: not checked (a cold-booted VM on a forwarded 127.0.0.1 port)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = OrderedTransport(sock)
    t.banner_timeout = timeout
    t.handshake_timeout = timeout
    try:
        if host_key:
            kind, want = host_key.split()[:2]
            opts = t.get_security_options()
            opts.key_types = [kind, *(k for k in opts.key_types if k != kind)]
        t.start_client(timeout=timeout)
        if host_key:
            got = t.get_remote_server_key()
            if got.get_name() != kind or got.get_base64() != want:
                raise paramiko.SSHException(f"{host}:{port} presents host key {got.get_name()} "
                                            f"{got.get_fingerprint().hex()[:16]}..., not the one this VM was given")
        t.auth_publickey(user, key)
        if not t.is_authenticated():
            raise paramiko.AuthenticationException(f"key login as {user} refused")
        t.set_keepalive(15)
    except BaseException:
        t.close()
        raise
    return t


def connect_retry(host: str, port: int, user: str, key: paramiko.PKey, *, deadline: Deadline,
                  host_key: str | None = None) -> OrderedTransport:
    """Connect, retrying until `deadline`; TimeoutError naming the last error after it."""
    last: Exception | None = None
    with quiet_paramiko():
        while not deadline.expired:
            try:
                return open_transport(host, port, user, key, timeout=deadline.cap(15.0, floor=1.0), host_key=host_key)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                last = exc
                deadline.sleep(0.5)
    raise TimeoutError(f"no SSH login on {host}:{port}: {last}")
