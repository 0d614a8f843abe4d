"""Prerequisites a guide states or plainly assumes (plan/prereq.py), shown by `list`, used by the classifier
to call a missing Docker, cluster or toolchain `prerequisite` (issue #10 part 4). Data: tests/data/prereq/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from doctest_runner.cli import main
from doctest_runner.model import ParsedDoc
from doctest_runner.parse import parse_text
from doctest_runner.plan import plan_paths
from doctest_runner.plan.prereq import detect_prerequisites, paragraphs

DATA = Path("tests/data/prereq")
EXTERNAL = Path("../shared/external-docs")


def prereqs(name: str) -> dict[str, tuple[int, bool, str]]:
    (plan,) = plan_paths([str(DATA / name)]).plans
    return {p.name: (p.line, p.assumed, p.sentence) for p in plan.prerequisites}


def detect(md: str) -> dict[str, int]:
    doc: ParsedDoc = parse_text(md, "g.md")
    return {p.name: p.line for p in detect_prerequisites(doc, md.split("\n"))}


def test_a_before_you_begin_section_and_a_you_need_sentence():
    found = prereqs("sandbox-runtime.md")
    assert {k: v[0] for k, v in found.items()} == {
        "Docker": 7, "a Kubernetes cluster": 8, "Helm": 9, "Go": 11, "make": 11}
    assert found["Go"][2] == "You need Go 1.22 and `make` installed to build the shim."
    assert not any(v[1] for v in found.values())  # all stated, none merely assumed


def test_conditional_negated_and_plain_english_words_are_not_prerequisites():
    found = prereqs("sandbox-runtime.md")
    assert "hugo" not in found  # "If you want to build the docs, you also need `hugo`"
    assert "Podman" not in found and "podman" not in found  # "does not require `podman`"
    # "Make sure the kernel is recent": `make` is only a tool in backticks or as "GNU make"
    assert detect("# G\n\nMake sure the kernel is recent.\n\n```console\n$ make\n```\n") == {}
    assert detect("# G\n\nYou need GNU make.\n\n```console\n$ make\n```\n") == {"make": 3}
    # "go" the English verb is not Go
    assert detect("# G\n\nYou need to go to the releases page.\n\n```console\n$ go version\n```\n") == {}


def test_a_backticked_word_counts_only_when_the_guide_runs_it():
    md = "# G\n\n## Prerequisites\n\n- `widgetctl` 2.0 or later\n- a `src` folder under `$GOPATH`\n\n" \
         "```console\n$ widgetctl start\n```\n"
    assert detect(md) == {"widgetctl": 5}


def test_the_guides_subject_is_assumed_unless_a_step_installs_it():
    found = prereqs("docker-in-sandbox.md")
    assert found == {"Docker": (2, True, "its title is \"Docker in the Sandbox\"")}
    assert prereqs("install-docker.md") == {}  # the guide installs docker.io itself


def test_a_platform_the_commands_use_and_no_step_installs_is_assumed():
    md = "# Build it\n\n```console\n$ git clone https://example.com/w.git\n$ cd w\n```\n"
    (pre,) = detect_prerequisites(parse_text(md, "g.md"), md.split("\n"))
    assert (pre.name, pre.line, pre.assumed) == ("git", 4, True)
    assert pre.sentence == "it runs git and no step installs it"
    md2 = "# Build it\n\n```console\n$ sudo apt-get install -y git\n$ git clone https://example.com/w.git\n```\n"
    assert detect(md2) == {}


def test_list_shows_prerequisites_in_text_and_json(capsys):
    rc = main(["list", str(DATA / "sandbox-runtime.md")])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.splitlines()[0] == (
        "# tests/data/prereq/sandbox-runtime.md  (debian-12; 6 steps, 0 skipped; prerequisites: Docker (line 7), "
        "a Kubernetes cluster (line 8), Helm (line 9), Go (line 11), make (line 11))")
    rc = main(["list", "--json", str(DATA / "docker-in-sandbox.md")])
    (doc,) = json.loads(capsys.readouterr().out)
    assert doc["prerequisites"] == [{"name": "Docker", "provides": ["docker", "dockerd", "docker-compose"],
                                     "sentence": "its title is \"Docker in the Sandbox\"",
                                     "line": 2, "assumed": True}]


def test_paragraphs_skip_code_comments_and_front_matter_with_exact_lines():
    md = ("---\ntitle: x\n---\n# T\n\nFirst line\nsecond line.\n\n<!-- a\ncomment -->\n"
          "```bash\nnot prose\n```\n- item one\n  continued\n- item two\n")
    doc = parse_text(md, "g.md")
    pars = paragraphs(doc, md.split("\n"))
    assert [(p.line, p.text, p.item) for p in pars] == [
        (6, "First line\nsecond line.", False), (14, "item one\ncontinued", True), (16, "item two", True)]


def test_word_steps_are_fetch_instructions_with_their_lines():
    (plan,) = plan_paths([str(DATA / "fetch-in-words.md")]).plans
    got = [(w.line, w.text.split()[0]) for w in plan.word_steps]
    assert got == [(5, "Download"), (14, "To"), (23, "Download")]


def test_the_example_guides_assume_nothing():
    """The seeded example set must keep its verdicts: no prerequisite may be found in it."""
    plans = plan_paths(["docs_under_test/examples"]).plans
    assert plans and all(p.prerequisites == [] for p in plans)


@pytest.mark.skipif(not EXTERNAL.is_dir(), reason="../shared/external-docs is not here")
def test_real_guides():
    found = {p.path.rsplit("/", 1)[-1]: {q.name: (q.line, q.assumed) for q in p.prerequisites}
             for p in plan_paths([str(EXTERNAL)]).plans}
    assert found["gvisor__docker-in-gvisor.md"] == {"Docker": (1, True)}
    assert found["firecracker__getting-started.md"]["Docker"] == (172, False)
    assert found["nerdctl__README.md"]["containerd"] == (131, False)
    assert found["nerdctl__README.md"]["a Kubernetes cluster"] == (77, True)


def test_a_cluster_the_guide_creates_is_not_assumed():
    md = "# Try it\n\n```console\n$ kind create cluster\n$ kubectl get nodes\n```\n"
    assert detect(md) == {}
    md2 = "# Try it\n\n```console\n$ kubectl get nodes\n```\n"
    assert detect(md2) == {"a Kubernetes cluster": 4}
