"""Helpers for the untrusted-docs tests (issue #11): crafted trees, the real CLI, canaries, audit hooks.

Every test here plays the attacker: it writes a doc, sidecar, manifest or recipe into tmp_path, runs the
real command line on it (`python -m doctest_runner`, a fresh process), and checks a canary: a file the
attack would create, or a host file the attack would read (seen by a `sys.addaudithook` hook in that process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs inside the CLI process: every `open`, directory listing and process start is appended to a JSON-lines
# log, so a test can say "this host file was never read" or "git never ran" (and with which arguments).
_AUDIT_MAIN = textwrap.dedent("""
    import json, os, sys
    _log = open(os.environ["SECURITY_AUDIT_LOG"], "a", buffering=1)
    _busy = False
    def _hook(event, args):
        global _busy
        if _busy or event not in ("open", "os.listdir", "os.scandir", "subprocess.Popen", "os.exec", "os.posix_spawn"):
            return
        _busy = True
        try:
            if event == "open":
                what = args[0]
            elif event == "subprocess.Popen":
                what = [str(a) for a in args[1]] if isinstance(args[1], (list, tuple)) else str(args[1])
            else:
                what = [str(a) for a in args[:2]]
            if isinstance(what, (bytes, os.PathLike)):
                what = os.fsdecode(what)
            if isinstance(what, int):
                return
            _log.write(json.dumps({"event": event, "arg": what}) + "\\n")
        finally:
            _busy = False
    sys.addaudithook(_hook)
    from doctest_runner.cli import main
    raise SystemExit(main(sys.argv[1:]))
""")


@dataclass
class CliResult:
    code: int
    out: str
    err: str
    audit: list[dict]
    cwd: Path

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    def opened(self) -> list[str]:
        """Every path the process opened or listed, made absolute against the process's folder."""
        paths = []
        for entry in self.audit:
            arg = entry["arg"]
            if entry["event"] == "open" and isinstance(arg, str):
                paths.append(os.path.join(self.cwd, arg))
            elif entry["event"] in ("os.listdir", "os.scandir") and isinstance(arg, list) and arg:
                paths.append(os.path.join(self.cwd, arg[0]))
        return paths

    def touched(self, path: Path) -> bool:
        """True when the process opened or listed `path` or anything below it (symlinks resolved)."""
        real = os.path.realpath(path)
        for p in self.opened():
            rp = os.path.realpath(p)
            if rp == real or rp.startswith(real.rstrip("/") + "/"):
                return True
        return False

    def processes(self) -> list[list[str] | str]:
        return [e["arg"] for e in self.audit if e["event"] == "subprocess.Popen"]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> CliResult:
    """The real CLI in a fresh process (cwd `cwd`), with an audit log of opens and process starts."""
    fd, name = tempfile.mkstemp(prefix="doctest-audit-", suffix=".jsonl")
    os.close(fd)
    log = Path(name)
    full_env = dict(os.environ, SECURITY_AUDIT_LOG=str(log), PYTHONPATH=str(REPO), **(env or {}))
    full_env.setdefault("DOCTEST_RUNNER_CACHE", str(cwd / ".cache"))
    done = subprocess.run([sys.executable, "-c", _AUDIT_MAIN, *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    audit = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    log.unlink(missing_ok=True)
    return CliResult(done.returncode, done.stdout, done.stderr, audit, cwd)


def put(root: Path, rel: str, text: str = "# Doc\n") -> Path:
    """A file of a crafted tree (text dedented), folders made as needed."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


GUIDE = """\
# Guide

Install it:

```bash
echo hello
```
"""


def assert_one_line_error(result: CliResult, *, code: int | None = None) -> str:
    """The CLI failed with exactly one error line and no traceback; returns that line."""
    assert "Traceback" not in result.err, result.err
    errors = [line for line in result.err_lines if "note:" not in line]
    assert len(errors) == 1, result.err
    if code is not None:
        assert result.code == code, (result.code, result.err)
    else:
        assert result.code != 0
    return errors[0]
