"""The nightly job definitions in docs/ci/ (and their copies in docs/ci.md) stay usable.

Every `doctest-runner ...` line in them is parsed with the real argparse parser, so a renamed
option or sub-command breaks this test instead of the first night's run; every script they call
must exist; both must be scheduled, keep the history, and publish the reports.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from doctest_runner.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
GITHUB = REPO / "docs" / "ci" / "github-actions-nightly.yml"
GITLAB = REPO / "docs" / "ci" / "gitlab-ci-nightly.yml"
CI_DOC = REPO / "docs" / "ci.md"
REPORTS = ("doctest-out/report.html", "doctest-out/checklist.md", "doctest-out/artifacts/")


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _github_env(data: dict, job: dict, step: dict) -> dict[str, str]:
    """Workflow, job and step `env:` merged; `${{ inputs.x || 'default' }}` becomes its default."""
    env: dict[str, str] = {}
    for scope in (data.get("env") or {}, job.get("env") or {}, step.get("env") or {}):
        for key, value in scope.items():
            text = str(value)
            m = re.fullmatch(r"\$\{\{.*\|\|\s*'([^']*)'\s*\}\}", text.strip())
            env[key] = m.group(1) if m else text
    return env


def github_scripts(data: dict) -> list[tuple[str, dict[str, str]]]:
    """(run script, env) for every `run:` step of every job."""
    out = []
    for job in data["jobs"].values():
        for step in job.get("steps", []):
            if "run" in step:
                assert isinstance(step["run"], str), f"step {step.get('name')!r}: run is not a string"
                out.append((step["run"], _github_env(data, job, step)))
    return out


def gitlab_scripts(data: dict) -> list[tuple[str, dict[str, str]]]:
    """(script line, variables) for every before_script/script/after_script entry of every job."""
    variables = {k: str(v) for k, v in (data.get("variables") or {}).items()}
    out = []
    for name, job in data.items():
        if not isinstance(job, dict) or "script" not in job:
            continue
        env = {**variables, **{k: str(v) for k, v in (job.get("variables") or {}).items()}}
        for key in ("before_script", "script", "after_script"):
            for line in job.get(key) or []:
                # a `key: value` inside an unquoted script line makes YAML read a mapping
                assert isinstance(line, str), f"{name}.{key}: {line!r} is not a string (quote it)"
                out.append((line, env))
    return out


def command_lines(script: str) -> list[str]:
    """Logical shell lines: `\\`-continuations joined, blank lines dropped."""
    return [line.strip() for line in script.replace("\\\n", " ").splitlines() if line.strip()]


def expand(text: str, env: dict[str, str]) -> str:
    """`$NAME` / `${NAME}` from the job's environment; an unknown name is an error, not an empty string."""
    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in env:
            raise KeyError(f"${name} is not set in the job's env/variables")
        return env[name]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, text)


def doctest_runner_argv(line: str, env: dict[str, str]) -> list[str] | None:
    """The argv after `doctest-runner` on a shell line (up to `||`, `&&`, `;` or `|`), or None."""
    if "doctest-runner" not in line:
        return None
    words = shlex.split(expand(line, env), comments=True)
    for i, word in enumerate(words):
        if word == "doctest-runner" or word.endswith("/doctest-runner"):
            argv = []
            for arg in words[i + 1:]:
                if arg in ("||", "&&", ";", "|"):
                    break
                argv.append(arg)
            return argv
    return None


def check_argv(argv: list[str]) -> None:
    """Parse with the real CLI parser; argparse's usage error (SystemExit) fails the test."""
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"`doctest-runner {' '.join(argv)}` is not a valid command line (exit {exc.code})")


def all_commands() -> list[tuple[str, list[str]]]:
    found = []
    for path, scripts in ((GITHUB, github_scripts(_load(GITHUB))), (GITLAB, gitlab_scripts(_load(GITLAB)))):
        for script, env in scripts:
            for line in command_lines(script):
                argv = doctest_runner_argv(line, env)
                if argv is not None:
                    found.append((path.name, argv))
    return found


# --- structure -----------------------------------------------------------------------------------

def test_both_files_are_yaml_mappings():
    for path in (GITHUB, GITLAB):
        assert isinstance(_load(path), dict), path


def test_github_workflow_structure():
    data = _load(GITHUB)
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` key as true
    crons = [entry["cron"] for entry in triggers["schedule"]]
    assert crons and all(len(c.split()) == 5 for c in crons)
    assert set(triggers["workflow_dispatch"]["inputs"]["fail_on"]["options"]) == {"doc", "any"}
    (job,) = data["jobs"].values()
    assert {"self-hosted", "kvm"} <= set(job["runs-on"])
    uses = [step.get("uses", "") for step in job["steps"]]
    assert any(u.startswith("actions/cache/restore@") for u in uses)
    save = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/cache/save@"))
    assert save["if"] == "always()" and save["with"]["path"] == "history"
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()"
    paths = upload["with"]["path"].split()
    assert all(p in paths for p in REPORTS)
    junit = next(s for s in job["steps"] if "junit" in s.get("uses", ""))
    assert junit["if"] == "always()" and junit["with"]["report_paths"] == "doctest-out/junit.xml"
    history = next(s for s in job["steps"] if "doctest-runner history" in s.get("run", ""))
    assert history["if"] == "always()"


def test_gitlab_job_structure():
    data = _load(GITLAB)
    (name,) = [k for k, v in data.items() if isinstance(v, dict) and "script" in v]
    job = data[name]
    sources = " ".join(rule["if"] for rule in job["rules"])
    assert '$CI_PIPELINE_SOURCE == "schedule"' in sources
    assert "kvm" in job["tags"]
    assert job["cache"]["paths"] == ["history/"] and job["cache"]["when"] == "always"
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"]["junit"] == "doctest-out/junit.xml"
    assert all(p in artifacts["paths"] for p in REPORTS)
    assert any("doctest-runner history" in line for line in job["after_script"])
    assert data["variables"]["FAIL_ON"] == "doc"


# --- commands ------------------------------------------------------------------------------------

def test_every_doctest_runner_command_parses():
    commands = all_commands()
    assert {sub for _, (sub, *_rest) in commands} >= {"run", "history"}
    for _, argv in commands:
        check_argv(argv)


def test_the_run_command_is_the_nightly_one():
    runs = [(where, argv) for where, argv in all_commands() if argv[0] == "run"]
    assert [where for where, _ in runs] == [GITHUB.name, GITLAB.name]
    for _, argv in runs:
        args = build_parser().parse_args(argv)
        assert args.paths == ["docs_under_test/kata"]
        assert args.source == "kata-src"
        assert str(args.out) == "doctest-out"
        assert str(args.history) == "history/doctest.sqlite"
        assert args.fail_on == "doc"  # unless a manual run asks for `any`


def test_the_checker_rejects_a_bad_command_line():
    """The parse check above can fail: an unknown option or sub-command is caught."""
    argv = doctest_runner_argv(".venv/bin/doctest-runner run docs_under_test/kata --fail-on sometimes", {})
    with pytest.raises(pytest.fail.Exception):
        check_argv(argv)
    with pytest.raises(pytest.fail.Exception):
        check_argv(["nightly", "docs_under_test/kata"])
    with pytest.raises(KeyError):
        expand("--fail-on $UNSET", {})


def test_every_script_the_jobs_call_exists():
    called = set()
    for scripts in (github_scripts(_load(GITHUB)), gitlab_scripts(_load(GITLAB))):
        for script, _ in scripts:
            called.update(re.findall(r"(?:^|\s)(?:bash|sh)\s+(\S+)", script))
            called.update(re.findall(r"(?:^|\s)(\.ci/\S+)", script))
    assert ".ci/setup" in called
    for script in called:
        assert (REPO / script).is_file(), f"the jobs call {script}, which is not in the repository"


# --- the doc -------------------------------------------------------------------------------------

def test_ci_doc_includes_both_job_files_verbatim():
    doc = CI_DOC.read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", doc, flags=re.DOTALL)
    for path in (GITHUB, GITLAB):
        assert path.read_text() in blocks, f"docs/ci.md does not show the current {path.name}"
        assert f"docs/ci/{path.name}" in doc
