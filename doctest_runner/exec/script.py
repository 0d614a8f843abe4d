"""Turn a step's command into the bash script that runs it in the guest (pure, host side).

Why a generated script and not the command as is: a reader stops at the first command that fails, but
bash's errexit ignores a failing command inside `a && b` lists, and `$LINENO` alone cannot say which
line of a block failed. So the command is split into its top-level commands (using `bash -n`, which
only parses), and after each one a check line ends the step on a non-zero status. The script keeps
every line of the command byte for byte (heredocs and quotes arrive intact through SFTP), and
`line_index` maps each script line back to the 0-based line of the command for the failing-line report.
"""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
from dataclasses import dataclass

# Lines with none of these are complete commands on their own: no need to ask bash.
_NEEDS_PARSER = re.compile(
    r"""['"`(){}]|<<|\[\[|\b(if|then|else|elif|fi|for|while|until|do|done|case|esac|select|function|coproc)\b"""
)
_CONTINUES = re.compile(r"(\|\||&&|\|)$")  # a line ending like this goes on
_HEREDOC_WANTED = re.compile(r"here-document at line \d+ delimited by end-of-file \(wanted `(.*)'\)")
_TEST_IDIOM = re.compile(r"^\s*(\[\[?|test)\s.*(&&|\|\|)")  # `[ "$ARCH" = x ] && export ...`
_INCOMPLETE_MSG = ("unexpected end of file", "unexpected EOF", "here-document")
_CHECK = "{{ __dt_chk $? {flag} {start} \"$_\"; }} 2>/dev/null"


@dataclass(frozen=True)
class Unit:
    """One top-level command of a step: lines `start..end` (0-based, inclusive) of the command."""

    start: int
    end: int
    text: str

    @property
    def is_code(self) -> bool:
        """False for blank and comment-only stretches, which need no check after them."""
        return any(ln.strip() and not ln.lstrip().startswith("#") for ln in self.text.split("\n"))

    @property
    def test_idiom(self) -> bool:
        """`[ cond ] && cmd`: a false condition is not an error a reader would notice."""
        return bool(_TEST_IDIOM.match(self.text)) and "\n" not in self.text.strip()


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


@functools.lru_cache(maxsize=4096)
def _bash_parse(text: str) -> tuple[bool, str | None]:
    """Ask `bash -n` (parses, never runs) whether `text` is whole commands; also the heredoc word it awaits."""
    res = subprocess.run(["bash", "-n"], input=text + "\n", capture_output=True, text=True, timeout=30,
                         check=False)
    err = res.stderr
    m = _HEREDOC_WANTED.search(err)
    if m:
        return False, m.group(1)
    if any(msg in err for msg in _INCOMPLETE_MSG):
        return False, None
    return True, None  # parses, or a syntax error more lines will not fix: bash reports it when it runs


def _continues(line: str) -> bool:
    """A line ending in an odd backslash, `|`, `||` or `&&` goes on to the next one."""
    if line.lstrip().startswith("#"):
        return False
    stripped = line.rstrip()
    if stripped.endswith("\\"):
        return (len(stripped) - len(stripped.rstrip("\\"))) % 2 == 1
    return bool(_CONTINUES.search(stripped))


def split_units(command: str) -> list[Unit]:
    """Split a command into its top-level commands, each a run of whole lines."""
    lines = command.split("\n")
    units: list[Unit] = []
    start = 0
    needs_bash = False
    heredoc_word: str | None = None
    for i, line in enumerate(lines):
        needs_bash = needs_bash or bool(_NEEDS_PARSER.search(line))
        if heredoc_word is not None and line.strip() != heredoc_word:
            continue  # inside a heredoc: only its end line can complete the command
        heredoc_word = None
        if _continues(line):
            continue
        if needs_bash:
            complete, heredoc_word = _bash_parse("\n".join(lines[start : i + 1]))
            if not complete:
                continue
        units.append(Unit(start, i, "\n".join(lines[start : i + 1])))
        start, needs_bash = i + 1, False
    if start < len(lines):  # unterminated quote or heredoc: bash will say so when it runs
        units.append(Unit(start, len(lines) - 1, "\n".join(lines[start:])))
    return units


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
