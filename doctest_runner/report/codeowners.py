"""CODEOWNERS lookup, so a sprint checklist can hand each broken guide to whoever owns it.

Matching follows GitHub's documented CODEOWNERS rules: gitignore-style patterns, the *last*
matching line wins, a pattern with no owners makes the file unowned, `docs/*` covers only the
files directly in docs/, `apps/` covers everything below any apps/ directory; `!` negation and
`[...]` ranges are not supported by GitHub, so such lines are reported and ignored.

Matching is linear in the path's length whatever the pattern: a pattern is a small automaton
(`PathPattern`) run on all its states at once, as bit sets, instead of a regex: the regex of a
line with many `**` (`.*` after `.*`) backtracks polynomially, and a CODEOWNERS file comes from the
docs repository (a 200-`**` line took 50 s on one path).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from doctest_runner.model import DoctestError


@dataclass(frozen=True)
class OwnerRule:
    pattern: str
    owners: tuple[str, ...]
    line: int
    regex: PathPattern  # `.match(path)`, like the compiled regex it replaces


@dataclass
class CodeOwners:
    path: str
    root: Path
    rules: list[OwnerRule] = field(default_factory=list)
    errors: list[DoctestError] = field(default_factory=list)

    def owners_for(self, doc_path: str) -> tuple[str, ...]:
        """Owners of a doc: the last matching rule's owners, () when nothing (or an empty rule) matches."""
        rel = self.relative(doc_path)
        found: tuple[str, ...] = ()
        for rule in self.rules:
            if rule.regex.match(rel):
                found = rule.owners
        return found

    def relative(self, doc_path: str) -> str:
        """The doc path relative to the repository root the CODEOWNERS file belongs to."""
        p = Path(doc_path)
        candidate = p if p.is_absolute() else Path.cwd() / p
        try:
            resolved = candidate.resolve()
            root = self.root.resolve()
            if resolved == root or root in resolved.parents:
                return resolved.relative_to(root).as_posix()
        except OSError:
            pass
        rel = doc_path.replace(os.sep, "/")
        while rel.startswith("./"):
            rel = rel[2:]
        return rel.lstrip("/")


# Token kinds of a pattern (its pieces as written, wildcard runs merged).
_LIT = 0  # one given character
_ONE = 1  # `?`: one character but `/`
_STAR = 2  # `*`: any run without `/`
_ANY = 3  # `**` alone, `/**` at the end: any run
_DIRS = 4  # `**/` (and an unanchored start): nothing, or any run ending in `/` (two states)
_SUBTREE = 5  # the implicit end: nothing, or `/` and then anything (followed by an _ANY token)


@dataclass
class PathPattern:
    """A CODEOWNERS pattern as an automaton over a repo-relative POSIX path.

    `match(path)` keeps the set of live states as one integer bit set and advances it once per
    character (plus a bounded number of empty moves, since runs of wildcards are merged), so it
    costs O(len(path)) big-integer operations: no backtracking. `steps` counts those operations."""

    pattern: str
    tokens: list[tuple[int, str]]
    steps: int = 0

    def __post_init__(self) -> None:
        # State k is "before state-token k"; each mask holds the states with that move.
        self._lit: dict[str, int] = {}
        one = star = any_loop = slash_adv = eps1 = eps2 = 0
        k = 0
        for kind, char in self.tokens:
            bit = 1 << k
            if kind == _LIT:
                self._lit[char] = self._lit.get(char, 0) | bit
            elif kind == _ONE:
                one |= bit
            elif kind == _STAR:
                star |= bit
                eps1 |= bit
            elif kind == _ANY:
                any_loop |= bit
                eps1 |= bit
            elif kind == _DIRS:  # entry: skip the group, or enter its loop, which leaves on a `/`
                eps1 |= bit
                eps2 |= bit
                k += 1
                any_loop |= bit << 1
                slash_adv |= bit << 1
            else:  # _SUBTREE: skip the `/...` (and the _ANY after it), or take its `/`
                slash_adv |= bit
                eps2 |= bit
            k += 1
        self._one, self._star, self._any, self._slash_adv = one, star, any_loop, slash_adv
        self._eps1, self._eps2 = eps1, eps2
        self._accept = 1 << k

    def _closure(self, live: int) -> int:
        while True:
            self.steps += 1
            more = live | ((live & self._eps1) << 1) | ((live & self._eps2) << 2)
            if more == live:
                return live
            live = more

    def match(self, path: str) -> bool:
        """Does the whole `path` match? (The name and truthiness of `re.Pattern.match`.)"""
        live = self._closure(1)
        lit, one, star, any_loop, slash_adv = self._lit, self._one, self._star, self._any, self._slash_adv
        for ch in path:
            if ch == "/":
                advance = live & (lit.get("/", 0) | slash_adv)
                stay = live & any_loop
            else:
                advance = live & (lit.get(ch, 0) | one)
                stay = live & (any_loop | star)
            live = self._closure((advance << 1) | stay)
            if not live:
                return False
        return bool(live & self._accept)


def _push(tokens: list[tuple[int, str]], kind: int) -> None:
    """Append a wildcard, merged with the one before when the two match the same as one does (so
    a run of `**` is a single state and empty moves stay short)."""
    if tokens and tokens[-1][0] in (_STAR, _ANY, _DIRS):
        last = tokens[-1][0]
        if kind == last or _ANY in (kind, last):
            tokens[-1] = (_ANY if _ANY in (kind, last) else kind, "")
            return
    tokens.append((kind, ""))


def pattern_regex(pattern: str) -> PathPattern:
    """gitignore-style pattern -> matcher over a repo-relative POSIX path (`.match(path)`)."""
    dir_only = pattern.endswith("/")
    core = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in core
    tokens: list[tuple[int, str]] = []
    if not anchored:
        _push(tokens, _DIRS)
    i = 0
    while i < len(core):
        if core.startswith("**/", i):
            _push(tokens, _DIRS)
            i += 3
        elif core.startswith("/**", i) and i + 3 == len(core):
            tokens.append((_LIT, "/"))
            _push(tokens, _ANY)
            i += 3
        elif core.startswith("**", i):
            _push(tokens, _ANY)
            i += 2
        elif core[i] == "*":
            _push(tokens, _STAR)
            i += 1
        elif core[i] == "?":
            tokens.append((_ONE, ""))
            i += 1
        elif core[i] == "\\" and i + 1 < len(core):
            tokens.append((_LIT, core[i + 1]))
            i += 2
        else:
            tokens.append((_LIT, core[i]))
            i += 1
    if dir_only:
        tokens.append((_LIT, "/"))
        _push(tokens, _ANY)
    elif not core.endswith(("/*", "/**")):  # `docs/*`: only the files directly inside (GitHub's documented exception)
        tokens.append((_SUBTREE, ""))  # a file, or a directory and everything under it
        tokens.append((_ANY, ""))
    return PathPattern(pattern, tokens)


def parse_codeowners(text: str, path: str = "CODEOWNERS", root: Path | None = None) -> CodeOwners:
    """Parse CODEOWNERS text; unsupported lines become errors (file:line), the rest still apply."""
    if root is None:
        p = Path(path)
        root = p.parent.parent if p.parent.name in (".github", "docs") else p.parent
    result = CodeOwners(path=path, root=root)
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        parts = line.split()
        pattern, owners = parts[0], tuple(parts[1:])
        if pattern.startswith("!") or "[" in pattern:
            result.errors.append(
                DoctestError(f"CODEOWNERS pattern {pattern!r} uses syntax GitHub does not support; ignored", path, n)
            )
            continue
        bad = [o for o in owners if not (o.startswith("@") or "@" in o)]
        if bad:
            result.errors.append(DoctestError(f"owner {bad[0]!r} is neither @user, @org/team nor an email", path, n))
            owners = tuple(o for o in owners if o not in bad)
        result.rules.append(OwnerRule(pattern, owners, n, pattern_regex(pattern)))
    return result


def load_codeowners(path: Path | str) -> CodeOwners:
    """Read a CODEOWNERS file; a missing or unreadable one is a one-line error naming it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else None
        raise DoctestError(f"cannot read CODEOWNERS file: {why or exc}", str(p)) from None
    return parse_codeowners(text, str(p))
