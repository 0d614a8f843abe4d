"""Sidecar loader: every key, every selector kind, and errors that point at the sidecar's line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from doctest_runner.model import Check, DoctestError
from doctest_runner.plan import MultipleErrors, load_sidecar
from doctest_runner.plan.pattern import CommandPattern


def write(tmp_path: Path, text: str, name: str = "guide.doctest.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def errors_of(exc: DoctestError) -> list[DoctestError]:
    return exc.errors if isinstance(exc, MultipleErrors) else [exc]


def test_every_top_level_key(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pod.json").write_text("{}")
    (tmp_path / "test_extra.py").write_text("def test_x(host):\n    pass\n")
    path = write(tmp_path, """
        doc: docs/installation.md
        image: ubuntu-24.04
        vars:
          VERSION: 3.10
          ARCH: amd64
          my-placeholder: "x y"
        fixtures:
          - src: data/pod.json
            dest: /home/user/pod.json
        setup: |
          sudo apt-get update
          sudo apt-get install -y curl
        cleanup: sudo rm -rf /opt/kata
        checks:
          - package: containerd
        check_modules:
          - test_extra.py
        steps:
          - line: 40
            skip: true
            reason: needs real hardware
        """)
    sc = load_sidecar(path)
    assert sc.doc == "docs/installation.md" and sc.doc_line == 1
    assert sc.image == "ubuntu-24.04"
    # numbers stay as written (3.10 is not the float 3.1)
    assert sc.vars == {"VERSION": "3.10", "ARCH": "amd64", "my-placeholder": "x y"}
    assert sc.var_lines == {"VERSION": 4, "ARCH": 5, "my-placeholder": 6}
    assert len(sc.fixtures) == 1
    assert sc.fixtures[0].src == (tmp_path / "data" / "pod.json").resolve()
    assert sc.fixtures[0].dest == "/home/user/pod.json" and sc.fixtures[0].line == 8
    assert len(sc.setup) == 1
    assert sc.setup[0].text == "sudo apt-get update\nsudo apt-get install -y curl"
    assert sc.setup[0].line == 11 and sc.setup[0].line_map == (11, 12)  # block scalar: the line after `|`
    assert sc.cleanup[0].text == "sudo rm -rf /opt/kata" and sc.cleanup[0].line == 13
    assert sc.checks == [Check("package", "containerd", {"installed": True}, str(path), 15)]
    assert sc.check_modules == [(tmp_path / "test_extra.py").resolve()]
    assert len(sc.rules) == 1 and sc.rules[0].line == 19 and sc.rules[0].at_line == 40
    assert sc.rules[0].options == {"skip": True, "reason": "needs real hardware"}


def test_empty_sidecar_is_allowed(tmp_path):
    sc = load_sidecar(write(tmp_path, "# nothing to say\n"))
    assert sc.rules == [] and sc.vars == {} and sc.doc is None


def test_setup_as_list_gives_one_script_each(tmp_path):
    sc = load_sidecar(write(tmp_path, """
        setup:
          - echo one
          - |
            echo two
            echo three
        """))
    assert [(s.text, s.line, s.line_map) for s in sc.setup] == [
        ("echo one", 2, (2,)), ("echo two\necho three", 4, (4, 5))]


def test_each_check_kind_with_options_and_defaults(tmp_path):
    path = write(tmp_path, """
        checks:
          - package: docker.io
            installed: false
          - service: containerd
            enabled: true
          - file: /etc/containerd/config.toml
            contains: kata
            mode: "0644"
          - file: /etc/modules-load.d/kata.conf
            mode: 0600
          - port: 10250
            listening: false
          - command: kata-runtime check
            exit: 0
            stdout_contains: capable
            user: root
        """)
    checks = load_sidecar(path).checks
    assert [(c.kind, c.target, c.expect, c.line) for c in checks] == [
        ("package", "docker.io", {"installed": False}, 2),
        ("service", "containerd", {"running": True, "enabled": True}, 4),
        ("file", "/etc/containerd/config.toml", {"exists": True, "contains": "kata", "mode": 0o644}, 6),
        ("file", "/etc/modules-load.d/kata.conf", {"exists": True, "mode": 0o600}, 9),
        ("port", "10250", {"listening": False}, 11),
        ("command", "kata-runtime check", {"exit": 0, "stdout_contains": "capable", "user": "root"}, 13),
    ]


def test_every_selector_kind_and_option(tmp_path):
    path = write(tmp_path, """
        steps:
          - line: 12
            timeout: 900
          - name: build-kernel
            timeout: 2h
          - heading: "Install > From a tarball"
            requires: kvm, network
          - heading: [Install, Build]
            user: root
          - command: apt-get install
            expect-exit: 100
          - command_re: '^sudo\\s+modprobe'
            reboot: true
          - alternative: Fedora
            skip: true
          - line: 30
            name: start-containerd
            output: warn
            pty: true
            requires: [kvm]
        """)
    rules = load_sidecar(path).rules
    assert [r.line for r in rules] == [2, 4, 6, 8, 10, 12, 14, 16]
    assert rules[0].at_line == 12 and rules[0].options == {"timeout": 900}
    assert rules[1].name == "build-kernel" and rules[1].options == {"timeout": 7200}
    assert rules[2].heading == ("Install", "From a tarball")
    assert rules[2].options == {"requires": ("kvm", "network")}
    assert rules[3].heading == ("Install", "Build") and rules[3].options == {"user": "root"}
    assert rules[4].command == "apt-get install" and rules[4].options == {"expect_exit": 100}
    assert isinstance(rules[5].command_re, CommandPattern) and rules[5].command_re.search("sudo  modprobe kvm")
    assert not rules[5].command_re.search("echo sudo modprobe")
    assert rules[5].options == {"reboot": True}
    assert rules[6].alternative == "Fedora" and rules[6].options == {"skip": True}
    # `name` next to another selector names the selected step instead of selecting
    assert rules[7].at_line == 30 and rules[7].name is None
    assert rules[7].options == {"name": "start-containerd", "output": "warn", "pty": True, "requires": ("kvm",)}


def test_insert_rule(tmp_path):
    path = write(tmp_path, """
        steps:
          - insert: after
            line: 57
            name: unpack
            reason: the guide says "Unpack the archive" without a command
            command: |
              sudo tar -xJf kata-static.tar.xz -C /
        """)
    (rule,) = load_sidecar(path).rules
    assert rule.insert == "after" and rule.at_line == 57
    assert rule.command == "sudo tar -xJf kata-static.tar.xz -C /"
    assert rule.options == {"name": "unpack", "reason": 'the guide says "Unpack the archive" without a command'}


@pytest.mark.parametrize("text, line, message", [
    ("doc: a.md\nimgae: debian-12\n", 2, "unknown key 'imgae' in sidecar; did you mean 'image'?"),
    ("steps:\n  - line: 3\n    skip: true\n    resaon: x\n", 4, "unknown key 'resaon' in a steps rule; did you mean 'reason'?"),
    ("steps:\n  - line: 3\n    expect_exit: 1\n", 3, "did you mean 'expect-exit'?"),
    ("checks:\n  - service: x\n    runing: true\n", 3, "unknown key 'runing' in a service check"),
    ("checks:\n  - file: /x\n    listening: true\n", 3, "unknown key 'listening' in a file check"),
    ("fixtures:\n  - src: x\n    dst: /y\n", 3, "unknown key 'dst' in a fixture"),
    ("steps:\n  - insert: after\n    line: 3\n    heading: A\n    command: x\n", 4, "in an insert rule"),
])
def test_unknown_key_is_an_error_at_its_line(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(DoctestError) as info:
        load_sidecar(path)
    errs = errors_of(info.value)
    hits = [e for e in errs if message in e.message]
    assert hits, [str(e) for e in errs]
    assert hits[0].path == str(path) and hits[0].line == line


@pytest.mark.parametrize("text, line, message", [
    ("steps:\n  - skip: true\n", 2, "needs a selector"),
    ("steps:\n  - line: 4\n", 2, "sets nothing"),
    ("steps:\n  - line: zero\n    skip: true\n", 2, "line must be an integer"),
    ("steps:\n  - line: 0\n    skip: true\n", 2, "line must be at least 1"),
    ("steps:\n  - command_re: '(unclosed'\n    skip: true\n", 2, "not a valid regular expression"),
    ("steps:\n  - line: 3\n    output: loud\n", 3, "output must be one of check, warn, ignore"),
    ("steps:\n  - line: 3\n    skip: maybe\n", 3, "skip must be true or false"),
    ("steps:\n  - line: 3\n    timeout: soon\n", 3, "timeout must be an integer"),
    ("steps:\n  - line: 3\n    expect-exit: 300\n", 3, "at most 255"),
    ("steps:\n  - insert: later\n    line: 3\n    command: x\n", 2, "insert must be 'before' or 'after'"),
    ("steps:\n  - insert: after\n    command: x\n", 2, "needs line:"),
    ("steps: {line: 3}\n", 1, "steps must be a list"),
    ("vars:\n  VERSION:\n", 2, "var VERSION must be a string or number"),
    ("vars:\n  'bad name': x\n", 2, "is not a NAME"),
    ("vars: [a, b]\n", 1, "vars must be a mapping"),
    ("fixtures:\n  - src: nowhere.json\n    dest: /tmp/x\n", 2, "fixture 'nowhere.json' not found"),
    ("fixtures:\n  - dest: /tmp/x\n", 2, "needs both src"),
    ("check_modules:\n  - test_gone.py\n", 2, "check module 'test_gone.py' not found"),
    ("checks:\n  - {package: a, service: b}\n", 2, "exactly one of"),
    ("checks:\n  - file: /x\n    mode: rw\n", 3, "octal file mode"),
    ("image: [debian]\n", 1, "image must be a non-empty string"),
    ("doc: a.md\ndoc: b.md\n", 2, "duplicate key 'doc'"),
    ("- just\n- a list\n", 1, "a sidecar must be a mapping"),
])
def test_bad_values_are_errors_at_their_line(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(DoctestError) as info:
        load_sidecar(path)
    errs = errors_of(info.value)
    hits = [e for e in errs if message in e.message]
    assert hits, [str(e) for e in errs]
    assert hits[0].line == line


def test_bad_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "doc: a.md\nsteps:\n  - line: 3\n    skip: [true\n  - line: 4\n")
    with pytest.raises(DoctestError) as info:
        load_sidecar(path)
    assert info.value.path == str(path)
    assert info.value.line == 5
    assert info.value.message.startswith("invalid YAML")
    assert str(info.value).startswith(f"{path}:5: invalid YAML")


def test_tab_indentation_is_a_yaml_error_with_line(tmp_path):
    path = write(tmp_path, "doc: a.md\nsteps:\n\t- line: 3\n")
    with pytest.raises(DoctestError) as info:
        load_sidecar(path)
    assert info.value.line == 3


def test_all_problems_are_reported_together(tmp_path):
    path = write(tmp_path, """
        imag: x
        steps:
          - line: 3
            skipp: true
          - command: y
            timeout: -5
        checks:
          - servce: x
        """)
    with pytest.raises(MultipleErrors) as info:
        load_sidecar(path)
    assert sorted(e.line for e in info.value.errors) == [1, 4, 6, 8]
    assert "(and 3 more)" in str(info.value)


def test_display_path_is_used_in_errors(tmp_path):
    path = write(tmp_path, "bogus: 1\n")
    with pytest.raises(DoctestError) as info:
        load_sidecar(path, display="sets/kata/guide.doctest.yaml")
    assert str(info.value).startswith("sets/kata/guide.doctest.yaml:1: unknown key 'bogus'")


def test_unreadable_sidecars(tmp_path):
    with pytest.raises(DoctestError, match="no such sidecar file"):
        load_sidecar(tmp_path / "gone.doctest.yaml")
    (tmp_path / "dir.doctest.yaml").mkdir()
    with pytest.raises(DoctestError, match="is a directory"):
        load_sidecar(tmp_path / "dir.doctest.yaml")
    bad = tmp_path / "latin.doctest.yaml"
    bad.write_bytes(b"doc: a.md\nimage: caf\xe9\n")
    with pytest.raises(DoctestError) as info:
        load_sidecar(bad)
    assert info.value.line == 2 and "not UTF-8" in info.value.message


def test_yaml_tags_cannot_run_code(tmp_path):
    path = write(tmp_path, "image: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(DoctestError) as info:
        load_sidecar(path)
    assert info.value.line == 1
