"""Shell prompts in docs: which lines are commands a reader types, in which shell, as which user.

Line by line (`match_prompt`):

* host prompts (the reader's own shell): ``$ ``, ``~$ ``, ``user@host:~$ ``, ``user@host:/any/path$ ``,
  ``[user@host dir]$ ``, ``(venv) $ ``; ``❯ `` and ``➜  folder `` (starship, oh-my-zsh); and the
  ``$sudo`` typo (no space after ``$``; kept with prompt ``"$"`` so lint can flag it);
* Windows prompts: ``PS C:\\> ``, ``PS> ``, ``C:\\Users\\me> `` (steps for Windows);
* guest prompts (a shell inside a container/VM/monitor the doc entered): ``/ # ``, ``~ # ``,
  ``bash-4.2# ``, ``sh-5.1$ ``, ``[container]# ``, ``[root@xyz /]# ``, ``(qemu) ``, ``root@container:/# ``.

Decided from the block as a whole (`block_prompts`), because the same characters mean different
things in different blocks:

* ``# `` is a root prompt in a ``console``/``shell-session``/``terminal`` (or unlabelled) block that
  uses no ``$ `` prompts, and in a ``bash``/``sh`` block whose every line is a ``# ``-prompted command
  (or part of one); in a block with ``$ `` prompts it is a comment, except right after
  ``$ sudo -i`` / ``$ sudo su -`` / ``$ su -`` (the reader is in a root shell). Either way a ``# ``
  line whose text is prose (`commands.reads_as_command`) is a comment.
* ``> `` and ``% `` are prompts (a bare ``>``, zsh ``%``) only in blocks without ``$ `` prompts and
  only before text that reads as a command; after ``$ `` they are PS2 continuations; in a
  ``bash``/``sh`` script ``> file`` is a redirect, never a prompt.
* ``[root@host ~]# ``, ``root@host:~# ``, ``bash-5.2# ``, ``sh-5.1$ `` are the reader's own (root)
  shell, unless the host command before them in the block enters another shell
  (``$ docker exec -it c bash`` then ``bash-5.2# ls``; `enters_shell`) or an earlier block showed
  them as a guest's.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from doctest_runner.shell import SyntaxCheck, check_syntax

from .commands import command_word, reads_as_command, words_of

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
    r"|(?P<shell>(?:ba|z|k|da|c|tc|)sh-\d+(?:\.\d+)*[#$])"  # bash-4.2#  sh-5.1#  bash-5.1$
    r"|(?P<bracket>\[[^\]\n]*\]#)"  # [container]#  [root@xyz /]#
    r"|\(qemu\)"  # QEMU monitor
    r"|(?P<userhost>[\w.-]+@[\w.-]+:[^\s$#]*#)"  # root@container:/#
    r")(?:(?P<sep>[ \t])(?P<rest>.*)|$)"
)
_GLYPH_RE = re.compile(r"^(?P<lead>[ \t]*)(?P<prompt>❯|➜|λ)(?P<sep>[ \t]+)(?P<rest>.*)$")
_WINDOWS_RE = re.compile(
    r"^(?P<lead>[ \t]*)(?P<prompt>PS(?:[ \t]+[A-Za-z]:\\[^>\n]*|[ \t]+~[^>\n]*)?>|[A-Za-z]:\\[^>\n]*>)"
    r"(?:(?P<sep>[ \t])(?P<rest>.*)|$)"
)
# one blank after the mark: `#   indented note` is a comment's continuation, never a prompt
_WEAK_RE = re.compile(r"^(?P<lead>[ \t]*)(?P<prompt>[#>%])(?P<sep>[ \t])(?P<rest>\S.*)$")
_COMMENT_RE = re.compile(r"^[ \t]*#(?:[ \t]|$)")
_PS2_RE = re.compile(r"^>(?: |$)")
# oh-my-zsh: `➜  ~ cmd`, `➜  project git:(main) ✗ cmd`: a folder (and git state) before the command
_OMZ_FOLDER_RE = re.compile(r"^(?P<folder>~\S*|[\w.@/+-]+)(?:[ \t]+git:\([^)]*\))?(?:[ \t]+✗)?[ \t]+(?P<rest>\S.*)$")

SESSION_LANGS = frozenset({"console", "shell-session", "shellsession", "terminal", "sh-session"})
SCRIPT_LANGS = frozenset({"bash", "sh", "shell", "zsh"})

Checker = Callable[[str], SyntaxCheck]

# Commands that open another shell (a container's, a VM's, a remote one): the prompts after them
# belong to that shell. With an interactive flag, any command does (`docker exec -it`, `ctr run -t`).
SHELL_ENTERING = frozenset({
    "ssh", "chroot", "nsenter", "su", "bash", "sh", "zsh", "dash", "ash", "fish", "unshare", "telnet",
    "screen", "minicom", "script", "systemd-nspawn", "machinectl", "toolbox", "distrobox", "vagrant",
    "virsh", "virtctl", "lxc", "incus", "lxd", "kata-runtime", "runc", "crun", "runsc", "multipass",
    "limactl", "lima", "qemu-system-x86_64", "qemu-system-aarch64", "firecracker", "cloud-hypervisor",
})
_INTERACTIVE_FLAGS = frozenset({"-it", "-ti", "-t", "-i", "--tty", "--interactive", "-itd", "--stdin"})
# Tools whose interactive flag (`-it`, `-t`) attaches the reader to a shell in a container or VM.
_EXEC_TOOLS = frozenset({
    "docker", "podman", "nerdctl", "ctr", "crictl", "kubectl", "oc", "lxc", "incus", "toolbox", "limactl",
    "multipass", "virtctl", "vagrant", "buildah", "kata-runtime", "runc", "crun", "runsc", "systemd-nspawn",
})
_ATTACHING = frozenset({"run", "exec", "attach", "debug", "shell", "console", "ssh", "enter", "start"})
_SHELLS = frozenset({"sh", "bash", "zsh", "ash", "dash", "ksh", "fish", "busybox"})


def enters_shell(command: str) -> bool:
    """Does this command put the reader in another shell (so the next prompts are that shell's)?"""
    word = command_word(command)
    if word in SHELL_ENTERING:
        return True
    words = words_of(command)
    if word == "sudo" and len(words) >= 2 and words[1] in ("-i", "-s", "--login", "--shell"):
        return True  # `sudo -i`, `sudo -s`: a root shell
    if words and posixpath.basename(words[-1].strip("'\"")) in _SHELLS:
        return True  # `... exec web bash`, `chroot /mnt /bin/sh`
    return (word in _EXEC_TOOLS and any(w in _ATTACHING for w in words)
            and any(w in _INTERACTIVE_FLAGS for w in words))


@dataclass(frozen=True)
class Prompt:
    kind: str  # "host" | "typo" | "guest" | "windows"
    prompt: str  # the text stripped, e.g. "$ ", "user@host:~$ ", "$", "/ # ", "# ", "PS C:\\> "
    rest: str  # the command typed after it
    root: bool = False  # a root shell's prompt (`# `, `[root@h ~]# `, `bash-5.2# `)
    contextual: bool = False  # a guest-style prompt that is the reader's own shell when first in a block
    weak: bool = False  # `# `, `> `, `% `: a prompt only because the block and the text say so

    @property
    def guest(self) -> bool:
        return self.kind == "guest"

    @property
    def windows(self) -> bool:
        return self.kind == "windows"

    @property
    def dollar(self) -> bool:
        """A `$`-style prompt of the reader's own shell: with it, `# ` lines are comments."""
        return self.kind in ("host", "typo") and not self.root and self.prompt.rstrip().endswith("$")


def match_prompt(line: str) -> Prompt | None:
    """The unambiguous prompt at the start of `line`, if any (`# `, `> `, `% ` need the block)."""
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
        contextual = bool(m.group("shell") or m.group("userhost") or
                          (m.group("bracket") and "@" in m.group("bracket")))
        return Prompt("guest", prompt, m.group("rest") or "", root=prompt.rstrip().endswith("#"),
                      contextual=contextual)
    m = _GLYPH_RE.match(line)
    if m:
        rest = m.group("rest")
        prompt = m.group("prompt") + m.group("sep")
        if m.group("prompt") == "➜":
            folder = _OMZ_FOLDER_RE.match(rest)
            if folder and not reads_as_command(rest) and reads_as_command(folder.group("rest")):
                prompt = line[len(m.group("lead")): len(line) - len(folder.group("rest"))]
                rest = folder.group("rest")
        return Prompt("host", prompt, rest)
    m = _WINDOWS_RE.match(line)
    if m:
        return Prompt("windows", m.group("prompt") + (m.group("sep") or ""), m.group("rest") or "")
    return None


def weak_prompt(line: str, checker: Checker = check_syntax) -> Prompt | None:
    """`# cmd`, `> cmd`, `% cmd`: a prompt only when the text after it reads as a command."""
    m = _WEAK_RE.match(line)
    if m is None or not reads_as_command(m.group("rest"), checker):
        return None
    mark = m.group("prompt")
    return Prompt("host", mark + m.group("sep"), m.group("rest"), root=mark == "#", weak=True)


def block_prompts(
    lines: list[str], lang: str, checker: Checker = check_syntax, guests: set[str] | None = None
) -> list[Prompt | None]:
    """Each line's prompt, decided from the block as a whole (see the module doc).

    `guests`: prompts an earlier block of the doc showed as a guest's (`$ virtctl guestfs x` whose
    output ends in `bash-5.0#`): in a later block they stay the guest's. The guest prompts of this
    block are added to it.

    For a `bash`/`sh` block the root reading is only offered here; `steps.split_prompted` keeps it
    only if every line then belongs to a command (a script has no output lines)."""
    prompts: list[Prompt | None] = [match_prompt(ln) for ln in lines]
    entered = False  # the last host command entered another shell
    for k, p in enumerate(prompts):
        if p is None:
            continue
        if p.contextual:
            if not entered and (guests is None or p.prompt.strip() not in guests):
                p = prompts[k] = replace(p, kind="host")
        if p.kind in ("host", "typo"):
            entered = enters_shell(p.rest)
        elif p.guest and guests is not None:
            guests.add(p.prompt.strip())
    uses_dollar = any(p is not None and p.kind in ("host", "typo") and not p.root for p in prompts)
    if lang not in SESSION_LANGS | SCRIPT_LANGS | {""}:
        return prompts
    if uses_dollar:
        _root_after_sudo_shell(lines, prompts, checker)
        return prompts
    if lang in SCRIPT_LANGS and any(p is not None for p in prompts):
        return prompts  # a script with real prompts: `#` lines there are comments
    for k, line in enumerate(lines):
        if prompts[k] is None and _WEAK_RE.match(line):
            if lang in SCRIPT_LANGS and line.lstrip().startswith(">") and not _prompt_not_truncation(line):
                continue  # `> file` in a script truncates a file; `%` never starts a line of code
            prompts[k] = weak_prompt(line, checker)
    return prompts


def _prompt_not_truncation(line: str) -> bool:
    """`> curl 127.0.0.1:1338/v1/metrics` in a bash fence is a prompt: a known command word with arguments
    follows the mark. `> /var/log/x.log` (a file truncated) and `> out.txt cmd` are code."""
    rest = line.lstrip()[1:].strip()
    return len(words_of(rest)) > 1 and command_word(rest) is not None and not rest.startswith(("/", "./", "~"))


# `sudo -i`, `sudo -s`, `sudo su -`, `su -`, `su root`, `su` (not `su -c cmd`, `sudo -i cmd`)
_ROOT_SHELL_RE = re.compile(r"^\s*(?:sudo\s+(?:-i|-s|--login|su)|su)(?:\s+(?:-|-l|--login|root))*\s*$")


def _root_after_sudo_shell(lines: list[str], prompts: list[Prompt | None], checker: Checker) -> None:
    """After `$ sudo -i` / `$ sudo su -` / `$ su -`, the reader's shell is root: `# cmd` lines are its
    prompts (not comments) until the next `$ ` prompt."""
    rooted = False
    for k, line in enumerate(lines):
        p = prompts[k]
        if p is not None:
            rooted = p.kind in ("host", "typo") and not p.root and bool(_ROOT_SHELL_RE.match(p.rest)) or (
                rooted and p.root)
            continue
        if rooted and line.lstrip().startswith("# "):
            prompts[k] = weak_prompt(line, checker)


def is_comment(line: str) -> bool:
    """A `# ...` line: in blocks that use `$ ` prompts it is a comment, not output."""
    return _COMMENT_RE.match(line) is not None


def strip_ps2(line: str) -> str:
    """Remove a `> ` PS2 continuation prompt."""
    return line[2:] if line.startswith("> ") else ("" if line == ">" else line)


def is_ps2(line: str) -> bool:
    return _PS2_RE.match(line) is not None


def is_prompted(lines: list[str], prompts: list[Prompt | None] | None = None) -> bool:
    """A block is prompted when its first line that is not blank or a comment carries a prompt."""
    if prompts is None:
        prompts = [match_prompt(ln) for ln in lines]
    for line, prompt in zip(lines, prompts):
        if prompt is not None:
            return True
        if not line.strip() or is_comment(line):
            continue
        return False
    return False
