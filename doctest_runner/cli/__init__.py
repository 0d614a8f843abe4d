"""Command-line entry point: one module per sub-command, each with `add_parser()` and `run()`.

Every sub-command returns an exit status; a `DoctestError` anywhere becomes one
line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import threading

from doctest_runner import __version__
from doctest_runner.model import DoctestError

# sub-command name -> module under doctest_runner.cli
COMMANDS = {
    "list": "list_cmd",
    "lint": "lint_cmd",
    "run": "run_cmd",
    "walk": "walk_cmd",
    "history": "history_cmd",
    "image": "image_cmd",
    "doctor": "doctor_cmd",
    "shell": "shell_cmd",
    "merge": "merge_cmd",
    "cache": "cache_cmd",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors: one line, exit 2
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="doctest-runner", description=__doc__.splitlines()[0])
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
    try:
        return int(args._run(args) or 0)
    except DoctestError as exc:
        print(f"doctest-runner: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("doctest-runner: interrupted", file=sys.stderr)
        if threading.active_count() > 1:
            # the run already removed its VMs and wrote its reports; guide threads still waiting on a
            # VM that is gone must not hold the exit for minutes
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        return 130
    except BrokenPipeError:
        return 0
