"""Shell prompts in docs: which lines are commands a reader types, and in which shell.

Host prompts (the reader's own shell): ``$ ``, ``~$ ``, ``user@host:~$ ``, ``user@host:/path$ ``,
``[user@host dir]$ ``, ``(venv) $ ``; and the ``$sudo`` typo (no space after ``$``; kept with
prompt ``"$"`` so lint can flag it).

Guest prompts (a shell inside a container/VM/monitor the doc entered): ``/ # ``, ``bash-4.2# ``,
``sh-5.1# ``, ``[container]# ``, ``[root@xyz /]# ``, ``(qemu) ``, ``root@container:/# ``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HOST_RE = re.compile(
    r"^(?P<lead>[ \t]*)"
    r"(?P<prompt>(?:\([\w.-]+\)[ \t]+)?(?:[\w.-]+@[\w.-]+(?::[^\s$#]*)?|~[^\s$#]*|\[[^\]\n]*\])?\$)"
    r"(?:(?P<sep>[ \t])(?P<rest>.*)|$)"
)
_TYPO_RE = re.compile(r"^(?P<lead>[ \t]*)\$(?P<rest>[a-z][\w.+-]*(?:[ \t].*)?)$")
_GUEST_RE = re.compile(
    r"^(?P<lead>[ \t]*)(?P<prompt>"
    r"/[^\s#$]*[ \t]?#"  # / #   /tmp #   /#
    r"|~[ \t]#"  # ~ #
    r"|(?:ba|z|k|da|c|tc|)sh-\d+(?:\.\d+)*[#$]"  # bash-4.2#  sh-5.1#  bash-5.1$
    r"|\[[^\]\n]*\]#"  # [container]#  [root@xyz /]#
    r"|\(qemu\)"  # QEMU monitor
    r"|[\w.-]+@[\w.-]+:[^\s$#]*#"  # root@container:/#
    r")(?:(?P<sep>[ \t])(?P<rest>.*)|$)"
)
_COMMENT_RE = re.compile(r"^[ \t]*#(?:[ \t]|$)")
_PS2_RE = re.compile(r"^>(?: |$)")


@dataclass(frozen=True)
class Prompt:
    kind: str  # "host" | "typo" | "guest"
    prompt: str  # the text stripped, e.g. "$ ", "user@host:~$ ", "$", "/ # "
    rest: str  # the command typed after it

    @property
    def guest(self) -> bool:
        return self.kind == "guest"


def match_prompt(line: str) -> Prompt | None:
    """The prompt at the start of `line`, if any."""
    if "$" in line:
        m = _HOST_RE.match(line)
        if m:
            prompt = m.group("prompt") + (m.group("sep") or "")
            return Prompt("host", prompt, m.group("rest") or "")
        m = _TYPO_RE.match(line)
        if m:
            return Prompt("typo", "$", m.group("rest"))
    m = _GUEST_RE.match(line)
    if m:
        prompt = m.group("prompt") + (m.group("sep") or "")
        return Prompt("guest", prompt, m.group("rest") or "")
    return None


def is_comment(line: str) -> bool:
    """A `# ...` line: in blocks that use `$ ` prompts it is a comment, not output."""
    return _COMMENT_RE.match(line) is not None


def strip_ps2(line: str) -> str:
    """Remove a `> ` PS2 continuation prompt."""
    return line[2:] if line.startswith("> ") else ("" if line == ">" else line)


def is_ps2(line: str) -> bool:
    return _PS2_RE.match(line) is not None


def is_prompted(lines: list[str]) -> bool:
    """A block is prompted when its first line that is not blank or a comment carries a prompt."""
    for line in lines:
        if not line.strip() or is_comment(line):
            continue
        return match_prompt(line) is not None
    return False
