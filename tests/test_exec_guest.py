"""The guest scripts exec uploads (lib.sh, kill.sh, watch.sh): they parse and pass shellcheck."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from doctest_runner.exec.session import GUEST_FILES, guest_file


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
@pytest.mark.parametrize("name", GUEST_FILES)
def test_guest_scripts_pass_shellcheck(name, tmp_path):
    p = tmp_path / name
    p.write_bytes(guest_file(name))
    res = subprocess.run(["shellcheck", "-s", "bash", str(p)], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout


@pytest.mark.parametrize("name", GUEST_FILES)
def test_guest_scripts_parse(name):
    res = subprocess.run(["bash", "-n"], input=guest_file(name).decode(), capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
