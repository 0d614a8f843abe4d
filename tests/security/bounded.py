"""The real CLI in a fresh process under an address-space limit and a timeout (issue #11 items 6 and 7).

A test of a limit must not take the machine when the limit is missing: the child gets
`ulimit -v` (1 GiB by default, the issue's ceiling for `lint` and `list`), so a blow-up ends in
MemoryError (a traceback the test sees) instead of gigabytes, and a hang ends at the timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from untrusted import REPO, CliResult

LIMIT_KB = 1024 * 1024


def run_bounded(*args: str, cwd: Path, limit_kb: int = LIMIT_KB, timeout: float = 120) -> CliResult:
    """`python -m doctest_runner ARGS` in `cwd`, at most `limit_kb` of address space and `timeout` s."""
    env = dict(os.environ, PYTHONPATH=str(REPO), DOCTEST_RUNNER_CACHE=str(cwd / ".cache"))
    done = subprocess.run(
        ["/bin/sh", "-c", f'ulimit -v {int(limit_kb)} && exec "$0" "$@"', sys.executable, "-m", "doctest_runner",
         *args],
        cwd=cwd, env=env, capture_output=True, text=True, errors="replace", timeout=timeout, check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr, [], cwd)
