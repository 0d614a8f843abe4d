"""What only the guest knows, for proposers: its package index, which package ships a command, its units, its
commands on PATH; and the closest-name rule they all use.

`GuestFacts` is a Protocol so proposers stay pure (tests give a fixed list); `CapturedFacts` answers it over the
guest terminal's `capture(cmd) -> str`. Every command it sends is a fixed string of this module, never text from
a doc, so a guide cannot make the harness run anything; what comes back is data, and proposers shell-quote it
before it goes into a candidate.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from doctest_runner.image import COMMAND_INDEX

__all__ = ["CapturedFacts", "GuestFacts", "closest", "typo_distance"]


class GuestFacts(Protocol):
    def package_names(self) -> Sequence[str]:
        """Every package name the guest's package index knows (empty: no index, e.g. before `apt-get update`)."""
        ...

    def package_for_command(self, command: str) -> str | None:
        """The package that installs `command` (a program name), None when unknown."""
        ...

    def unit_names(self) -> Sequence[str]:
        """Every systemd unit file name the guest has (`ssh.service`, `fstrim.timer`)."""
        ...

    def command_names(self) -> Sequence[str]:
        """Every command name the guide's shell can run: PATH programs, builtins, functions, aliases."""
        ...


# Fixed commands (never doc text). Package names: the apt index. Commands -> packages: the table an image built
# with `command_index` has (image/debootstrap.py), else Debian's command-not-found database when the machine has
# it, else apt-file's Contents index (only bin/ and sbin/ entries are printed).
PACKAGES_CMD = "apt-cache pkgnames 2>/dev/null | LC_ALL=C sort -u"
COMMAND_PACKAGES_CMD = (
    f"if [ -s {COMMAND_INDEX} ]; then cat {COMMAND_INDEX}; "
    "elif [ -r /var/lib/command-not-found/commands.db ] && command -v python3 >/dev/null; then "
    "python3 -c 'import sqlite3; c = sqlite3.connect(\"file:/var/lib/command-not-found/commands.db?mode=ro\", "
    "uri=True); [print(n, p) for n, p in c.execute(\"select commands.command, packages.name from commands join "
    "packages on commands.pkgID = packages.pkgID\")]' 2>/dev/null; "
    "else for f in /var/lib/apt/lists/*Contents-*; do [ -e \"$f\" ] || continue; "
    "/usr/lib/apt/apt-helper cat-file \"$f\" 2>/dev/null; done "
    "| grep -E '^(usr/)?(local/)?s?bin/[^/[:space:]]+[[:space:]]' | sed -E 's|^[^[:space:]]*/||'; fi"
)
UNITS_CMD = "systemctl list-unit-files --no-legend --no-pager --plain 2>/dev/null"
COMMANDS_CMD = "compgen -c 2>/dev/null | LC_ALL=C sort -u"

_NAME_RE = re.compile(r"^[\w.+:@-]+$")


class CapturedFacts:
    """`GuestFacts` read from a live guest, each list asked for once and kept (one guide's fix round)."""

    def __init__(self, capture: Callable[[str], str]):
        self._capture = capture
        self._cache: dict[str, object] = {}

    def _lines(self, cmd: str) -> list[str]:
        if cmd not in self._cache:
            self._cache[cmd] = [ln.strip() for ln in self._capture(cmd).splitlines() if ln.strip()]
        lines = self._cache[cmd]
        assert isinstance(lines, list)
        return lines

    def package_names(self) -> Sequence[str]:
        return [n for n in self._lines(PACKAGES_CMD) if _NAME_RE.match(n)]

    def package_for_command(self, command: str) -> str | None:
        if "cmd-map" not in self._cache:
            self._cache["cmd-map"] = parse_command_packages(self._lines(COMMAND_PACKAGES_CMD))
        table = self._cache["cmd-map"]
        assert isinstance(table, dict)
        return table.get(command)

    def unit_names(self) -> Sequence[str]:
        return [ln.split()[0] for ln in self._lines(UNITS_CMD) if _NAME_RE.match(ln.split()[0])]

    def command_names(self) -> Sequence[str]:
        return [n for n in self._lines(COMMANDS_CMD) if _NAME_RE.match(n)]


def parse_command_packages(lines: Iterable[str]) -> dict[str, str]:
    """`cmd pkg` (command-not-found) or `cmd section/pkg,section/pkg2` (Contents) lines -> command: package.

    A package named like the command wins (`jq` ships `jq`); otherwise the first one named, as Contents lists a
    command's packages in index order and a later line (another suite's index) never overrides an earlier one."""
    table: dict[str, str] = {}
    for line in lines:
        parts = line.split()
        if len(parts) < 2 or not _NAME_RE.match(parts[0]):
            continue
        pkgs = [p.rsplit("/", 1)[-1] for p in parts[-1].split(",")]
        pkgs = [p for p in pkgs if _NAME_RE.match(p)]
        if not pkgs:
            continue
        pkg = parts[0] if parts[0] in pkgs else pkgs[0]
        if parts[0] not in table or pkg == parts[0]:
            table[parts[0]] = pkg
    return table


def closest(name: str, names: Iterable[str], n: int = 3, cutoff: float = 0.75) -> list[str]:
    """The names most like `name` (difflib's ratio), best first, never `name` itself, and only those a few typing
    slips away (`typo_distance` at most a quarter of the name, at least 2).

    Both bounds are on purpose: a fix must look like what the author meant (`kata-runtme` -> `kata-runtime`,
    `sysstats` -> `sysstat`), not any name that shares letters (`ksystemstats`, `systemd-journal-flush` for
    `systemd-journal`): a wrong guess is rejected by its trial, but the trial costs a machine and minutes."""
    pool = [x for x in dict.fromkeys(names) if x != name]
    limit = max(2, len(name) // 4)
    near = difflib.get_close_matches(name, pool, n=max(n * 4, 12), cutoff=cutoff)
    return [x for x in near if typo_distance(name, x, limit) <= limit][:n]


def typo_distance(a: str, b: str, limit: int | None = None) -> int:
    """Edits from `a` to `b`: a letter added, dropped, changed, or two neighbours swapped (optimal string
    alignment). With `limit`, anything above it is reported as limit + 1 without finishing the table."""
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if limit is not None and min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[len(b)]
