"""`doctest-runner history`: what the recorded runs say about each guide and step over time."""

from __future__ import annotations

import argparse
import sys

from doctest_runner.history import History, summary_json, summary_text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "history",
        help="show when guides last passed, since when steps are broken, and what changed",
        description="Read the run history written by `doctest-runner run --history PATH`: per guide when it "
        "last passed, since when each broken step is broken, steps newly broken or fixed since the previous "
        "run, and guides broken for N runs in a row (candidates for a deprecation warning).",
        epilog="exit status: 0 summary printed; 2 usage error or an unreadable history\n\n"
        "example:\n  doctest-runner history --history history.db --streak 5",
    )
    p.add_argument("--history", required=True, metavar="PATH", help="the SQLite history database")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--streak", type=_positive, default=3, metavar="N",
                   help="flag guides broken for N runs in a row (default: 3)")
    return p


def run(args: argparse.Namespace) -> int:
    summary = History(args.history).summary(streak=args.streak)
    print(summary_json(summary) if args.json else summary_text(summary), file=sys.stdout)
    return 0
