"""Running steps in the guest over SSH: one terminal-like shell session per guide (see session.py).

Reading shell text (splitting a command into units, decoding the saved `declare -p` state) is `shell`'s job;
exec builds the step script from it and runs it.
"""

from doctest_runner.exec.output import OutputCollector, format_transcript, interactive_evidence
from doctest_runner.exec.script import StepScript, build_script, is_reboot_command
from doctest_runner.exec.session import GuestSession

__all__ = [
    "GuestSession",
    "OutputCollector",
    "StepScript",
    "build_script",
    "format_transcript",
    "interactive_evidence",
    "is_reboot_command",
]
