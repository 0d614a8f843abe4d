"""Rules `apt-no-yes` and `install-no-yes`: package commands that stop to ask "Do you want to continue?".

When a step runs, nobody answers (stdin is closed), so apt/dnf/yum/zypper/pacman either abort
or hang. Covered: the sub-commands that ask before changing packages (install, remove, upgrade...),
not read-only ones (update, search, show). Answered by: -y/--yes/--assume-yes (apt), -y/--assumeyes
(dnf/yum), -n/--non-interactive or -y/--no-confirm (zypper), --noconfirm (pacman), an
`-o APT::Get::Assume-Yes=true`, or piping `yes |` into it. DEBIAN_FRONTEND=noninteractive does
not answer this prompt (it only silences debconf), so it does not count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from doctest_runner.lint.context import LintContext
from doctest_runner.shell import SimpleCommand, Word, command_argv, command_words
from doctest_runner.model import Finding

APT = {"apt", "apt-get", "aptitude"}
APT_ASKING = {
    "install",
    "remove",
    "purge",
    "upgrade",
    "dist-upgrade",
    "full-upgrade",
    "autoremove",
    "autopurge",
    "reinstall",
    "build-dep",
}
DNF = {"dnf", "dnf5", "yum", "tdnf"}
DNF_ASKING = {
    "install",
    "remove",
    "erase",
    "upgrade",
    "update",
    "reinstall",
    "downgrade",
    "autoremove",
    "groupinstall",
    "groupupdate",
    "groupremove",
    "localinstall",
    "distro-sync",
    "swap",
    "group",
    "module",
}
ZYPPER_ASKING = {
    "install",
    "in",
    "remove",
    "rm",
    "update",
    "up",
    "dist-upgrade",
    "dup",
    "patch",
    "source-install",
    "si",
}
# options that take a separate value, so that value is not mistaken for the sub-command
_VALUE_OPTS = {
    "-o",
    "-t",
    "-c",
    "--option",
    "--target-release",
    "--config-file",
    "--setopt",
    "--repo",
    "--enablerepo",
    "--disablerepo",
    "--releasever",
    "--installroot",
    "-R",
    "--root",
}


def _subcommand(args: list[str]) -> str | None:
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in _VALUE_OPTS:
            skip = True
            continue
        if a.startswith("-"):
            continue
        return a
    return None


def _short_has(args: list[str], letters: str) -> bool:
    return any(
        a.startswith("-") and not a.startswith("--") and any(ch in a[1:] for ch in letters) for a in args
    )


def _answered(tool: str, args: list[str]) -> bool:
    if tool in APT:
        return (
            any(a in ("--yes", "--assume-yes", "--force-yes") or a.startswith("--assume-yes=") for a in args)
            or _short_has([a for a in args if a not in _VALUE_OPTS], "y")
            or any("assume-yes=true" in a.lower() or "assume-yes=1" in a.lower() for a in args)
        )
    if tool in DNF:
        return any(
            a in ("--assumeyes", "--yes") or a.lower().startswith("--setopt=assumeyes=") for a in args
        ) or _short_has(args, "y")
    if tool == "zypper":
        return any(a in ("--non-interactive", "--no-confirm", "--yes") for a in args) or _short_has(
            args, "ny"
        )
    if tool == "pacman":
        return "--noconfirm" in args
    return True


def _asks(tool: str, args: list[str]) -> bool:
    if tool in APT:
        return _subcommand(args) in APT_ASKING
    if tool in DNF:
        return _subcommand(args) in DNF_ASKING
    if tool == "zypper":
        return _subcommand(args) in ZYPPER_ASKING
    if tool == "pacman":  # -S, -Syu, -R, -Rns, -U: operations that confirm
        return any(
            a.startswith("-") and not a.startswith("--") and a[1:2] in ("S", "R", "U") for a in args
        ) and not any(
            a.startswith("-") and not a.startswith("--") and set(a[2:]) & set("slipg") and a[1] == "S"
            for a in args
        )
    return False


def _piped_yes(cmd: SimpleCommand, pipeline: list[SimpleCommand]) -> bool:
    return any(c.pipe_index < cmd.pipe_index and command_words(c)[:1] == ["yes"] for c in pipeline)


def check(ctx: LintContext) -> Iterator[Finding]:
    for s in ctx.shell:
        pipelines = s.script.pipelines()
        for cmd in s.script.commands:
            argv: list[Word] = command_argv(cmd)
            if not argv:
                continue
            tool = os.path.basename(argv[0].value)
            args = [w.value for w in argv[1:]]
            if not _asks(tool, args) or _answered(tool, args):
                continue
            if _piped_yes(cmd, pipelines.get(cmd.pipeline, [])):
                continue
            sub = _subcommand(args) or ""
            rule = "apt-no-yes" if tool in APT else "install-no-yes"
            flag = {"zypper": "--non-interactive", "pacman": "--noconfirm"}.get(tool, "-y")
            shown = f"{tool} {sub}".strip() if tool != "pacman" else tool
            if tool == "zypper":
                fix = f"`zypper --non-interactive {sub} ...`"
            elif tool == "pacman":
                fix = "`pacman --noconfirm ...`"
            else:
                fix = f"`{tool} {sub} -y ...`"
            yield ctx.finding(
                s,
                argv[0].start,
                rule,
                "error",
                f"`{shown}` without {flag} stops to ask for confirmation; nobody answers when the step runs",
                f"add {flag}: {fix}",
            )
