"""Scripts one command hands to another shell as a string (`sh -c '...'`, `ssh host '...'`, `su -c`, `watch`).

Why: the outer shell sees one quoted word, so `bash -n` on the step cannot see a broken quote inside it;
lint checks the inner script like a step and classify maps the inner shell's `line N` back to the doc.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from doctest_runner.shell.lexer import Script, Word, command_argv, lex
from doctest_runner.shell.quoting import literal_value

# Launchers seen in docs: `sh -c '...'`, `sudo bash -c "..."`, `su -c`, `ssh host '...'`, `watch '...'`,
# `script -c`, `docker exec c sh -c`, `kubectl exec p -- sh -c`; each inner script keeps, for each of its
# lines, the line of the outer text it came from (`InnerScript.line_map`).

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "posh"})
# Tools whose arguments end in a command they run (in a container, another root, under a limit...):
# the first shell word after them starts the command.
_RUNS_A_COMMAND = frozenset({
    "docker", "podman", "nerdctl", "kubectl", "oc", "lxc", "incus", "chroot", "nsenter", "unshare", "timeout",
    "flock", "setsid", "systemd-run", "ionice", "taskset", "find", "firejail", "bwrap", "schroot",
})
_SSH_ARG_OPTS = set("BbcDEeFIiJLlmOoPpQRSWw")
_WATCH_ARG_OPTS = {"-n", "--interval", "-q", "--equexit"}
_SCRIPT_ARG_OPTS = {"-E", "--echo", "-I", "--log-in", "-O", "--log-out", "-B", "--log-io", "-T", "--log-timing",
                    "-m", "--logging-format"}
# `<value>` / `{{ template }}` placeholders: the placeholder rule reports those, not a syntax error inside
_PLACEHOLDER_RE = re.compile(r"<[A-Za-z][A-Za-z0-9_.:/-]*(?: [A-Za-z][A-Za-z0-9_.:/-]*)*>|\{\{")
# expansions as written; a script that is nothing but these is not a literal to check (`bash -c "$CMD"`)
_EXPANSION_RE = re.compile(r"\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9@*#?$!-]|`[^`]*`")
MAX_INNER_DEPTH = 3


@dataclass(frozen=True)
class InnerScript:
    """A script one command hands to another shell, as that shell receives it."""

    launcher: str  # how it is handed over: "sh -c", "su -c", "ssh", "watch", "script -c"
    text: str
    line_map: tuple[int, ...]  # for each line of `text`, its 0-based line in the outer text


def _is_short_flags(v: str, letter: str) -> bool:
    """`-c`, `-ec`, `-xec`: a bundle of one-letter options that includes `letter`."""
    return len(v) > 1 and v[0] == "-" and v[1] != "-" and v[1:].isalpha() and letter in v[1:]


def _after_shell(words: list[Word], i: int) -> list[Word] | None:
    """`sh [options] -c SCRIPT [name args...]` with words[i] the shell: [SCRIPT], or None (a script file)."""
    j, has_c = i + 1, False
    while j < len(words):
        v = words[j].value
        if v == "--" or v == "-":
            j += 1
            break
        if v in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            j += 2
            continue
        if v.startswith("--") or (len(v) > 1 and v[0] == "+"):
            j += 1
            continue
        if len(v) > 1 and v[0] == "-":
            has_c = has_c or _is_short_flags(v, "c")
            j += 1
            continue
        break
    return [words[j]] if has_c and j < len(words) else None


def _after_su(words: list[Word], i: int) -> list[Word] | None:
    """`su [-] [user] -c SCRIPT` / `--command=SCRIPT` (runuser alike)."""
    for j in range(i + 1, len(words)):
        w = words[j]
        if w.value in ("-c", "--command") and j + 1 < len(words):
            return [words[j + 1]]
        if w.text.startswith("--command="):
            k = len("--command=")
            return [Word(w.text[k:], w.start + k, w.end, w.value[k:], w.quoted)]
    return None


def _after_script(words: list[Word], i: int) -> list[Word] | None:
    """`script [options] -c CMD [file]`, `-fec CMD`, `--command CMD` / `--command=CMD`."""
    j = i + 1
    while j < len(words) and words[j].value.startswith("-"):
        v, w = words[j].value, words[j]
        if v == "--command" or (_is_short_flags(v, "c") and v.endswith("c")):
            return [words[j + 1]] if j + 1 < len(words) else None
        if w.text.startswith("--command="):
            k = len("--command=")
            return [Word(w.text[k:], w.start + k, w.end, v[k:], w.quoted)]
        j += 2 if v in _SCRIPT_ARG_OPTS else 1
    return None


def _after_ssh(words: list[Word], i: int) -> list[Word] | None:
    """`ssh [options] destination command...`: the command words (ssh joins them with spaces)."""
    j = i + 1
    while j < len(words) and words[j].value.startswith("-"):
        v = words[j].value
        j += 1
        if v == "--":
            break
        if len(v) == 2 and v[1] in _SSH_ARG_OPTS:
            j += 1
    return words[j + 1:] or None if j < len(words) else None


def _after_watch(words: list[Word], i: int) -> list[Word] | None:
    """`watch [options] command...`: joined and run with `sh -c`, unless `-x`/`--exec`."""
    j = i + 1
    while j < len(words) and words[j].value.startswith("-"):
        v = words[j].value
        if v in ("-x", "--exec") or _is_short_flags(v, "x"):
            return None
        j += 2 if v in _WATCH_ARG_OPTS else 1
    return words[j:] or None


def _launch(words: list[Word]) -> tuple[str, list[Word]] | None:
    """The launcher and the word(s) that make the inner script, for one command's argv (wrappers peeled)."""
    if not words:
        return None
    name = words[0].value.rsplit("/", 1)[-1]
    if name in SHELLS:
        got = _after_shell(words, 0)
        return (f"{name} -c", got) if got else None
    if name in ("su", "runuser"):
        got = _after_su(words, 0)
        return (f"{name} -c", got) if got else None
    if name == "script":
        got = _after_script(words, 0)
        return ("script -c", got) if got else None
    if name == "ssh":
        got = _after_ssh(words, 0)
        return ("ssh", got) if got else None
    if name == "watch":
        got = _after_watch(words, 0)
        return ("watch", got) if got else None
    if name in _RUNS_A_COMMAND:
        for j in range(1, len(words)):
            if words[j].value.rsplit("/", 1)[-1] in SHELLS:
                got = _after_shell(words, j)
                if got:
                    return f"{words[j].value.rsplit('/', 1)[-1]} -c", got
    return None


def _inner_of(script: Script, launcher: str, words: list[Word]) -> InnerScript | None:
    """The inner script from its words (joined by spaces, as ssh and watch do), with its line map."""
    text: list[str] = []
    offs: list[int] = []
    for k, w in enumerate(words):
        lit = literal_value(w.text)
        if lit is None or lit[0] != w.value:  # a reading we cannot map exactly: no check rather than a wrong one
            return None
        if k:
            text.append(" ")
            offs.append(w.start)
        text.append(lit[0])
        offs.extend(w.start + o for o in lit[1])
    body = "".join(text)
    if not _EXPANSION_RE.sub("", body).strip() or _PLACEHOLDER_RE.search(body):
        return None
    lines = [script.line_index(offs[0]) if offs else script.line_index(words[0].start)]
    lines += [script.line_index(offs[k]) + 1 for k, ch in enumerate(body) if ch == "\n"]
    return InnerScript(launcher, body, tuple(lines))


def inner_scripts(text: str, script: Script | None = None, depth: int = MAX_INNER_DEPTH) -> list[InnerScript]:
    """Every script `text` hands to another shell as a literal string, nested ones too (`ssh h "sudo sh -c
    '...'"`), each with the 0-based line of `text` for each of its lines. Pure; never raises."""
    script = script if script is not None else lex(text)
    found: list[InnerScript] = []
    for cmd in script.commands:
        launched = _launch(command_argv(cmd))
        if launched is None:
            continue
        inner = _inner_of(script, *launched)
        if inner is None:
            continue
        found.append(inner)
        if depth > 1:
            for sub in inner_scripts(inner.text, depth=depth - 1):
                found.append(InnerScript(sub.launcher, sub.text, tuple(inner.line_map[k] for k in sub.line_map)))
    return found
