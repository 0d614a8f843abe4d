"""Command-line entry point: one module per sub-command, each with `add_parser()` and `run()`.

Every sub-command returns an exit status; a `DoctestError` anywhere becomes one
line on stderr and exit 2, never a traceback. The CLI's own messages start `doctest-runner: error:`
(usage errors of sub-commands included), so CI logs and wrappers can grep one prefix; what `list` and
`lint` say about a file stays `path:line: message`, as compilers print it, so editors link it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import re
import sys
import threading
from typing import Any, NoReturn

from doctest_runner import __version__
from doctest_runner.model import DoctestError

__all__ = ["COMMANDS", "PROG", "build_parser", "main"]

PROG = "doctest-runner"

# sub-command name -> module under doctest_runner.cli
COMMANDS = {
    "list": "list_cmd",
    "lint": "lint_cmd",
    "run": "run_cmd",
    "fix": "fix_cmd",
    "walk": "walk_cmd",
    "history": "history_cmd",
    "image": "image_cmd",
    "doctor": "doctor_cmd",
    "shell": "shell_cmd",
    "merge": "merge_cmd",
    "cache": "cache_cmd",
}

# What the `vm` extra installs: import name -> distribution. Commands that boot VMs need these; list, lint,
# history, merge, cache and image build do not, so `pip install doctest-runner` serves them with no compiler.
VM_EXTRA = {"libvirt": "libvirt-python", "testinfra": "pytest-testinfra"}
NEEDS_VM_EXTRA = {
    "run": ("libvirt", "testinfra"),
    "walk": ("libvirt", "testinfra"),
    "fix": ("libvirt", "testinfra"),
    "shell": ("libvirt",),
}
# libvirt-python ships no wheels: pip builds it, which needs a compiler and libvirt's headers
VM_BUILD_DEPS = "gcc pkg-config python3-dev libvirt-dev"

DESCRIPTION = """\
Test install guides the way a reader follows them: each Markdown guide's shell steps run in order in a
fresh virtual machine, and the report says exactly which documented step breaks, at file:line, and why."""

EPILOG = f"""\
exit status:
  0    everything selected passed or was skipped; no error-level lint finding
  1    run, merge: a step or check failed (with --fail-on doc, only doc bugs count);
       lint: an error-level finding; list, lint: a doc could not be planned;
       doctor: a check failed
  2    usage or input error, or a VM/harness error (one line: {PROG}: error: ...)
  130  interrupted (Ctrl-C): the run's VMs are removed
  143  terminated (SIGTERM): the same

examples:
  {PROG} list docs/install.md      the steps, in order; nothing is executed
  {PROG} lint docs/                static review of every guide below docs/
  {PROG} run docs/ --jobs 2        every guide in its own VM; reports in ./doctest-out
  {PROG} fix docs/install.md       propose fixes of its failure, prove them in VMs (--apply: write)
  {PROG} COMMAND --help            the options of one command

Running guides needs libvirt-python and pytest-testinfra: pip install '{PROG}[vm]'."""


def missing_vm_modules(command: str) -> list[str]:
    """The `vm` extra's modules that `command` needs and this environment lacks (found without importing)."""
    return [name for name in NEEDS_VM_EXTRA.get(command, ()) if importlib.util.find_spec(name) is None]


def vm_extra_hint(command: str, modules: list[str]) -> str:
    """One line saying what to install: the extra, and the Debian packages that building libvirt-python needs."""
    dists = " and ".join(VM_EXTRA.get(m, m) for m in modules)
    return (f"{command} needs {dists}, not installed here: pip install '{PROG}[vm]' (building libvirt-python "
            f"needs the Debian packages {VM_BUILD_DEPS}: apt-get install {VM_BUILD_DEPS})")


# how a help text already gives its default: "(default: 3)", "(default)", "...; default 20G"
_SAYS_DEFAULT = re.compile(r"\(default\b|[;,] default\b")


class HelpFormatter(argparse.HelpFormatter):
    """Prose is wrapped to the terminal, indented lines (examples, the exit-code table) are kept as written;
    an option's default is shown unless its help already says it or it is empty (False, None, [] or 0: a
    flag, an unset option or "automatic", where "(default: False)" says nothing)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out: list[str] = []
        prose: list[str] = []

        def flush() -> None:
            if prose:
                out.append(super(HelpFormatter, self)._fill_text(" ".join(prose), width, indent))
                prose.clear()

        for line in text.splitlines():
            if line.strip() and not line[0].isspace():
                prose.append(line.strip())
                continue
            flush()
            out.append(indent + line if line.strip() else "")
        flush()
        return "\n".join(out)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (_SAYS_DEFAULT.search(text) or default in (None, False, [], argparse.SUPPRESS)
                or isinstance(action, (argparse._StoreConstAction, argparse._HelpAction, argparse._VersionAction))
                or not (action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE))):
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:  # argparse's own signature, passed on
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # usage errors: the usage, then one line, exit 2
        self.print_usage(sys.stderr)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(f"doctest_runner.cli.{module}")
        except ModuleNotFoundError as exc:  # a command whose module is not written yet
            if exc.name != f"doctest_runner.cli.{module}":
                raise
            continue
        sp = mod.add_parser(sub)
        sp.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    # paramiko logs connection resets of VMs being torn down; the harness reports what matters itself
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    parser = build_parser()
    args = parser.parse_args(argv)
    missing = missing_vm_modules(args.command)
    if missing:  # before any planning or booting: say what to install
        print(f"{PROG}: error: {vm_extra_hint(args.command, missing)}", file=sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except DoctestError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] not in VM_EXTRA:
            raise
        # a code path that needs the `vm` extra, reached from a command that mostly does not
        print(f"{PROG}: error: {vm_extra_hint(args.command, [exc.name.split('.')[0]])}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        if threading.active_count() > 1:
            # the run already removed its VMs and wrote its reports; guide threads still waiting on a
            # VM that is gone must not hold the exit for minutes
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        return 130
    except BrokenPipeError:
        return 0
