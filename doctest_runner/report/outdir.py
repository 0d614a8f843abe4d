"""The report folder (`--out`) as the run finds it: nothing left in it may redirect the run's writes.

`--out` is often a CI workspace that a docs pull request can put files into. A symlink named `artifacts`
(or a report file's name) pointing elsewhere would make the run write guide logs, ssh_config and failure
captures through it, outside the harness's folders. The artifacts folder is therefore made anew, a symlink in
its place removed (never followed), and report files are replaced by rename (`atomic_write_text`), which
replaces a symlink rather than writing through it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from doctest_runner.model import DoctestError

ARTIFACTS = "artifacts"


def remove_entry(path: Path) -> None:
    """Remove whatever is at `path` without following it: a symlink (even to a folder) is unlinked."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def real_dir(path: Path) -> Path:
    """`path` as a real folder (made if missing); a symlink in its place is removed first, never followed."""
    path = Path(path)
    if path.is_symlink():
        path.unlink()
    path.mkdir(parents=True, exist_ok=True)
    return path


def fresh_artifacts_dir(out: Path) -> Path:
    """`out/artifacts`, empty and a real folder (an old one, or a symlink in its place, removed); `out` made."""
    artifacts = Path(out) / ARTIFACTS
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
        remove_entry(artifacts)
        artifacts.mkdir()
    except OSError as exc:
        raise DoctestError(f"cannot prepare {artifacts}: {exc.strerror or exc}") from None
    if artifacts.is_symlink() or not artifacts.is_dir():  # raced by something else in the folder
        raise DoctestError(f"{artifacts} is not a plain folder; refusing to write through it")
    os.chmod(artifacts, 0o755)
    return artifacts
