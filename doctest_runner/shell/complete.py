"""Is this shell text complete, and does it parse? Decided by bash's own parser, never running doc text.

Used by parse (where a prompted command ends), lint (the `syntax` rule) and exec (`split.py`).

Why a co-process: the parser must know where a prompted command ends (open quotes, heredocs,
``\\`` continuations, unfinished ``if``/``for``), and only bash's grammar answers that exactly.
``bash -n`` per candidate costs ~3 ms (exec + startup); the Kata snapshot needs hundreds of checks.
So one long-lived ``bash`` reads each candidate and ``eval``s it as the *body of a function
definition*: defining a function parses the body but never executes it.

Safety of the wrapper: text can end a ``{ ... }`` function body early only with a ``}`` reserved
word, and such a word is always a literal ``}`` character (aliases are off, so no other word
turns into one). Text goes to the co-process only when it holds no ``}`` at all, apart from
simple ``${name}`` expansions, whose ``}`` directly follows a non-blank, non-metacharacter and so
can never be a word of its own. Then our own closing ``}`` is the only one, nothing of the text
can reach top level, and nothing runs. Everything else (text with braces, huge text, a dead
co-process) goes to ``bash -n`` on stdin, which only reads.

Verdicts: "complete and parses" means the wrapper closed normally; heredoc/quote/EOF messages mean
bash wants more lines; an error on our closing line means the text left a compound command,
pipeline or ``&&`` open (more lines needed); an error inside the text is confirmed with
``bash -n`` (rare in real docs) so its message and line are bash's own.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import select
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass

from doctest_runner.wait import Deadline

__all__ = ["BashSyntaxChecker", "SyntaxCheck", "check_syntax", "default_checker", "prefetch"]


@dataclass(frozen=True)
class SyntaxCheck:
    """bash's verdict on a piece of shell text.

    complete: False when bash needs more lines (open quote, heredoc body, ``\\`` continuation,
    unfinished ``if``/``for``/``while``/``case``/``{``, trailing ``|``/``&&``).
    ok: the text parses (implies complete).
    message/line: bash's message and its 1-based line in the text (None when not known).
    wanted: what bash is still waiting for when incomplete: a heredoc delimiter or a closing
    character (``"``, ``'``, `````, ``)``, ``}``); None otherwise. Lets the parser skip lines that
    cannot possibly finish the command, while bash still decides.
    wanted_kind: "heredoc" | "char" | None.
    """

    complete: bool
    ok: bool
    message: str = ""
    line: int | None = None
    wanted: str | None = None
    wanted_kind: str | None = None


# Largest text sent through the co-process; beyond it `bash -n` reads it in one go.
_MAX_COPROC_BYTES = 256 * 1024
_CACHE_MAX = 200_000
_TIMEOUT_S = 10.0

# Reads NUL-terminated wrapped texts from the scratch file, one batch per "go TOKEN" line.
# Every answer line carries the batch's TOKEN (fresh random hex per request, see `_roundtrip`):
# bash echoes pieces of the text in its messages (a heredoc's wanted delimiter may span lines),
# so a fixed marker could be forged by a doc; a token it cannot know cannot be.
# After a text that failed to parse, a known-good probe is parsed until it passes: bash's parser
# keeps some state across a syntax error (after an error inside `[[`, the next `[[` is misread),
# and that must not reach the next text, which may be another doc's. A probe that keeps failing
# says DIRTY, and the co-process is replaced.
_DRIVER = r"""
exec 2>&1
shopt -u expand_aliases
set +o history 2>/dev/null
__dr_f=$1
__dr_probe='__dr_p() { [[ a ]]; case x in x) [[ -n a && ( b < c ) ]];; esac; (( 1 )); : $((1)) "${x:-y}" $(:); }'
while IFS=' ' read -r __dr_cmd __dr_tok; do
  printf '\n%s BEGIN\n' "$__dr_tok"
  __dr_i=0
  while IFS= read -r -d '' __dr_t; do
    eval "$__dr_t"
    __dr_rc=$?
    printf '\n%s DONE %s %s\n' "$__dr_tok" "$__dr_i" "$__dr_rc"
    if [ "$__dr_rc" != 0 ]; then
      { eval "$__dr_probe" || eval "$__dr_probe" || eval "$__dr_probe"; } >/dev/null 2>&1 ||
        printf '\n%s DIRTY\n' "$__dr_tok"
    fi
    __dr_i=$((__dr_i + 1))
    unset -f __dr_w1 __dr_p 2>/dev/null
  done < "$__dr_f"
  printf '\n%s END\n' "$__dr_tok"
done
"""
_BATCH_MAX_BYTES = 1024 * 1024

_LINE_RE = re.compile(r"line (\d+): (.*)$")
# bash's warning for a heredoc left open: group 1 its line, group 2 the delimiter it wanted (also read by syntax.py)
HEREDOC_WARNING = re.compile(r"warning: here-document at line (\d+) delimited by end-of-file \(wanted `(.*)'\)")
_MATCHING_RE = re.compile(r"unexpected EOF while looking for (?:matching )?`(.+?)'")
_EOF_RE = re.compile(r"syntax error: unexpected end of file|unexpected token `EOF'")
# ${name}, ${#name}, ${name:-x}: braces that can never be a standalone `}` word, so they need no
# extra wrapper level (the `}` directly follows a non-blank, non-metacharacter).
_SIMPLE_PARAM_RE = re.compile(r"\$\{[A-Za-z0-9_#@*!?:=+%/.,\[\]^~-]*\}")


def _brace_count(text: str) -> int:
    return _SIMPLE_PARAM_RE.sub("", text).count("}")


class BashSyntaxChecker:
    """Answers `check(text)` with bash's parser; one lazily started co-process, results cached."""

    def __init__(self, bash: str | None = None) -> None:
        self._bash = bash or shutil.which("bash") or "/bin/bash"
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_pid = 0
        self._file: str | None = None
        self._fd: int | None = None
        self._offset: int | None = None  # eval line number of the eval string's line 1, minus 1
        self._lock = threading.Lock()
        self._cache: dict[str, SyntaxCheck] = {}
        self._buf = bytearray()
        self._broken = False  # co-process could not be started: always use `bash -n`
        self.stats = {"coproc": 0, "fallback": 0, "cached": 0}

    # ------------------------------------------------------------------ public

    def check(self, text: str) -> SyntaxCheck:
        """bash's verdict on `text` (never executed). Never raises."""
        hit = self._cache.get(text)
        if hit is not None:
            self.stats["cached"] += 1
            return hit
        result = self._check_uncached(text)
        self._remember(text, result)
        return result

    def _remember(self, text: str, verdict: SyntaxCheck) -> None:
        if len(self._cache) >= _CACHE_MAX:  # drop the oldest half (dicts keep insertion order)
            for key in list(self._cache)[: _CACHE_MAX // 2]:
                del self._cache[key]
        self._cache[text] = verdict

    def prefetch(self, texts: list[str]) -> None:
        """Check many texts in few round trips and cache the verdicts (a parser knows most of its
        candidates up front: every prompted first line). Texts that need `bash -n` are left for
        `check`."""
        todo: list[str] = []
        seen: set[str] = set()
        for text in texts:
            if text in seen or text in self._cache or not self._coproc_eligible(text):
                continue
            seen.add(text)
            todo.append(text)
        batch: list[str] = []
        size = 0
        for text in todo:
            batch.append(text)
            size += len(text) + 16
            if size >= _BATCH_MAX_BYTES or len(batch) >= 4000:
                self._run_batch(batch)
                batch, size = [], 0
        if batch:
            self._run_batch(batch)

    def cached(self, text: str) -> SyntaxCheck | None:
        """The verdict for `text` if it is already known (no bash involved)."""
        return self._cache.get(text)

    def close(self) -> None:
        """Stop the co-process (ours, by its handle) and drop its scratch file."""
        with self._lock:
            self._stop()

    # ------------------------------------------------------------------ internals

    def _coproc_eligible(self, text: str) -> bool:
        """May this text go through the function wrapper? (no NUL, not huge, no `}` word)"""
        if self._broken or "\x00" in text or len(text) > _MAX_COPROC_BYTES:
            return False
        # A `}` that could be a reserved word would make the wrapper's own `}` not provably the
        # closing one: such text goes to `bash -n`, which only reads.
        return _brace_count(text) == 0

    def _check_uncached(self, text: str) -> SyntaxCheck:
        if "\x00" in text:
            line = text.count("\n", 0, text.index("\x00")) + 1
            return SyntaxCheck(True, False, "NUL byte in shell text", line)
        if not self._coproc_eligible(text):
            return self._check_bash_n(text)
        verdict = self._run_batch([text])[0]
        if verdict is None:
            return self._check_bash_n(text)
        return verdict

    def _run_batch(self, texts: list[str]) -> list[SyntaxCheck | None]:
        """Verdicts for eligible texts through the co-process (None: ask `bash -n`); cached."""
        wrapped = ["__dr_w1() { :\n" + text + "\n}" for text in texts]
        with self._lock:
            try:
                answers = self._roundtrip(wrapped)
            except (OSError, ValueError, subprocess.SubprocessError, _CoprocError):
                self._stop()
                answers = None
        if answers is None or len(answers) != len(texts):
            return [None] * len(texts)
        verdicts: list[SyntaxCheck | None] = []
        for text, (rc, lines) in zip(texts, answers):
            self.stats["coproc"] += 1
            verdict = self._interpret(
                text, lines, rc, 2, 1 + text.count("\n") + 1, has_braces=False, offset=self._offset or 0
            )
            if verdict is not None:
                self._remember(text, verdict)
            verdicts.append(verdict)
        return verdicts

    def _interpret(
        self, text: str, lines: list[str], rc: int, first: int, last: int, has_braces: bool,
        confirm_errors: bool = True, offset: int = 0,
    ) -> SyntaxCheck | None:
        errors: list[tuple[int, str]] = []
        for raw in lines:
            m = HEREDOC_WARNING.search(raw)
            if m:
                return SyntaxCheck(False, False, "here-document not terminated", None, m.group(2), "heredoc")
            m = _MATCHING_RE.search(raw)
            if m:
                return SyntaxCheck(
                    False, False, f"unexpected EOF while looking for `{m.group(1)}'", None, m.group(1), "char"
                )
            if _EOF_RE.search(raw):
                return SyntaxCheck(False, False, "unexpected end of file")
            m = _LINE_RE.search(raw)
            if m and not m.group(2).startswith("`"):  # bash echoes the bad line as "`code'"
                errors.append((int(m.group(1)) - offset, m.group(2)))
        if rc == 0 and not errors:
            return SyntaxCheck(True, True)
        if not errors:
            return None  # failed without a message we understand
        line, message = errors[0]
        if first <= line <= last:
            if confirm_errors:
                return None  # rare in real docs: let `bash -n` on the bare text have the last word
            return SyntaxCheck(True, False, message, line - first + 1)
        if line > last and not has_braces:
            # The text left a compound command, pipeline or `&&` open, so our closing `}`
            # arrived where a command was expected: bash needs more lines.
            return SyntaxCheck(False, False, "unexpected end of file")
        return None  # ambiguous (the text holds `}`): let `bash -n` decide

    def _roundtrip(self, wrapped: list[str]) -> list[tuple[int, list[str]]] | None:
        """Send wrapped texts, return (status, message lines) for each, in order."""
        proc = self._ensure()
        if proc is None:
            return None
        assert self._fd is not None and proc.stdin is not None
        data = b"".join(_encode(w) + b"\x00" for w in wrapped)
        os.ftruncate(self._fd, 0)  # rewriting in place: ~10 us, where reopening can cost 1 ms
        os.pwrite(self._fd, data, 0)
        token = secrets.token_hex(16)
        proc.stdin.write(b"go " + token.encode() + b"\n")
        proc.stdin.flush()
        raw = _read_answer(proc, self._buf, token, _TIMEOUT_S + len(wrapped) * 0.01)
        if raw is None:
            raise _CoprocError("bash co-process did not answer")
        return _split_answers(raw, token, len(wrapped))

    def _ensure(self) -> subprocess.Popen[bytes] | None:
        if self._proc is not None and self._owner_pid == os.getpid() and self._proc.poll() is None:
            return self._proc
        self._stop()
        try:
            self._fd, self._file = _scratch_file()
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
            self._proc = subprocess.Popen(
                [self._bash, "--norc", "--noprofile", "-c", _DRIVER, "__dr", self._file],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                bufsize=0,
                close_fds=True,
                pass_fds=(self._fd,),
            )
            self._owner_pid = os.getpid()
            self._buf = bytearray()
            self._offset = None
            self._offset = self._calibrate()
        except (OSError, subprocess.SubprocessError, _CoprocError):
            self._broken = True
            self._stop()
            return None
        return self._proc

    def _calibrate(self) -> int:
        """bash numbers eval lines from where `eval` sits in the driver: measure it once."""
        out = self._roundtrip(["\n)"])
        if not out:
            raise _CoprocError("no calibration answer")
        for raw in out[0][1]:
            m = _LINE_RE.search(raw)
            if m:
                return int(m.group(1)) - 2
        raise _CoprocError("calibration gave no line number")

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if self._owner_pid != os.getpid():
            # Inherited through fork: the co-process and scratch file belong to the parent.
            self._fd = None
            self._file = None
            return
        if proc is not None:
            try:
                if proc.stdin:
                    proc.stdin.close()
                proc.wait(timeout=2)
            except (OSError, subprocess.SubprocessError):
                proc.kill()  # our own co-process, by its Popen handle
                try:
                    proc.wait(timeout=2)
                except subprocess.SubprocessError:
                    pass
            finally:
                if proc.stdout:
                    proc.stdout.close()
        if self._fd is not None:
            try:
                os.close(self._fd)  # anonymous: closing it is all the cleanup there is
            except OSError:
                pass
            self._fd = None
            self._file = None

    # ------------------------------------------------------------------ `bash -n`

    def _bash_n(self, text: str) -> tuple[int, list[str]] | None:
        try:
            res = subprocess.run(
                [self._bash, "--norc", "--noprofile", "-n"],
                check=False,
                input=_encode(text),
                capture_output=True,
                timeout=60,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
            )
        except (OSError, subprocess.SubprocessError):
            return None
        lines = res.stderr.decode("utf-8", "replace").splitlines()
        return res.returncode, [ln for ln in lines if ln.strip()]

    def _check_bash_n(self, text: str) -> SyntaxCheck:
        self.stats["fallback"] += 1
        out = self._bash_n(text)
        if out is None:
            return SyntaxCheck(True, True, "bash is not available: syntax not checked")
        rc, lines = out
        verdict = self._interpret(text, lines, rc, 1, text.count("\n") + 1, has_braces=True, confirm_errors=False)
        if verdict is None:
            # An error bash -n placed after the text: treat as incomplete input.
            return SyntaxCheck(False, False, lines[0] if lines else "syntax error")
        if verdict.ok and text.rstrip(" \t").endswith("\\"):
            # `bash -n` accepts a trailing backslash at end of input; ask whether it joins the
            # next line: a sentinel `}` on its own line is an error unless it was swallowed.
            out2 = self._bash_n(text + "\n}")
            if out2 is not None:
                n = text.count("\n") + 2
                sentinel_error = any(
                    (m := _LINE_RE.search(ln)) and int(m.group(1)) == n for ln in out2[1]
                )
                if not sentinel_error:
                    return SyntaxCheck(False, False, "line continuation at end of text")
        return verdict


class _CoprocError(Exception):
    pass


def _read_answer(proc: subprocess.Popen[bytes], buf: bytearray, token: str, timeout: float) -> bytes | None:
    """The co-process's output for the batch tagged `token`, from its BEGIN line to its END line
    (excluded); a timeout keeps a wedged co-process from hanging us."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    begin = b"\n" + token.encode() + b" BEGIN\n"
    end = b"\n" + token.encode() + b" END\n"
    searched = 0
    deadline = Deadline(timeout)
    while True:
        idx = buf.find(end, max(0, searched - len(end)))
        if idx >= 0:
            start = buf.find(begin, 0, idx)
            answer = bytes(buf[start + len(begin) : idx + 1]) if start >= 0 else None
            del buf[: idx + len(end)]
            return answer
        searched = len(buf)
        ready, _, _ = select.select([fd], [], [], deadline.left)
        if not ready:
            return None
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return None
        buf.extend(chunk)


def _split_answers(raw: bytes, token: str, count: int) -> list[tuple[int, list[str]]]:
    """(status, message lines) per text from one batch's output.

    Only a line `TOKEN DONE i status` ends an answer, and i must count up from 0: the token is
    fresh random hex per request, so no text (whose messages bash echoes) can forge one, and a
    missing or extra answer is an error rather than a shift of every later verdict."""
    done = token + " DONE "
    answers: list[tuple[int, list[str]]] = []
    pending: list[str] = []
    for line in raw.decode("utf-8", "replace").split("\n"):
        if line == token + " DIRTY":  # bash's parser state could not be reset: trust no answer of it
            raise _CoprocError("bash co-process parser state not reset")
        if line.startswith(done):
            parts = line[len(done) :].split(" ")
            if len(parts) != 2 or parts[0] != str(len(answers)) or not parts[1].isdigit():
                raise _CoprocError("bad answer from the bash co-process")
            answers.append((int(parts[1]), pending))
            pending = []
        elif line:
            pending.append(line)
    if len(answers) != count:
        raise _CoprocError(f"bash co-process gave {len(answers)} answers for {count} texts")
    return answers


def _scratch_file() -> tuple[int, str]:
    """An anonymous file bash can read by path (/dev/fd/N, a fresh open with its own offset):
    nothing is left on disk, even if this process is killed."""
    if hasattr(os, "memfd_create") and os.path.isdir("/dev/fd"):
        fd = os.memfd_create("doctest-runner-sh")
    else:
        with tempfile.TemporaryFile(prefix="doctest-runner-sh-") as fh:  # unlinked at once
            fd = os.dup(fh.fileno())
    return fd, f"/dev/fd/{fd}"


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from odd input: bytes are all bash needs
        return text.encode("utf-8", "surrogatepass")


default_checker = BashSyntaxChecker()
atexit.register(default_checker.close)


def check_syntax(text: str) -> SyntaxCheck:
    """Is `text` complete, and does it parse? Decided by bash's parser; `text` is never run."""
    return default_checker.check(text)


def prefetch(texts: list[str]) -> None:
    """Warm the default checker's cache for many texts at once (few round trips)."""
    default_checker.prefetch(texts)
