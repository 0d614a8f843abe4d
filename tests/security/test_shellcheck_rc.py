"""Issue 11, item 9: shellcheck reads no `.shellcheckrc` from the docs tree and follows no `source=` to host files.

The docs tree holds a `.shellcheckrc` that would disable every finding, or enable external sources with a
source path into a canary folder; a step says `# shellcheck source=<canary>`. The canary file does not parse,
so a shellcheck that read it says SC1094 ("Parsing of sourced file failed"): the control run below shows the
payload works on a plain shellcheck, and the lint rule's findings must stay those of a tree without the rc.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from doctest_runner.lint import lint_plan
from doctest_runner.lint.rules.shellcheck import shellcheck_path
from doctest_runner.model import Plan, Step

pytestmark = pytest.mark.skipif(shellcheck_path() is None, reason="needs shellcheck (apt-get install shellcheck)")


def _tree(tmp_path, rc: str):
    canary = tmp_path / "host"
    canary.mkdir()
    (canary / "secret.sh").write_text("CANARY_SECRET=1\nif then fi ((\n")  # reading it gives SC1094
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / ".shellcheckrc").write_text(rc.format(canary=canary))
    command = f"# shellcheck source={canary}/secret.sh\n. {canary}/secret.sh\necho $@"
    step = Step(id="guide.md:11", path="guide.md", line=11, end_line=13, heading=("Install",), command=command,
                kind="bare", line_map=(11, 12, 13), block_line=10)
    return docs, command, step


def _findings(step: Step) -> list[tuple[int, str]]:
    return [(f.line, f.message.split(":")[0]) for f in lint_plan(Plan(path="guide.md", steps=[step]))
            if f.rule == "shellcheck"]


@pytest.mark.parametrize("rc", [
    "disable=all\n",
    "external-sources=true\nsource-path={canary}\n",
    "external-sources=true\nenable=all\ndisable=SC2068\n",
])
def test_rc_in_the_docs_tree_changes_nothing(tmp_path, monkeypatch, rc):
    docs, command, step = _tree(tmp_path, rc)
    monkeypatch.chdir(docs)  # lint run from inside the docs repository
    monkeypatch.setenv("HOME", str(docs))  # and a ~/.shellcheckrc there too
    (docs / ".config").mkdir()
    (docs / ".config" / "shellcheckrc").write_text(rc.format(canary=tmp_path / "host"))
    monkeypatch.setenv("SHELLCHECK_OPTS", "--external-sources --exclude=SC2068")
    assert _findings(step) == [(13, "SC2068")]  # the unquoted $@, at its doc line; no SC1094 at line 12


def test_the_payload_works_on_a_plain_shellcheck(tmp_path):
    """Control: without our flags the same tree makes shellcheck open the canary (SC1094) or go silent."""
    docs, command, _ = _tree(tmp_path, "external-sources=true\n")
    proc = subprocess.run([shellcheck_path(), "-s", "bash", "-f", "json1", "-"], input=command, text=True,
                          capture_output=True, cwd=docs, check=False)
    codes = {c["code"] for c in json.loads(proc.stdout)["comments"]}
    assert 1094 in codes
