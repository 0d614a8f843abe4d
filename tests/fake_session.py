"""Run a planned guide through GuideRun's own step path (run_step -> classify -> cascade) without a VM.

The session is a stand-in that answers each step with the exit status and output a real guest printed
for it, keyed by the step's doc line; everything after the session (verdicts, cascades, reports) is the
code the runner uses.
"""

from __future__ import annotations

from pathlib import Path

from doctest_runner.model import DocResult, ExecResult, HostInfo, Plan, RunResult
from doctest_runner.run.guide import GuideOptions, GuideRun


class FakeSession:
    def __init__(self, answers: dict[int, tuple[int, str]]):
        self.answers = answers  # doc line -> (exit status, output)
        self.ran: list[int] = []

    def run_step(self, step, default_timeout=None, on_output=None) -> ExecResult:
        self.ran.append(step.line)
        code, output = self.answers.get(step.line, (0, ""))
        return ExecResult(exit_code=code, output=output, duration_s=0.01, failed_line_index=0 if code else None)


def run_guide(plan: Plan, answers: dict[int, tuple[int, str]], tmp: Path, *, keep_going: bool = True) -> DocResult:
    gr = GuideRun(plan=plan, options=GuideOptions(keep_going=keep_going), artifacts_dir=tmp, run_id="test")
    gr._session = FakeSession(answers)
    gr.kvm_available = True
    for step in [*plan.setup, *plan.steps]:
        gr.run_step(step)
    return gr._doc_result([])


def one_run(*docs: DocResult) -> RunResult:
    return RunResult(run_id="20261130-030000-test", started_at="2026-11-30T03:00:00+00:00",
                     host=HostInfo("tcg", "test host"), docs=list(docs))


# The seeded example guides (docs_under_test/examples): failing line -> (exit status, typical output, category).
SEEDED = {
    "debian-version.md": (7, 0, "11\n", None),  # output-mismatch: decided by the output check, not here
    "install-jq.md": (7, 1, "Do you want to continue? [Y/n] Abort.", "interactive"),
    "ip-forward.md": (10, 1, "bash: line 2: /etc/sysctl.d/99-containers.conf: Permission denied", "permission"),
    "kvm-check.md": (8, 2, "bash: -c: line 6: syntax error: unexpected end of file", "syntax"),
    "missing-package.md": (4, 100, "E: Unable to locate package sysstats", "package-not-found"),
    "missing-tool.md": (8, 127, "bash: line 1: jq: command not found", "command-not-found"),
    "monitor-service.md": (6, 1, "Failed to restart systemd-journal.service: Unit systemd-journal.service not found.", "service"),
    "forwarding-check.md": (7, 1, "", "unknown"),
    "unpack-release.md": (9, 2, "bash: line 1: VERSION: No such file or directory", "placeholder"),
}
