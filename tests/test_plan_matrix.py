"""`--image` given more than once: every guide planned (and run, and reported) once per image.

The planner's platform sections pick per image: a guide with Debian 12 and Debian 13 sections runs the
bookworm block on debian-12 and the trixie block on debian-13, and the common block on both.
"""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import pytest

from doctest_runner.cli import main
from doctest_runner.image.recipe import load_recipe
from doctest_runner.model import DocResult, HostInfo, RunResult
from doctest_runner.plan import plan_matrix, plan_paths
from doctest_runner.report.terminal import summary_text
from doctest_runner.run.runner import run_labels
from report_sample import sample

GUIDE = textwrap.dedent("""\
    # Install hello

    ## Debian 12 (bookworm)

    ```bash
    echo bookworm-steps
    ```

    ## Debian 13 (trixie)

    ```bash
    echo trixie-steps
    ```

    ## Everyone

    ```bash
    echo common
    ```
    """)


@pytest.fixture
def guide(tmp_path: Path) -> Path:
    path = tmp_path / "guide.md"
    path.write_text(GUIDE)
    return path


def _run_lines(plan) -> list[int]:
    return [s.line for s in plan.steps if s.status == "run"]


def test_each_image_gets_its_own_plan_with_its_own_sections(guide: Path):
    ps = plan_matrix([str(guide)], images=["debian-12", "debian-13"])
    assert [p.image for p in ps.plans] == ["debian-12", "debian-13"]
    assert _run_lines(ps.plans[0]) == [6, 18]   # bookworm block + common
    assert _run_lines(ps.plans[1]) == [12, 18]  # trixie block + common
    skipped = {s.line: s.reason for s in ps.plans[1].steps if s.status == "skip"}
    assert skipped == {6: "for Debian 12; the image is debian-13"}


def test_one_image_or_none_is_plan_paths(guide: Path):
    one = plan_matrix([str(guide)], images=["debian-13"])
    assert [p.image for p in one.plans] == ["debian-13"]
    assert [p.image for p in plan_matrix([str(guide)], images=[]).plans] == \
        [p.image for p in plan_paths([str(guide)]).plans] == ["debian-12"]
    # the same image twice is one image, not two runs of each guide
    assert len(plan_matrix([str(guide)], images=["debian-13", "debian-13"]).plans) == 1


def test_a_broken_file_is_reported_once_not_per_image(guide: Path, tmp_path: Path):
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"# x\n\n```bash\necho \xff\n```\n")
    ps = plan_matrix([str(guide), str(bad)], images=["debian-12", "debian-13"])
    assert len(ps.plans) == 2
    assert len(ps.errors) == 1
    assert str(ps.errors[0]).startswith(str(bad))


def test_run_labels_tell_the_same_guide_apart_only_in_a_matrix(guide: Path):
    ps = plan_matrix([str(guide)], images=["debian-12", "debian-13"])
    assert run_labels(ps.plans) == [f"{guide}@debian-12", f"{guide}@debian-13"]
    single = plan_paths([str(guide)]).plans
    assert run_labels(single) == [str(guide)]


def test_list_takes_image_more_than_once(guide: Path, capsys):
    assert main(["list", str(guide), "--image", "debian-12", "--image", "debian-13"]) == 0
    headers = [line for line in capsys.readouterr().out.splitlines() if line.startswith("# ")]
    assert headers == [f"# {guide}  (debian-12; 3 steps, 1 skipped)", f"# {guide}  (debian-13; 3 steps, 1 skipped)"]


def test_walk_refuses_two_images(guide: Path, capsys):
    assert main(["walk", str(guide), "--image", "debian-12", "--image", "debian-13"]) == 2
    assert "walk takes one --image" in capsys.readouterr().err


def test_terminal_summary_of_a_matrix_names_the_images():
    run = sample().make_run()
    other = copy.deepcopy(run.docs)
    for doc in other:
        doc.image = "debian-13"
    run.docs += other
    text = summary_text(run)
    per = [line for line in text.splitlines() if line.startswith("per image: ")]
    assert per == ["per image: debian-12: 1 passed, 2 failed, 1 error; debian-13: 1 passed, 2 failed, 1 error"]
    assert "  FAIL docs/installation.md:289 (debian-12, debian-13) [service] " in text
    plain = RunResult("r", "t", HostInfo("tcg", "x"), [DocResult("a.md", "debian-12", "passed", 1.0)])
    assert "per image" not in summary_text(plain)


def test_debian_13_recipe_is_trixie_with_debian_12_fidelity():
    d12, d13 = load_recipe("debian-12"), load_recipe("debian-13")
    assert (d13.get("release"), d13.get("suite")) == ("13", "trixie")
    assert all(" trixie" in line for line in d13.get("apt_sources"))
    # same guest as debian-12 otherwise: systemd/dbus/logind, hostname, a non-root user with sudo
    for key in ("packages", "user", "hostname", "network", "linger", "mask_units", "cmdline"):
        assert d13.get(key) == d12.get(key), key
    assert {"dbus", "libpam-systemd", "sudo", "systemd-sysv"} <= set(d13.get("packages"))
