"""CODEOWNERS lookup, so a sprint checklist can hand each broken guide to whoever owns it.

Matching follows GitHub's documented CODEOWNERS rules: gitignore-style patterns, the *last*
matching line wins, a pattern with no owners makes the file unowned, `docs/*` covers only the
files directly in docs/, `apps/` covers everything below any apps/ directory; `!` negation and
`[...]` ranges are not supported by GitHub, so such lines are reported and ignored.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from doctest_runner.model import DoctestError


@dataclass(frozen=True)
class OwnerRule:
    pattern: str
    owners: tuple[str, ...]
    line: int
    regex: re.Pattern[str]


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


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """gitignore-style pattern -> regex over a repo-relative POSIX path."""
    dir_only = pattern.endswith("/")
    core = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in core
    out: list[str] = []
    i = 0
    while i < len(core):
        if core.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif core.startswith("/**", i) and i + 3 == len(core):
            out.append("/.*")
            i += 3
        elif core.startswith("**", i):
            out.append(".*")
            i += 2
        elif core[i] == "*":
            out.append("[^/]*")
            i += 1
        elif core[i] == "?":
            out.append("[^/]")
            i += 1
        elif core[i] == "\\" and i + 1 < len(core):
            out.append(re.escape(core[i + 1]))
            i += 2
        else:
            out.append(re.escape(core[i]))
            i += 1
    body = "".join(out)
    prefix = "" if anchored else "(?:.*/)?"
    if dir_only:
        suffix = "/.*"
    elif core.endswith(("/*", "/**")):
        suffix = ""  # `docs/*`: only the files directly inside (GitHub's documented exception)
    else:
        suffix = "(?:/.*)?"  # a file, or a directory and everything under it
    return re.compile("^" + prefix + body + suffix + "$")


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
        raise DoctestError(f"cannot read CODEOWNERS file: {exc.strerror or exc}", str(p)) from None
    return parse_codeowners(text, str(p))
