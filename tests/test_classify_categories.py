"""Each failure category from what Debian's tools really print, with the exact evidence line.

Outputs marked "captured" were produced on a Debian 12 host with harmless commands (no network
here, so resolution fails for real); the others are the tools' fixed messages (apt, systemd,
sudo, docker, kata-runtime) as their sources print them.
"""

from __future__ import annotations

import pytest

from doctest_runner.checks.output import compare_output
from doctest_runner.classify import NO_OUTPUT, Verdict, classify
from doctest_runner.model import CATEGORIES, ExecResult, Step, StepOptions, category_group


def mk(command: str, *, kind: str = "bare", **options) -> Step:
    n = command.count("\n")
    return Step(id="docs/guide.md:10", path="docs/guide.md", line=10, end_line=10 + n, heading=("Install",),
                command=command, kind=kind, line_map=tuple(range(10, 11 + n)), options=StepOptions(**options))


def run(command: str, output: str, exit_code: int | None = 1, *, kvm: bool = True, step: Step | None = None,
        **flags) -> Verdict:
    return classify(step or mk(command), ExecResult(exit_code=exit_code, output=output, duration_s=1.5, **flags),
                    kvm_available=kvm)


# (id, command, output, exit code, category, evidence)
CASES = [
    # -- network -------------------------------------------------------------------------------
    ("curl-resolve-then-tar",  # captured: curl with no DNS, then tar on the empty stream
     "curl -fsSL https://github.com/kata-containers/kata-containers/archive/main.tar.gz | tar xz",
     ("curl: (6) Could not resolve host: github.com\n\ngzip: stdin: unexpected end of file\n"
      "tar: Child returned status 1\ntar: Error is not recoverable: exiting now\n"),
     2, "network", "curl: (6) Could not resolve host: github.com"),
    ("wget-resolve",  # captured
     "wget https://github.com/x",
     ("--2026-11-28 18:42:47--  https://github.com/x\n"
      "Resolving github.com (github.com)... failed: Name or service not known.\n"
      "wget: unable to resolve host address ‘github.com’\n"),
     4, "network", "wget: unable to resolve host address ‘github.com’"),
    ("apt-update-no-dns",
     "sudo apt-get update && sudo apt-get install -y jq",
     ("Err:1 http://deb.debian.org/debian bookworm InRelease\n  Temporary failure resolving 'deb.debian.org'\n"
      "Reading package lists... Done\n"
      "W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving "
      "'deb.debian.org'\nW: Some index files failed to download. They have been ignored, or old ones used instead.\n"
      "Reading package lists...\nBuilding dependency tree...\nReading state information...\n"
      "E: Unable to locate package jq\n"),
     100, "network", "Temporary failure resolving 'deb.debian.org'"),
    ("curl-404",
     "curl -fsSLO https://github.com/kata-containers/kata-containers/releases/download/3.99.0/kata.tar.xz",
     "curl: (22) The requested URL returned error: 404\n",
     22, "network", "curl: (22) The requested URL returned error: 404"),
    ("wget-404",
     "wget https://example.org/missing.tar.gz",
     ("--2026-11-28 18:42:47--  https://example.org/missing.tar.gz\nResolving example.org (example.org)... "
      "93.184.215.14\nConnecting to example.org (example.org)|93.184.215.14|:443... connected.\n"
      "HTTP request sent, awaiting response... 404 Not Found\n2026-11-28 18:42:48 ERROR 404: Not Found.\n\n"),
     8, "network", "2026-11-28 18:42:48 ERROR 404: Not Found."),
    ("git-clone",
     "git clone https://github.com/kata-containers/kata-containers.git",
     ("Cloning into 'kata-containers'...\nfatal: unable to access "
      "'https://github.com/kata-containers/kata-containers.git/': Could not resolve host: github.com\n"),
     128, "network", ("fatal: unable to access 'https://github.com/kata-containers/kata-containers.git/': "
                      "Could not resolve host: github.com")),
    ("connect-timeout",
     "curl -sS https://get.k8s.io",
     "curl: (28) Failed to connect to get.k8s.io port 443 after 130000 ms: Connection timed out\n",
     28, "network", "curl: (28) Failed to connect to get.k8s.io port 443 after 130000 ms: Connection timed out"),
    ("pip-no-network-beats-package",
     "pip install kata-tools",
     ("WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection "
      "broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: Failed to "
      "establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/kata-tools/\n"
      "ERROR: Could not find a version that satisfies the requirement kata-tools (from versions: none)\n"
      "ERROR: No matching distribution found for kata-tools\n"),
     # a long line is cut around the words that matched, not at the start
     1, "network", ("…ken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: "
                                                 "Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/kata-to…")),
    # -- package-not-found ---------------------------------------------------------------------
    ("apt-unknown",  # captured (apt-get install -s)
     "sudo apt-get install -y kata-containerz",
     ("Reading package lists...\nBuilding dependency tree...\nReading state information...\n"
      "E: Unable to locate package kata-containerz\n"),
     100, "package-not-found", "E: Unable to locate package kata-containerz"),
    ("apt-no-candidate",
     "sudo apt-get install -y docker-engine",
     ("Reading package lists...\nBuilding dependency tree...\nReading state information...\n"
      "Package docker-engine is not available, but is referred to by another package.\n"
      "This may mean that the package is missing, has been obsoleted, or\nis only available from another source\n\n"
      "E: Package 'docker-engine' has no installation candidate\n"),
     100, "package-not-found", "E: Package 'docker-engine' has no installation candidate"),
    ("dnf",
     "sudo dnf install -y kata-containerz",
     ("Last metadata expiration check: 0:01:02 ago on Sat Nov 28 18:40:00 2026.\n"
      "No match for argument: kata-containerz\nError: Unable to find a match: kata-containerz\n"),
     1, "package-not-found", "No match for argument: kata-containerz"),
    ("pip",  # captured
     "python3 -m pip install nonexistent-pkg-xyz-h6",
     ("ERROR: Could not find a version that satisfies the requirement nonexistent-pkg-xyz-h6 (from versions: "
      "none)\nERROR: No matching distribution found for nonexistent-pkg-xyz-h6\n"),
     1, "package-not-found", "ERROR: No matching distribution found for nonexistent-pkg-xyz-h6"),
    # -- command-not-found ---------------------------------------------------------------------
    ("bash",  # captured
     "kata-runtime --version", "bash: line 1: kata-runtime: command not found\n",
     127, "command-not-found", "bash: line 1: kata-runtime: command not found"),
    ("sudo",
     "sudo kata-runtime check", "sudo: kata-runtime: command not found\n",
     1, "command-not-found", "sudo: kata-runtime: command not found"),
    ("dash",
     "sh -c 'jq --version'", "sh: 1: jq: not found\n",
     127, "command-not-found", "sh: 1: jq: not found"),
    ("exit-127-only",
     "./configure", "", 127, "command-not-found", NO_OUTPUT),
    # -- platform-mismatch: another platform's tool is absent (plan/platform.py knows which) ----------
    ("brew-missing",
     "brew install kind", "bash: line 1: brew: command not found\n",
     127, "platform-mismatch", "bash: line 1: brew: command not found"),
    ("missing-script",
     "cd kata-containers/tools/packaging/static-build/virtiofsd\n./build.sh",
     "bash: line 2: ./build.sh: No such file or directory\n",
     127, "command-not-found", "bash: line 2: ./build.sh: No such file or directory"),
    # -- permission ----------------------------------------------------------------------------
    ("apt-without-sudo",  # captured (as nobody)
     "apt-get install -y jq",
     ("E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)\n"
      "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?\n"),
     100, "permission", "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?"),
    ("touch",  # captured (as nobody)
     "touch /root/x", "touch: cannot touch '/root/x': Permission denied\n",
     1, "permission", "touch: cannot touch '/root/x': Permission denied"),
    ("systemctl-as-user",
     "systemctl restart containerd",
     ("Failed to restart containerd.service: Interactive authentication required.\n"
      "See system logs and 'systemctl status containerd.service' for details.\n"),
     1, "permission", "Failed to restart containerd.service: Interactive authentication required."),
    ("modprobe-not-root",
     "modprobe vhost_vsock", "modprobe: ERROR: could not insert 'vhost_vsock': Operation not permitted\n",
     1, "permission", "modprobe: ERROR: could not insert 'vhost_vsock': Operation not permitted"),
    # -- interactive ---------------------------------------------------------------------------
    ("apt-prompt",
     "sudo apt-get install containerd",
     ("Reading package lists...\nThe following NEW packages will be installed:\n  containerd runc\n"
      "Need to get 25.6 MB of archives.\nDo you want to continue? [Y/n] Abort.\n"),
     1, "interactive", "Do you want to continue? [Y/n] Abort."),
    ("sudo-password",
     "sudo ctr version",
     ("sudo: a terminal is required to read the password; either use the -S option to read from standard input "
      "or configure an askpass helper\nsudo: a password is required\n"),
     1, "interactive", ("sudo: a terminal is required to read the password; either use the -S option to read from "
                        "standard input or configure an askpass helper")),
    ("docker-it",
     "docker run --runtime kata -it --rm ubuntu:24.04 uname -r", "the input device is not a TTY\n",
     1, "interactive", "the input device is not a TTY"),
    # -- syntax --------------------------------------------------------------------------------
    ("bash-token",  # captured
     "if then fi", "bash: -c: line 1: syntax error near unexpected token `then'\nbash: -c: line 1: `if then fi'\n",
     2, "syntax", "bash: -c: line 1: syntax error near unexpected token `then'"),
    ("bash-eof",  # captured
     "echo $((", "bash: -c: line 1: unexpected EOF while looking for matching `)'\n",
     2, "syntax", "bash: -c: line 1: unexpected EOF while looking for matching `)'"),
    # -- service -------------------------------------------------------------------------------
    ("job-failed",
     "sudo systemctl restart containerd",
     ("Job for containerd.service failed because the control process exited with error code.\n"
      "See \"systemctl status containerd.service\" and \"journalctl -xeu containerd.service\" for details.\n"),
     1, "service", "Job for containerd.service failed because the control process exited with error code."),
    ("unit-not-found",
     "sudo systemctl restart docker", "Failed to restart docker.service: Unit docker.service not found.\n",
     5, "service", "Failed to restart docker.service: Unit docker.service not found."),
    ("is-active",
     "systemctl is-active containerd", "inactive\n", 3, "service", "inactive"),
    ("docker-daemon",
     "docker info",
     "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
     1, "service", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"),
    ("local-refused-is-service",  # captured: nothing listens on the local port
     "curl -sS http://127.0.0.1:9/healthz",
     "curl: (7) Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect to server\n",
     7, "service", "curl: (7) Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect to server"),
    # -- needs-kvm -----------------------------------------------------------------------------
    ("ls-dev-kvm",
     "ls -l /dev/kvm", "ls: cannot access '/dev/kvm': No such file or directory\n",
     2, "needs-kvm", "ls: cannot access '/dev/kvm': No such file or directory"),
    ("modprobe-kvm",
     "sudo modprobe kvm_intel", "modprobe: ERROR: could not insert 'kvm_intel': Operation not supported\n",
     1, "needs-kvm", "modprobe: ERROR: could not insert 'kvm_intel': Operation not supported"),
    ("qemu",
     "sudo ctr run --runtime io.containerd.kata.v2 -t --rm docker.io/library/busybox:latest hello sh",
     ("ctr: failed to create shim task: failed to launch qemu: exit status 1, error messages from qemu log: "
      "Could not access KVM kernel module: No such file or directory\n"
      "qemu-system-x86_64: -accel kvm: failed to initialize kvm: No such file or directory\n"),
     1, "needs-kvm", ("ctr: failed to create shim task: failed to launch qemu: exit status 1, error messages from "
                      "qemu log: Could not access KVM kernel module: No such file or directory")),
    ("kata-check",
     "sudo kata-runtime check",
     ("WARN[0000] modprobe insert module failed  arch=amd64 error=\"exit status 1\" module=kvm_intel\n"
      "ERRO[0000] CPU property not found  arch=amd64 description=\"Virtualization support\" name=vmx type=flag\n"
      "System is not capable of running Kata Containers\n"
      "ERRO[0000] ERROR: System is not capable of running Kata Containers  arch=amd64 name=kata-runtime\n"),
     1, "needs-kvm",
     "ERRO[0000] CPU property not found  arch=amd64 description=\"Virtualization support\" name=vmx type=flag"),
    # -- placeholder ---------------------------------------------------------------------------
    ("angle-redirect",  # captured: bash opens <file as a redirection
     "tar xf <file>.tar.gz", "bash: file: No such file or directory\n",
     1, "placeholder", "bash: file: No such file or directory"),
    ("angle-syntax",  # captured
     "cd <dir>", "bash: -c: line 1: syntax error near unexpected token `newline'\nbash: -c: line 1: `cd <dir>'\n",
     2, "placeholder", "bash: -c: line 1: syntax error near unexpected token `newline'"),
    ("unbound",  # captured
     "set -u\necho $VERSION", "bash: line 2: VERSION: unbound variable\n",
     127, "placeholder", "bash: line 2: VERSION: unbound variable"),
    ("empty-expansion",
     ("wget https://github.com/kata-containers/kata-containers/releases/download/${VERSION}/kata-static-${VERSION}"
      "-amd64.tar.xz"),
     ("--2026-11-28 18:42:47--  https://github.com/kata-containers/kata-containers/releases/download//kata-static--"
      "amd64.tar.xz\nResolving github.com (github.com)... 140.82.121.4\n"
      "HTTP request sent, awaiting response... 404 Not Found\n2026-11-28 18:42:48 ERROR 404: Not Found.\n"),
     8, "placeholder", ("--2026-11-28 18:42:47--  https://github.com/kata-containers/kata-containers/releases/"
                        "download//kata-static--amd64.tar.xz")),
    ("quoted-echoed",
     'kubectl get pod "<pod-name>" -o yaml', 'Error from server (NotFound): pods "<pod-name>" not found\n',
     1, "placeholder", 'Error from server (NotFound): pods "<pod-name>" not found'),
    # -- unknown -------------------------------------------------------------------------------
    ("unknown",
     "make -C src/runtime",
     ("make: Entering directory '/home/user/src/runtime'\ngo: go.mod requires go >= 1.23 (running go 1.19)\n"
      "make: *** [Makefile:12: build] Error 1\n\n"),
     2, "unknown", "make: *** [Makefile:12: build] Error 1"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_category_and_exact_evidence(case):
    _id, command, output, code, category, evidence = case
    v = run(command, output, code)
    assert (v.category, v.evidence) == (category, evidence), v.explanation
    assert v.explanation and "\n" not in v.explanation
    assert category_group(v.category) == v.group


def test_every_category_is_covered_by_the_cases():
    covered = {c[4] for c in CASES} | {"timeout", "output-mismatch"}
    covered |= {"prerequisite", "prose-step"}  # they need the guide's words: tests/test_classify_prose.py
    assert covered == set(CATEGORIES)


def test_sudo_redirect_explains_that_the_redirect_runs_as_the_user():
    # captured: `bash: line 1: <path>: Permission denied` is what the user's shell prints
    v = run("sudo echo 'deb [signed-by=/etc/apt/keyrings/k.gpg] https://x stable main' > /etc/apt/sources.list.d/k.list",
            "bash: line 1: /etc/apt/sources.list.d/k.list: Permission denied\n", 1)
    assert v.category == "permission"
    assert v.evidence == "bash: line 1: /etc/apt/sources.list.d/k.list: Permission denied"
    assert "runs as the user" in v.explanation and "sudo tee /etc/apt/sources.list.d/k.list" in v.explanation


def test_sudo_redirect_inside_sh_c_is_not_blamed_on_the_redirect():
    v = run("sudo sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'",
            "sh: 1: cannot create /proc/sys/net/ipv4/ip_forward: Permission denied\n", 2)
    assert v.category == "permission"
    assert "redirect" not in v.explanation


def test_timeout_uses_flag_and_last_line():
    v = run("sudo ctr image pull docker.io/library/busybox:latest",
            "docker.io/library/busybox:latest: resolving      |--------------------------------------|\n",
            None, timed_out=True, step=mk("sudo ctr image pull docker.io/library/busybox:latest", timeout=600))
    assert v.category == "timeout"
    assert "600s" in v.explanation
    assert v.evidence == "docker.io/library/busybox:latest: resolving      |--------------------------------------|"


def test_timeout_on_a_prompt_is_interactive():
    v = run("sudo dpkg -i kata.deb",
            "Configuration file '/etc/kata-containers/configuration.toml'\n"
            " ==> Modified (by you or by a script) since installation.\n"
            "*** configuration.toml (Y/I/N/O/D/Z) [default=N] ?", None, timed_out=True)
    assert v.category == "interactive"
    assert v.evidence == "*** configuration.toml (Y/I/N/O/D/Z) [default=N] ?"


def test_interactive_flag_from_executor():
    v = run("read -p 'Name: ' NAME", "Name: ", None, interactive=True)
    assert (v.category, v.evidence) == ("interactive", "Name:")


def test_network_beats_timeout():
    v = run("curl -sSL https://get.docker.com | sh",
            "curl: (6) Could not resolve host: get.docker.com\n", None, timed_out=True)
    assert v.category == "network"


def test_requires_kvm_without_kvm_is_needs_kvm_whatever_the_output():
    step = mk("sudo ctr run --runtime io.containerd.kata.v2 --rm docker.io/library/busybox:latest t true",
              requires=("kvm",))
    v = run("", "ctr: failed to create shim task: context deadline exceeded\n", 1, kvm=False, step=step)
    assert (v.category, v.evidence) == ("needs-kvm", "ctr: failed to create shim task: context deadline exceeded")
    # with KVM present the same failure is not excused
    assert run("", "ctr: failed to create shim task: context deadline exceeded\n", 1, step=step).category == "unknown"


def test_kata_check_without_kvm_is_needs_kvm_even_with_unknown_wording():
    v = run("sudo kata-runtime check", "ERRO[0000] some future wording\n", 1, kvm=False)
    assert v.category == "needs-kvm"
    assert run("sudo kata-runtime check", "ERRO[0000] some future wording\n", 1, kvm=True).category == "unknown"


def test_output_mismatch_only_when_the_command_succeeded():
    m = compare_output("kata-runtime  : 3.2.0", "kata-runtime  : 3.9.1\n")
    assert m is not None
    ok = classify(mk("kata-runtime --version"), ExecResult(0, "kata-runtime  : 3.9.1\n", 0.1), output_mismatch=m)
    assert ok.category == "output-mismatch"
    assert ok.evidence == "kata-runtime  : 3.9.1"
    assert 'expected "kata-runtime  : 3.2.0"' in ok.explanation
    failed = classify(mk("kata-runtime --version"), ExecResult(127, "bash: kata-runtime: command not found\n", 0.1),
                      output_mismatch=m)
    assert failed.category == "command-not-found"


def test_expect_exit_is_respected_for_mismatch():
    step = mk("grep -q vmx /proc/cpuinfo", expect_exit=1)
    m = compare_output("x", "y")
    assert classify(step, ExecResult(1, "y", 0.1), output_mismatch=m).category == "output-mismatch"
    v = classify(step, ExecResult(0, "", 0.1))
    assert v.category == "unknown" and "expected 1" in v.explanation


# -- negatives: words that look like a category but are not -----------------------------------------
def test_harmless_login_noise_is_not_interactive():
    v = run("false", "mesg: ttyname failed: Inappropriate ioctl for device\nstdin: is not a tty\n", 1)
    assert v.category == "unknown"


def test_placeholder_in_heredoc_or_single_quotes_is_not_a_placeholder():
    cmd = "cat <<EOF | sudo tee /etc/x.xml\n<configuration>\n  <value>1</value>\n</configuration>\nEOF\nfalse"
    assert run(cmd, "", 1).category == "unknown"
    assert run("sed -i 's/<version>/3.2/' pom.xml", "sed: can't read pom.xml: No such file or directory\n",
               2).category == "unknown"


def test_here_string_and_redirection_are_not_placeholders():
    assert run("grep -q x <<< \"$a\"", "", 1).category == "unknown"
    assert run("sort <in.txt >out.txt", "bash: in.txt: No such file or directory\n", 1).category == "unknown"


def test_empty_expansion_of_a_variable_set_in_the_same_step_is_not_a_placeholder():
    v = run('V=$(cat /nonexistent)\nwget "https://example.org/v${V}/x.tgz"',
            "cat: /nonexistent: No such file or directory\n--2026-11-28--  https://example.org/v/x.tgz\n"
            "2026-11-28 18:42:48 ERROR 404: Not Found.\n", 8)
    assert v.category == "network"
    assert v.evidence == "2026-11-28 18:42:48 ERROR 404: Not Found."


def test_syntax_error_from_another_tool_is_not_shell_syntax():
    v = run("jq '.a[' f.json", "jq: error: syntax error, unexpected $end (Unix shell quoting issues?) at "
            "<top-level>, line 1:\n.a[\njq: 1 compile error\n", 3)
    assert v.category == "unknown"


def test_permission_denied_publickey_is_permission_not_network():
    v = run("git clone git@github.com:kata-containers/kata-containers.git",
            "Cloning into 'kata-containers'...\ngit@github.com: Permission denied (publickey).\n"
            "fatal: Could not read from remote repository.\n", 128)
    assert (v.category, v.evidence) == ("permission", "git@github.com: Permission denied (publickey).")


def test_evidence_is_trimmed_and_cleaned():
    long = "E: Unable to locate package " + "x" * 400
    v = run("sudo apt-get install -y xx", "\x1b[31m" + long + "\x1b[0m\r\n", 100)
    assert v.category == "package-not-found"
    assert len(v.evidence) == 200 and v.evidence.endswith("…") and "\x1b" not in v.evidence


def test_progress_redraws_collapse_to_their_last_state():
    out = "  0%\r 45%\r100%\rcurl: (6) Could not resolve host: github.com\n"
    assert run("curl -O https://github.com/a", out, 6).evidence == "curl: (6) Could not resolve host: github.com"


def test_unknown_without_output():
    v = run("false", "", 1)
    assert (v.category, v.evidence) == ("unknown", NO_OUTPUT)
    assert "printed nothing" in v.explanation


def test_common_warnings_do_not_decide_the_category():
    # sudo warns when the hostname is not in /etc/hosts; apt warns when a local .deb sits in /root
    out = ("sudo: unable to resolve host kata-guide: Name or service not known\n"
           "N: Download is performed unsandboxed as root as file '/root/kata.deb' couldn't be accessed by user "
           "'_apt'. - pkgAcquire::Run (13: Permission denied)\n"
           "E: Unable to locate package kata-containers\n")
    v = run("sudo apt-get install -y ./kata.deb kata-containers", out, 100)
    assert (v.category, v.evidence) == ("package-not-found", "E: Unable to locate package kata-containers")
    v = run("sudo false", "sudo: unable to resolve host kata-guide: Name or service not known\n", 1)
    assert v.category == "unknown"


def test_dpkg_without_root():
    v = run("dpkg -i kata.deb", "dpkg: error: requested operation requires superuser privilege\n", 2)
    assert (v.category, v.evidence) == ("permission", "dpkg: error: requested operation requires superuser privilege")


def test_a_stdin_read_that_carried_on_does_not_hide_the_network_failure():
    """debconf probes the closed stdin during `apt-get install -y`, falls back, and the step then
    fails on a download: the verdict is the download, not 'interactive'."""
    from doctest_runner.classify import classify
    from doctest_runner.model import ExecResult, Step

    step = Step(id="g.md:5", path="g.md", line=5, end_line=6, heading=(), kind="bare",
                command="sudo apt-get install -y zstd\ncurl -fsSLO https://github.com/x/y/releases/download/v1/y.tar.zst")
    out = ("debconf: unable to initialize frontend: Dialog\n"
           "debconf: falling back to frontend: Teletype\n"
           "dpkg-preconfigure: unable to re-open stdin:\n"
           "Setting up zstd (1.5.4+dfsg2-5) ...\n"
           "curl: (6) Could not resolve host: github.com\n")
    v = classify(step, ExecResult(exit_code=6, output=out, duration_s=3.0, interactive=True))
    assert (v.category, v.evidence) == ("network", "curl: (6) Could not resolve host: github.com")
    # with nothing else in the output, the executor's flag still decides
    v = classify(step, ExecResult(exit_code=1, output="", duration_s=1.0, interactive=True))
    assert v.category == "interactive"
