"""Running steps in the guest over SSH: one terminal-like shell session per guide (see session.py)."""

from doctest_runner.exec.output import OutputCollector, format_transcript, interactive_evidence
from doctest_runner.exec.script import StepScript, Unit, build_script, is_reboot_command, split_units
from doctest_runner.exec.session import GuestSession
from doctest_runner.exec.state import ShellState, parse_state

__all__ = [
    "GuestSession",
    "OutputCollector",
    "ShellState",
    "StepScript",
    "Unit",
    "build_script",
    "format_transcript",
    "interactive_evidence",
    "is_reboot_command",
    "parse_state",
    "split_units",
]
