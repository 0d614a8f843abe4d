"""Code blocks -> steps: prompted commands, bare blocks, file writes, guest-shell commands.

A prompted command runs until bash's parser says it is complete (see `shell.check_syntax`): the
parser never guesses with regexes where a command ends. The lines after it, up to the next prompt,
are its expected output.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace

from doctest_runner.model import Block, Step, StepOptions
from doctest_runner.shell import SyntaxCheck, check_syntax, default_checker

from .commands import output_intro, output_shape, reads_as_command, unlabelled_shell_reason
from .info import is_shell_lang, is_windows_lang
from .prompts import SCRIPT_LANGS, Prompt, block_prompts, is_comment, is_prompted, is_ps2, match_prompt, strip_ps2

GUEST_REASON = "runs inside a guest shell"
UNTERMINATED_REASON = "unterminated code fence"
ANNOTATION_SKIP_REASON = "skipped by doctest annotation"
# Step.why of a shell-labelled block whose content is output (lint: `output-in-shell-fence`)
OUTPUT_WHY = "shell fence read as output"
UNLABELLED_WHY = "unlabelled block read as shell"

# A prompted command that never completes stops accumulating here (then it is cut at the next prompt).
MAX_COMMAND_LINES = 2000
MAX_COMMAND_CHARS = 200_000

_DISTROS = {
    "debian", "ubuntu", "fedora", "centos", "rhel", "redhat", "opensuse", "suse", "sles", "arch",
    "archlinux", "alpine", "rocky", "rockylinux", "alma", "almalinux", "amazon", "amzn", "oracle", "ol",
    "mint", "gentoo", "nixos", "void", "flatcar", "photon", "mariner", "azurelinux", "clear", "clearlinux",
    "raspbian", "kali", "manjaro", "leap", "tumbleweed", "rhcos", "fcos", "coreos", "openeuler", "anolis",
    "kylin", "alibaba", "alinux", "el", "el8", "el9", "rhel8", "rhel9", "centos7", "centos8", "stream",
}

Checker = Callable[[str], SyntaxCheck]


def names_distro(title: str | None) -> bool:
    """Does a tab title name a distribution ("Debian/Ubuntu", "Fedora 40", "RHEL / CentOS")?"""
    if not title:
        return False
    words = re.split(r"[^A-Za-z0-9]+", title.lower())
    if "red" in words and "hat" in words:
        return True
    return any(w in _DISTROS for w in words if w)


def title_path(title: str | None) -> str | None:
    """A fence title that names a file (`/etc/x.yaml`, `values.yaml`, `conf/x.toml`), else None."""
    if not title:
        return None
    t = title.strip()
    if not t or t.startswith("$") or any(c.isspace() for c in t):
        return None
    if not re.fullmatch(r"[~\w./@+:,=-]+", t) or t.endswith("/"):
        return None
    if "/" in t or re.search(r"\.[A-Za-z0-9]+$", t):
        return t
    return None


def _quote_path(path: str) -> str:
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def file_write_command(path: str, content: str) -> str:
    """A command that writes `content` to `path` exactly (quoted heredoc: nothing expands)."""
    delim = "DOCTEST_EOF"
    lines = content.split("\n")
    while delim in lines:
        delim += "_"
    absolute = path.startswith("/")
    sudo = "sudo " if absolute else ""
    directory = posixpath.dirname(path)
    prefix = ""
    if directory and directory not in ("/", ".", "~"):
        prefix = f"{sudo}mkdir -p {_quote_path(directory)} && "
    if content == "":
        return f"{prefix}{sudo}tee {_quote_path(path)} </dev/null >/dev/null"
    return f"{prefix}{sudo}tee {_quote_path(path)} >/dev/null <<'{delim}'\n{content}\n{delim}"


@dataclass
class Command:
    """One command cut out of a block, before it becomes a Step."""

    command: str
    line_map: tuple[int, ...]  # doc lines
    prompt: str | None
    guest: bool = False
    expected_output: str | None = None
    complete: bool = True
    root: bool = False  # typed at a root prompt (`# `, `[root@host ~]# `): runs as root
    windows: bool = False  # typed at a Windows prompt (`PS C:\\> `)


def _ends_with_backslash(line: str) -> bool:
    stripped = line.rstrip(" \t")
    n = len(stripped) - len(stripped.rstrip("\\"))
    return n % 2 == 1


def split_prompted(
    lines: list[str], first_line: int, checker: Checker = check_syntax, prompts: list[Prompt | None] | None = None
) -> list[Command]:
    """Cut a prompted block into commands with their expected output.

    `lines` are the block's lines, `first_line` the doc line of lines[0]; `prompts` each line's
    prompt as `prompts.block_prompts` decided it (default: the unambiguous prompts only).
    """
    n = len(lines)
    if prompts is None:
        prompts = [match_prompt(ln) for ln in lines]
    uses_dollar = any(p is not None and not p.guest for p in prompts)
    out: list[Command] = []
    i = 0
    while i < n:
        p = prompts[i]
        if p is None:
            i += 1
            continue
        if p.guest or p.windows:
            cmd_lines, maps, j = [p.rest], [i], i + 1
            while _continues(cmd_lines[-1], p.windows) and j < n and prompts[j] is None:
                cmd_lines.append(lines[j])
                maps.append(j)
                j += 1
            complete = True
        else:
            cmd_lines, maps, j, complete = _accumulate(lines, prompts, i, p, checker)
        # expected output: up to the next prompt; `# ` lines are comments where `$ ` prompts are used
        k = j
        output: list[str] = []
        while k < n and prompts[k] is None:
            if not (uses_dollar and is_comment(lines[k])):
                output.append(lines[k])
            k += 1
        while output and not output[0].strip():
            output.pop(0)
        while output and not output[-1].strip():
            output.pop()
        command = "\n".join(cmd_lines)
        if command.strip():
            out.append(
                Command(
                    command=command,
                    line_map=tuple(first_line + m for m in maps),
                    prompt=p.prompt,
                    guest=p.guest,
                    expected_output="\n".join(output) if output else None,
                    complete=complete,
                    root=p.root and not p.guest,
                    windows=p.windows,
                )
            )
        i = k
    return out


def _continues(line: str, windows: bool) -> bool:
    """Does a one-line command go on? `\\` in a POSIX shell; `` ` `` in PowerShell, `^` in cmd."""
    if windows:
        return line.rstrip().endswith(("`", "^"))
    return _ends_with_backslash(line)


_Accumulation = Generator[str, SyntaxCheck, "tuple[list[str], list[int], int, bool]"]


def _accumulate(
    lines: list[str], prompts: list[Prompt | None], i: int, p: Prompt, checker: Checker
) -> tuple[list[str], list[int], int, bool]:
    """Lines of the prompted command starting at line i, until bash says it is complete."""
    gen = _accumulation(lines, prompts, i, p)
    try:
        text = next(gen)
        while True:
            text = gen.send(checker(text))
    except StopIteration as stop:
        return stop.value


def _accumulation(lines: list[str], prompts: list[Prompt | None], i: int, p: Prompt) -> _Accumulation:
    """The accumulation as a coroutine: yields each text to judge, receives bash's verdict.

    Written once, driven two ways: one check at a time (`_accumulate`), or many commands in
    lockstep with one batched round trip per step (`prefetch_blocks`)."""
    n = len(lines)
    cmd_lines = [p.rest]
    maps = [i]
    j = i + 1
    ps2: bool | None = None
    size = len(p.rest)
    verdict = yield p.rest
    while not verdict.complete and j < n and len(cmd_lines) < MAX_COMMAND_LINES and size < MAX_COMMAND_CHARS:
        if ps2 is None:
            ps2 = is_ps2(lines[j])
        target = j
        # Skip lines that cannot finish what bash is waiting for (bash still checks the result).
        wanted, p2 = verdict.wanted, ps2  # fixed for this search, so the predicates below see them
        if verdict.wanted_kind == "heredoc" and wanted is not None:
            end = wanted
            target = _find(lines, j, lambda ln: _unps2(ln, p2).strip() == end, n - 1)
        elif verdict.wanted_kind == "char" and wanted:
            char = wanted
            target = _find(lines, j, lambda ln: char in ln, n - 1)
        for t in range(j, target + 1):
            text = _unps2(lines[t], ps2)
            cmd_lines.append(text)
            maps.append(t)
            size += len(text) + 1
        j = target + 1
        verdict = yield "\n".join(cmd_lines)
    complete = verdict.complete
    swallowed = [t for t in range(i + 1, j) if prompts[t] is not None and not prompts[t].guest]  # type: ignore[union-attr]
    if swallowed and (not complete or not verdict.ok):
        # It never completed (or only by eating the next prompted command into garbage):
        # the command is what precedes the next prompt; lint reports its syntax.
        cut = swallowed[0]
        keep = cut - i
        cmd_lines, maps, j = cmd_lines[:keep], maps[:keep], cut
        complete = False
    while len(cmd_lines) > 1 and not cmd_lines[-1].strip():
        cmd_lines.pop()
        maps.pop()
    return cmd_lines, maps, j, complete


def prefetch_blocks(texts: list[str]) -> None:
    """Warm the syntax cache for the prompted commands of many blocks.

    Every host-prompted line of every block starts an accumulation; all of them advance in
    lockstep, each round one batched round trip to bash. `split_prompted` then finds the verdicts
    it needs cached. (A command that swallows the next prompt makes one guess wasted, never wrong:
    this only fills a cache.)"""
    gens: list[tuple[_Accumulation, str]] = []
    for text in texts:
        if "$" not in text:
            continue
        lines = text.split("\n")
        prompts = [match_prompt(ln) for ln in lines]
        for k, p in enumerate(prompts):
            if p is not None and not p.guest and p.rest.strip():
                gen = _accumulation(lines, prompts, k, p)
                gens.append((gen, next(gen)))
    while gens:
        default_checker.prefetch([text for _, text in gens])
        advanced: list[tuple[_Accumulation, str]] = []
        for gen, text in gens:
            verdict = default_checker.cached(text)
            if verdict is None:
                verdict = default_checker.check(text)  # needs `bash -n`: one at a time
            try:
                advanced.append((gen, gen.send(verdict)))
            except StopIteration:
                pass
        gens = advanced


def _unps2(line: str, ps2: bool | None) -> str:
    return strip_ps2(line) if ps2 else line


def _find(lines: list[str], start: int, pred: Callable[[str], bool], default: int) -> int:
    for t in range(start, len(lines)):
        if pred(lines[t]):
            return t
    return default


def bare_command(lines: list[str], first_line: int) -> Command | None:
    """The whole block as one command (leading/trailing blank lines dropped); None if only comments."""
    idx = [k for k, ln in enumerate(lines) if ln.strip()]
    if not idx:
        return None
    body = lines[idx[0]: idx[-1] + 1]
    if all(not ln.strip() or ln.lstrip().startswith("#") for ln in body):
        return None
    return Command(
        command="\n".join(body),
        line_map=tuple(first_line + idx[0] + k for k in range(len(body))),
        prompt=None,
    )


def _options(base: StepOptions | None) -> StepOptions:
    return replace(base) if base is not None else StepOptions()


def block_steps(
    block: Block,
    *,
    file_path: str | None = None,
    run: bool = False,
    closed: bool = True,
    checker: Checker = check_syntax,
    step_kind: str | None = None,
    intro: str | None = None,
    guests: set[str] | None = None,
) -> list[Step]:
    """The steps a block yields (possibly none).

    file_path: from a `file=` annotation (overrides a title). run: an annotation asked to run a
    non-shell block. step_kind: "setup"/"cleanup" for hidden blocks. intro: the paragraph right
    before the block ("Example output:" makes a shell block output, not commands). guests: the
    guest prompts earlier blocks of the doc showed (updated; see `prompts.block_prompts`).
    """
    ann = block.annotation
    lines = block.text.split("\n") if block.text else []
    alternative = block.tab if names_distro(block.tab) else None
    windows = is_windows_lang(block.lang)
    shell = is_shell_lang(block.lang) or windows
    if not shell and ann is not None and _asks_to_run(ann):
        run = True
    target = file_path
    if target is None and not shell:
        target = title_path(block.attrs.get("title"))
    if block.kind in ("hidden-setup", "hidden-cleanup") and not block.lang:
        shell = True

    commands: list[tuple[Command, str]] = []
    why: str | None = None
    output: str | None = None  # why a shell block's content is output, not commands
    prompts: list[Prompt | None] | None = None
    if target is None and (shell or run or block.lang == ""):
        # `# `/`> `/`% ` prompts are read in fences only: a hidden block is written for the harness (its
        # `#` lines are comments), an indented block counts only with unambiguous prompts
        prompt_lang = block.lang if block.kind in ("fenced", "shortcode") else "-"
        prompts = block_prompts(lines, prompt_lang, checker, guests)
    if target is not None:
        content = block.text
        command = file_write_command(target, content)
        content_lines = content.split("\n") if content else []
        line_map = [block.line] + [block.content_line + k for k in range(len(content_lines))]
        if content:
            line_map.append(block.end_line if closed else block.content_line + len(content_lines) - 1)
        cmd = Command(command=command, line_map=tuple(line_map), prompt=None)
        commands.append((cmd, "file"))
    elif (titled := _title_command(block, shell, lines)) is not None:
        commands.append((titled, "prompted"))
    elif prompts is not None and (shell or run or is_prompted(lines, prompts)):
        prompts = _script_prompts(lines, block, prompts, checker)
        if is_prompted(lines, prompts):
            for cmd in split_prompted(lines, block.content_line, checker, prompts):
                commands.append((cmd, "prompted"))
        else:
            bare = bare_command(lines, block.content_line)
            if bare is not None:
                commands.append((bare, "bare"))
                if shell and not run and not windows:
                    output = _output_reason(lines, intro, checker)
    elif prompts is not None and block.kind == "fenced" and not block.info.strip() and not _not_commands(intro):
        reason_text = unlabelled_shell_reason(lines, checker)
        bare = bare_command(lines, block.content_line) if reason_text else None
        if bare is not None:
            commands.append((bare, "bare"))
            why = f"{UNLABELLED_WHY}: {reason_text}"
    steps: list[Step] = []
    for cmd, kind in commands:
        opts = _options(ann)
        if cmd.root and opts.user is None:
            opts.user = "root"
        status, reason = "run", None
        step_why = why
        if output is not None:
            status, reason = "skip", f"example output, not a command ({output})"
            step_why = f"{OUTPUT_WHY}: {output}"
        if opts.skip:
            status, reason = "skip", opts.reason or ANNOTATION_SKIP_REASON
        elif cmd.guest:
            status, reason = "skip", GUEST_REASON
        elif not closed:
            status, reason = "skip", UNTERMINATED_REASON
        steps.append(
            Step(
                id="",
                path=block.path,
                line=cmd.line_map[0],
                end_line=cmd.line_map[-1],
                heading=block.heading,
                command=cmd.command,
                kind=step_kind or kind,  # type: ignore[arg-type]
                line_map=cmd.line_map,
                expected_output=cmd.expected_output,
                prompt=cmd.prompt,
                lang=block.lang,
                block_line=block.line,
                alternative=alternative,
                file_path=target if kind == "file" else None,
                options=opts,
                status=status,  # type: ignore[arg-type]
                reason=reason,
                platform="windows" if (windows or cmd.windows) else None,
                why=step_why,
            )
        )
    return steps


_FILE_INTRO_RE = re.compile(
    r"\bcontents?\b|\b(?:create|add|write|save|put|edit|open|make|place)\b[^.]*\b(?:file|script)\b"
    r"|\bfollowing\s+(?:file|script|configuration|config)\b|\b(?:file|script)\s+(?:named|called)\b",
    re.IGNORECASE,
)


def _not_commands(intro: str | None) -> bool:
    """The paragraph before an unlabelled block says it is output or a file's content (its last
    sentence: "Add a file ... with the following contents:")."""
    if output_intro(intro) is not None:
        return True
    last = re.split(r"(?<=[.!?])\s+", " ".join(intro.split()))[-1] if intro else ""
    return bool(_FILE_INTRO_RE.search(last))


def _script_prompts(
    lines: list[str], block: Block, prompts: list[Prompt | None], checker: Checker
) -> list[Prompt | None]:
    """A `bash`/`sh` block keeps its `# ` root-prompt reading only when every line then belongs
    to a command: a script has no output lines, so anything left over means the `# ` lines were
    comments after all (`# Build it` above `make`)."""
    if block.lang not in SCRIPT_LANGS or not any(p is not None and p.weak and p.root for p in prompts):
        return prompts
    cmds = split_prompted(lines, block.content_line, checker, prompts)
    if any(c.root and c.expected_output for c in cmds):
        return [None if (p is not None and p.weak and p.root) else p for p in prompts]
    return prompts


def _output_reason(lines: list[str], intro: str | None, checker: Checker) -> str | None:
    """Why an unprompted shell block is example output rather than commands (None: it is not).

    The prose right before it says so ("Example output:", "You should see:"; its last sentence, so
    "To see the output, run:" does not), or its shape is one no command has (a column table, log
    lines, `Key: value` dumps) and no line of it reads as a command."""
    said = output_intro(intro)
    if said is not None:
        return f'introduced by "{said}"'
    shape = output_shape(lines)
    if shape is not None and not any(reads_as_command(ln, checker) for ln in lines if ln.strip()
                                     and not ln.lstrip().startswith("#")):
        return f"looks like output: {shape}"
    return None


def _title_command(block: Block, shell: bool, lines: list[str]) -> Command | None:
    """```sh title="$ kubectl logs x"```: the title is what the reader types, the body its output."""
    title = block.attrs.get("title")
    if not title or not (shell or block.lang == "") or is_prompted(lines, None):
        return None
    p = match_prompt(title.strip())
    if p is None or p.guest or not p.rest.strip():
        return None
    body = block.text.strip("\n")
    return Command(command=p.rest, line_map=(block.line,), prompt=p.prompt, expected_output=body or None)


def _asks_to_run(opts: StepOptions) -> bool:
    return bool(opts.timeout or opts.user or opts.requires or opts.reboot or opts.pty or opts.expect_exit)


def assign_ids(steps: list[Step]) -> None:
    """`<path>:<line>`, suffixed `#2`, `#3` when one line yields several steps."""
    seen: dict[tuple[str, int], int] = {}
    for step in steps:
        key = (step.path, step.line)
        seen[key] = seen.get(key, 0) + 1
        step.id = f"{step.path}:{step.line}" if seen[key] == 1 else f"{step.path}:{step.line}#{seen[key]}"
