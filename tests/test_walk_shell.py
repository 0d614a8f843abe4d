"""walk's [o]pen shell and `doctest-runner shell` log in with one OpenSSH command line (cli/shell_cmd.ssh_argv)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from doctest_runner.cli import walk_cmd
from doctest_runner.cli.shell_cmd import ssh_argv


def test_ssh_argv_does_not_record_the_throwaway_host_key():
    argv = ssh_argv("/k/id", 40022, "tester", "127.0.0.1")
    assert argv[:5] == ["ssh", "-i", "/k/id", "-p", "40022"]
    assert "StrictHostKeyChecking=no" in argv and "UserKnownHostsFile=/dev/null" in argv
    assert "IdentitiesOnly=yes" in argv and argv[-1] == "tester@127.0.0.1"


def test_walk_opens_the_shell_with_the_same_command(monkeypatch, capsys):
    ran: list[list[str]] = []
    monkeypatch.setattr(walk_cmd.subprocess, "call", lambda cmd: ran.append(cmd) or 0)
    machine = SimpleNamespace(key_path=Path("/k/id"), ssh_port=40022, user="tester", ssh_host="127.0.0.1")
    walk_cmd._open_shell(SimpleNamespace(machine=machine))
    assert ran == [ssh_argv("/k/id", 40022, "tester", "127.0.0.1")]
    walk_cmd._open_shell(SimpleNamespace(machine=None))
    assert "no VM to open a shell in" in capsys.readouterr().out and len(ran) == 1
