"""`command_re` selectors from sidecars, matched in bounded time.

A sidecar comes from docs anyone can send, and Python's `re` backtracks without limit:
`(a+)+$` against a 5,000-character command of `a`s never finishes, and `re` has no timeout.
The options, and why this one:

* a subprocess per match with a timeout: a fork and a round trip for every (rule, step) pair,
  hundreds per guide, and a `re` in a thread cannot be stopped at all;
* refusing patterns with nested quantifiers: a syntactic guess that misses overlapping
  alternations (`(a|aa)+$`), adjacent repeats (`(x+x+)+y`) and polynomial cases (`.*.*.*=`),
  and refuses harmless patterns;
* the `regex` package (PyPI, C): the same syntax as `re` (VERSION0, `re`-compatible, as the README
  promises) and a `timeout=` that its engine checks while it backtracks, in any thread.

So patterns are compiled with `regex`; each search may take `MATCH_TIMEOUT_S`, and all searches
of one rule together `RULE_BUDGET_S` (so a pattern just under the per-search limit cannot add up
over a thousand steps). Going over is a one-line error at the rule's sidecar line, and that doc
is not planned; other docs go on. Results are cached per command text.
"""

from __future__ import annotations

import time

import regex

from doctest_runner.model import DoctestError

MATCH_TIMEOUT_S = 1.0  # one search of one step's command
RULE_BUDGET_S = 3.0  # every search of one rule together
MAX_PATTERN_CHARS = 2000  # a longer pattern is refused when the sidecar is loaded


class CommandPattern:
    """A compiled `command_re` with the rule's sidecar file and line, used as `pattern.search(text)`
    (truthy when the command matches, like `re.Pattern.search`)."""

    def __init__(self, pattern: str, path: str, line: int) -> None:
        if len(pattern) > MAX_PATTERN_CHARS:
            raise DoctestError(f"command_re is longer than {MAX_PATTERN_CHARS} characters", path, line)
        try:
            self._compiled = regex.compile(pattern, regex.MULTILINE | regex.VERSION0)
        except (regex.error, OverflowError, RecursionError, ValueError) as exc:
            raise DoctestError(f"command_re is not a valid regular expression: {_reason(exc)}", path, line) from None
        self.pattern = pattern
        self.path = path
        self.line = line
        self._spent = 0.0
        self._cache: dict[str, bool] = {}

    def search(self, text: str) -> bool:
        """Does the pattern match anywhere in `text`? A DoctestError at the rule's line when it takes
        longer than the limits allow."""
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        left = RULE_BUDGET_S - self._spent
        timeout = min(MATCH_TIMEOUT_S, left)
        if timeout <= 0:
            raise self._too_slow()
        start = time.monotonic()
        try:
            found = self._compiled.search(text, timeout=timeout) is not None
        except TimeoutError:
            raise self._too_slow() from None
        finally:
            self._spent += time.monotonic() - start
        self._cache[text] = found
        return found

    def _too_slow(self) -> DoctestError:
        return DoctestError(
            f"command_re gave up after {MATCH_TIMEOUT_S:g} s on one command ({RULE_BUDGET_S:g} s for the rule): "
            "the pattern backtracks too much (nested repeats such as (a+)+); write it without them",
            self.path, self.line,
        )

    def __repr__(self) -> str:
        return f"CommandPattern({self.pattern[:60]!r}, {self.path!r}, {self.line})"


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
