"""GuestSession against a real VM (TCG here): one VM for the module, a fresh session per test.

Every command below is our own harmless test command, run in the guest only.
"""

from __future__ import annotations

import re
import time

import pytest

from doctest_runner.exec import GuestSession
from doctest_runner.model import Step, StepOptions

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module")
def vm(built_image, tmp_path_factory):
    from doctest_runner.vm import boot, decide_host

    with boot(built_image, host=decide_host(), workdir=tmp_path_factory.mktemp("exec-vm")) as m:
        yield m


@pytest.fixture
def session(vm, tmp_path):
    with GuestSession(vm, log_dir=tmp_path / "logs") as s:
        yield s


def step(command: str, kind: str = "bare", line: int = 10, **opts) -> Step:
    n = command.count("\n") + 1
    return Step(id=f"guide.md:{line}", path="guide.md", line=line, end_line=line + n - 1, heading=("Install",),
                command=command, kind=kind, line_map=tuple(range(line, line + n)), options=StepOptions(**opts))


def test_state_carries_from_step_to_step(session):
    r = session.run("mkdir -p /tmp/dt-state && cd /tmp/dt-state\n"
                    "PLAIN='a b'\nexport EXPORTED=\"it's \\\"x\\\"\"\nMULTI=$'l1\\nl2'\narr=(one 'two three')\n"
                    "greet() { echo \"hello $1\"; }\numask 027\nalias ll='echo aliased'\nset -o pipefail\n"
                    "shopt -s nullglob")
    assert r.exit_code == 0, r.output
    r = session.run('echo "cwd=$PWD"; echo "plain=$PLAIN"; echo "multi=$MULTI"; echo "arr=${arr[1]}"\n'
                    'greet world; umask; ll\nbash -c \'echo "child=$EXPORTED"; echo "child-plain=${PLAIN-unset}"\'\n'
                    '[[ -o pipefail ]] && echo pipefail-on; shopt -q nullglob && echo nullglob-on')
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "cwd=/tmp/dt-state", "plain=a b", "multi=l1", "l2", "arr=two three", "hello world", "0027", "aliased",
        "child=it's \"x\"", "child-plain=unset", "pipefail-on", "nullglob-on"]
    st = session.state()
    assert st.cwd == "/tmp/dt-state" and st.umask == "0027"
    assert st.env["EXPORTED"] == "it's \"x\"" and "PLAIN" not in st.env and st.variables["PLAIN"] == "a b"
    assert "greet" in st.functions


def test_exit_ends_only_that_step_and_keeps_its_state(session):
    r = session.run("cd /tmp\nexport AFTER_EXIT=kept\nexit 3\necho not-reached")
    assert r.exit_code == 3 and "not-reached" not in r.output
    assert r.failed_line_index == 2
    r = session.run("echo $PWD $AFTER_EXIT")
    assert r.exit_code == 0 and r.output == "/tmp kept\n"
    assert session.run("exit 0").exit_code == 0
    assert session.run("echo still here").output == "still here\n"


@pytest.mark.parametrize("command,line", [
    ("echo 1\necho 2\necho 3\necho 4\nls /nonexistent-dt\necho 6\necho 7\necho 8\necho 9\necho 10", 4),
    ("echo a\ncd /nonexistent-dt && \\\n  echo no\necho after", 1),
    ("echo a\ntrue && \\\n  false && \\\n  echo no", 2),
    ("echo a |\n  grep -q b\necho no", 1),
    ("for i in 1 2 3; do\n  echo $i\n  test $i -lt 2\ndone\necho no", 2),
    ("f() {\n  false\n}\necho a\nf\necho no", 4),
    ("x=$(false)\necho no", 0),
    ("cat <<EOF\nheredoc\nEOF\nfalse\necho no", 3),
    ("if true; then\n  echo in\n  false\n  echo no\nfi", 2),
])
def test_failing_line_in_a_block(session, command, line):
    r = session.run(command)
    assert r.exit_code not in (0, None), r.output
    assert "no\n" not in r.output
    assert r.failed_line_index == line, (r.failed_line_index, r.output)


def test_failing_line_maps_to_the_doc_and_expect_exit(session):
    s = step("echo a\nfalse\necho b", line=40)
    r = session.run_step(s)
    assert r.exit_code == 1 and s.source_line(r.failed_line_index) == 41
    r = session.run_step(step("exit 2", expect_exit=2))
    assert r.exit_code == 2 and r.failed_line_index is None


def test_prompted_command_status_is_the_commands(session):
    r = session.run_step(step("false; echo went-on", kind="prompted"))
    assert r.exit_code == 0 and r.output == "went-on\n"
    r = session.run_step(step("echo a && false", kind="prompted"))
    assert r.exit_code == 1 and r.failed_line_index == 0
    # a short-circuiting test is not a failure a reader would see (Kata's Developer-Guide.md does this)
    r = session.run_step(step('[ "$(uname -m)" == "ppc64le" ] && export ARCH=powerpc64le', kind="prompted"))
    assert r.exit_code == 0


def test_timeout_kills_the_tree_and_the_session_goes_on(session):
    r = session.run("cd /tmp\nsleep 1001 &\nsudo sleep 1002 &\nbash -c 'sleep 1003'\necho not-reached", timeout=4)
    assert r.timed_out and r.exit_code is None and "not-reached" not in r.output
    r = session.run("pgrep -fa 'sleep 100[123]' || echo none-left; echo $PWD")
    assert r.exit_code == 0
    assert r.output.splitlines()[0] == "none-left", r.output
    # the timed-out step's state was not saved: the working directory is the one before it
    assert r.output.splitlines()[1] == session.home


def test_reading_stdin_is_reported_as_interactive(session):
    r = session.run("echo before\nread -r answer\necho after", timeout=60)
    assert r.interactive and r.exit_code == 1 and r.failed_line_index == 1 and r.output == "before\n"
    r = session.run("got=$(head -n1)\necho \"got=[$got]\"", timeout=60)  # an external reader gets EOF, goes on
    assert r.interactive and r.exit_code == 0 and r.output == "got=[]\n"
    r = session.run("sudo bash -c 'read -r x'", timeout=60)  # a reader behind sudo, as `sudo apt-get install`
    assert r.interactive and r.exit_code == 1
    r = session.run("sleep 2; echo quiet")  # runs past the watcher's start, reads nothing
    assert not r.interactive and r.exit_code == 0


def test_terminal_need_is_reported_as_interactive(session):
    r = session.run("echo 'the input device is not a TTY' >&2; exit 1")
    assert r.interactive and r.exit_code == 1


def test_pty_steps_get_a_terminal(session):
    r = session.run("test -t 0 && echo no-tty-expected || echo no-tty")
    assert r.output == "no-tty\n"
    r = session.run_step(step("test -t 0 && test -t 1 && echo tty", pty=True))
    assert r.exit_code == 0 and r.output == "tty\n"
    r = session.run("read -r x", pty=True, timeout=60)
    assert r.interactive and r.exit_code == 1


def test_user_is_not_root_sudo_needs_no_password_and_root_steps_share_state(session, vm):
    r = session.run("id -un; id -u; sudo -k; sudo -n true && echo sudo-ok")
    assert r.output.splitlines() == [vm.user, r.output.splitlines()[1], "sudo-ok"]
    assert r.output.splitlines()[1] != "0"
    session.run("cd /tmp; export FROM_USER=u; uf() { echo uf; }")
    r = session.run_step(step("id -u; echo $PWD $FROM_USER $HOME; uf; command -v sysctl\nexport FROM_ROOT=r; cd /etc",
                              user="root"))
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[:3] == ["0", "/tmp u /root", "uf"]
    assert r.output.splitlines()[3].endswith("sbin/sysctl")  # root's PATH
    r = session.run("id -u; echo $PWD $FROM_ROOT; echo $PATH; ls -ln ~/.doctest/*/state.* | awk '{print $3}' | sort -u")
    lines = r.output.splitlines()
    assert lines[0] != "0" and lines[1] == "/etc r"
    assert "sbin" not in lines[2]  # root's sbin dirs do not leak into the user's PATH
    assert lines[3:] == [lines[0]]  # state files stay the user's


def test_output_is_interleaved_streamed_and_logged(session, tmp_path):
    seen: list[tuple[str, str]] = []
    r = session.run("echo out1; sleep 0.3; echo err1 >&2; sleep 0.3; echo out2; sleep 0.3; printf 'no newline' >&2",
                    on_output=lambda s, t: seen.append((s, t)), name="guide.md:7")
    assert r.output == "out1\nerr1\nout2\nno newline"
    assert [s for s, _ in seen] == ["stdout", "stderr", "stdout", "stderr"]
    assert [c[1] for c in r.transcript] == ["stdout", "stderr", "stdout", "stderr"]
    times = [c[0] for c in r.transcript]
    assert times == sorted(times) and times[-1] - times[0] >= 0.6
    logs = list((tmp_path / "logs").glob("*guide.md_7.log"))
    assert len(logs) == 1
    body = logs[0].read_text()
    assert re.search(r"out\| out1\n.*err\| err1\n.*out\| out2\n", body, re.DOTALL) and "# exit: 0" in body


def test_background_job_does_not_hold_the_step(session, tmp_path):
    t = time.monotonic()
    r = session.run("(sleep 3; echo late) &\necho now")
    assert r.exit_code == 0 and r.output == "now\n"
    assert time.monotonic() - t < 3
    assert session.run("echo next").output == "next\n"
    log = next((tmp_path / "logs").glob("*-background.log"))  # what the job printed later is kept
    for _ in range(40):
        if "late" in log.read_text():
            break
        time.sleep(0.25)
    assert log.read_text() == "late\n"


def test_uploads_and_file_steps(session, tmp_path):
    (tmp_path / "fx").mkdir()
    (tmp_path / "fx" / "a.txt").write_text("alpha\n")
    (tmp_path / "fx" / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (tmp_path / "fx" / "run.sh").chmod(0o755)
    (tmp_path / "conf").write_text("key = 1\n")
    session.upload_all([(str(tmp_path / "fx"), "fixtures/fx"), (str(tmp_path / "conf"), "/etc/dt-test/conf")])
    r = session.run("cat ~/fixtures/fx/a.txt; ~/fixtures/fx/run.sh; cat /etc/dt-test/conf; stat -c %U /etc/dt-test/conf")
    assert r.output == "alpha\nran\nkey = 1\nroot\n"
    s = step("[plugins]\nname = \"x\"", kind="file")
    s.file_path = "/etc/dt-test/config.toml"
    assert session.run_step(s).exit_code == 0
    session.run("mkdir -p /tmp/rel && cd /tmp/rel")
    s2 = step("hello", kind="file")
    s2.file_path = "sub/hello.txt"
    assert session.run_step(s2).exit_code == 0
    r = session.run("cat /etc/dt-test/config.toml sub/hello.txt")
    assert r.output == "[plugins]\nname = \"x\"\nhello\n"


def test_capture_runs_outside_the_session(session):
    session.run("cd /tmp; export CAP=1")
    out = session.capture("id -u; echo ${CAP-unset}")
    assert out == "0\nunset\n"
    assert session.capture("dmesg | grep -c .").strip() != "0"  # dmesg needs root on Debian
    assert session.capture("id -u", root=False).strip() != "0"


def test_reboot_step_keeps_state(session):
    session.run("cd /tmp; export SURVIVES=yes; sf() { echo sf-ok; }")
    before = session.boot_id()
    r = session.run_step(step("sudo reboot", kind="prompted", reboot=True))
    assert r.exit_code == 0
    assert session.boot_id() != before
    r = session.run("echo $PWD $SURVIVES; sf")
    assert r.output == "/tmp yes\nsf-ok\n"
    session.reboot()
    assert session.run("echo $SURVIVES").output == "yes\n"
