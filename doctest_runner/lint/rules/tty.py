"""Rule `interactive-tty`: container commands that ask for a terminal (`-t`, `-it`, `--tty`).

When a step runs there is no terminal, and `docker run -it ...` fails with "the input device is
not a TTY" (ctr, nerdctl, podman, kubectl, crictl alike). Checked: `run`/`exec` of docker, podman,
nerdctl, ctr (also `ctr task exec`), kubectl/oc (also `attach`), crictl `exec`. Only options
before the image/container name count (after it, `-t` belongs to the command run inside), except
for kubectl, which takes flags anywhere before `--`.

`--interactive`/`-i` alone is NOT reported, on purpose: it keeps stdin open, and with stdin
closed the command simply reads EOF; only a TTY request breaks. Steps annotated `pty` are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from doctest_runner.lint.context import LintContext
from doctest_runner.shell import Word, command_argv
from doctest_runner.model import Finding

RULE = "interactive-tty"

_TOOLS = {"docker", "podman", "nerdctl", "ctr", "kubectl", "oc", "crictl"}
_SUBCOMMANDS = {"run", "exec", "attach"}
# short options that take a value (so the next word is not the image)
_VALUE_SHORT = {
    "docker": set("aceEhlmpuvwx"),
    "ctr": set(),
    "kubectl": set("cflnos"),
    "crictl": set("esr"),
}
# long options that take NO value (every other `--opt` without `=` is assumed to take one)
_BOOL_LONG = {
    "rm",
    "tty",
    "interactive",
    "detach",
    "privileged",
    "init",
    "read-only",
    "publish-all",
    "sig-proxy",
    "no-healthcheck",
    "oom-kill-disable",
    "quiet",
    "help",
    "stdin",
    "net-host",
    "null-io",
    "rootfs",
    "sync",
    "attach",
    "leave-running",
    "quiet-pull",
    "all-platforms",
    "gpus-all",
    "cni",
    "no-pivot",
}
# ctr/kubectl global options before the sub-command that take a value
_GLOBAL_VALUE = {
    "-n",
    "--namespace",
    "-a",
    "--address",
    "--context",
    "--kubeconfig",
    "--cluster",
    "-r",
    "--runtime-endpoint",
    "-i",
    "--image-endpoint",
    "--timeout",
    "--connection-timeout",
}


def _tty_flag(tool: str, args: list[Word]) -> Word | None:
    """The word that asks for a TTY, if any, among `args` (words after the sub-command)."""
    family = tool if tool in _VALUE_SHORT else ("kubectl" if tool == "oc" else "docker")
    value_short = _VALUE_SHORT[family]
    anywhere = family == "kubectl"
    skip = False
    for w in args:
        v = w.value
        if skip:
            skip = False
            if not v.startswith("-"):  # an option's value; `--cni -t`: --cni took none after all
                continue
        if v == "--":
            return None
        if v.startswith("--"):
            name, eq, val = v[2:].partition("=")
            if name == "tty" and val.lower() not in ("false", "0"):
                return w
            if not eq and name not in _BOOL_LONG:
                skip = True
            continue
        if v.startswith("-") and len(v) > 1:
            letters = v[1:]
            if "=" in letters:  # -t=true style (urfave/cli)
                letters, _, val = letters.partition("=")
                if letters == "t" and val.lower() not in ("false", "0"):
                    return w
                continue
            for k, ch in enumerate(letters):
                if ch == "t" and (family != "docker" or k == 0 or letters[k - 1] not in value_short):
                    return w
                if ch in value_short:
                    if k == len(letters) - 1:
                        skip = True
                    break
            continue
        if not anywhere:  # the image / container: later words belong to the inner command
            return None
    return None


def check(ctx: LintContext) -> Iterator[Finding]:
    for s in ctx.shell:
        if s.step.options.pty:
            continue
        for cmd in s.script.commands:
            argv = command_argv(cmd)
            if not argv:
                continue
            tool = os.path.basename(argv[0].value)
            if tool not in _TOOLS:
                continue
            rest = argv[1:]
            # skip global options, then find run/exec (ctr: `task exec`, docker: `container run`)
            i = 0
            while i < len(rest) and rest[i].value.startswith("-"):
                i += 2 if rest[i].value in _GLOBAL_VALUE and "=" not in rest[i].value else 1
            if (
                i < len(rest)
                and rest[i].value in ("task", "tasks", "t", "container", "c")
                and tool in ("ctr", "docker", "podman", "nerdctl")
            ):
                i += 1
            if i >= len(rest) or rest[i].value not in _SUBCOMMANDS:
                continue
            if tool == "crictl" and rest[i].value != "exec":
                continue
            flag = _tty_flag(tool, rest[i + 1 :])
            if flag is None:
                continue
            yield ctx.finding(
                s,
                flag.start,
                RULE,
                "warning",
                f"`{tool} {rest[i].value} {flag.value}` asks for a terminal; "
                'there is none when the step runs ("the input device is not a TTY")',
                "drop -t (keep -i if it reads stdin), or put `<!-- doctest: pty -->` before the block "
                "to run it in a pseudo-terminal",
            )
