"""THE bash lexer: simple commands, redirects, heredocs, quoted spans, comments, variable references.

Why not bash itself: bash can tell us *whether* a step parses (`complete.py`), but not *what* it
contains. Lint rules, the planner and the classifier need to know, with exact offsets, which simple commands run,
which words and redirects they have, where heredoc bodies are and which `$VAR`s get expanded.
This lexer is deliberately tolerant: it never raises, and on input bash would reject it still
returns its best reading, so one broken step never hides findings in the others.

Offsets are character offsets into the text given to `lex()`; `Script.line_index(offset)` turns
one into a 0-based line of that text (which `Step.source_line` maps to the doc).
"""

from __future__ import annotations

import bisect
import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# `NAME=`, `NAME+=`, `NAME[i]=` at the start of a word: an assignment (group 1: the name).
# `NAME=`, `NAME+=`, `NAME[i]=` at the start of a word: an assignment (group 1: the name).
ASSIGN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?\+?=")
_SPECIAL_PARAMS = set("@*#?$!-_0123456789")
_WORD_BREAK = set(" \t\n|&;()<>")

# Words that open or close a compound command; at command position they only prefix/suffix the
# real command (`if grep ...`, `done < file`), so they are dropped from the simple command.
_PREFIX_RESERVED = {"if", "then", "else", "elif", "do", "while", "until", "{", "!", "time"}
_SUFFIX_RESERVED = {"fi", "done", "}", "esac"}


@dataclass
class Word:
    """One shell word as written (`text`) and as bash would see it before expansion (`value`)."""

    text: str
    start: int
    end: int
    value: str  # quotes removed, escapes resolved, expansions kept as written
    quoted: bool = False  # some part was quoted or escaped


@dataclass
class Heredoc:
    delimiter: str
    quoted: bool  # <<'EOF': the body is literal, no expansion
    strip_tabs: bool  # <<-
    start: int  # offset of the `<<`
    body_start: int = -1
    body_end: int = -1  # offset just past the body (start of the closing delimiter line)
    closed: bool = False


@dataclass
class Redirect:
    op: str  # '>', '>>', '<', '<<', '<<-', '<<<', '>&', '<&', '&>', '&>>', '>|', '<>'
    fd: str | None  # explicit fd ('2' in '2>'), or None
    target: Word | None
    start: int
    heredoc: Heredoc | None = None

    @property
    def writes_file(self) -> bool:
        """True for redirects that create or append to a file named by `target`."""
        if self.target is None:
            return False
        if self.op in (">", ">>", ">|", "&>", "&>>"):
            return True
        # `>& file` writes a file unless the target is an fd number or `-`.
        return self.op == ">&" and not re.fullmatch(r"[0-9]+-?|-", self.target.value)


@dataclass
class SimpleCommand:
    """Words and redirects of one simple command, reserved words stripped."""

    words: list[Word]
    redirects: list[Redirect]
    start: int
    pipeline: int  # commands joined by | share a pipeline number
    pipe_index: int  # position inside that pipeline, 0 for the first
    nested: bool = False  # inside $(...), `...` or <(...)
    function_def: bool = False  # `name()`

    @property
    def assignments(self) -> list[Word]:
        """Leading NAME=value words."""
        out = []
        for w in self.words:
            if ASSIGN_RE.match(w.text):
                out.append(w)
            else:
                break
        return out

    @property
    def argv(self) -> list[Word]:
        """The command word and its arguments (leading assignments removed)."""
        return self.words[len(self.assignments) :]

    @property
    def name(self) -> str:
        argv = self.argv
        return argv[0].value if argv else ""


@dataclass
class VarRef:
    """One parameter expansion: `$NAME`, `${NAME...}` or a bare name in arithmetic."""

    name: str
    start: int
    op: str = ""  # '' | ':-' | '-' | ':=' | '=' | ':?' | '?' | ':+' | '+' | '#len' | '!' | 'arith' | other
    in_test: bool = False  # operand of `[ -z/-n ... ]` style test: checking, not using


@dataclass
class Script:
    text: str
    commands: list[SimpleCommand] = field(default_factory=list)
    refs: list[VarRef] = field(default_factory=list)
    heredocs: list[Heredoc] = field(default_factory=list)
    comments: list[tuple[int, int]] = field(default_factory=list)  # [start, end) spans
    # [start, end) of each quoted span, quote characters included, with its kind: "'", "$'" or '"'
    # (`$"..."` counts as '"'). Spans nest: `"$(echo 'a')"` gives a '"' span holding a "'" span.
    quotes: list[tuple[int, int, str]] = field(default_factory=list)
    arith_defs: list[tuple[str, int]] = field(default_factory=list)  # ((i=0)), ((n++))
    _newlines: list[int] = field(default_factory=list, repr=False)

    def line_index(self, offset: int) -> int:
        """0-based line of `offset` in `text`."""
        return bisect.bisect_right(self._newlines, offset - 1) if offset > 0 else 0

    def pipelines(self) -> dict[int, list[SimpleCommand]]:
        out: dict[int, list[SimpleCommand]] = {}
        for cmd in self.commands:
            out.setdefault(cmd.pipeline, []).append(cmd)
        return out


def lex(text: str) -> Script:
    """Lex a bash snippet. Never raises."""
    lexer = _Lexer(text)
    try:
        lexer.parse_list(stop_paren=False)
    except RecursionError:  # absurd nesting: keep what was found
        pass
    script = lexer.script
    script.commands.sort(key=lambda c: c.start)
    script.refs.sort(key=lambda r: r.start)
    script.quotes.sort()
    script._newlines = [m.start() for m in re.finditer("\n", text)]
    return script


class _Builder:
    """Accumulates one simple command."""

    def __init__(self, start: int):
        self.words: list[Word] = []
        self.redirects: list[Redirect] = []
        self.start = start
        self.in_dbracket = False
        self.function_def = False

    @property
    def empty(self) -> bool:
        return not self.words and not self.redirects


class _Lexer:
    def __init__(self, text: str):
        self.s = text
        self.n = len(text)
        self.i = 0
        self.script = Script(text)
        self.pending: list[Heredoc] = []
        self.pipeline_no = 0
        self.depth = 0  # nesting of $(...) etc.

    # ---- command lists -------------------------------------------------------------------------

    def parse_list(self, stop_paren: bool) -> None:
        """Lex commands until end of input, or until an unmatched `)` when `stop_paren`."""
        s = self.s
        b = _Builder(self.i)
        pipe_index = 0
        paren = 0
        case_stack: list[str] = []  # 'pattern' | 'body' for each open `case`

        def finish(sep: str) -> None:
            nonlocal b, pipe_index
            if not b.empty:
                self._emit(b, pipe_index)
            if sep in ("|", "|&"):
                pipe_index += 1 if not b.empty else 0
            else:
                pipe_index = 0
                self.pipeline_no += 1
            b = _Builder(self.i)

        while self.i < self.n:
            c = s[self.i]
            if c in " \t":
                self.i += 1
                continue
            if c == "\\" and s.startswith("\\\n", self.i):
                self.i += 2
                continue
            if c == "\r":
                self.i += 1
                continue
            if c == "\n":
                self.i += 1
                if not b.in_dbracket:
                    finish("\n")
                self._read_heredocs()
                continue
            if c == "#" and (b.empty or not b.in_dbracket):
                end = s.find("\n", self.i)
                end = self.n if end < 0 else end
                self.script.comments.append((self.i, end))
                self.i = end
                continue
            # case ... in: patterns up to `)` are not commands
            if case_stack and case_stack[-1] == "pattern" and b.empty:
                if self._at_word("esac"):
                    self.i += 4
                    case_stack.pop()
                    continue
                self._skip_case_pattern()
                case_stack[-1] = "body"
                continue
            if b.in_dbracket and c in "<>()&|!":
                # inside [[ ]], these are operators of the test, not redirects or separators
                j = self.i + 1
                while j < self.n and s[j] in "<>&|=" and j - self.i < 2:
                    j += 1
                b.words.append(Word(s[self.i : j], self.i, j, s[self.i : j]))
                self.i = j
                continue
            if c in ";&|":
                op = self._operator()
                if case_stack and case_stack[-1] == "body" and op in (";;", ";&", ";;&"):
                    finish(";")
                    case_stack[-1] = "pattern"
                    continue
                if op in ("&>", "&>>"):
                    self._redirect(b, op, None)
                    continue
                finish(op)
                continue
            if c == "(":
                if s.startswith("((", self.i) and (b.empty or [w.value for w in b.words] == ["for"]):
                    self._arith_command()
                    continue
                if len(b.words) == 1 and not b.redirects and re.match(r"\(\s*\)", s[self.i :]):
                    # name() { ...; }: a function definition
                    self.i = s.index(")", self.i) + 1
                    b.function_def = True
                    finish(";")
                    continue
                self.i += 1
                finish(";")
                paren += 1
                continue
            if c == ")":
                if paren == 0 and stop_paren:
                    finish(";")
                    return
                self.i += 1
                paren = max(0, paren - 1)
                finish(";")
                continue
            if c in "<>":
                if s.startswith("<(", self.i) or s.startswith(">(", self.i):
                    word = self._word()
                    if word is None:  # defensive, as for other words below: never loop forever
                        self.i += 1
                        continue
                    self._add_word(b, word, case_stack)
                    continue
                op = self._operator()
                self._redirect(b, op, None)
                continue
            word = self._word()
            if word is None:  # defensive: never loop forever
                self.i += 1
                continue
            # an fd number or {var} directly followed by a redirect operator: `2>`, `{fd}>`
            if (
                self.i < self.n
                and s[self.i] in "<>"
                and re.fullmatch(r"[0-9]+|\{[A-Za-z_]\w*\}", word.text)
                and not s.startswith(("<(", ">("), self.i)
            ):
                op = self._operator()
                self._redirect(b, op, word.text)
                continue
            if b.empty and word.text in _SUFFIX_RESERVED and not word.quoted:
                if word.text == "esac" and case_stack:
                    case_stack.pop()
                continue
            self._add_word(b, word, case_stack)
            if b.words and b.words[0].value == "case" and len(b.words) == 3 and word.value == "in":
                finish(";")
                case_stack.append("pattern")
        finish("\n")

    def _add_word(self, b: _Builder, word: Word, case_stack: list[str]) -> None:
        if not b.words and not b.redirects and word.text in _PREFIX_RESERVED and not word.quoted:
            return
        if b.in_dbracket and word.text == "]]":
            b.in_dbracket = False
        if not b.words and word.text == "[[":
            b.in_dbracket = True
        b.words.append(word)

    def _emit(self, b: _Builder, pipe_index: int) -> None:
        cmd = SimpleCommand(
            words=b.words,
            redirects=b.redirects,
            start=b.words[0].start if b.words else b.redirects[0].start,
            pipeline=self.pipeline_no,
            pipe_index=pipe_index,
            nested=self.depth > 0,
            function_def=b.function_def,
        )
        self.script.commands.append(cmd)
        # `[ -z "$X" ]`: a reference that tests whether X is set is not a use of X
        if cmd.name in ("[", "[[", "test") and any(w.value in ("-z", "-n", "-v") for w in cmd.words):
            lo = cmd.start
            hi = cmd.words[-1].end if cmd.words else lo
            for ref in self.script.refs:
                if lo <= ref.start < hi:
                    ref.in_test = True

    def _at_word(self, word: str) -> bool:
        end = self.i + len(word)
        return self.s.startswith(word, self.i) and (end >= self.n or self.s[end] in _WORD_BREAK)

    def _skip_case_pattern(self) -> None:
        """Skip `pat1|pat2)` (with optional leading `(`), quotes respected."""
        s = self.s
        if s[self.i] == "(":
            self.i += 1
        while self.i < self.n:
            c = s[self.i]
            if c == ")":
                self.i += 1
                return
            if c in "'\"" or c == "$" or c == "\\":
                self._word_part()
                continue
            self.i += 1

    def _operator(self) -> str:
        s, i = self.s, self.i
        for op in (
            ";;&",
            "<<<",
            "<<-",
            "&>>",
            ";;",
            ";&",
            "&&",
            "||",
            "|&",
            "<<",
            ">>",
            "<&",
            ">&",
            "<>",
            ">|",
            "&>",
            ";",
            "&",
            "|",
            "<",
            ">",
        ):
            if s.startswith(op, i):
                self.i = i + len(op)
                return op
        self.i += 1
        return s[i]

    def _redirect(self, b: _Builder, op: str, fd: str | None) -> None:
        start = self.i - len(op) - (len(fd) if fd else 0)
        while self.i < self.n and self.s[self.i] in " \t":
            self.i += 1
        target = None
        if self.i < self.n and self.s[self.i] not in "\n;&|()<>":
            target = self._word()
        redirect = Redirect(op, fd, target, start)
        if op in ("<<", "<<-") and target is not None:
            doc = Heredoc(
                delimiter=target.value,
                quoted=target.quoted,
                strip_tabs=op == "<<-",
                start=start,
            )
            redirect.heredoc = doc
            self.pending.append(doc)
            self.script.heredocs.append(doc)
        b.redirects.append(redirect)

    def _read_heredocs(self) -> None:
        """At a newline: the bodies of the heredocs opened on the line just ended."""
        s = self.s
        while self.pending:
            doc = self.pending.pop(0)
            doc.body_start = self.i
            pos = self.i
            while pos < self.n:
                eol = s.find("\n", pos)
                eol = self.n if eol < 0 else eol
                line = s[pos:eol].rstrip("\r")
                if (line.lstrip("\t") if doc.strip_tabs else line) == doc.delimiter:
                    doc.body_end = pos
                    doc.closed = True
                    pos = min(eol + 1, self.n)
                    break
                pos = eol + 1
            else:
                doc.body_end = self.n
                pos = self.n
            if not doc.closed:
                doc.body_end = min(doc.body_end, self.n)
            if not doc.quoted:
                self._scan_expansions(doc.body_start, doc.body_end)
            self.i = pos

    def _scan_expansions(self, start: int, end: int) -> None:
        """Find $-expansions and backticks in text that is expanded but not word-split (heredoc body)."""
        self._scan(start, end, escapes=True)

    def _scan(self, start: int, end: int, *, escapes: bool, other: Callable[[int], bool] | None = None) -> None:
        """The one loop over expanded text: `$...` and backticks everywhere, backslash escapes where they apply,
        and `other` (arithmetic's names and numbers) for the rest; `other` returns whether it consumed text."""
        with self._window(start, end):
            while self.i < self.n:
                c = self.s[self.i]
                if escapes and c == "\\":
                    self.i += 2
                elif c == "$":
                    self._dollar()
                elif c == "`":
                    self._backtick()
                elif other is None or not other(start):
                    self.i += 1

    @contextlib.contextmanager
    def _window(self, start: int, end: int) -> Iterator[None]:
        """Lex only `s[start:end]` inside the block, then go back to where the lexer was."""
        saved_i, saved_n = self.i, self.n
        self.i, self.n = start, end
        try:
            yield
        finally:
            self.i, self.n = saved_i, saved_n

    # ---- arithmetic ----------------------------------------------------------------------------

    def _arith_command(self) -> None:
        """`(( ... ))` or `for (( ... ))`: bare names are variable uses (or definitions)."""
        start = self.i + 2
        end = self._match_double_paren(start)
        self._scan_arith(start, end)
        self.i = min(self.n, end + 2)

    def _match_double_paren(self, start: int) -> int:
        """Offset of the `)` at depth 0 after `start` (callers check it is a `))`)."""
        s = self.s
        depth = 0
        j = start
        while j < self.n:
            c = s[j]
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    return j
                depth -= 1
            j += 1
        return self.n

    def _scan_arith(self, start: int, end: int) -> None:
        self._scan(start, end, escapes=False, other=self._arith_operand)

    def _arith_operand(self, start: int) -> bool:
        """A number (incl. base#digits) or a bare name at self.i inside `(( ))` / `$(( ))` starting at `start`."""
        s = self.s
        if s[self.i].isdigit():
            m = re.compile(r"[0-9]+(#[0-9A-Za-z@_]+)?").match(s, self.i, self.n)
            self.i = m.end() if m else self.i + 1
            return True
        m = _NAME_RE.match(s, self.i, self.n)
        if not m:
            return False
        name = m.group(0)
        rest = s[m.end() : self.n].lstrip()
        if re.match(r"(\[[^\]]*\])?\s*([-+*/%&|^]|<<|>>)?=(?!=)", rest) or rest.startswith(("++", "--")):
            # x=1, x+=1, x++: a counter starting from unset (0) is the idiom, not a bug
            self.script.arith_defs.append((name, m.start()))
        elif s[max(start, m.start() - 2) : m.start()] in ("++", "--"):
            self.script.arith_defs.append((name, m.start()))
        else:
            self.script.refs.append(VarRef(name, m.start(), "arith"))
        self.i = m.end()
        return True

    # ---- words ---------------------------------------------------------------------------------

    def _word(self) -> Word | None:
        start = self.i
        value: list[str] = []
        quoted = False
        s = self.s
        while self.i < self.n:
            c = s[self.i]
            if c in "<>" and self.i == start and s.startswith("(", self.i + 1):
                # process substitution <(...) / >(...)
                self.i += 2
                self._nested_list()
                value.append(s[start : self.i])
                continue
            if c == "(" and ASSIGN_RE.fullmatch(s, start, self.i):
                # NAME=( array ) : consume the elements as part of this word
                self._array_body()
                value.append("(...)")
                continue
            if c in _WORD_BREAK:
                break
            if c == "\\" and s.startswith("\\\n", self.i):
                self.i += 2
                continue
            part, q = self._word_part()
            quoted = quoted or q
            value.append(part)
        self.i = min(self.i, self.n)
        if self.i == start:
            return None
        return Word(s[start : self.i], start, self.i, "".join(value), quoted)

    def _array_body(self) -> None:
        s = self.s
        self.i += 1  # (
        while self.i < self.n:
            c = s[self.i]
            if c in " \t\n":
                self.i += 1
            elif c == ")":
                self.i += 1
                return
            elif c == "#":
                end = s.find("\n", self.i)
                self.i = self.n if end < 0 else end
            else:
                before = self.i
                self._word()
                if self.i == before:
                    self.i += 1

    def _word_part(self) -> tuple[str, bool]:
        """Consume one unit of a word; return (its value, was it quoted)."""
        s = self.s
        c = s[self.i]
        if c == "'":
            end = s.find("'", self.i + 1)
            end = self.n if end < 0 or end > self.n else end
            part = s[self.i + 1 : end]
            self.script.quotes.append((self.i, min(self.n, end + 1), "'"))
            self.i = min(self.n, end + 1)
            return part, True
        if c == '"':
            return self._dquote(), True
        if c == "\\":
            part = s[self.i + 1 : self.i + 2]
            self.i = min(self.n, self.i + 2)
            return part, True
        if c == "$":
            if s.startswith("$'", self.i):
                j = self.i + 2
                while j < self.n and s[j] != "'":
                    j += 2 if s[j] == "\\" else 1
                part = s[self.i + 2 : min(j, self.n)]
                self.script.quotes.append((self.i, min(self.n, j + 1), "$'"))
                self.i = min(self.n, j + 1)
                return part, True
            if s.startswith('$"', self.i):
                self.i += 1
                return self._dquote(), True
            start = self.i
            self._dollar()
            return s[start : self.i], False
        if c == "`":
            start = self.i
            self._backtick()
            return s[start : self.i], False
        self.i += 1
        return c, False

    def _dquote(self) -> str:
        s = self.s
        opened = self.i
        self.i += 1  # opening "
        out: list[str] = []
        while self.i < self.n:
            c = s[self.i]
            if c == '"':
                self.i += 1
                break
            if c == "\\":
                nxt = s[self.i + 1 : self.i + 2]
                if nxt == "\n":
                    self.i += 2
                    continue
                out.append(nxt if nxt in '$`"\\' else c + nxt)
                self.i += 2
                continue
            if c == "$":
                start = self.i
                self._dollar(in_dquote=True)
                out.append(s[start : self.i])
                continue
            if c == "`":
                start = self.i
                self._backtick()
                out.append(s[start : self.i])
                continue
            out.append(c)
            self.i += 1
        self.i = min(self.i, self.n)
        self.script.quotes.append((opened, self.i, '"'))
        return "".join(out)

    def _dollar(self, in_dquote: bool = False) -> None:
        """At a `$`: record the reference, or lex the substitution, and move past it."""
        s = self.s
        i = self.i
        nxt = s[i + 1 : i + 2]
        if s.startswith("$((", i):
            end = self._match_double_paren(i + 3)
            if s.startswith("))", end):
                self._scan_arith(i + 3, end)
                self.i = end + 2
                return
        if nxt == "(":
            self.i = i + 2
            self._nested_list()
            return
        if nxt == "[":  # old-style $[ arithmetic ]
            end = s.find("]", i)
            end = self.n if end < 0 else end
            self._scan_arith(i + 2, end)
            self.i = min(self.n, end + 1)
            return
        if nxt == "{":
            self._brace_param(in_dquote)
            return
        m = _NAME_RE.match(s, i + 1, self.n)
        if m:
            self.script.refs.append(VarRef(m.group(0), i))
            self.i = m.end()
            return
        if nxt and nxt in _SPECIAL_PARAMS:
            self.i = i + 2
            return
        self.i = i + 1  # a lone `$`

    def _brace_param(self, in_dquote: bool) -> None:
        """${...}: the name, the operator after it, and any expansions inside the operand."""
        s = self.s
        start = self.i
        j = start + 2
        op = ""
        if j < self.n and s[j] in "#!" and _NAME_RE.match(s, j + 1, self.n):
            op = "#len" if s[j] == "#" else "!"
            j += 1
        m = _NAME_RE.match(s, j, self.n)
        if m:
            name = m.group(0)
            j = m.end()
            if s.startswith("[", j):  # ${arr[...]}
                close = s.find("]", j)
                j = close + 1 if close > 0 else j
            if not op:
                m_op = re.compile(r":[-=?+]|[-=?+]|##?|%%?|//?|\^\^?|,,?|:|@").match(s, j, self.n)
                op = m_op.group(0) if m_op else ""
            ref = VarRef(name, start, op)
            self.script.refs.append(ref)
        # find the closing brace, lexing expansions in the operand
        self.i = j
        while self.i < self.n:
            c = s[self.i]
            if c == "}":
                self.i += 1
                return
            if c == "\\":
                self.i += 2
            elif c == "$":
                self._dollar(in_dquote)
            elif c == "`":
                self._backtick()
            elif c == '"':
                self._dquote()
            elif c == "'" and not in_dquote:
                end = s.find("'", self.i + 1)
                self.script.quotes.append((self.i, self.n if end < 0 else end + 1, "'"))
                self.i = self.n if end < 0 else end + 1
            else:
                self.i += 1
        self.i = min(self.i, self.n)

    def _nested_list(self) -> None:
        """Body of $(...) or <(...): lex it as commands, stop past the closing `)`."""
        saved_pending = self.pending
        self.pending = []
        self.depth += 1
        self.pipeline_no += 1
        self.parse_list(stop_paren=True)
        self.pipeline_no += 1
        self.depth -= 1
        self.pending = saved_pending
        if self.i < self.n and self.s[self.i] == ")":
            self.i += 1

    def _backtick(self) -> None:
        s = self.s
        start = self.i + 1
        j = start
        while j < self.n and s[j] != "`":
            j += 2 if s[j] == "\\" else 1
        end = min(j, self.n)
        saved_n, saved_pending = self.n, self.pending
        self.pending = []
        self.i, self.n = start, end
        self.depth += 1
        self.pipeline_no += 1
        self.parse_list(stop_paren=False)
        self.pipeline_no += 1
        self.depth -= 1
        self.n, self.pending = saved_n, saved_pending
        self.i = min(self.n, end + 1)


def command_argv(cmd: SimpleCommand) -> list[Word]:
    """argv with `sudo` (and its options), `env`, `nohup`, `xargs`, `time`... peeled off.

    `sudo -E apt-get install x` -> [apt-get, install, x]: what a rule about `apt-get` wants.
    """
    argv = cmd.argv
    return argv[wrapper_length([w.value for w in argv]) :]


def command_words(cmd: SimpleCommand) -> list[str]:
    return [w.value for w in command_argv(cmd)]


# sudo options that take a value (sudo -u user, -g group, -C fd, -h host, -p prompt, -r role, -t type)
_SUDO_ARG_OPTS = set("ugChprtUD")


_XARGS_ARG_OPTS = {"-I", "-n", "-P", "-L", "-d", "-a", "-E", "-s"}


def wrapper_length(words: list[str]) -> int:
    """How many leading words are wrappers (sudo and its options, env X=1, nohup ...)."""
    i = 0
    while i < len(words):
        w = words[i]
        if w == "sudo" or w == "doas":
            i += 1
            while i < len(words) and words[i].startswith("-") and words[i] != "--":
                opt = words[i]
                i += 1
                if (
                    not opt.startswith("--")
                    and opt[-1] in _SUDO_ARG_OPTS
                    and len(opt) == 2
                    or opt.startswith("--")
                    and "=" not in opt
                    and opt[2:] in ("user", "group", "prompt", "host")
                ):
                    i += 1
            if i < len(words) and words[i] == "--":
                i += 1
            continue
        if w == "env":
            i += 1
            while i < len(words) and (words[i].startswith("-") or ASSIGN_RE.match(words[i])):
                i += 1
            continue
        if w == "xargs":
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in _XARGS_ARG_OPTS else 1
            continue
        if w in ("nohup", "command", "exec", "time", "nice", "stdbuf", "unbuffer"):
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 1
            continue
        if ASSIGN_RE.match(w) and i > 0:
            i += 1
            continue
        break
    return min(i, len(words))


def uses_sudo(cmd: SimpleCommand) -> bool:
    """True if the command runs under sudo/doas (possibly after env/nohup/time...)."""
    for w in cmd.argv:
        v = w.value
        if v in ("sudo", "doas"):
            return True
        if (
            v in ("env", "nohup", "command", "exec", "time", "nice")
            or v.startswith("-")
            or ASSIGN_RE.match(v)
        ):
            continue
        return False
    return False
