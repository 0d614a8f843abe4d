"""Permission denied on a redirect: `sudo cmd > /etc/x` opens /etc/x as the reader, not as root.

The fix writes through root's `tee`: `cmd | sudo tee /etc/x >/dev/null` (`tee -a` for `>>`), and a heredoc written
with `cat` becomes `sudo tee /etc/x >/dev/null <<EOF`. `>/dev/null` keeps the step's output as it was (tee would
echo the text). `sudo` before `echo`/`printf`/`cat` is dropped: those need no root to produce the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from doctest_runner.model import Step, StepResult
from doctest_runner.shell import Redirect, SimpleCommand, lex

from ..facts import GuestFacts
from ..model import Candidate
from .common import failed_index, find, output_lines, with_line

_DENIED_RE = re.compile(r"(/[^\s:'’]+)['’]?: Permission denied")
_PRODUCERS = frozenset({"echo", "printf", "cat"})
_SUDO_RE = re.compile(r"^sudo(?:\s+-[A-Za-z]+)*\s+")


def rewrite(line: str, denied: str | None) -> str | None:
    """The line with its (denied, else first) file redirect sent through `sudo tee`; None when it has none.

    Read with the project's one shell lexer: quotes, `2>`, `>&`, heredoc openers and `$(...)` are its business."""
    found: list[tuple[SimpleCommand, Redirect]] = []
    for cmd in lex(line).commands:
        if cmd.nested or cmd.function_def:
            continue
        for red in cmd.redirects:
            if red.op in (">", ">>", ">|") and red.fd in (None, "1") and red.target is not None \
                    and not red.target.value.startswith("/dev/"):
                found.append((cmd, red))
    if denied is not None:
        found = [f for f in found if f[1].target is not None and f[1].target.value == denied] or found
    if not found:
        return None
    cmd, red = found[0]
    assert red.target is not None
    others = [r for r in cmd.redirects if r is not red]
    spans = sorted([(w.start, w.end) for w in cmd.words]
                   + [(r.start, r.target.end if r.target is not None else r.start + len(r.op)) for r in others])
    end = max([e for _, e in spans] + [red.target.end])
    kept = " ".join(line[a:b] for a, b in spans)  # the command without the redirect, each piece as written
    sudo = _SUDO_RE.match(kept)
    bare = kept[sudo.end():] if sudo else kept
    tee = f"sudo tee {'-a ' if red.op == '>>' else ''}{red.target.text} >/dev/null"
    stdin = re.fullmatch(r"cat(?:\s+-)?\s*((?:<<-?|<)\s*\S+)?", bare)
    if stdin:  # `cat` only copies its input (a heredoc, `< file`): tee reads it directly
        new_cmd = f"{tee} {stdin.group(1) or ''}".rstrip()
    else:
        words = bare.split()
        producer = bare if words and words[0] in _PRODUCERS else kept
        new_cmd = f"{producer} | {tee}"
    return line[: cmd.start] + new_cmd + line[end:]


def propose(result: StepResult, steps: Sequence[Step], facts: GuestFacts) -> list[Candidate]:
    step = result.step
    index = failed_index(result)
    lines = step.command.split("\n")
    denied = find(_DENIED_RE, result.evidence, *output_lines(result))
    order = [index]
    if result.failed_line is None:  # unknown line: any line up to the first heredoc (its body is text, not shell)
        body = next((k for k, ln in enumerate(lines) if "<<" in ln), len(lines) - 1)
        order = list(range(body + 1))
    for k in order:
        new = rewrite(lines[k], denied)
        if new is None:
            continue
        cand = with_line(result, k, new, category="permission", proposer="sudo-tee",
                         description=f"write {denied or 'the file'} through `sudo tee` instead of the shell's "
                                     "own redirect, which runs without root")
        return [cand] if cand else []
    return []
