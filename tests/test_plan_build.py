"""plan_doc: sidecar rules, vars, inserted prose steps, distro alternatives and ordering.

ParsedDocs are built by hand here so these tests pin the planner alone, whatever the parser does.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from doctest_runner.model import Block, DoctestError, ParsedDoc, Prose, Step, StepOptions
from doctest_runner.plan import MultipleErrors, parse_sidecar, plan_doc

DOC = "docs/guide.md"


def step(line, command, heading=("Guide",), *, end_line=None, block_line=None, kind="bare", alternative=None,
         options=None, status="run", reason=None, suffix=""):
    end = end_line if end_line is not None else line + command.count("\n")
    return Step(id=f"{DOC}:{line}{suffix}", path=DOC, line=line, end_line=end, heading=heading, command=command,
                kind=kind, line_map=tuple(range(line, end + 1)), block_line=block_line or line - 1,
                alternative=alternative, options=options or StepOptions(), status=status, reason=reason)


def block(line, end_line, heading=("Guide",)):
    return Block(path=DOC, line=line, end_line=end_line, content_line=line + 1, info="console", lang="console",
                 attrs={}, text="", heading=heading)


def sidecar(text: str, display: str = "sets/guide.doctest.yaml"):
    return parse_sidecar(textwrap.dedent(text).lstrip("\n"), Path("/nonexistent/guide.doctest.yaml"), display)


def doc(steps, **kw) -> ParsedDoc:
    return ParsedDoc(path=DOC, steps=steps, **kw)


def ids(steps):
    return [s.id for s in steps]


# A small guide: a prompted block with two commands (lines 10-14), a bare block, tabs, a file step.
def sample() -> ParsedDoc:
    install = ("Guide", "Install")
    return doc(
        [
            step(11, "sudo apt-get update", block_line=10),
            step(13, "sudo apt-get install -y \\\n  containerd", block_line=10),  # lines 13-14
            step(18, "curl -LO https://example.com/kata-<VERSION>-${ARCH}.tar.xz", install, block_line=17),
            step(24, "sudo apt-get install -y kata", install + ("Packages",), alternative="Debian/Ubuntu"),
            step(30, "sudo dnf install -y kata", install + ("Packages",), alternative="Fedora"),
            step(36, "sudo zypper in kata", install + ("Packages",), alternative="openSUSE"),
            step(42, "sudo tee /etc/kata/<NAME>.toml >/dev/null <<'DOCTEST_EOF'\nv = \"<VERSION>\"\nDOCTEST_EOF",
                 install, kind="file"),
            step(50, "kata-runtime check", ("Guide", "Verify"), options=StepOptions(name="check")),
            step(55, "/ # uname -r", ("Guide", "Verify"), status="skip", reason="runs inside a guest shell"),
        ],
        blocks=[block(10, 15), block(17, 19, ("Guide", "Install"))],
        headings=[(1, ("Guide",)), (16, ("Guide", "Install")), (22, ("Guide", "Install", "Packages")),
                  (48, ("Guide", "Verify"))],
        prose=[Prose(DOC, 20, "Unpack the archive.", ("Guide", "Install"))],
        errors=[DoctestError("unterminated fence", DOC, 60)],
    )


def test_no_sidecar_keeps_the_doc_and_picks_the_debian_tab():
    parsed = sample()
    plan = plan_doc(parsed)
    assert plan.path == DOC and plan.image == "debian-12" and plan.distro == "debian"
    assert ids(plan.steps) == ids(parsed.steps)
    status = {s.line: (s.status, s.reason) for s in plan.steps}
    assert status[24] == ("run", None)
    assert status[30] == ("skip", "alternative for Fedora; image is debian-12")
    assert status[36] == ("skip", "alternative for openSUSE; image is debian-12")
    assert status[55] == ("skip", "runs inside a guest shell")
    assert plan.setup == [] and plan.cleanup == [] and plan.sidecar is None
    assert plan.prose == parsed.prose and plan.errors == parsed.errors
    # the parsed doc itself is not modified (it may be planned again for another image)
    assert all(s.status == "run" for s in parsed.steps[:8])


def test_image_picks_other_tabs():
    plan = plan_doc(sample(), image="fedora-40")
    status = {s.line: s.status for s in plan.steps}
    assert plan.distro == "fedora"
    assert (status[24], status[30], status[36]) == ("skip", "run", "skip")
    plan = plan_doc(sample(), image="ubuntu-24.04")  # "Debian/Ubuntu" fits ubuntu too
    assert [s.status for s in plan.steps if s.alternative] == ["run", "skip", "skip"]


def test_no_matching_tab_keeps_the_first_and_says_so():
    plan = plan_doc(sample(), image="alpine-3.20")
    assert [s.status for s in plan.steps if s.alternative] == ["run", "skip", "skip"]
    assert plan.notes == [(f"{DOC}:24: no tab for alpine among 'Debian/Ubuntu', 'Fedora', 'openSUSE'; "
                          "keeping 'Debian/Ubuntu'")]


def test_tabs_that_name_no_os_are_not_alternatives():
    parsed = doc([step(5, "helm install a", alternative="Control-plane nodes only"),
                  step(9, "helm install b", alternative="Control-plane nodes and workers")])
    plan = plan_doc(parsed)
    assert [s.status for s in plan.steps] == ["run", "run"] and plan.notes == []


def test_separate_tab_groups_are_decided_separately():
    parsed = doc([
        step(5, "apt install a", alternative="Ubuntu"), step(7, "dnf install a", alternative="Fedora"),
        step(9, "echo between"),
        step(12, "apt install b", alternative="Ubuntu"), step(14, "dnf install b", alternative="Fedora"),
    ])
    plan = plan_doc(parsed, image="debian-12")  # no tab fits: each group keeps its first
    assert [s.status for s in plan.steps] == ["run", "skip", "run", "run", "skip"]
    assert len(plan.notes) == 2


def test_annotation_skip_becomes_status():
    parsed = doc([step(3, "reboot", options=StepOptions(skip=True, reason="reboots the host")),
                  step(5, "make", options=StepOptions(skip=True))])
    plan = plan_doc(parsed)
    assert [(s.status, s.reason) for s in plan.steps] == [("skip", "reboots the host"),
                                                          ("skip", "skipped by annotation")]


def test_line_selector_in_step_range_in_block_and_fence():
    sc = sidecar("""
        steps:
          - line: 14          # 2nd line of the continued command -> that step only
            timeout: 60
          - line: 10          # the opening fence -> every step of the block
            user: root
          - line: 19          # closing fence of the second block
            requires: [network]
        """)
    plan = plan_doc(sample(), sc)
    by_line = {s.line: s.options for s in plan.steps}
    assert by_line[13].timeout == 60 and by_line[11].timeout is None
    assert by_line[11].user == "root" and by_line[13].user == "root" and by_line[18].user is None
    assert by_line[18].requires == ("network",)


def test_line_selector_without_block_info_uses_block_line():
    parsed = doc([step(5, "a", block_line=4), step(6, "b", block_line=4), step(9, "c", block_line=8)])
    plan = plan_doc(parsed, sidecar("steps:\n  - line: 4\n    timeout: 5\n"))
    assert [s.options.timeout for s in plan.steps] == [5, 5, None]


def test_name_heading_command_regex_and_alternative_selectors():
    sc = sidecar("""
        steps:
          - name: check
            requires: kvm
          - heading: Install > Packages
            timeout: 1200
          - heading: Verify
            output: warn
          - command: apt-get install
            expect-exit: 0
            pty: true
          - command_re: '^curl .*\\.tar\\.xz$'
            requires: [network]
          - line: 55
            reason: the guest shell is a container
        """)
    plan = plan_doc(sample(), sc)
    opts = {s.line: s.options for s in plan.steps}
    assert opts[50].requires == ("kvm",)
    assert [ln for ln, o in opts.items() if o.timeout == 1200] == [24, 30, 36]
    assert [ln for ln, o in opts.items() if o.output == "warn"] == [50, 55]
    assert [ln for ln, o in opts.items() if o.pty] == [13, 24]
    assert opts[18].requires == ("network",)
    guest = next(s for s in plan.steps if s.line == 55)
    # reason alone does not skip, it only explains a step that is skipped anyway
    assert guest.status == "skip" and guest.reason == "the guest shell is a container"
    assert plan_doc(sample(), sidecar("steps:\n  - line: 50\n    reason: why\n")).steps[7].status == "run"


def test_heading_match_is_a_contiguous_path_at_any_depth():
    sc = sidecar("steps:\n  - heading: guide > install\n    user: root\n")
    plan = plan_doc(sample(), sc)
    assert sorted(s.line for s in plan.steps if s.options.user == "root") == [18, 24, 30, 36, 42]
    with pytest.raises(DoctestError) as info:
        plan_doc(sample(), sidecar("steps:\n  - heading: Guide > Packages\n    user: root\n"))
    assert "matches no step" in info.value.message


def test_several_selectors_must_all_hold():
    sc = sidecar("steps:\n  - heading: Packages\n    command: dnf\n    skip: true\n    reason: no dnf\n")
    plan = plan_doc(sample(), sc, image="fedora-40")
    assert [(s.line, s.reason) for s in plan.steps if s.status == "skip"] == [
        (11, "uses apt-get (Debian/Ubuntu); the image is fedora-40"),  # another platform's tool (plan/platform.py)
        (13, "uses apt-get (Debian/Ubuntu); the image is fedora-40"),
        (24, "alternative for Debian/Ubuntu; image is fedora-40"), (30, "no dnf"),
        (36, "alternative for openSUSE; image is fedora-40"), (55, "runs inside a guest shell")]


def test_sidecar_skip_and_unskip():
    sc = sidecar("""
        steps:
          - command: kata-runtime check
            skip: true
          - line: 55
            skip: false
          - alternative: Fedora
            skip: false
        """)
    plan = plan_doc(sample(), sc)
    by_line = {s.line: s for s in plan.steps}
    assert by_line[50].status == "skip" and by_line[50].reason == "skipped by sets/guide.doctest.yaml:2"
    assert by_line[55].status == "run" and by_line[55].reason is None  # guest skip overridden on purpose
    assert by_line[30].status == "run"  # a forced tab is not re-skipped as an alternative
    assert by_line[36].status == "skip"


def test_unmatched_selectors_are_errors_at_the_rule_line_all_at_once():
    sc = sidecar("""
        steps:
          - line: 200
            skip: true
          - name: nope
            timeout: 3
          - command: kubectl
            user: root
          - heading: Verify
            user: root
        """)
    with pytest.raises(MultipleErrors) as info:
        plan_doc(sample(), sc)
    got = [(e.path, e.line, e.message) for e in info.value.errors]
    assert got == [
        ("sets/guide.doctest.yaml", 2, f"steps rule (line: 200) matches no step in {DOC}"),
        ("sets/guide.doctest.yaml", 4, f"steps rule (name: 'nope') matches no step in {DOC}"),
        ("sets/guide.doctest.yaml", 6, f"steps rule (command: 'kubectl') matches no step in {DOC}"),
    ]


def test_vars_replace_angle_placeholders_and_export_shell_vars():
    sc = sidecar("""
        vars:
          VERSION: 3.10.1
          ARCH: amd64
          NAME: "my conf"
          kata-dir: /opt/kata
        """)
    plan = plan_doc(sample(), sc)
    cmd = {s.line: s.command for s in plan.steps}
    assert cmd[18] == "curl -LO https://example.com/kata-3.10.1-${ARCH}.tar.xz"  # ${ARCH} left to the shell
    assert cmd[42] == "sudo tee /etc/kata/my conf.toml >/dev/null <<'DOCTEST_EOF'\nv = \"3.10.1\"\nDOCTEST_EOF"
    (exports,) = plan.setup
    assert exports.kind == "setup" and exports.origin == "sidecar"
    assert exports.path == "sets/guide.doctest.yaml" and exports.line == 2 and exports.end_line == 4
    assert exports.command == "export VERSION=3.10.1\nexport ARCH=amd64\nexport NAME='my conf'"
    assert exports.line_map == (2, 3, 4)  # kata-dir is not a shell name: placeholder text only
    assert plan.vars == {"VERSION": "3.10.1", "ARCH": "amd64", "NAME": "my conf", "kata-dir": "/opt/kata"}


def test_var_placeholder_with_dash_is_substituted():
    parsed = doc([step(3, "ls <kata-dir>/bin")])
    plan = plan_doc(parsed, sidecar("vars:\n  kata-dir: /opt/kata\n"))
    assert plan.steps[0].command == "ls /opt/kata/bin" and plan.setup == []


def test_order_setup_steps_cleanup_and_doc_cleanup_moves_last():
    parsed = doc([step(3, "echo hidden setup", kind="setup"), step(5, "echo a"),
                  step(8, "echo hidden cleanup", kind="cleanup"), step(12, "echo b")])
    sc = sidecar("""
        vars:
          V: "1"
        setup: |
          echo sidecar setup <V>
        cleanup: echo sidecar cleanup
        """)
    plan = plan_doc(parsed, sc)
    assert [s.command for s in plan.setup] == ["export V=1", "echo sidecar setup 1"]
    assert [s.command for s in plan.steps] == ["echo hidden setup", "echo a", "echo b"]
    assert [s.command for s in plan.cleanup] == ["echo hidden cleanup", "echo sidecar cleanup"]
    assert [(s.kind, s.origin, s.path, s.line) for s in plan.setup + plan.cleanup[1:]] == [
        ("setup", "sidecar", "sets/guide.doctest.yaml", 2),
        ("setup", "sidecar", "sets/guide.doctest.yaml", 4),
        ("cleanup", "sidecar", "sets/guide.doctest.yaml", 5)]


def test_insert_steps_for_prose():
    sc = sidecar("""
        steps:
          - insert: after
            line: 20
            name: unpack
            reason: prose only
            command: |
              tar -xJf kata-<VERSION>.tar.xz
              ls
          - insert: before
            line: 13
            command: echo before the install
          - insert: after
            line: 13
            command: echo after the install
          - name: unpack
            timeout: 600
        vars:
          VERSION: "3.1"
        """)
    plan = plan_doc(sample(), sc)
    assert [s.line for s in plan.steps][:6] == [11, 13, 13, 13, 18, 20]
    before, install, after = plan.steps[1:4]
    assert before.command == "echo before the install" and before.origin == "sidecar"
    assert install.origin == "doc" and after.command == "echo after the install"
    unpack = plan.steps[5]
    assert unpack.origin == "sidecar" and unpack.kind == "bare" and unpack.status == "run"
    assert unpack.command == "tar -xJf kata-3.1.tar.xz\nls"
    assert unpack.line == unpack.end_line == 20 and unpack.line_map == (20, 20)
    assert unpack.heading == ("Guide", "Install") and unpack.path == DOC
    assert unpack.options.name == "unpack" and unpack.options.timeout == 600
    assert unpack.id == f"{DOC}:20"
    assert before.id == f"{DOC}:13#2" and after.id == f"{DOC}:13#3"  # doc step keeps the plain id


def test_insert_at_start_and_end():
    sc = sidecar("steps:\n  - insert: before\n    line: 1\n    command: echo first\n"
                 "  - insert: after\n    line: 999\n    command: echo last\n")
    plan = plan_doc(sample(), sc)
    assert plan.steps[0].command == "echo first" and plan.steps[0].heading == ("Guide",)
    assert plan.steps[-1].command == "echo last" and plan.steps[-1].heading == ("Guide", "Verify")


def test_checks_fixtures_modules_and_image_from_sidecar(tmp_path):
    (tmp_path / "pod.json").write_text("{}")
    (tmp_path / "test_more.py").write_text("")
    path = tmp_path / "guide.doctest.yaml"
    text = ("image: ubuntu-24.04\nfixtures:\n  - src: pod.json\n    dest: /tmp/pod.json\n"
            "check_modules: [test_more.py]\nchecks:\n  - package: kata\n")
    sc = parse_sidecar(text, path, "guide.doctest.yaml")
    plan = plan_doc(sample(), sc)
    assert plan.image == "ubuntu-24.04" and plan.distro == "ubuntu" and plan.sidecar == "guide.doctest.yaml"
    assert plan.fixtures == [(str((tmp_path / "pod.json").resolve()), "/tmp/pod.json")]
    assert plan.check_modules == [str((tmp_path / "test_more.py").resolve())]
    assert [(c.kind, c.target, c.line) for c in plan.checks] == [("package", "kata", 7)]
    assert plan_doc(sample(), sc, image="fedora-40").image == "fedora-40"  # the CLI's --image wins
