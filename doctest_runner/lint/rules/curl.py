"""Rule `curl-pipe-shell`: `curl ... | bash`, `wget -O- ... | sh`, `bash <(curl ...)`.

The reader runs whatever the server sends at that moment, unreviewed and unpinned, and a
download cut short runs half a script. A warning, not an error: it works, it is just a habit
docs should not teach without a checksum or at least a saved file to look at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from doctest_runner.lint.context import LintContext
from doctest_runner.shell import SimpleCommand, command_argv, command_words
from doctest_runner.model import Finding

RULE = "curl-pipe-shell"

SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish"}
_SUBST_DOWNLOAD_RE = re.compile(r"^(<\(|\$\()\s*(curl|wget)\b")


def _downloads_to_stdout(words: list[str]) -> bool:
    if not words:
        return False
    tool = os.path.basename(words[0])
    args = words[1:]
    if tool == "curl":
        return not any(
            a in ("-o", "-O", "--output", "--remote-name") or a.startswith("--output=") for a in args
        )
    if tool == "wget":
        for i, a in enumerate(args):
            if a in ("-O-", "-qO-", "-qO", "--output-document=-", "-O/dev/stdout") and (
                a != "-qO" or args[i + 1 : i + 2] == ["-"]
            ):
                return True
            if a in ("-O", "--output-document") and args[i + 1 : i + 2] in (["-"], ["/dev/stdout"]):
                return True
            if re.fullmatch(r"-[a-zA-Z]*O-", a):
                return True
        return False
    return False


def _is_shell(cmd: SimpleCommand) -> bool:
    words = command_words(cmd)
    return bool(words) and os.path.basename(words[0]) in SHELLS


def check(ctx: LintContext) -> Iterator[Finding]:
    for s in ctx.shell:
        for pipeline in s.script.pipelines().values():
            pipeline = sorted(pipeline, key=lambda c: c.pipe_index)
            for k, cmd in enumerate(pipeline):
                words = command_words(cmd)
                if not _downloads_to_stdout(words):
                    continue
                shell = next((c for c in pipeline[k + 1 :] if _is_shell(c)), None)
                if shell is None:
                    continue
                yield ctx.finding(
                    s,
                    command_argv(cmd)[0].start,
                    RULE,
                    "warning",
                    f"`{os.path.basename(words[0])} ... | {command_words(shell)[0]}` "
                    "runs a downloaded script unseen",
                    "download to a file, verify it (checksum or signature), then run it",
                )
                break
        for cmd in s.script.commands:
            if not _is_shell(cmd):
                continue
            for w in command_argv(cmd)[1:]:
                m = _SUBST_DOWNLOAD_RE.match(w.text.lstrip('"'))
                if m:
                    program = command_words(cmd)[0]
                    yield ctx.finding(
                        s,
                        command_argv(cmd)[0].start,
                        RULE,
                        "warning",
                        f"`{program} ... {m.group(1)}{m.group(2)} ...)` runs a downloaded script unseen",
                        "download to a file, verify it (checksum or signature), then run it",
                    )
                    break
