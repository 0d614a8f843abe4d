"""Shell inside shell at run time: a syntax error inside `sh -c '...'` points at its own doc line.

When a step hands a script to another shell (`sudo sh -c '...'`, `ssh host '...'`, `watch '...'`: see
`shell.inner_scripts`), that shell's complaint names a line of the *string*: `bash: -c: line 3: ...` or
dash's `sh: 3: Syntax error: ...`. The step itself parsed, so the executor's failing line is the line where
the outer command starts; the line to fix is inside the string. Here the inner script is found again in the
step's command, parsed with `bash -n` (parse only, as lint does) for the exact line, and mapped through the
step's line map; when bash accepts it (a dash-only complaint) the line the shell named is used.
"""

from __future__ import annotations

import re

from doctest_runner.model import Step
from doctest_runner.shell import check_step, inner_scripts
from doctest_runner.text import clean_lines

# bash/zsh/ksh `-c` scripts (also the remote shell of ssh, su -c, script -c) and dash's numbered messages
_INNER_ERROR = re.compile(
    r"^(?:\S*/)?(?:ba|z|k)?sh: -c: line (?P<line>\d+): "
    r"|^(?:\S*/)?(?:da)?sh: (?P<dline>\d+): Syntax error: "
)


def reported_line(output: str) -> int | None:
    """The 1-based line of the inner script that an inner shell's syntax error names, if any."""
    for line in clean_lines(output):
        m = _INNER_ERROR.match(line.strip())
        if m and ("yntax error" in line or "unexpected EOF" in line):
            return int(m.group("line") or m.group("dline"))
    return None


def inner_failed_line(step: Step, output: str, failed_line_index: int | None = None) -> int | None:
    """The doc line of the syntax error inside a script the step handed to another shell; None when the output
    shows no such error, the step has no inner script, or the step itself does not parse (then the message is
    the outer shell's own, e.g. a root step run as `bash -c`)."""
    named = reported_line(output)
    if named is None or check_step(step.command) is not None:
        return None
    scripts = inner_scripts(step.command)
    if failed_line_index is not None:  # the failing command's inner scripts start on its line or after it
        scripts = [s for s in scripts if s.line_map[0] >= failed_line_index] or scripts
    for inner in scripts:
        problem = check_step(inner.text)
        if problem is not None:
            return step.source_line(inner.line_map[min(max(problem.line_index, 0), len(inner.line_map) - 1)])
    for inner in scripts:
        if named <= len(inner.line_map):
            return step.source_line(inner.line_map[named - 1])
    return None
