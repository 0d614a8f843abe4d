"""How deeply shell text nests (command substitutions; any grouping), in one linear pass with no recursion.

Why not the lexer: this screen decides whether shellcheck (whose time and memory grow exponentially with
nested substitutions) may see a step, so it must stay linear and flat on any input, adversarial ones included,
and it counts what the lexer does not keep (grouping depth, backtick levels written with backslashes).
"""

from __future__ import annotations

import re

_KEYWORD = re.compile(r"(?:if|case|for|while|until|select|fi|esac|done)(?=[\s;|&()]|$)")
_OPENERS = ("if", "case", "for", "while", "until", "select")
_WORD_START = frozenset(" \t\n;|&()")


def nesting(text: str) -> tuple[int, int]:
    """(deepest command substitution, deepest grouping of any kind) in `text`, in one linear pass.

    A screen, not a parser: quotes are followed (a substitution starts a fresh quoting context,
    as in bash), comments and quoted heredoc bodies are skipped, unquoted heredoc bodies are
    searched for substitutions, and a closer without an opener is ignored, so real docs are
    measured as written. What the screen misses, shellcheck's memory limit and timeout catch."""
    return _Scan(text).scan()


class _Scan:
    def __init__(self, text: str) -> None:
        self.s = text
        self.n = len(text)
        self.stack: list[tuple[bool, bool]] = []  # (a substitution?, the quoting to restore at its end)
        self.subst = 0  # substitutions on the stack
        self.max_subst = 0
        self.max_all = 0
        self.quote = False  # inside "..."
        self.heredocs: list[tuple[str, bool, bool]] = []  # waiting for their body: delimiter, quoted, <<-

    def push(self, subst: bool) -> None:
        self.stack.append((subst, self.quote))
        self.quote = False  # $( ) and ${ } start a fresh quoting context
        self.subst += subst
        self.max_subst = max(self.max_subst, self.subst)
        self.max_all = max(self.max_all, len(self.stack))

    def pop(self, floor: int = 0) -> None:
        if len(self.stack) > floor:
            subst, self.quote = self.stack.pop()
            self.subst -= subst

    def backtick(self, backslashes: int) -> None:
        # nesting level n of backticks is written with 2**(n-1)-1 backslashes before each
        self.max_subst = max(self.max_subst, self.subst + (backslashes + 1).bit_length())

    def scan(self) -> tuple[int, int]:
        s, n = self.s, self.n
        i = 0
        while i < n:
            c = s[i]
            if c == "\\":
                j = i
                while j < n and s[j] == "\\":
                    j += 1
                if j < n and s[j] == "`":
                    self.backtick(j - i)
                i = j + 1 if (j - i) % 2 else j
            elif c == "\n":
                i += 1
                if self.heredocs and not self.quote:
                    i = self.bodies(i)
            elif c == "$":
                i = self.dollar(i)
            elif c == "`":
                self.backtick(0)
                i += 1
            elif self.quote:
                if c == '"':
                    self.quote = False
                i += 1
            elif c == "'":
                end = s.find("'", i + 1)
                i = n if end < 0 else end + 1
            elif c == '"':
                self.quote = True
                i += 1
            elif c == "#" and (i == 0 or s[i - 1] in _WORD_START):
                end = s.find("\n", i)
                i = n if end < 0 else end
            elif c in "<>" and s.startswith("(", i + 1):
                self.push(True)
                i += 2
            elif c == "<" and s.startswith("<", i + 1) and not s.startswith("<", i + 2):
                i = self.heredoc(i + 2)
            elif c in "({":
                self.push(False)
                i += 1
            elif c in ")}":
                self.pop()
                i += 1
            elif (i == 0 or s[i - 1] in _WORD_START) and (m := _KEYWORD.match(s, i)):
                if m.group(0) in _OPENERS:
                    self.push(False)
                else:
                    self.pop()
                i = m.end()
            else:
                i += 1
        return self.max_subst, self.max_all

    def dollar(self, i: int) -> int:
        s = self.s
        if s.startswith("((", i + 1):  # $(( )): closed by two `)`
            self.push(False)
            self.push(False)
            return i + 3
        if s.startswith("(", i + 1):
            self.push(True)
            return i + 2
        if s.startswith("{", i + 1):
            self.push(False)
            return i + 2
        return i + 1

    def heredoc(self, i: int) -> int:
        """After `<<`: note the delimiter; its body starts at the next newline."""
        s, n = self.s, self.n
        strip = s.startswith("-", i)
        i += strip
        while i < n and s[i] in " \t":
            i += 1
        j = i
        while j < n and s[j] not in " \t\n;|&<>()":
            j += 1
        word = s[i:j]
        if word:
            delimiter = word.replace("'", "").replace('"', "").replace("\\", "")
            self.heredocs.append((delimiter, word != delimiter, strip))
        return j

    def bodies(self, i: int) -> int:
        """Skip the pending heredoc bodies from `i`; search unquoted ones for substitutions."""
        s, n = self.s, self.n
        for delimiter, quoted, strip in self.heredocs:
            floor = len(self.stack)
            while i < n:
                end = s.find("\n", i)
                end = n if end < 0 else end
                line = s[i:end]
                i = end + 1
                if (line.lstrip("\t") if strip else line) == delimiter:
                    break
                if not quoted:
                    self.body_line(line, floor)
            while len(self.stack) > floor:  # a substitution left open in the body ends with it
                self.pop(floor)
        self.heredocs = []
        return min(i, n)

    def body_line(self, line: str, floor: int) -> None:
        """Substitutions in one line of an unquoted heredoc body (quotes there are plain text)."""
        k, m = 0, len(line)
        while k < m:
            c = line[k]
            if c == "$" and line.startswith("(", k + 1):
                self.push(True)
                k += 2
            elif c == "$" and line.startswith("{", k + 1):
                self.push(False)
                k += 2
            elif c in ")}":
                self.pop(floor)
                k += 1
            elif c == "`":
                self.backtick(0)
                k += 1
            elif c == "\\":
                k += 2
            else:
                k += 1
