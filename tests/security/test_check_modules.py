"""Issue 11, item 2: sidecar `check_modules:` are host-side Python from the docs repo.

They must stay inside the sidecar's docs tree (refused the same way whether an outside file exists), and they
run only when the command line says `run --trust-check-modules`; otherwise the guide runs and the modules are
reported as not run, with the reason. The canary: a `conftest.py` beside the module that creates a file when
pytest imports it.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from untrusted import put, run_cli

from doctest_runner.checks import testinfra
from doctest_runner.cli import main

OUTSIDE = "is outside the docs tree (absolute paths, '..' and symlinks that leave it are refused)"


def _evil_module(folder, canary) -> None:
    put(folder, "conftest.py", f"open({str(canary)!r}, 'w').write('ran')\n")
    put(folder, "test_y.py", f"open({str(canary)!r}, 'w').write('ran')\n\ndef test_y():\n    pass\n")


MODULES = ["../host/test_y.py", "../host/test_missing.py", "{outside}/test_y.py", "{outside}/test_missing.py",
           "link/test_y.py", "link/test_missing.py", "sub/../../host/test_y.py"]


def test_a_check_module_outside_the_tree_is_refused_the_same_way_whether_it_exists(docs, outside, canary):
    _evil_module(outside, canary)
    (docs / "link").symlink_to(outside)
    (docs / "sub").mkdir()
    names = []
    for i, module in enumerate(MODULES):
        put(docs, f"g{i}.md", (docs / "guide.md").read_text())
        put(docs, f"g{i}.doctest.yaml", f"""\
            checks:
              - package: curl
            check_modules:
              - {module.format(outside=outside)}
            """)
        names.append(f"g{i}.md")
    result = run_cli("list", *names, cwd=docs)
    assert "Traceback" not in result.err and result.code == 2
    assert result.err_lines == [f"g{i}.doctest.yaml:4: check module {m.format(outside=outside)!r} {OUTSIDE}"
                                for i, m in enumerate(MODULES)]
    assert not canary.exists()
    assert not result.touched(outside)


def test_a_check_module_inside_the_tree_is_planned(docs):
    put(docs, "checks/test_ok.py", "def test_ok():\n    pass\n")
    put(docs, "guide.doctest.yaml", "check_modules:\n  - checks/test_ok.py\n")
    result = run_cli("list", "--json", "guide.md", cwd=docs)
    assert result.code == 0, result.err


@pytest.fixture
def module_with_canary(docs, canary):
    folder = docs / "checks"
    _evil_module(folder, canary)
    return str(folder / "test_y.py")


def _fake_machine(tmp_path):
    key = tmp_path / "key"
    key.write_text("not a key\n")
    return SimpleNamespace(ssh_host="127.0.0.1", ssh_port=1, user="nobody", key_path=key, host_key=None)


def test_without_trust_modules_are_reported_not_run_and_never_imported(tmp_path, module_with_canary, canary):
    results = testinfra.run_checks(_fake_machine(tmp_path), [], [module_with_canary], tmp_path)
    assert [(r.check.kind, r.check.target, r.passed) for r in results] == [("module", module_with_canary, True)]
    assert results[0].message.startswith("not run: check modules are Python from the docs repo and run on this host")
    assert "--trust-check-modules" in results[0].message
    assert not canary.exists()
    assert not (tmp_path / "checks.log").exists()


def test_with_trust_the_modules_do_run_on_the_host(tmp_path, module_with_canary, canary):
    """The other side of the gate: this is exactly what the flag allows (pytest imports the docs' conftest)."""
    results = testinfra.run_checks(_fake_machine(tmp_path), [], [module_with_canary], tmp_path, trust_modules=True)
    assert results and canary.exists()


class _Stop(Exception):
    pass


@pytest.mark.parametrize("flags, trusted", [([], False), (["--trust-check-modules"], True)])
def test_run_passes_the_flag_to_every_guide(docs, monkeypatch, flags, trusted):
    import doctest_runner.cli.run_cmd as run_cmd

    put(docs, "checks/test_ok.py", "def test_ok():\n    pass\n")
    put(docs, "guide.doctest.yaml", "check_modules:\n  - checks/test_ok.py\n")
    monkeypatch.chdir(docs)
    seen = {}

    def fake_run_plans(plans, options, host=None):
        seen["trust"] = options.guide.trust_check_modules
        seen["modules"] = [m for p in plans for m in p.check_modules]
        raise _Stop

    monkeypatch.setattr(run_cmd, "run_plans", fake_run_plans)
    monkeypatch.setattr(run_cmd, "check_host_ready", lambda accel=None: SimpleNamespace(accel="tcg", why="test"))
    with pytest.raises(_Stop):
        main(["run", "guide.md", "--no-progress", *flags])
    assert seen == {"trust": trusted, "modules": [os.path.realpath(docs / "checks/test_ok.py")]}


def test_the_flag_says_what_it_does(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "runs code from the docs repo on this host" in " ".join(capsys.readouterr().out.split())
