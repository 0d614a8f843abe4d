"""The three ways to get a fresh machine give the same verdicts, step by step.

Cold boots, restored machines, and restored machines plus shared prefixes must not change what
a run says about a guide: same statuses, categories, lines and failed lines.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.vm

REPO = Path(__file__).resolve().parents[1]

# Two guides that start with the same two steps (a shared prefix), then part ways.
PREFIX = """# {title}

## Prepare

```console
$ mkdir -p ~/work && cd ~/work
$ export GREETING=hello
$ greet() {{ echo "$GREETING from $1"; }}
```

## Then
"""
GUIDES = {
    "first.md": PREFIX.format(title="First") + """
```console
$ greet first > note.txt
$ cat note.txt
hello from first
```
""",
    "second.md": PREFIX.format(title="Second") + """
```console
$ greet second
hello from second
$ kata-runtme --version
```
""",
    "third.md": """# Third

```bash
cd /tmp
sudo echo "x" >> /etc/third.conf
```
""",
}


def _verdicts(out: Path) -> dict:
    report = json.loads((out / "report.json").read_text())
    return {
        d["path"].rsplit("/", 1)[-1]: [
            (s["line"], s["status"], s["category"], s["failed_line"]) for s in d["steps"]
        ]
        for d in report["docs"]
    }


def _run(docs: Path, out: Path, *flags: str) -> tuple[dict, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "doctest_runner", "run", str(docs), "--out", str(out), "--jobs", "2",
         "--no-progress", *flags],
        cwd=REPO, capture_output=True, text=True, timeout=1200,
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    return _verdicts(out), proc.stdout + proc.stderr


def test_cold_restored_and_shared_prefix_runs_agree(tmp_path, own_checkpoints):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in GUIDES.items():
        (docs / name).write_text(text)
    cold, _ = _run(docs, tmp_path / "cold", "--cold-boot")
    restored, log_restored = _run(docs, tmp_path / "restored", "--no-shared-prefix")
    shared, log_shared = _run(docs, tmp_path / "shared")
    assert "restored from" in log_restored
    # the shared-prefix run really shared: one of the two guides started from the other's checkpoint
    assert "shared prefix:" in log_shared and "step(s) from checkpoint" in log_shared, log_shared[-2000:]
    assert cold == restored == shared
    # and they are the right verdicts
    assert [v[1] for v in cold["first.md"]] == ["passed"] * 5
    assert cold["second.md"][-1] == (16, "failed", "command-not-found", 16)
    assert cold["third.md"] == [(4, "failed", "permission", 5)]
