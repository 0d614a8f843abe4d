"""exec/ssh.py overrides paramiko's private channel handler table: fail loudly when a paramiko lacks it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import paramiko
import pytest
from paramiko.channel import Channel
from paramiko.common import MSG_CHANNEL_CLOSE, MSG_CHANNEL_DATA, MSG_CHANNEL_EOF, MSG_CHANNEL_OPEN

from doctest_runner.exec import ssh

REPO = Path(__file__).resolve().parent.parent


def test_this_paramiko_has_every_private_name_the_override_uses():
    assert ssh.missing_private() == []
    table = getattr(paramiko.Transport, ssh.PRIVATE_TABLE)
    ours = ssh.OrderedTransport._channel_handler_table
    assert set(table) <= set(ours)  # everything paramiko handles is still handled
    assert ours[MSG_CHANNEL_DATA] is not table[MSG_CHANNEL_DATA]  # and ours sees data, eof and close
    assert ours[MSG_CHANNEL_EOF] is not table[MSG_CHANNEL_EOF]
    assert ours[MSG_CHANNEL_CLOSE] is not table[MSG_CHANNEL_CLOSE]
    assert MSG_CHANNEL_OPEN not in ours or ours.get(MSG_CHANNEL_OPEN) is table.get(MSG_CHANNEL_OPEN)


def test_a_paramiko_without_them_is_named(monkeypatch):
    monkeypatch.delattr(paramiko.Transport, ssh.PRIVATE_TABLE)
    monkeypatch.delattr(Channel, "_handle_eof")
    assert ssh.missing_private() == ["paramiko.Transport._channel_handler_table", "paramiko.Channel._handle_eof"]


def test_pyproject_bounds_paramiko_and_the_installed_one_is_inside():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    spec = next(d for d in deps if d.startswith("paramiko"))
    upper = re.search(r"<\s*(\d+)", spec)
    assert upper is not None, f"{spec}: no upper bound on paramiko"
    major = int(paramiko.__version__.split(".")[0])
    if major >= int(upper.group(1)):
        pytest.fail(f"paramiko {paramiko.__version__} is outside {spec}")
