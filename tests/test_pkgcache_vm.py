"""With the package cache on, guides download through it, and a broken repository line still fails at its line.

Real VMs (TCG here). Skipped where apt-cacher-ng is not installed (`.ci/setup` installs it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from doctest_runner.vm import pkgcache

pytestmark = [pytest.mark.vm,
              pytest.mark.skipif(not os.path.isfile(pkgcache.DAEMON), reason="apt-cacher-ng not installed")]

REPO = Path(__file__).resolve().parents[1]

INSTALL = textwrap.dedent("""\
    # Install tree

    ```console
    $ sudo apt-get update
    $ sudo apt-get install -y tree
    $ tree --version
    ```
    """)

BROKEN_SOURCE = textwrap.dedent("""\
    # Add the extra repository

    Add the repository:

    ```bash
    echo "deb http://deb.debian.org/debian bookwurm main" | sudo tee /etc/apt/sources.list.d/extra.list
    ```

    Update the package lists:

    ```bash
    sudo apt-get update
    ```
    """)


@pytest.fixture(scope="module")
def cached_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("pkgcache")
    (work / "install.md").write_text(INSTALL)
    (work / "broken-source.md").write_text(BROKEN_SOURCE)
    log = pkgcache.root() / "log" / "apt-cacher.log"
    before = log.stat().st_size if log.is_file() else 0
    proc = subprocess.run(
        [sys.executable, "-m", "doctest_runner", "run", str(work / "install.md"), str(work / "broken-source.md"),
         "--out", str(work / "out"), "--jobs", "2", "--no-progress", "--checkpoint", "off"],
        cwd=REPO, capture_output=True, text=True, timeout=1800)
    served = log.read_text(errors="replace")[before:] if log.is_file() else ""
    return proc, json.loads((work / "out" / "report.json").read_text()), served, work


def test_the_guides_went_through_the_cache(cached_run):
    proc, _, served, _ = cached_run
    assert "package cache: apt-cacher-ng on 127.0.0.1:" in proc.stderr + proc.stdout
    assert "/pool/main/t/tree/tree_" in served  # the .deb came through the host's cache


def test_verdicts_are_those_of_a_reader_machine(cached_run):
    proc, report, served, work = cached_run
    assert proc.returncode == 1, proc.stdout[-2000:]
    docs = {Path(d["path"]).name: d for d in report["docs"]}
    assert docs["install.md"]["status"] == "passed"
    broken = [s for s in docs["broken-source.md"]["steps"] if s["status"] == "failed"]
    assert [(s["line"], s["failed_line"], s["category"]) for s in broken] == [(12, 12, "package-not-found")]
    assert "bookwurm" in broken[0]["evidence"]
    assert "dists/bookwurm/" in served  # apt asked the origin through the cache, and the origin said 404
