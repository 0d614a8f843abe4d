"""`run --image debian-12 --image debian-13`: every guide on both images, in real VMs (TCG here).

The clean example guide passes on both, and a guide with a section per Debian release runs the right
section on each image, checked against the release the guest itself reports (`--output check`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.vm

REPO = Path(__file__).resolve().parents[1]
HELLO = "docs_under_test/examples/hello-service.md"

RELEASES = textwrap.dedent("""\
    # Which Debian is this

    ## Debian 12 (bookworm)

    ```console
    $ grep '^VERSION_ID=' /etc/os-release
    VERSION_ID="12"
    ```

    ## Debian 13 (trixie)

    ```console
    $ grep '^VERSION_ID=' /etc/os-release
    VERSION_ID="13"
    ```

    ## Both

    ```console
    $ id -un; sudo -n true && echo sudo-ok; hostname
    tester
    sudo-ok
    doctest
    ```
    """)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    work = tmp_path_factory.mktemp("matrix")
    releases = work / "releases.md"
    releases.write_text(RELEASES)
    out = work / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "doctest_runner", "run", HELLO, str(releases), "--image", "debian-12",
         "--image", "debian-13", "--output", "check", "--out", str(out), "--jobs", "2", "--no-progress"],
        cwd=REPO, capture_output=True, text=True, timeout=2400)
    return proc, out, str(releases)


def test_every_guide_passes_on_each_image(matrix):
    proc, out, releases = matrix
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    runs = sorted((d["path"], d["image"], d["status"]) for d in report["docs"])
    assert runs == sorted([(HELLO, "debian-12", "passed"), (HELLO, "debian-13", "passed"),
                           (releases, "debian-12", "passed"), (releases, "debian-13", "passed")])
    assert "per image: debian-12: 2 passed; debian-13: 2 passed" in proc.stdout


def test_each_image_ran_its_own_section(matrix):
    _, out, releases = matrix
    report = json.loads((out / "report.json").read_text())
    for doc in report["docs"]:
        if doc["path"] != releases:
            continue
        ran = {s["line"]: s["status"] for s in doc["steps"]}
        want = {"debian-12": {6: "passed", 13: "skipped"}, "debian-13": {6: "skipped", 13: "passed"}}[doc["image"]]
        assert {line: ran[line] for line in want} == want, doc["image"]
        assert ran[20] == "passed"


def test_reports_keep_the_runs_apart(matrix):
    _, out, _ = matrix
    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")
    assert sorted(s.get("package") for s in suites) == ["debian-12", "debian-12", "debian-13", "debian-13"]
    artifacts = sorted(p.name for p in (out / "artifacts").iterdir())
    assert len(artifacts) == 4 and any(a.endswith("debian-13") for a in artifacts), artifacts
