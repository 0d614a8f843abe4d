"""`doctest-runner list`: text and JSON shapes, exit codes, errors among good files, the Kata snapshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from doctest_runner.cli import main

pytest.importorskip("doctest_runner.parse", reason="the parser stage is not there yet")
if not hasattr(__import__("doctest_runner.parse", fromlist=["parse_file"]), "parse_file"):
    pytest.skip("doctest_runner.parse.parse_file is not there yet", allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]
KATA = REPO.parent / "shared" / "kata-docs"  # ../shared/kata-docs from the repo, as the docs say
KATA_REL = os.path.relpath(KATA, REPO)
GUIDE = "tests/data/plan/guide/install.md"
SIDECAR = "tests/data/plan/guide/install.doctest.yaml"

needs_kata = pytest.mark.skipif(not KATA.is_dir(), reason=f"Kata docs snapshot not found at {KATA}")


@pytest.fixture(autouse=True)
def at_repo(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("DOCTEST_RUNNER_CACHE", str(tmp_path / "cache"))  # never touch the user's cache


def run_list(capsys, *args):
    code = main(["list", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_of_a_guide_with_its_sidecar(capsys):
    code, out, err = run_list(capsys, GUIDE)
    assert code == 0, err
    assert err == ""
    assert out.splitlines() == [
        f"# {GUIDE}  (debian-12, sidecar {SIDECAR}; 9 steps, 2 skipped)",
        f"{SIDECAR}:3  []  run [setup, from sidecar]  export VERSION=2.12",
        f"{SIDECAR}:5  []  run [setup, from sidecar]  sudo apt-get install -y curl",
        f"{GUIDE}:6  [Install hello]  run  sudo apt-get update",
        f"{GUIDE}:14  [Install hello > From packages]  run  sudo apt-get install -y hello",
        (f"{GUIDE}:20  [Install hello > From packages]  skip (alternative for Fedora; image is debian-12)  "
        "sudo dnf install -y hello"),
        f'{GUIDE}:28  [Install hello > From a tarball]  run  curl -fsSLO "https://example.invalid/hello-2.12.tar.gz" …',
        f"{GUIDE}:32  [Install hello > From a tarball]  run [from sidecar]  tar -xzf hello-2.12.tar.gz",
        f"{GUIDE}:37  [Install hello > Check]  run  hello --version",
        f"{GUIDE}:43  [Install hello > Check]  skip (opens a browser)  xdg-open https://example.invalid",
    ]


def test_image_option_changes_the_alternative(capsys):
    code, out, _ = run_list(capsys, "--image", "fedora-40", GUIDE)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"# {GUIDE}  (fedora-40,")
    assert any(":14  " in ln and "skip (alternative for Debian/Ubuntu; image is fedora-40)" in ln for ln in lines)
    assert any(":20  " in ln and "  run  sudo dnf install -y hello" in ln for ln in lines)


def test_json_output_shape(capsys):
    code, out, err = run_list(capsys, "--json", GUIDE)
    assert code == 0, err
    docs = json.loads(out)
    assert isinstance(docs, list) and len(docs) == 1
    doc = docs[0]
    assert doc["path"] == GUIDE and doc["image"] == "debian-12" and doc["sidecar"] == SIDECAR
    steps = doc["steps"]
    required = {"id", "line", "end_line", "heading", "command", "expected_output", "status", "reason", "kind",
                "origin", "alternative"}
    assert all(required <= set(s) for s in steps)
    assert [s["status"] for s in steps] == ["run", "run", "run", "run", "skip", "run", "run", "run", "skip"]
    assert all(s["status"] in ("run", "skip") for s in steps)
    by_line = {(s["path"], s["line"]): s for s in steps}
    curl = by_line[(GUIDE, 28)]
    assert curl["id"] == f"{GUIDE}:28" and curl["end_line"] == 29
    assert curl["heading"] == ["Install hello", "From a tarball"]
    assert curl["command"] == 'curl -fsSLO "https://example.invalid/hello-2.12.tar.gz"\necho "downloaded $VERSION"'
    assert curl["kind"] == "bare" and curl["origin"] == "doc" and curl["reason"] is None
    version = by_line[(GUIDE, 37)]
    assert version["command"] == "hello --version" and version["kind"] == "prompted"
    assert version["expected_output"] == "hello <VERSION>"
    assert version["options"]["timeout"] == 30
    fedora = by_line[(GUIDE, 20)]
    assert fedora["alternative"] == "Fedora" and fedora["reason"] == "alternative for Fedora; image is debian-12"
    inserted = by_line[(GUIDE, 32)]
    assert inserted["origin"] == "sidecar" and inserted["kind"] == "bare"
    assert inserted["command"] == "tar -xzf hello-2.12.tar.gz"
    setup = by_line[(SIDECAR, 3)]
    assert setup["kind"] == "setup" and setup["heading"] == [] and setup["command"] == "export VERSION=2.12"


def test_missing_path_among_good_ones_exits_1(capsys, tmp_path):
    good = tmp_path / "good.md"
    good.write_text("# Good\n\n```bash\necho ok\n```\n")
    code, out, err = run_list(capsys, str(good), "no/such/guide.md", GUIDE)
    assert code == 1
    assert err.splitlines() == ["no/such/guide.md: no such file or directory"]
    assert f"{good}:4  [Good]  run  echo ok" in out.splitlines()
    assert f"# {GUIDE}  " in out


def test_bad_sidecar_is_reported_and_other_docs_listed(capsys, tmp_path):
    (tmp_path / "a.md").write_text("# A\n\n```bash\necho a\n```\n")
    (tmp_path / "a.doctest.yaml").write_text("steps:\n  - line: 99\n    skip: true\n")
    (tmp_path / "b.md").write_text("# B\n\n```bash\necho b\n```\n")
    code, out, err = run_list(capsys, str(tmp_path))
    assert code == 1
    assert err.splitlines() == [(f"{tmp_path}/a.doctest.yaml:2: steps rule (line: 99) matches no step in "
                                f"{tmp_path}/a.md")]
    assert [ln for ln in out.splitlines() if not ln.startswith("#")] == [f"{tmp_path}/b.md:4  [B]  run  echo b"]


def test_nothing_found_and_usage_errors_exit_2(capsys, tmp_path):
    code, out, err = run_list(capsys, "no/such/dir")
    assert (code, out) == (2, "") and err.splitlines() == ["no/such/dir: no such file or directory"]
    (tmp_path / "empty").mkdir()
    code, out, err = run_list(capsys, str(tmp_path / "empty"))
    assert code == 2 and out == "" and "no docs found" in err
    with pytest.raises(SystemExit) as info:
        main(["list"])
    assert info.value.code == 2
    code = main(["list", "--source", str(tmp_path / "nowhere"), GUIDE])
    assert code == 2
    assert "--source must be an existing folder" in capsys.readouterr().err


def test_empty_doc_is_listed_with_zero_steps(capsys, tmp_path):
    (tmp_path / "empty.md").write_text("")
    code, out, err = run_list(capsys, str(tmp_path / "empty.md"))
    assert code == 0 and err == ""
    assert out.splitlines() == [f"# {tmp_path}/empty.md  (debian-12; 0 steps, 0 skipped)"]


@needs_kata
def test_kata_docs_folder_lists_every_guide_without_error():
    """The issue's acceptance check, run exactly as a user would from the repo."""
    done = subprocess.run([sys.executable, "-m", "doctest_runner", "list", f"{KATA_REL}/docs"], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    listed = [ln.split("  ")[0][2:] for ln in done.stdout.splitlines() if ln.startswith("# ")]
    expected = [f"{KATA_REL}/{p.relative_to(KATA).as_posix()}" for p in (KATA / "docs").rglob("*.md")]
    assert sorted(listed) == sorted(expected)
    assert len(listed) == 18
    steps = [ln for ln in done.stdout.splitlines() if not ln.startswith("# ")]
    assert len(steps) > 100
    assert all(ln.startswith(f"{KATA_REL}/docs/") for ln in steps)


@needs_kata
def test_kata_json_is_a_list_of_docs(capsys):
    code, out, err = run_list(capsys, "--json", f"{KATA_REL}/docs/installation.md")
    assert code == 0, err
    (doc,) = json.loads(out)
    grep = next(s for s in doc["steps"] if s["line"] == 36)
    assert grep["command"] == "grep -E -o '(vmx|svm)' /proc/cpuinfo | sort -u"
    assert grep["heading"] == ["Installation", "Prerequisites", "Hardware"]


@needs_kata
def test_kata_doc_set_with_source_override(capsys):
    code, out, err = run_list(capsys, "tests/data/plan/kata-set", "--source", KATA_REL)
    assert code == 0, err
    assert err == ""
    headers = [ln for ln in out.splitlines() if ln.startswith("# ")]
    assert [h.split("  ")[0] for h in headers] == ["# docs/how-to/run-kata-with-crictl.md", "# docs/installation.md"]
    assert "sidecar tests/data/plan/kata-set/installation.doctest.yaml" in headers[1]
    lines = out.splitlines()
    helm = [ln for ln in lines if "[Installation > Install on Kubernetes with Helm (recommended)" in ln]
    assert helm and all("  skip (needs a Kubernetes cluster)  " in ln for ln in helm)
    assert any(ln.startswith("docs/installation.md:254  ") and "run [from sidecar]  test -x /opt/kata/bin" in ln
               for ln in lines)
    assert any(ln.startswith("tests/data/plan/kata-set/installation.doctest.yaml:4  []  run [setup, from sidecar]"
                             "  export VERSION=3.20.0") for ln in lines)
    # walking the parent folder does not enter the explicit set (and never clones it)
    code, out, err = run_list(capsys, "tests/data/plan")
    assert "note: skipped doc set kata-sample (explicit): tests/data/plan/kata-set" in err
    assert "docs/installation.md" not in out


def test_bad_files_are_one_line_each_and_the_rest_is_listed(capsys, tmp_path):
    (tmp_path / "a.md").write_text("# OK\n\n```bash\necho ok\n```\n")
    (tmp_path / "b.md").write_bytes(b"x\0y")
    (tmp_path / "c.md").write_bytes(b"# L\n\ncaf\xe9\n")
    (tmp_path / "d.md").write_text("# U\n\n```bash\necho open\n")
    code, out, err = run_list(capsys, str(tmp_path))
    assert code == 1
    assert f"{tmp_path}/a.md:4  [OK]  run  echo ok" in out.splitlines()
    assert f"# {tmp_path}/d.md  " in out  # an unterminated fence still lists what was parsed
    lines = err.splitlines()
    assert [ln.split(":")[0:2] for ln in lines] == [[f"{tmp_path}/b.md", "1"], [f"{tmp_path}/c.md", "3"],
                                                    [f"{tmp_path}/d.md", "3"]]
    assert "Traceback" not in err
