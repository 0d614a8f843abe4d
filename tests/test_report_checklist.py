"""checklist.md: each broken step once, doc bugs before environment problems, grouped by owner."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from doctest_runner.model import DoctestError
from doctest_runner.report import checklist_markdown, write_all
from doctest_runner.report.codeowners import load_codeowners, parse_codeowners, pattern_regex
from report_sample import sample

DATA = Path(__file__).parent / "data" / "report"
ITEM = re.compile(r"^- \[ \] (\S+)(?: \([^)]*\))? — step \"(.*)\" — ([a-z-]+): (.*) — (.+)$")


def items(text: str) -> list[tuple[str, ...]]:
    """The broken-step items (doc bugs and environment sections), as (location, step, category, evidence, hint)."""
    broken = re.split(r"^## (?:Guides that could not run|Output warnings)", text, flags=re.MULTILINE)[0]
    return [m.groups() for m in map(ITEM.match, broken.splitlines()) if m]


def test_item_format_and_order():
    text = checklist_markdown(sample().make_run())
    got = items(text)
    assert [(loc, cat) for loc, _step, cat, _ev, _hint in got] == [
        ("docs/installation.md:289", "service"),
        ("docs/install/container-manager/containerd/containerd-install.md:56", "command-not-found"),
        ("docs/installation.md:44", "needs-kvm"),
        ("docs/installation.md:224", "network"),
    ]
    _loc, step, _cat, evidence, hint = got[0]
    assert step == "sudo systemctl restart docker"
    assert evidence == "Failed to restart docker.service: Unit docker.service not found."
    assert "enable --now" in hint
    # a multi-line step is named by the command at its failing line (224), the line to fix
    assert got[3][1] == "curl -fsSL -o kata-static.tar.zst \\\\"
    # doc bugs section comes before environment problems, each section once
    assert text.index("## Doc bugs") < text.index("## Environment problems") < text.index(
        "## Guides that could not run") < text.index("## Output warnings")
    assert "- [ ] docs/install/minikube-installation-guide.md (debian-12) — error: VM did not boot" in text
    assert "check service docker (docs/installation.doctest.yaml:7) — docker.service is not running" in text


def test_each_broken_step_listed_once_across_images():
    mod = sample()
    run = mod.make_run()
    ubuntu = dataclasses.replace(run.docs[0], image="ubuntu-24.04")
    run.docs.insert(1, ubuntu)
    text = checklist_markdown(run)
    locations = [i[0] for i in items(text)]
    assert len(locations) == len(set(locations)) == 4, text
    assert "docs/installation.md:289 (debian-12, ubuntu-24.04)" in text


def test_markdown_in_commands_and_evidence_is_escaped():
    mod = sample()
    run = mod.make_run()
    sr = run.docs[1].steps[0]
    sr.step = dataclasses.replace(sr.step, command="echo <b>*x*</b> | tee `y`")
    sr.evidence = "error: <script> [link](http://x)"
    text = checklist_markdown(run)
    assert 'step "echo \\<b\\>\\*x\\*\\</b\\> \\| tee \\`y\\`"' in text
    assert "command-not-found: error: \\<script\\> \\[link\\](http://x)" in text


def test_nothing_broken():
    mod = sample()
    run = mod.make_run()
    run.docs = [run.docs[2]]
    text = checklist_markdown(run)
    assert "Nothing to fix" in text and "- [ ]" not in text


def test_grouped_by_codeowners_last_match_wins(tmp_path):
    paths = write_all(sample().make_run(), tmp_path, codeowners=DATA / "CODEOWNERS")
    text = paths["checklist"].read_text()
    doc_bugs = text[text.index("## Doc bugs"):text.index("## Environment problems")]
    env = text[text.index("## Environment problems"):text.index("## Guides that could not run")]
    assert re.findall(r"^### (.+)$", doc_bugs, re.MULTILINE) == [
        "@kata-containers/containerd @alice", "@kata-containers/install-team @bob"]
    assert re.findall(r"^#### (.+)$", doc_bugs, re.MULTILINE) == [
        "docs/install/container-manager/containerd/containerd-install.md", "docs/installation.md"]
    assert re.findall(r"^### (.+)$", env, re.MULTILINE) == ["@kata-containers/install-team @bob"]
    assert "'!docs/ignored.md'" in text  # the unsupported line is reported, with its line number
    assert "CODEOWNERS:9:" in text


def test_codeowners_semantics():
    owners = parse_codeowners((DATA / "CODEOWNERS").read_text(), str(DATA / "CODEOWNERS"), root=Path("/repo"))
    assert owners.owners_for("docs/installation.md") == ("@kata-containers/install-team", "@bob")
    assert owners.owners_for("docs/Developer-Guide.md") == ()  # a rule without owners unowns
    assert owners.owners_for("docs/install/minikube-installation-guide.md") == ("@kata-containers/install-team",)
    assert owners.owners_for("docs/how-to/x.md") == ("@kata-containers/docs",)  # docs/*.md is one level only
    assert owners.owners_for("./docs/install/container-manager/containerd/containerd-install.md") == (
        "@kata-containers/containerd", "@alice")
    assert [e.line for e in owners.errors] == [9]


@pytest.mark.parametrize("pattern,path,hit", [
    ("*.md", "docs/a/b.md", True),
    ("*.md", "docs/a/b.mdx", False),
    ("/docs/", "docs/x/y.md", True),
    ("/docs/", "src/docs/y.md", False),
    ("docs/", "src/docs/y.md", True),
    ("apps/", "apps", False),
    ("docs/*", "docs/a.md", True),
    ("docs/*", "docs/sub/a.md", False),
    ("**/logs", "a/b/logs/x.log", True),
    ("docs/**/install.md", "docs/install.md", True),
    ("docs/**/install.md", "docs/a/b/install.md", True),
    ("/build/logs/", "build/logs/2026/x", True),
    ("docs/installation.md", "docs/installation.md", True),
    ("docs/installation.md", "x/docs/installation.md", False),
    ("installation.md", "x/docs/installation.md", True),
    ("docs/install", "docs/install/README.md", True),
    ("docs/install", "docs/installation.md", False),
    ("doc?/a.md", "docs/a.md", True),
])
def test_pattern_matching(pattern, path, hit):
    assert bool(pattern_regex(pattern).match(path)) is hit


def test_relative_to_the_codeowners_repository(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".github").mkdir(parents=True)
    (repo / ".github" / "CODEOWNERS").write_text("docs/ @docs-team\n")
    owners = load_codeowners(repo / ".github" / "CODEOWNERS")
    assert owners.owners_for(str(repo / "docs" / "a.md")) == ("@docs-team",)


def test_unreadable_codeowners_is_a_one_line_error(tmp_path):
    with pytest.raises(DoctestError) as err:
        write_all(sample().make_run(), tmp_path / "out", codeowners=tmp_path / "missing")
    assert str(err.value).startswith(f"{tmp_path / 'missing'}: cannot read CODEOWNERS file")
    assert not (tmp_path / "out").exists()
