"""Each lint rule on hand-built plans: positive and negative cases, exact doc lines.

Steps are built by hand (as the parser would build them) so these tests pin the rules alone;
tests/test_lint_docs.py runs the same rules through the real parser and planner.
"""

from __future__ import annotations

import os

import pytest

from doctest_runner.lint import lint_plan
from doctest_runner.lint.rules.shellcheck import check_texts
from doctest_runner.model import DoctestError, Plan, Prose, Step, StepOptions

PATH = "guide.md"


def step(
    line: int, command: str, prompt: str | None = "$ ", kind: str = "prompted", block: int | None = None, **kw
) -> Step:
    n = command.count("\n") + 1
    return Step(
        id=f"{PATH}:{line}",
        path=PATH,
        line=line,
        end_line=line + n - 1,
        heading=("Install",),
        command=command,
        kind=kind if prompt or kind != "prompted" else "bare",
        line_map=tuple(range(line, line + n)),
        prompt=prompt,
        block_line=block if block is not None else line - 1,
        **kw,
    )


def lint(*steps: Step, **plan_kw) -> list[tuple[int, str]]:
    return [(f.line, f.rule) for f in lint_plan(Plan(path=PATH, steps=list(steps), **plan_kw))]


def findings(*steps: Step, **plan_kw):
    return lint_plan(Plan(path=PATH, steps=list(steps), **plan_kw))


def rules_of(*steps: Step, rule: str, **plan_kw) -> list[int]:
    return [line for line, r in lint(*steps, **plan_kw) if r == rule]


# ---- syntax -------------------------------------------------------------------------------------


def test_syntax_error_at_the_line_bash_names():
    got = findings(step(10, "if true; then\n  echo a\nfi fi\necho b", prompt=None))
    assert [(f.line, f.rule, f.severity) for f in got] == [(12, "syntax", "error")]
    assert "unexpected token `fi'" in got[0].message


def test_syntax_unclosed_quote_points_at_its_opening_line():
    assert rules_of(step(20, 'echo a\necho "foo\nbar', prompt=None), rule="syntax") == [21]


def test_syntax_unclosed_if_points_at_last_line_with_text():
    assert rules_of(step(30, "if true; then\n  echo hi\n", prompt=None), rule="syntax") == [31]


def test_syntax_heredoc_never_closed():
    got = findings(step(40, "cat > f <<EOF\nline\nEOFF", prompt=None))
    assert [(f.line, f.rule) for f in got] == [(40, "syntax")]
    assert "here-document" in got[0].message


def test_syntax_clean_multiline_step_has_no_finding():
    text = "for f in a b; do\n  case $f in\n    a) echo A ;;\n  esac\ndone\ncat <<'EOF' | sort\nz\nEOF"
    assert lint(step(50, text, prompt=None)) == []


def test_syntax_never_executes_the_step(tmp_path):
    marker = tmp_path / "ran"
    assert lint(step(1, f"touch {marker}")) == []
    assert not marker.exists()


# ---- shellcheck ---------------------------------------------------------------------------------


def test_shellcheck_findings_map_back_to_each_steps_doc_line():
    a = step(10, "echo one\necho two", prompt=None)
    b = step(20, 'mkdir -p "$HOME/x"\nls "~/foo"', prompt=None)
    got = [f for f in findings(a, b) if f.rule == "shellcheck"]
    assert [(f.line, f.severity) for f in got] == [(21, "warning")]
    assert got[0].message.startswith("SC2088") and "shellcheck.net/wiki/SC2088" in got[0].hint


def test_shellcheck_unicode_quotes_are_reported():
    assert rules_of(step(5, "echo \u201chello\u201d"), rule="shellcheck") == [5]


def test_shellcheck_noise_codes_are_ignored():
    noisy = "cd /tmp\nVERSION=1\necho $HOME/$x\nsudo echo hi > /tmp/x\napt install linux-headers-$(uname -r)"
    assert rules_of(step(1, noisy, prompt=None), rule="shellcheck") == []


def test_shellcheck_batch_survives_a_text_shellcheck_cannot_parse():
    texts = ('ls "~/a"', "if true; then", 'ls "~/b"')
    got = check_texts(texts)
    assert [(c.index, c.line, c.code) for c in got if c.code == 2088] == [(0, 1, 2088), (2, 1, 2088)]


def test_shellcheck_missing_gives_one_info_note(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink("/bin/bash", bindir / "bash")
    monkeypatch.setenv("PATH", str(bindir))
    got = findings(step(3, 'ls "~/a"'), step(4, "echo b"))
    notes = [f for f in got if f.rule == "shellcheck"]
    assert [(f.severity, f.line) for f in notes] == [("info", 1)]
    assert "not installed" in notes[0].message


# ---- placeholder --------------------------------------------------------------------------------


def test_angle_placeholders_reported_at_their_line():
    got = findings(
        step(7, "kubectl label node <node-name> kata=yes"),
        step(9, 'export VERSION="<VERSION>"\ncurl -LO https://x/<your registry>/a'),
    )
    assert [(f.line, f.rule) for f in got] == [(7, "placeholder"), (9, "placeholder"), (10, "placeholder")]
    assert "<node-name>" in got[0].message and "${NODE_NAME}" in got[0].hint


@pytest.mark.parametrize(
    "text",
    [
        "cat <<EOF > f\nx\nEOF",
        "tr a b < in.txt > out.txt",
        "diff <(ls a) <(ls b)",
        "cmd 2>&1 | tee log",
        'cat <<<"$HOME"',
        "echo '<br>' && echo \"<details>\"",
        "cat > d.xml <<'EOF'\n<domain><name>vm</name></domain>\nEOF",
        "# replace <VERSION> below\necho hi  # <not-this>",
    ],
)
def test_angle_placeholder_negatives(text):
    assert rules_of(step(1, text, prompt=None), rule="placeholder") == []


def test_placeholder_in_file_step_content():
    f = step(
        30,
        "registry: <your-registry>\n# see <docs>\nimage: x",
        prompt=None,
        kind="file",
        file_path="/etc/x.yaml",
    )
    assert rules_of(f, rule="placeholder") == [30]


def test_unset_variables_reported_once_at_first_use():
    got = findings(
        step(55, "wget https://x/v${VERSION}/containerd-${VERSION}-linux-${PLATFORM}.tar.gz"),
        step(58, "tar -xf containerd-$VERSION.tar.gz"),
    )
    assert sorted((f.line, f.message.split()[1]) for f in got) == [(55, "$PLATFORM"), (55, "$VERSION")]


def test_variables_set_earlier_or_by_sidecar_or_env_are_fine():
    steps = [
        step(1, 'VERSION=1.2\nexport ARCH="$(uname -m)"\nread -r -p "name? " NAME', prompt=None),
        step(5, "for f in a b; do echo $f; done\nwhile read -r line; do echo $line; done < x"),
        step(
            6, "echo $VERSION $ARCH $NAME $HOME $USER $PWD $BASH_VERSION $LC_ALL $1 $? $REGISTRY $http_proxy"
        ),
        step(
            7, 'echo ${UNSET:-default} ${OTHER:+x}\n[ -z "$MAYBE" ] && echo unset\n: ${DFLT:=x}; echo $DFLT'
        ),
        step(9, ". /etc/os-release\necho $VERSION_CODENAME $ID", prompt=None),
        step(11, "printf -v OUT '%s' x; mapfile -t LINES < f; declare -A MAP; echo $OUT $LINES $MAP"),
        step(12, "echo '$SINGLE' \\$ESCAPED\ncat <<'EOF'\n$QUOTED_HEREDOC\nEOF", prompt=None),
    ]
    assert rules_of(*steps, rule="placeholder", vars={"REGISTRY": "r"}) == []


def test_unset_variable_details():
    got = findings(
        step(1, "echo $LATER"),
        step(2, "LATER=1; PREFIXED=1 cmd; echo $PREFIXED"),
        step(3, "cat > f <<EOF\nurl=$IN_HEREDOC\nEOF", prompt=None),
    )
    assert [(f.line, f.message.split()[1]) for f in got] == [
        (1, "$LATER"),
        (2, "$PREFIXED"),
        (4, "$IN_HEREDOC"),
    ]


def test_sourcing_unknown_files_stops_unset_variable_checks():
    assert rules_of(step(1, "source ./env.sh"), step(2, "echo $FROM_ENV_SH"), rule="placeholder") == []
    assert rules_of(step(1, "source ~/.bashrc"), step(2, "echo $NOT_FROM_BASHRC"), rule="placeholder") == [2]
    assert rules_of(step(1, 'echo $FIRST; eval "$(x)"; echo $SECOND'), rule="placeholder") == [1]


def test_setup_steps_define_variables_for_the_doc():
    setup = step(1, "export KATA_VERSION=3.1", prompt=None, kind="setup", origin="sidecar")
    assert lint_plan(Plan(path=PATH, steps=[step(10, "echo $KATA_VERSION")], setup=[setup])) == []


# ---- sudo-redirect ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,line",
    [
        ("sudo echo 'x' >> /etc/sysctl.conf", 1),
        ("sudo mkdir -p /opt/k\nsudo cat > /opt/k/50.toml << 'EOF'\n[a]\nEOF", 2),
        ("sudo printf '%s\\n' a > /etc/x", 1),
        ("echo x | sudo cat > /etc/f", 1),
        ("curl -fsSL https://k/key | sudo gpg --dearmor \\\n  -o x > /etc/apt/keyrings/k.gpg", 2),
        ("CONF=/etc/containerd/config.toml\nsudo containerd config default > $CONF", 2),
        ("sudo echo 1 > /proc/sys/net/ipv4/ip_forward", 1),
    ],
)
def test_sudo_redirect_positive(text, line):
    got = [f for f in findings(step(1, text, prompt=None)) if f.rule == "sudo-redirect"]
    assert [f.line for f in got] == [line]
    assert got[0].severity == "error" and "sudo tee" in got[0].hint


@pytest.mark.parametrize(
    "text",
    [
        "echo x | sudo tee -a /etc/f > /dev/null",
        "sudo journalctl -u containerd > journal.txt",
        "sudo sh -c 'echo x > /etc/f'",
        "sudo systemctl restart x 2>&1 >/dev/null",
        "sudo dmesg > /tmp/dmesg.txt",
        "sudo cat /etc/x > ~/copy",
        "echo x > /etc/f",  # no sudo anywhere: not this rule
    ],
)
def test_sudo_redirect_negative(text):
    assert rules_of(step(1, text), rule="sudo-redirect") == []


def test_sudo_redirect_skipped_when_shell_is_root():
    assert rules_of(step(1, "sudo echo x >> /etc/f", prompt="# "), rule="sudo-redirect") == []
    root = step(1, "sudo echo x >> /etc/f", options=StepOptions(user="root"))
    assert rules_of(root, rule="sudo-redirect") == []


# ---- apt-no-yes / install-no-yes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text,rule",
    [
        ("apt install containerd", "apt-no-yes"),
        ("sudo apt-get install --no-install-recommends x", "apt-no-yes"),
        ("sudo DEBIAN_FRONTEND=noninteractive apt-get upgrade", "apt-no-yes"),
        ("sudo apt remove x", "apt-no-yes"),
        ("yum install containerd", "install-no-yes"),
        ("sudo dnf install -q x", "install-no-yes"),
        ("zypper install x", "install-no-yes"),
        ("sudo pacman -S x", "install-no-yes"),
    ],
)
def test_install_without_yes_positive(text, rule):
    got = [f for f in findings(step(4, text)) if f.rule in ("apt-no-yes", "install-no-yes")]
    assert [(f.line, f.rule, f.severity) for f in got] == [(4, rule, "error")]


@pytest.mark.parametrize(
    "text",
    [
        "sudo apt-get install -y x",
        "apt-get -qy install x",
        "apt install --yes x",
        "apt-get install --assume-yes x",
        "apt-get -o APT::Get::Assume-Yes=true install x",
        "apt-get -o Dpkg::Options::=--force-confold install -y x",
        "sudo apt update",
        "apt search foo",
        "apt-cache policy x",
        "yes | sudo apt install x",
        "dnf install -y x",
        "yum -y install x",
        "dnf --assumeyes upgrade",
        "dnf search x",
        "zypper -n install x",
        "zypper --non-interactive in x",
        "zypper install -y x",
        "pacman -Syu --noconfirm",
        "pacman -Ss x",
        "echo apt install x",
    ],
)
def test_install_without_yes_negative(text):
    assert [r for _, r in lint(step(1, text)) if r in ("apt-no-yes", "install-no-yes")] == []


def test_install_line_is_the_package_manager_line():
    text = "sudo apt-get update && \\\n  sudo apt-get install \\\n    containerd"
    assert rules_of(step(60, text, prompt=None), rule="apt-no-yes") == [61]


# ---- interactive-tty ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "docker run -it ubuntu bash",
        "docker run --rm -ti ubuntu",
        "sudo docker exec -t c ls",
        "docker run -v /a:/b -t img",
        "podman run --tty img",
        "nerdctl run -dit img",
        "kubectl exec -it pod -- sh",
        "kubectl run t --image=busybox --rm -it -- sh",
        'sudo ctr run --runtime "io.containerd.kata.v2" --rm -t "$image" test-kata uname -r',
        "sudo ctr -n k8s.io task exec -t --exec-id x c sh",
        "crictl exec -it c sh",
        "sudo ctr run --cni --runtime io.containerd.kata.v2 -t --rm docker.io/library/busybox hello sh",
    ],
)
def test_interactive_tty_positive(text):
    got = [f for f in findings(step(2, "image=x\n" + text, prompt=None)) if f.rule == "interactive-tty"]
    assert [(f.line, f.severity) for f in got] == [(3, "warning")]


@pytest.mark.parametrize(
    "text",
    [
        "docker run --rm ubuntu ls -t",
        "docker build -t tag .",
        "docker run -i img cat",
        "docker run --name t img",
        "docker run -e T=1 img",
        "kubectl exec pod -- ls -t",
        "docker run --tty=false img",
        "docker images -t",
        "ctr images pull -t x",
    ],
)
def test_interactive_tty_negative(text):
    assert rules_of(step(1, text), rule="interactive-tty") == []


def test_interactive_tty_skipped_for_pty_steps():
    assert (
        rules_of(step(1, "docker run -it img", options=StepOptions(pty=True)), rule="interactive-tty") == []
    )


# ---- prompt-mixed / prompt-typo -----------------------------------------------------------------


def test_prompt_mixed_root_and_user_prompts():
    got = findings(step(11, "echo a", block=10), step(12, "echo b", prompt="# ", block=10))
    assert [(f.line, f.rule) for f in got] == [(12, "prompt-mixed")]
    assert "`$ `" in got[0].message and "`# `" in got[0].message


def test_prompt_mixed_user_host_and_bare():
    a = step(21, "echo a", prompt="user@host:~$ ", block=20)
    b = step(22, "echo b", block=20)
    c = step(23, "echo c", prompt=None, block=20)
    assert rules_of(a, b, c, rule="prompt-mixed") == [22]
    assert rules_of(
        step(31, "echo", block=30), step(32, "echo", prompt=None, block=30), rule="prompt-mixed"
    ) == [32]


def test_prompt_mixed_negative_one_style_per_block():
    assert (
        rules_of(
            step(1, "echo a", block=0),
            step(2, "echo b", block=0),
            step(5, "ls", prompt="# ", block=4),
            rule="prompt-mixed",
        )
        == []
    )


def test_prompt_typo():
    got = findings(step(3, "sudo apt update", prompt="$"))
    assert [(f.line, f.rule) for f in got] == [(3, "prompt-typo")]
    assert "$ sudo apt update" in got[0].hint
    assert rules_of(step(3, "sudo apt update", prompt="$ "), rule="prompt-typo") == []


# ---- curl-pipe-shell ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "curl -fsSL https://get.docker.com | sh",
        "curl -sL https://x | sudo -E bash -",
        "wget -qO- https://x | sh",
        "wget -O - https://x | sudo bash",
        "bash <(curl -s https://x)",
        'sh -c "$(curl -fsSL https://x)"',
    ],
)
def test_curl_pipe_shell_positive(text):
    assert rules_of(step(8, text), rule="curl-pipe-shell") == [8]


@pytest.mark.parametrize(
    "text",
    [
        "curl -fsSL https://k/gpg | sudo gpg --dearmor -o /etc/apt/keyrings/k.gpg",
        "curl -o x.sh https://x && bash x.sh",
        "wget https://x/install.sh",
        "curl -s https://x | tar -xz",
        "echo curl | sh",
    ],
)
def test_curl_pipe_shell_negative(text):
    assert rules_of(step(1, text), rule="curl-pipe-shell") == []


# ---- prose-step / parse -------------------------------------------------------------------------


def test_prose_steps_unless_the_sidecar_supplies_one():
    prose = [
        Prose(PATH, 31, "Download a release from:", ("Install",)),
        Prose(PATH, 39, "Unpack the downloaded archive.", ("Install",)),
    ]
    got = findings(prose=prose)
    assert [(f.line, f.rule, f.severity) for f in got] == [
        (31, "prose-step", "warning"),
        (39, "prose-step", "warning"),
    ]
    assert "Download a release from:" in got[0].message
    supplied = step(39, "tar -xf kata.tar.xz", prompt=None, kind="prose", origin="sidecar")
    assert rules_of(supplied, prose=prose, rule="prose-step") == [31]


def test_plan_errors_become_parse_findings():
    errors = [
        DoctestError("unknown annotation key 'tiemout'", PATH, 12),
        DoctestError("bad sidecar", "g.doctest.yaml", 3),
    ]
    got = findings(errors=errors)
    assert [(f.path, f.line, f.rule, f.severity) for f in got] == [
        ("g.doctest.yaml", 3, "parse", "error"),
        (PATH, 12, "parse", "error"),
    ]


# ---- engine -------------------------------------------------------------------------------------


def test_findings_sorted_by_path_and_line_and_deduplicated():
    same = step(5, "apt install x")
    got = findings(step(9, "echo $A"), same, same)
    assert [(f.line, f.rule) for f in got] == [(5, "apt-no-yes"), (9, "placeholder")]
    assert got[0].step_id == f"{PATH}:5"


def test_file_steps_are_not_linted_as_shell():
    f = step(3, "if [ x\nfoo = $BAR", prompt=None, kind="file", file_path="/etc/x.conf")
    assert lint(f) == []
