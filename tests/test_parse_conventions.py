"""The conventions real guides use (issue #10, part 1), each on Markdown written for the tests.

Root `# ` prompts and other prompt styles, site-generator shortcodes and MyST fences, unlabelled
blocks of commands, and shell fences that hold output; line numbers are exact.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from doctest_runner.lint.engine import lint_paths
from doctest_runner.parse import parse_file, parse_text
from doctest_runner.parse.commands import is_prose, output_intro, output_shape, reads_as_command
from doctest_runner.parse.prompts import enters_shell
from doctest_runner.parse.shortcodes import convert_shortcodes
from doctest_runner.plan import plan_paths

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "parse_conventions"
EXTERNAL = REPO.parent / "shared" / "external-docs"
GUEST = "runs inside a guest shell"


def steps_of(name: str) -> list[tuple]:
    doc = parse_file(DATA / name)
    assert doc.errors == []
    return [(s.line, s.end_line, s.command, s.prompt, s.expected_output, s.status, s.options.user, s.platform)
            for s in doc.steps]


def doc(md: str):
    return parse_text(textwrap.dedent(md).lstrip("\n"), "t.md")


# ---------------------------------------------------------------- root prompts


def test_root_prompts_decided_from_the_whole_block():
    heredoc = "kubectl apply -f - <<EOF\napiVersion: v1\nkind: Pod\nmetadata:\n  name: foo\nEOF"
    assert steps_of("root_prompts.md") == [
        (6, 6, "nerdctl run -it --rm alpine", "# ", None, "run", "root", None),
        # `# Build the image first` (line 12) is prose: a comment, not a command nor output
        (13, 13, "nerdctl build -t foo /some-dockerfile-directory", "# ", None, "run", "root", None),
        # the heredoc's YAML belongs to the root-prompted command, it does not run as commands
        (14, 19, heredoc, "# ", "pod/foo created", "run", "root", None),
        # a bash block whose every line is a `# ` command: "run as root" notation
        (26, 26, "make install", "# ", None, "run", "root", None),
        (27, 27, 'make test TESTFLAGS="-run=SomeTestFunction"', "# ", None, "run", "root", None),
        # comments above bare commands stay comments
        (33, 36, "# Build the tree\nmake\n# make sure it is installed\nsudo make install", None, None, "run", None,
         None),
        # a block with `$ ` prompts keeps `# ` as a comment
        (43, 43, "ls /etc", "$ ", "hosts", "run", None, None),
        # `# Don't forget ...` (an apostrophe bash cannot close) and `# For each node, run:` are prose
        (51, 51, "modprobe kvm", "# ", None, "run", "root", None),
        (52, 52, "lsmod | grep kvm", "# ", "kvm                  1142784  0", "run", "root", None),
        (58, 58, "systemctl restart containerd", "# ", None, "run", "root", None),
        # a script whose `# ` reading would leave an output line: the `#` line is a comment after all
        (64, 65, "# mkdir -p /opt/foo\n/opt/foo", None, None, "run", None, None),
    ]


def test_root_prompt_step_has_exact_line_map_and_kind():
    parsed = parse_file(DATA / "root_prompts.md")
    heredoc = next(s for s in parsed.steps if s.line == 14)
    assert heredoc.line_map == (14, 15, 16, 17, 18, 19)
    assert heredoc.kind == "prompted"


def test_annotation_user_wins_over_root_prompt():
    parsed = doc("""
        <!-- doctest: user=builder -->
        ```console
        # make install
        ```
        """)
    assert [(s.command, s.options.user) for s in parsed.steps] == [("make install", "builder")]


def test_hash_lines_in_yaml_or_unlabelled_prose_are_not_prompts():
    parsed = doc("""
        ```yaml
        # make install
        ```

        ```
        # listen 80
        # server_name example.com
        ```
        """)
    assert parsed.steps == []


def test_hash_lines_after_sudo_i_are_the_root_shells_prompts():
    parsed = doc("""
        ```console
        $ sudo -i
        # apt-get update
        Hit:1 http://deb.debian.org bookworm InRelease
        # Now restart it:
        # systemctl restart foo
        $ exit
        # a comment again
        ```
        """)
    assert [(s.line, s.command, s.prompt, s.expected_output, s.options.user) for s in parsed.steps] == [
        (2, "sudo -i", "$ ", None, None),
        (3, "apt-get update", "# ", "Hit:1 http://deb.debian.org bookworm InRelease", "root"),
        (6, "systemctl restart foo", "# ", None, "root"),
        (7, "exit", "$ ", None, None),
    ]


def test_zsh_percent_prompt_in_a_zsh_block_but_not_redirects_in_a_script():
    parsed = doc("""
        ```zsh
        % brew --version
        Homebrew 4.0
        ```

        ```bash
        # make install
        > /etc/foo.conf
        ```
        """)
    assert [(s.line, s.command, s.prompt, s.expected_output) for s in parsed.steps] == [
        (2, "brew --version", "% ", "Homebrew 4.0"),
        (7, "# make install\n> /etc/foo.conf", None, None),
    ]


def test_hash_lines_in_hidden_and_indented_blocks_stay_comments():
    parsed = doc("""
        <!-- doctest: setup
        ```bash
        # apt-get update
        ```
        -->

        Text.

            # make install
        """)
    assert parsed.steps == []


# ---------------------------------------------------------------- other prompts


def test_other_prompt_styles():
    assert steps_of("prompts.md") == [
        (6, 6, "zgrep CONFIG_USER_NS /proc/config.gz", "> ", "CONFIG_USER_NS=y", "run", None, None),
        (13, 13, "brew install podman", "% ", None, "run", None, None),
        (14, 14, "podman machine init", "% ", None, "run", None, None),
        (20, 20, "kubectl get nodes", "❯ ", "NAME   STATUS", "run", None, None),
        (22, 22, "git clone https://example.com/repo.git", "➜  ~ ", None, "run", None, None),
        (23, 23, "make build", "➜  repo git:(main) ✗ ", None, "run", None, None),
        (29, 29, "pip install -r requirements.txt", "(venv) $ ", None, "run", None, None),
        (30, 30, "ls -la", "user@build-host:/var/lib/app$ ", None, "run", None, None),
        (31, 31, "dnf install -y podman", "[root@fedora ~]# ", None, "run", "root", None),
        (35, 35, "id -u", "bash-5.2# ", "0", "run", "root", None),
        (40, 40, "echo hello", "sh-5.1$ ", "hello", "run", None, None),
        (47, 47, "docker exec -it web bash", "$ ", None, "run", None, None),
        # after a command that enters another shell, the next prompt is that shell's
        (48, 48, "apt-get update", "root@web:/# ", None, "skip", None, None),
        (54, 54, "choco install kind", "PS C:\\> ", None, "run", None, "windows"),
        (55, 55, "kind version", "PS> ", None, "run", None, "windows"),
        (59, 59, "winget install Kubernetes.kind", "C:\\> ", None, "run", None, "windows"),
        # `> ` after a `$ ` command is PS2; quoted prose and curl's `% Total` are no prompts (line 72)
        (65, 67, "cat <<EOF > greeting\nhello\nEOF", "$ ", None, "run", None, None),
    ]
    guest = next(s for s in parse_file(DATA / "prompts.md").steps if s.line == 48)
    assert guest.reason == GUEST


def test_guest_prompt_shown_in_an_earlier_block_stays_a_guest():
    parsed = doc("""
        ```bash
        $ virtctl guestfs pvc-test
        The PVC has been mounted at /disk
        bash-5.0#
        ```

        ```bash
        bash-5.0# virt-cat -a disk.img /etc/os-release
        NAME=Fedora
        ```

        ```bash
        [root@host ~]# dnf install -y podman
        ```
        """)
    assert [(s.line, s.status, s.reason, s.options.user) for s in parsed.steps] == [
        (2, "run", None, None), (8, "skip", GUEST, None), (13, "run", None, "root")]


@pytest.mark.parametrize("command, entered", [
    ("docker exec -it web bash", True), ("sudo ctr run -t --rm img c sh", True), ("ssh user@host", True),
    ("sudo -i", True), ("kata-runtime exec abc", True), ("ls -la", False), ("pip install foo", False),
    ("sudo apt-get update", False), ("sed -i s/a/b/ f", False), ("docker build -t foo .", False),
    ("sudo chroot /mnt /bin/sh", True),
])
def test_enters_shell(command, entered):
    assert enters_shell(command) is entered


def test_arrow_prompt_without_folder_and_glyph_only_lines():
    parsed = doc("""
        ```console
        ➜ kubectl get pods
        No resources found
        ```
        """)
    assert [(s.command, s.prompt, s.expected_output) for s in parsed.steps] == [
        ("kubectl get pods", "➜ ", "No resources found")]


# ---------------------------------------------------------------- shortcodes and MyST


def test_shortcode_inside_a_list_item_keeps_its_lines():
    parsed = doc("""
        1. Install:

           {{< highlight bash >}}
           sudo make install
           {{< /highlight >}}
        2. Done.
        """)
    assert [(s.line, s.command) for s in parsed.steps] == [(4, "sudo make install")]
    assert parsed.blocks[0].kind == "shortcode"


def test_shortcode_and_myst_blocks_are_steps():
    assert steps_of("shortcodes.md") == [
        (6, 6, "sudo apt-get install -y kind", None, None, "run", None, None),
        # the Hugo template value stays as written: lint reports it, a sidecar var fills it
        (12, 13, "curl -Lo ./kind https://kind.sigs.k8s.io/dl/{{< stableVersion >}}/kind-linux-amd64\n"
                 "chmod +x ./kind", None, None, "run", None, None),
        (19, 19, "kind create cluster", None, None, "run", None, None),
        (25, 25, "make install", None, None, "run", None, None),
        (34, 34, "pip install foo", None, None, "run", None, None),  # MyST option lines are not content
        (40, 40, "foo --version", None, None, "run", None, None),
        (46, 46, "foo run", "$ ", None, "run", None, None),
        (58, 58, "Move-Item .\\kind-windows-amd64.exe c:\\bin\\kind.exe", None, None, "run", None, "windows"),
    ]


def test_shortcode_blocks_keep_exact_lines_and_say_where_they_came_from():
    parsed = parse_file(DATA / "shortcodes.md")
    assert [(b.line, b.end_line, b.content_line, b.lang, b.kind) for b in parsed.blocks] == [
        (5, 7, 6, "bash", "shortcode"), (11, 14, 12, "bash", "shortcode"), (18, 20, 19, "shell", "shortcode"),
        (24, 26, 25, "sh", "shortcode"), (30, 35, 34, "bash", "fenced"), (39, 41, 40, "sh", "fenced"),
        (45, 47, 46, "console", "shortcode"), (51, 53, 52, "yaml", "shortcode"),
        (57, 59, 58, "powershell", "shortcode"), (63, 67, 64, "markdown", "fenced"),
    ]


def test_convert_shortcodes_is_line_for_line_and_leaves_unclosed_ones():
    lines = ["{{< highlight bash >}}", "```", "echo x", "```", "{{< /highlight >}}", "{% highlight sh %}", "ls"]
    out, found = convert_shortcodes(lines)
    assert out == ["````bash", "```", "echo x", "```", "````", "{% highlight sh %}", "ls"]
    assert found == {1}


def test_myst_yaml_option_block_is_not_content():
    parsed = doc("""
        ```{code-block} bash
        ---
        caption: Install
        ---
        make install
        ```
        """)
    assert [(s.line, s.command) for s in parsed.steps] == [(5, "make install")]


def test_myst_directive_that_is_not_code_is_not_a_step():
    parsed = doc("""
        ```{note}
        sudo make install
        ```
        """)
    assert parsed.steps == []


def test_hugo_template_value_is_a_placeholder_and_a_sidecar_var_fills_it():
    report = lint_paths([str(DATA / "shortcodes.md"), str(DATA / "hugo-vars.md")])
    found = [(Path(f.path).name, f.line, f.message.split(":")[0]) for f in report.findings
             if f.rule == "placeholder"]
    assert found == [("hugo-vars.md", 5, "unresolved template value {{< other >}}"),
                     ("shortcodes.md", 12, "unresolved template value {{< stableVersion >}}")]
    plan = plan_paths([str(DATA / "hugo-vars.md")]).plans[0]
    assert [s.command for s in plan.steps] == [
        "curl -Lo ./kind https://kind.sigs.k8s.io/dl/v0.27.0/kind-linux-amd64\necho v0.27.0 {{< other >}}"]


# ---------------------------------------------------------------- unlabelled blocks


def test_unlabelled_blocks_of_commands_are_steps_and_say_why():
    parsed = parse_file(DATA / "unlabelled.md")
    assert [(s.line, s.end_line, s.command, s.status, s.reason) for s in parsed.steps] == [
        (6, 7, "service pf enable\nservice pf start", "run", None),
        (13, 14, "sudo sysctl kernel.unprivileged_userns_clone=1\n"
                 "echo 'kernel.unprivileged_userns_clone=1' | sudo tee /etc/sysctl.d/userns.conf > /dev/null",
         "run", None),
        (20, 23, "# Update vendored dependencies\nmake vendor\nVERSION=1.2 ./hack/build.sh \\\n  --static", "run",
         None),
        # YAML, JSON, INI, TOML, logs, output, a diff, a tree, Go, Python, prose, a path, a script
        # file's content and a block introduced as file content (lines 28-98) are not steps;
        # an annotation still overrides the reading
        (103, 103, "service pf reload", "skip", "needs the BSD image"),
    ]
    assert [s.why for s in parsed.steps[:3]] == [
        "unlabelled block read as shell: every line starts with a command (`service`) and bash parses it",
        "unlabelled block read as shell: every line starts with a command (`sysctl`, `echo`) and bash parses it",
        "unlabelled block read as shell: every line starts with a command (`make`, `./hack/build.sh`) and bash "
        "parses it",
    ]
    assert all(s.kind == "bare" for s in parsed.steps)


def test_list_shows_why_in_text_and_json():
    path = str(DATA / "unlabelled.md")
    text = subprocess.run([sys.executable, "-m", "doctest_runner", "list", path], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    line = next(ln for ln in text.stdout.splitlines() if ln.startswith(f"{path}:6 "))
    assert "run [why: unlabelled block read as shell: every line starts with a command (`service`)" in line
    assert line.endswith("service pf enable …")
    done = subprocess.run([sys.executable, "-m", "doctest_runner", "list", "--json", path], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    steps = json.loads(done.stdout)[0]["steps"]
    assert steps[0]["why"].startswith("unlabelled block read as shell: ")
    assert steps[0]["platform"] is None
    windows = subprocess.run([sys.executable, "-m", "doctest_runner", "list", "--json", str(DATA / "prompts.md")],
                             cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    by_line = {s["line"]: s for s in json.loads(windows.stdout)[0]["steps"]}
    assert by_line[54]["platform"] == "windows" and by_line[6]["why"] is None


# ---------------------------------------------------------------- output in shell fences


def test_shell_fences_holding_output_are_skipped_with_the_reason():
    parsed = parse_file(DATA / "output.md")
    got = [(s.line, s.end_line, s.status, s.reason) for s in parsed.steps]
    assert got == [
        (4, 4, "run", None),
        (10, 11, "skip", 'example output, not a command (introduced by "An example output where it is enabled:")'),
        (17, 17, "skip", 'example output, not a command (introduced by "You should see:")'),
        (21, 22, "skip", "example output, not a command (looks like output: a table of columns)"),
        (26, 27, "skip", "example output, not a command (looks like output: lsmod columns)"),
        (31, 32, "skip", "example output, not a command (looks like output: log lines)"),
        (36, 38, "skip", "example output, not a command (looks like output: key: value lines)"),
        (44, 44, "run", None),  # "To see the output, run:" asks for a command
        (50, 50, "run", None),  # prompted: the prompt marks the command, the rest is its output
        (58, 58, "run", None),  # `<!-- doctest: run -->` overrides the reading
    ]


def test_lint_reports_output_in_shell_fence_at_the_fence_line():
    report = lint_paths([str(DATA / "output.md")])
    found = [(f.line, f.severity) for f in report.findings if f.rule == "output-in-shell-fence"]
    assert found == [(9, "warning"), (16, "warning"), (20, "warning"), (25, "warning"), (30, "warning"),
                     (35, "warning")]
    # the output is not linted as shell
    assert not [f for f in report.findings if f.rule in ("syntax", "placeholder") and 9 <= f.line <= 38]


# ---------------------------------------------------------------- the deciding rules


@pytest.mark.parametrize("text", [
    "nerdctl run -it --rm alpine", "make install", "make", "sudo -E make install", "kubectl apply -f - <<EOF",
    "VERSION=1 ./build.sh", "/usr/local/bin/kind create cluster", "lsmod | grep kvm", "service pf enable",
    "sudo apt-get install -y \\", "for f in *.yaml; do kubectl apply -f $f; done",
])
def test_reads_as_command(text):
    assert reads_as_command(text)


@pytest.mark.parametrize("text", [
    "Build the image first", "Don't forget to load the module", "For each node, run:", "make sure it is installed",
    "install the dependencies", "more note", "kind", "listen 80", "the rest of the flags", "Note: this is slow",
    "find out more in the manual.", "/usr/share/rhel/secrets:/run/secrets", "", "/usr/local/bin/kind",
    "go version go1.21.5 linux/amd64",
])
def test_does_not_read_as_command(text):
    assert not reads_as_command(text)


def test_prose_and_intro_phrases():
    assert is_prose("Build it with make.") and not is_prose("make -C src")
    assert output_intro("Check it. You should see:") == "You should see:"
    assert output_intro("The output looks like this:") is not None
    assert output_intro("To see the output, run:") is None
    assert output_intro("Install the package:") is None
    assert output_intro("The following command should print the version:") is None
    assert output_intro("Example output of the command:") is not None
    assert output_shape(["NAME   READY   STATUS", "foo    1/1     Running"]) == "a table of columns"
    assert output_shape(["sudo make install"]) is None


# ---------------------------------------------------------------- real guides (read-only, when present)


needs_external = pytest.mark.skipif(not EXTERNAL.is_dir(), reason="../shared/external-docs not present")


@needs_external
def test_real_guides_conventions_found_at_exact_lines():
    nerdctl = {s.line: s for s in parse_file(EXTERNAL / "nerdctl__README.md").steps}
    assert nerdctl[77].command.startswith("kubectl apply -f - <<EOF\napiVersion: v1")
    assert nerdctl[77].end_line == 87 and nerdctl[77].options.user == "root" and nerdctl[77].prompt == "# "
    kind = {s.line: s for s in parse_file(EXTERNAL / "kind__quick-start.md").steps}
    assert kind[40].command.startswith("# For AMD64 / x86_64\n[ $(uname -m) = x86_64 ] && curl -Lo ./kind")
    assert kind[62].platform == "windows"
    assert kind[228].command == "kind delete cluster" and kind[228].why.startswith("unlabelled block read as shell")
    podman = {s.line: s for s in parse_file(EXTERNAL / "podman__installation.md").steps}
    assert podman[265].command == "service pf enable\nservice pf start"
    assert podman[421].prompt == "> " and podman[421].expected_output == "CONFIG_USER_NS=y"
    firecracker = {s.line: s for s in parse_file(EXTERNAL / "firecracker__getting-started.md").steps}
    assert firecracker[38].status == "skip" and firecracker[38].reason.startswith("example output")
    runc = {s.line: s for s in parse_file(EXTERNAL / "runc__README.md").steps}
    assert runc[184].command == 'make test TESTFLAGS="-run=SomeTestFunction"' and runc[184].options.user == "root"


def test_gt_prompt_in_a_bash_fence_when_a_command_follows():
    d = doc("""
        # t

        ```bash
        > go build main.go
        > sudo ./main

        2017/08/13 17:43:21 Successfully pulled docker.io/library/redis:alpine image
        ```

        ```bash
        > curl 127.0.0.1:1338/v1/metrics
        ```

        ```bash
        > /var/log/app.log
        ```
        """)
    got = [(s.line, s.command, s.prompt) for s in d.steps]
    assert got[:3] == [(4, "go build main.go", "> "), (5, "sudo ./main", "> "),
                       (11, "curl 127.0.0.1:1338/v1/metrics", "> ")]
    assert got[3] == (15, "> /var/log/app.log", None)  # truncating a file is code, not a prompt
