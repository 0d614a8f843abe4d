"""Rule `sudo-redirect`: `sudo cmd > /etc/file` — the redirect is opened by the reader's own shell.

sudo elevates the command, not the `>`; so `sudo echo x >> /etc/f`, `sudo cat > /opt/f <<EOF`,
`echo x | sudo cat > f` and `curl ... | sudo gpg --dearmor > /etc/apt/keyrings/k.gpg` all fail
with "Permission denied" for a normal user.

Policy: reported only when the target is a path a normal user cannot write (PRIVILEGED_DIRS),
after expanding variables whose value the doc or sidecar gives literally. `sudo journalctl > log`
(writing a user-owned file from privileged output) is a legitimate pattern, so a target outside
those directories, in $HOME, /tmp or /dev, or not resolvable, is not reported. Steps whose
shell is root already (`# ` prompt, `user: root`) are skipped. A redirect on a non-sudo command
in the same pipeline as a sudo one counts too: the author clearly meant it to be privileged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from doctest_runner.lint.context import LintContext
from doctest_runner.shell import ASSIGN_RE, SimpleCommand, Word, command_words, uses_sudo
from doctest_runner.model import Finding

RULE = "sudo-redirect"

PRIVILEGED_DIRS = (
    "/etc",
    "/opt",
    "/usr",
    "/var",
    "/boot",
    "/lib",
    "/lib32",
    "/lib64",
    "/root",
    "/srv",
    "/sys",
    "/proc",
    "/bin",
    "/sbin",
    "/run",
)
_WRITABLE = ("/var/tmp", "/run/user", "/dev", "/tmp")

_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def privileged(path: str) -> bool:
    """True if a normal user cannot create/append `path` (a resolved, literal path)."""
    if path.startswith("~root"):
        return True
    if not path.startswith("/") or "$" in path:
        return False
    norm = re.sub(r"/+", "/", path)
    if any(norm == d or norm.startswith(d + "/") for d in _WRITABLE):
        return False
    return any(norm == d or norm.startswith(d + "/") for d in PRIVILEGED_DIRS)


def _resolve(value: str, known: dict[str, str]) -> str:
    return _VAR_RE.sub(lambda m: known.get(m.group(1) or m.group(2), m.group(0)), value)


def check(ctx: LintContext) -> Iterator[Finding]:
    known: dict[str, str] = dict(ctx.plan.vars)
    for s in ctx.shell:
        pipelines = s.script.pipelines()
        for cmd in s.script.commands:
            # literal assignments feed target resolution: CONF=/etc/x.toml; sudo cat > $CONF
            if not cmd.argv:
                for w in cmd.assignments:
                    m = ASSIGN_RE.match(w.text)
                    if m and "$(" not in w.value and "`" not in w.value:
                        known[m.group(1)] = _resolve(w.value[m.end() - m.start() :], known)
            if s.as_root or not cmd.redirects:
                continue
            sudo_here = uses_sudo(cmd)
            if not sudo_here and not any(uses_sudo(c) for c in pipelines.get(cmd.pipeline, [])):
                continue
            for r in cmd.redirects:
                word = r.target if r.writes_file else None
                if word is None:
                    continue
                target = _resolve(word.value, known)
                if not privileged(target):
                    continue
                yield ctx.finding(s, r.start, RULE, "error", _message(r.op, word, target, sudo_here),
                                  _hint(cmd, r.op, word))


def _message(op: str, word: Word, target: str, sudo_here: bool) -> str:
    who = "sudo does not apply to" if sudo_here else "sudo elsewhere in the pipeline does not apply to"
    return (
        f"{who} the redirect `{op} {word.text}`: your own (unprivileged) shell opens {target}, "
        "so this fails with Permission denied"
    )


def _hint(cmd: SimpleCommand, op: str, word: Word) -> str:
    tee = f"{'sudo tee -a' if '>>' in op else 'sudo tee'} {word.text} > /dev/null"
    if command_words(cmd)[:1] == ["cat"]:
        return f"use `{tee}` in place of `sudo cat {op} {word.text}`"
    return f"pipe the output into `{tee}` in place of `{op} {word.text}`"
