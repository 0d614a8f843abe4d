"""Turn a step's command into the bash script that runs it in the guest (pure, host side).

Why a generated script and not the command as is: a reader stops at the first command that fails, but
bash's errexit ignores a failing command inside `a && b` lists, and `$LINENO` alone cannot say which
line of a block failed. So the command is split into its top-level commands (`shell.split_units`, decided
by bash's parser, which never runs anything), and after each one a check line ends the step on a non-zero
status. The script keeps every line of the command byte for byte (heredocs and quotes arrive intact through SFTP), and
`line_index` maps each script line back to the 0-based line of the command for the failing-line report.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from doctest_runner.shell import split_units

_CHECK = "{{ __dt_chk $? {flag} {start} \"$_\"; }} 2>/dev/null"


@dataclass(frozen=True)
class StepScript:
    """The generated script and, for each of its lines (1-based), the command line it came from."""

    text: str
    line_index: tuple[int | None, ...]  # line_index[n - 1]: command line of script line n; None for ours

    def command_line(self, script_line: int) -> int | None:
        """0-based command line of a 1-based script line (None for a line we added or out of range)."""
        if 1 <= script_line <= len(self.line_index):
            return self.line_index[script_line - 1]
        return None


def build_script(command: str, *, lib_path: str, step_no: int, errexit: bool, root: bool,
                 pid_file: str | None = None) -> StepScript:
    """The step script: line 1 notes the shell's pid (for timeouts) and sources the guest library, then
    come each top-level command and its check."""
    pid = f"echo $$ >{shlex.quote(pid_file)}; " if pid_file else ""
    out = [f"{pid}. {shlex.quote(lib_path)} {step_no} {int(errexit)} {int(root)}"]
    index: list[int | None] = [None]
    for unit in split_units(command):
        for k, line in enumerate(unit.text.split("\n")):
            out.append(line)
            index.append(unit.start + k)
        if unit.is_code:
            out.append(_CHECK.format(flag=int(unit.test_idiom), start=len(out) - (unit.end - unit.start)))
            index.append(None)
    return StepScript("\n".join(out) + "\n", tuple(index))


def file_step_command(content_path: str, dest: str) -> str:
    """The command for a `file` step: copy uploaded content to the path the doc names (parents created)."""
    d = shlex.quote(dest)
    return f"mkdir -p -- \"$(dirname -- {d})\" && cat -- {shlex.quote(content_path)} > {d}"


_REBOOT = re.compile(
    r"^\s*(sudo\s+(-\S+\s+)*)?(/s?bin/|/usr/s?bin/)?"
    r"(reboot|systemctl\s+reboot|shutdown\s+(-r|--reboot)(\s+now|\s+\+?0)?|init\s+6)\s*(;\s*)?$"
)


def is_reboot_command(command: str) -> bool:
    """Whether a step only reboots the machine (then we reboot under control instead of running it)."""
    lines = [ln for ln in command.split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    return len(lines) == 1 and bool(_REBOOT.match(lines[0]))
