"""The guest agent's requests and replies (vm/agent.py), without a VM: what libvirt relays and gets back."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest

from doctest_runner.vm.agent import AgentUnavailable, exec_pid, exec_request, exec_status, status_request


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_exec_request_feeds_the_script_to_sh_on_stdin():
    req = json.loads(exec_request("echo hi\n"))
    assert req["execute"] == "guest-exec"
    args = req["arguments"]
    assert args["path"] == "/bin/sh" and args["arg"] == ["-s"] and args["capture-output"] is True
    script = base64.b64decode(args["input-data"]).decode()
    # what the guest's sh gets on stdin, run here by the same shell
    assert subprocess.run(["sh", "-s"], input=script, capture_output=True, text=True).stdout == "hi\n"
    assert json.loads(status_request(42)) == {"execute": "guest-exec-status", "arguments": {"pid": 42}}


def test_exec_pid_and_bad_replies():
    assert exec_pid('{"return": {"pid": 1234}}') == 1234
    for bad in ("", "{}", '{"return": {}}', '{"return": {"pid": "1"}}', '{"error": {"class": "GenericError"}}'):
        with pytest.raises(AgentUnavailable):
            exec_pid(bad)


def test_exec_status_running_exited_and_signalled():
    assert exec_status('{"return": {"exited": false}}') is None
    done = json.dumps({"return": {"exited": True, "exitcode": 0, "out-data": _b64("sshd-running\n"),
                                  "err-data": _b64("warning\n")}})
    assert exec_status(done) == (0, "sshd-running\nwarning\n")
    assert exec_status('{"return": {"exited": true, "exitcode": 3}}') == (3, "")
    assert exec_status('{"return": {"exited": true, "signal": 9}}') == (137, "")
    assert exec_status('{"return": {"exited": true, "exitcode": 0, "out-data": "%%%"}}') == (0, "")
    with pytest.raises(AgentUnavailable):
        exec_status('{"return": {"pid": 1}}')


def test_exec_status_output_is_bounded():
    huge = json.dumps({"return": {"exited": True, "exitcode": 0, "out-data": _b64("x" * 500_000)}})
    code, out = exec_status(huge)
    assert code == 0 and len(out) == 64 * 1024
