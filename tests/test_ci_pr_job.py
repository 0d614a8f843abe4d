"""The pull-request job (docs/ci/github-actions-pr.yml) and every job snippet in docs/ci.md stay usable: each
`doctest-runner` line parses with the real CLI parser, the PR job uses the CI surfaces it documents (lint
annotations, a SARIF upload of the file lint wrote, changed guides with run annotations), and the nightly
GitHub job annotates its run."""

from __future__ import annotations

import re

import yaml

from doctest_runner.cli import build_parser
from test_ci_jobs import (
    CI_DOC,
    GITHUB,
    REPO,
    check_argv,
    command_lines,
    doctest_runner_argv,
    github_scripts,
)

PR = REPO / "docs" / "ci" / "github-actions-pr.yml"


def _load(path) -> dict:
    return yaml.safe_load(path.read_text())


def argv_of(line: str, env: dict[str, str]) -> list[str] | None:
    """`doctest-runner` argv of a shell line, cut at a redirect as well as at `||`, `&&`, `;`, `|`."""
    argv = doctest_runner_argv(line, env)
    if argv is None:
        return None
    for i, word in enumerate(argv):
        if word.startswith((">", "<", "2>")):
            return argv[:i]
    return argv


def pr_commands() -> list[tuple[str, list[str]]]:
    """(the script line, argv) of every doctest-runner call in the PR workflow; `${{ ... }}` values given."""
    out = []
    for script, env in github_scripts(_load(PR)):
        env = {**env, "BASE_REF": "main"}
        for line in command_lines(script):
            argv = argv_of(line, env)
            if argv is not None:
                out.append((line, argv))
    return out


def test_pr_workflow_is_shown_verbatim_in_the_doc():
    doc = CI_DOC.read_text()
    assert PR.read_text() in re.findall(r"```yaml\n(.*?)```", doc, flags=re.DOTALL)
    assert "docs/ci/github-actions-pr.yml" in doc


def test_every_pr_command_parses_and_uses_the_ci_surfaces():
    commands = pr_commands()
    parser = build_parser()
    for _, argv in commands:
        check_argv(argv)
    lints = [parser.parse_args(argv) for _, argv in commands if argv[0] == "lint"]
    assert sorted(a.format for a in lints) == ["github", "sarif"]
    assert len({tuple(a.paths) for a in lints}) == 1  # both formats lint the same docs
    (run,) = [parser.parse_args(argv) for _, argv in commands if argv[0] == "run"]
    assert run.annotations == "github" and run.changed == "origin/main" and run.fail_on == "doc"


def test_pr_workflow_uploads_the_sarif_file_lint_wrote():
    data = _load(PR)
    triggers = data.get("on", data.get(True))
    assert "pull_request" in triggers
    assert data["permissions"]["security-events"] == "write"
    lint = data["jobs"]["lint"]
    sarif_step = next(s for s in lint["steps"] if "--format sarif" in s.get("run", ""))
    written = re.search(r">\s*(\S+)", sarif_step["run"]).group(1)
    upload = next(s for s in lint["steps"] if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == written
    assert sarif_step["if"] == "always()" and upload["if"] == "always()"  # uploaded even when lint found errors
    run_job = data["jobs"]["changed-guides"]
    checkout = next(s for s in run_job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # --changed needs the base branch's history
    assert {"self-hosted", "kvm"} <= set(run_job["runs-on"])


def test_nightly_github_run_annotates():
    runs = [doctest_runner_argv(line, env) for script, env in github_scripts(_load(GITHUB))
            for line in command_lines(script)]
    (run,) = [build_parser().parse_args(argv) for argv in runs if argv and argv[0] == "run"]
    assert run.annotations == "github"


def test_gitlab_merge_request_snippet_and_shell_blocks_in_the_doc_parse():
    """Job snippets that are not files (the GitLab merge-request job) and the doc's shell blocks parse too."""
    doc = CI_DOC.read_text()
    (snippet,) = [b for b in re.findall(r"```yaml\n(.*?)```", doc, flags=re.DOTALL) if "merge_request_event" in b]
    (job,) = yaml.safe_load(snippet).values()
    env = {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}
    runs = [argv_of(line, env) for line in command_lines("\n".join(job["script"]))]
    (run,) = [build_parser().parse_args(argv) for argv in runs if argv]
    assert run.changed == "origin/main" and run.fail_on == "doc"
    assert job["artifacts"]["reports"]["junit"] == "doctest-out/junit.xml"
    shell = [argv_of(line, {}) for block in re.findall(r"```sh\n(.*?)```", doc, flags=re.DOTALL)
             for line in command_lines(block)]
    shell = [argv for argv in shell if argv]
    assert len(shell) >= 4
    for argv in shell:
        check_argv(argv)
