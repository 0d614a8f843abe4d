"""CLI help a newcomer reads: descriptions, shown defaults, exit codes and a working example per sub-command;
one `doctest-runner: error:` prefix for every message; the `vm` extra named when it is missing."""

from __future__ import annotations

import argparse
import importlib.util
import re
import shlex
from pathlib import Path

import pytest

import doctest_runner.cli as cli
from doctest_runner.cli import COMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[1]
GUIDE = "docs_under_test/examples/hello-service.md"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _all_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every parser, nested ones (`image build`) included, by their command line."""
    out: dict[str, argparse.ArgumentParser] = {}
    todo = [("", build_parser())]
    while todo:
        prefix, parser = todo.pop()
        out[prefix.strip() or "doctest-runner"] = parser
        if any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
            todo += [(f"{prefix} {name}", sp) for name, sp in _subparsers(parser).items()]
    return out


def test_top_level_help_is_for_users(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "Command-line entry point" not in out and "add_parser" not in out  # not the module's docstring
    assert "Test install guides the way a reader follows them" in out
    section = out[out.index("exit status:"):]
    for code in ("0", "1", "2", "130"):
        assert re.search(rf"^  {code} ", section, re.M), code
    assert "pip install 'doctest-runner[vm]'" in " ".join(out.split())
    for name in COMMANDS:  # each sub-command listed with its one-line help
        assert re.search(rf"^    {name} +\S", out, re.M), name


def test_every_sub_command_has_a_description_exit_codes_and_an_example():
    subs = _subparsers(build_parser())
    assert set(subs) == set(COMMANDS)
    for name, parser in subs.items():
        assert parser.description and len(parser.description) > 20, name
        epilog = parser.epilog or ""
        assert epilog.startswith("exit status: "), name
        assert re.search(r"(?:^exit status: |; )0 ", epilog) or name == "shell", name  # shell: the shell's own
        assert re.search(r"\b2 usage", epilog), name
        assert re.search(rf"^example:\n  doctest-runner {name}\b", epilog, re.M), name


def test_each_example_in_the_help_parses():
    """An example that no longer matches the options is worse than none: parse each as the CLI would."""
    examples = []
    for parser in _all_parsers().values():
        examples += re.findall(r"^  (doctest-runner [^\n]+?)(?: {2,}.*)?$", parser.epilog or "", re.M)
    assert len(examples) >= len(COMMANDS)
    for example in examples:
        argv = shlex.split(example)[1:]
        if argv == ["COMMAND", "--help"]:
            continue
        build_parser().parse_args(argv)  # SystemExit(2) on a bad example


def test_defaults_are_shown_once_and_only_when_they_say_something():
    for where, parser in _all_parsers().items():
        text = parser.format_help()
        for empty in ("(default: None)", "(default: False)", "(default: [])", "(default: 0)"):
            assert empty not in text, (where, empty)
        for action in parser._actions:  # an option whose help already gives its default gets no second one
            help_text = parser._get_formatter()._expand_help(action) if action.help else ""
            assert len(re.findall(r"\(default\b|[;,] default\b", help_text)) <= 1, (where, action.option_strings)
    run_help = " ".join(_subparsers(build_parser())["run"].format_help().split())
    assert "report directory (default: doctest-out)" in run_help
    assert "expected output of prompted commands (default: warn)" in run_help
    assert "default per-step timeout in seconds (default: 900.0)" in run_help
    lint_help = " ".join(_subparsers(build_parser())["lint"].format_help().split())
    assert "(default: info, i.e. all)" in lint_help  # written in the help: not repeated


@pytest.mark.parametrize("argv", [["run"], ["lint", "--severity", "loud", GUIDE], ["image", "build", "--nope"],
                                  ["no-such-command"]])
def test_usage_errors_say_doctest_runner_error_and_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("usage: doctest-runner")
    assert err[-1].startswith("doctest-runner: error: ")  # not "doctest-runner run: error:"


def test_no_cli_message_goes_out_without_the_prefix():
    """`print(f"error: ...")` and friends in cli/: every message a user sees starts `doctest-runner:`."""
    bare = re.compile(r"""print\(\s*f?["'](?:error|warning|note): """)
    offenders = [f"{p.name}:{n}" for p in sorted((ROOT / "doctest_runner" / "cli").glob("*.py"))
                 for n, line in enumerate(p.read_text().splitlines(), 1) if bare.search(line)]
    assert offenders == []


def _without(monkeypatch, *modules: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in modules else real(name, *a))


def test_run_without_the_vm_extra_says_what_to_install(monkeypatch, capsys, tmp_path):
    _without(monkeypatch, "libvirt", "testinfra")
    code = main(["run", "--out", str(tmp_path / "out"), str(ROOT / GUIDE)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "doctest-runner: error: run needs libvirt-python and pytest-testinfra, not installed here: "
        "pip install 'doctest-runner[vm]' (building libvirt-python needs the Debian packages gcc pkg-config "
        "python3-dev libvirt-dev: apt-get install gcc pkg-config python3-dev libvirt-dev)"]
    assert not (tmp_path / "out").exists()  # said before anything was planned or written


def test_only_the_missing_module_is_named_and_list_needs_neither(monkeypatch, capsys):
    _without(monkeypatch, "testinfra")
    assert main(["walk", str(ROOT / GUIDE)]) == 2
    assert capsys.readouterr().err.startswith("doctest-runner: error: walk needs pytest-testinfra, not installed")
    _without(monkeypatch, "libvirt", "testinfra")
    assert main(["list", str(ROOT / GUIDE)]) == 0
    assert main(["lint", str(ROOT / GUIDE)]) == 0


def test_a_vm_import_reached_from_a_light_command_becomes_the_hint(monkeypatch, capsys):
    """A code path that imports libvirt from a command not gated up front: the hint, not a traceback."""
    import doctest_runner.cli.cache_cmd as cache_cmd

    def needs_libvirt(args):
        raise ModuleNotFoundError("No module named 'libvirt'", name="libvirt")

    monkeypatch.setattr(cache_cmd, "run", needs_libvirt)
    assert main(["cache", "info"]) == 2
    assert capsys.readouterr().err.startswith("doctest-runner: error: cache needs libvirt-python, not installed "
                                              "here: pip install 'doctest-runner[vm]'")

    def other_missing(args):
        raise ModuleNotFoundError("No module named 'nowhere'", name="nowhere")

    monkeypatch.setattr(cache_cmd, "run", other_missing)
    with pytest.raises(ModuleNotFoundError):  # a real bug stays visible
        main(["cache", "info"])


def test_the_hint_names_what_building_libvirt_python_needs():
    hint = cli.vm_extra_hint("shell", ["libvirt"])
    assert hint.startswith("shell needs libvirt-python, not installed here: pip install 'doctest-runner[vm]'")
    assert all(pkg in hint for pkg in ("gcc", "pkg-config", "libvirt-dev", "python3-dev"))
    assert "\n" not in hint
