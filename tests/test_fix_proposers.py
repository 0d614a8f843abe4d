"""fix/proposers: each cause's candidates for failed steps of real Markdown (the seeded examples and guides written
here), classified by the real classifier from what Debian's tools print; the guest stands as fixed lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_support import FixedFacts, failed, mismatched, step_at, steps_of

from doctest_runner.fix import PROPOSERS, closest, propose
from doctest_runner.fix.facts import typo_distance
from doctest_runner.fix.proposers.output import generalise, new_expected
from doctest_runner.fix.proposers.permission import rewrite
from doctest_runner.model import DOC_BUG_CATEGORIES
from doctest_runner.parse import parse_file

REPO = Path(__file__).resolve().parents[1]
EX = REPO / "docs_under_test/examples"
FACTS = FixedFacts(
    packages=["jq", "sysstat", "kata-monitor", "python3-requests", "python3-request-mock", "curl"],
    providers={"jq": "jq", "rg": "ripgrep"},
    units=["kata-monitord.service", "ssh.service", "systemd-journald.service", "systemd-journald@.service"],
    commands=["kata-runtime", "echo", "tar", "jq"],
)


def _example(name: str):
    return parse_file(EX / name, f"docs_under_test/examples/{name}").steps


def test_registry_covers_the_doc_bug_causes_with_a_fix():
    assert set(PROPOSERS) == set(DOC_BUG_CATEGORIES) - {"syntax", "unknown"}


def test_permission_example():
    steps = _example("ip-forward.md")
    res = failed(step_at(steps, 10), "bash: line 2: /etc/sysctl.d/99-containers.conf: Permission denied\n",
                 line_index=1)
    assert res.category == "permission" and res.failed_line == 11
    [cand] = propose(res, steps, FACTS)
    assert cand.command == ("sudo mkdir -p /etc/sysctl.d\n"
                            'echo "net.ipv4.ip_forward = 1" | sudo tee -a /etc/sysctl.d/99-containers.conf >/dev/null\n'
                            "sudo sysctl --system")
    [edit] = cand.edits
    assert (edit.line, edit.end_line) == (11, 11)


@pytest.mark.parametrize(("line", "denied", "fixed"), [
    ("sudo echo 1 > /proc/sys/x", "/proc/sys/x", "echo 1 | sudo tee /proc/sys/x >/dev/null"),
    ('echo "a > b" > /etc/f', "/etc/f", 'echo "a > b" | sudo tee /etc/f >/dev/null'),
    ("cat <<EOF > /etc/f", None, "sudo tee /etc/f >/dev/null <<EOF"),
    ("sudo cat >> /etc/f << 'END'", "/etc/f", "sudo tee -a /etc/f >/dev/null << 'END'"),
    ("cd /x && sudo grep -v a in.txt > /etc/out 2>/dev/null", "/etc/out",
     "cd /x && sudo grep -v a in.txt 2>/dev/null | sudo tee /etc/out >/dev/null"),
    ("ls 2>/tmp/err", None, None),
    ("echo ok >/dev/null", None, None),
])
def test_permission_rewrites(line, denied, fixed):
    assert rewrite(line, denied) == fixed


def test_interactive_example_and_other_managers():
    steps = _example("install-jq.md")
    res = failed(step_at(steps, 7), "Reading package lists...\nDo you want to continue? [Y/n] Abort.\n")
    assert res.category == "interactive"
    [cand] = propose(res, steps, FACTS)
    assert cand.command == "sudo apt-get install -y jq"
    doc = steps_of("# T\n\n```console\n$ sudo dnf install jq\n$ sudo zypper install jq\n```\n")
    for step, want in ((doc[0], "sudo dnf install -y jq"), (doc[1], "sudo zypper -n install jq")):
        [c] = propose(failed(step, "Is this ok [y/N]: Operation aborted.\n[Y/n] Abort\n"), doc, FACTS)
        assert c.command == want


def test_interactive_waiting_for_a_password_gets_no_yes():
    doc = steps_of("# T\n\n```console\n$ sudo apt-get install jq\n```\n")
    res = failed(doc[0], "sudo: a terminal is required to read the password\n")
    assert res.category == "interactive"
    assert propose(res, doc, FACTS) == []


def test_package_example_closest_name_and_no_second_update():
    steps = _example("missing-package.md")
    res = failed(step_at(steps, 4), "E: Unable to locate package sysstats\n", exit_code=100, line_index=1)
    assert res.category == "package-not-found"
    cands = propose(res, steps, FACTS)
    assert [c.proposer for c in cands] == ["closest-package"]  # the guide already runs apt-get update
    assert cands[0].command == "sudo apt-get update\nsudo apt-get install -y sysstat"


def test_package_missing_update_comes_first_then_close_names():
    doc = "# T\n\n```console\n$ echo start\n$ sudo apt-get install -y python3-requets\n```\n"
    steps = steps_of(doc)
    res = failed(step_at(steps, 5), "E: Unable to locate package python3-requets\n", exit_code=100)
    cands = propose(res, steps, FACTS)
    # python3-request-mock is close by ratio but five edits away: not a candidate
    assert [c.proposer for c in cands] == ["apt-update", "closest-package"]
    assert cands[0].insert_before == ("sudo apt-get update",) and cands[0].command is None
    assert cands[1].command == "sudo apt-get install -y python3-requests"


def test_guest_values_are_shell_quoted():
    steps = _example("missing-package.md")
    facts = FixedFacts(packages=["sysstat$x"])
    res = failed(step_at(steps, 4), "E: Unable to locate package sysstats\n", line_index=1)
    [cand] = propose(res, steps, facts)
    assert cand.command.endswith("install -y 'sysstat$x'")


def test_command_example_installs_the_provider():
    steps = _example("missing-tool.md")
    res = failed(step_at(steps, 8), "bash: line 1: jq: command not found\n", exit_code=127)
    assert res.category == "command-not-found"
    [cand] = propose(res, steps, FixedFacts(providers={"jq": "jq"}, commands=["echo", "tee", "j2"]))
    assert cand.proposer == "install-provider"
    assert cand.insert_before == ("sudo apt-get update", "sudo apt-get install -y jq")


def test_command_typo():
    steps = steps_of("# T\n\n```console\n$ echo hi\nhi\n$ kata-runtme --version\n```\n")
    res = failed(step_at(steps, 6), "bash: kata-runtme: command not found\n", exit_code=127)
    [cand] = propose(res, steps, FACTS)
    assert cand.proposer == "closest-command" and cand.command == "kata-runtime --version"


def test_command_provider_inserted_with_update_when_the_guide_has_none():
    steps = steps_of("# T\n\n```console\n$ rg --version\n```\n")
    [cand] = propose(failed(steps[0], "bash: rg: command not found\n", exit_code=127), steps, FACTS)
    assert cand.proposer == "install-provider"
    assert cand.insert_before == ("sudo apt-get update", "sudo apt-get install -y ripgrep")
    steps = _example("install-jq.md")
    [cand] = propose(failed(step_at(steps, 13), "bash: jq: command not found\n", exit_code=127), steps,
                     FixedFacts(providers={"jq": "jq"}))
    assert cand.insert_before == ("sudo apt-get install -y jq",)  # line 6 already updates the index


def test_service_example_keeps_the_doc_suffix_style():
    steps = _example("monitor-service.md")
    res = failed(step_at(steps, 6), "Failed to restart systemd-journal.service: Unit systemd-journal.service not "
                                    "found.\n")
    assert res.category == "service"
    cands = propose(res, steps, FACTS)
    # systemd-journald@.service is a template: not a candidate for a unit written without an instance
    assert [c.command for c in cands] == ["sudo systemctl restart systemd-journald.service"]
    steps = steps_of("# T\n\n```console\n$ sudo systemctl enable --now kata-monitor.service\n```\n")
    res = failed(steps[0], "Failed to enable unit: Unit file kata-monitor.service does not exist.\n")
    assert [c.command for c in propose(res, steps, FACTS)] == ["sudo systemctl enable --now kata-monitord.service"]
    steps = steps_of("# T\n\n```console\n$ sudo systemctl restart journald\n```\n")
    res = failed(steps[0], "Failed to restart journald.service: Unit journald.service not found.\n")
    assert res.category == "service"
    # the doc wrote the unit without `.service`: so does the fix
    assert [c.command for c in propose(res, steps, FACTS)] == ["sudo systemctl restart systemd-journald"]
    assert propose(res, steps, FixedFacts(units=["ssh.service", "cron.service"])) == []


def test_service_never_proposes_a_unit_that_stops_the_machine():
    # with the `.service` suffix counted, `systemd-journal` is as close to systemd-halt as difflib's cutoff
    steps = steps_of("# T\n\n```console\n$ sudo systemctl restart systemd-journal.service\n```\n")
    res = failed(steps[0], "Failed to restart systemd-journal.service: Unit systemd-journal.service not found.\n")
    units = ["systemd-halt.service", "systemd-journal-flush.service", "systemd-journald.service",
             "systemd-journald.socket", "systemd-reboot.service", "systemd-poweroff.service", "halt.target",
             "systemd-kexec.service", "rescue.service", "emergency.target"]
    cands = propose(res, steps, FixedFacts(units=units))
    assert [c.command for c in cands] == ["sudo systemctl restart systemd-journald.service"]
    steps = steps_of("# T\n\n```console\n$ sudo systemctl start systemd-rebot.service\n```\n")
    res = failed(steps[0], "Failed to start systemd-rebot.service: Unit systemd-rebot.service not found.\n")
    assert propose(res, steps, FixedFacts(units=units)) == []  # not systemd-reboot, though one letter away


def test_placeholder_example_is_a_marked_placeholder():
    steps = _example("unpack-release.md")
    res = failed(step_at(steps, 9), "bash: VERSION: No such file or directory\n", exit_code=1)
    assert res.category == "placeholder"
    [cand] = propose(res, steps, FACTS)
    assert cand.placeholder
    assert cand.insert_before == ("export VERSION='<VERSION>'",)
    assert cand.command == "tar -xJf kata-static-${VERSION}-amd64.tar.xz -C /tmp"


def test_placeholder_value_taken_from_elsewhere_in_the_doc():
    doc = """\
# Unpack

```console
$ tar -xJf kata-static-<VERSION>-amd64.tar.xz -C /tmp
```

Check the archive you unpacked:

```console
$ ls kata-static-3.2.0-amd64.tar.xz
kata-static-3.2.0-amd64.tar.xz
```
"""
    steps = steps_of(doc)
    [cand] = propose(failed(steps[0], "bash: VERSION: No such file or directory\n"), steps, FACTS)
    assert not cand.placeholder
    assert cand.insert_before == ("export VERSION=3.2.0",)
    assert cand.command == "tar -xJf kata-static-${VERSION}-amd64.tar.xz -C /tmp"


def test_unbound_variable_set_as_the_doc_sets_it_elsewhere():
    doc = """\
# Site

```bash
set -u
echo "serving $SITE"
```

<!-- doctest: skip -->
```bash
export SITE=example.org
```
"""
    steps = steps_of(doc)
    res = failed(steps[0], "bash: SITE: unbound variable\n", line_index=1)
    assert res.category == "placeholder"
    [cand] = propose(res, steps, FACTS)
    # the block is one script: the assignment becomes its first line, not a step of its own
    assert cand.command == 'export SITE=example.org\nset -u\necho "serving $SITE"' and not cand.placeholder
    assert cand.insert_before == ()
    [edit] = cand.edits
    assert edit.is_insertion and edit.line == 4


def test_output_example_and_run_to_run_values():
    steps = _example("debian-version.md")
    res = mismatched(steps[0], "12\n")
    [cand] = propose(res, steps, FACTS)
    assert cand.expected_output == "12" and cand.command is None
    assert cand.edits[0].role == "output" and (cand.edits[0].line, cand.edits[0].end_line) == (8, 8)
    assert generalise("Started at 2026-11-30T09:41:40Z in 0.53s, id 3f2a9c1e7b4d8e6f") == \
        "Started at ... in ..., id ..."
    expected = "status: ok\n...\nuuid: ..."
    actual = "status: ok\nversion 1.2\nuuid: 123e4567-e89b-12d3-a456-426614174000\nat 10.0.2.15\n"
    assert new_expected(expected, actual) == "status: ok\nversion 1.2\nuuid: ...\nat ..."
    long = "".join(f"line {k}\n" for k in range(50))
    assert new_expected("x", long).split("\n")[-2:] == ["line 19", "..."]


def test_categories_without_a_mechanical_fix_get_none():
    steps = steps_of("# T\n\n```bash\nif true; then\n  echo yes\n```\n")
    res = failed(steps[0], "bash: line 3: syntax error: unexpected end of file\n", exit_code=2)
    assert res.category == "syntax"
    assert propose(res, steps, FACTS) == []


def test_closest():
    assert closest("kata-runtme", ["kata-runtime", "kata", "runtime"]) == ["kata-runtime"]
    assert closest("jq", ["jq", "yq"]) == []  # never the name itself; `yq` is another tool
    # close by difflib's ratio, but not a typing slip: a wrong guess costs a trial machine and minutes
    assert closest("sysstats", ["ksystemstats", "sysstat"]) == ["sysstat"]
    assert closest("systemd-journal", ["systemd-journal-flush", "systemd-journald"]) == ["systemd-journald"]
    assert closest("python3-requets", ["python3-request-mock", "python3-requests"]) == ["python3-requests"]


def test_typo_distance():
    assert typo_distance("kata-runtme", "kata-runtime") == 1
    assert typo_distance("sysstats", "sysstat") == 1
    assert typo_distance("nignx", "nginx") == 1  # two neighbours swapped: one slip
    assert typo_distance("sysstats", "ksystemstats") == 4
    assert typo_distance("sysstats", "ksystemstats", limit=2) == 3  # cut short above the limit
    assert typo_distance("", "abc") == 3
