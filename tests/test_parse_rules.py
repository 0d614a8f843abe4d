"""One test per extraction rule, on small inline docs."""

from __future__ import annotations

import textwrap

import pytest

from doctest_runner.parse import parse_text
from doctest_runner.parse.steps import assign_ids, file_write_command, names_distro, title_path

GUEST = "runs inside a guest shell"


def doc(md: str, path: str = "t.md"):
    return parse_text(textwrap.dedent(md).lstrip("\n"), path)


def cmds(parsed):
    return [(s.line, s.end_line, s.command, s.expected_output, s.status) for s in parsed.steps]


# ---------------------------------------------------------------- languages and info strings


@pytest.mark.parametrize(
    "info, lang",
    [
        ("bash", "bash"), ("sh", "sh"), ("shell", "shell"), ("console", "console"),
        ("shell-session", "shell-session"), ("zsh", "zsh"), ("BASH", "bash"), ("Console", "console"),
        ('bash title="x"', "bash"), ("{.bash}", "bash"), ("{.bash .numberLines}", "bash"),
        ('{ .sh title="setup it" }', "sh"), ('console {hl_lines="2"}', "console"),
    ],
)
def test_shell_info_strings_are_steps(info, lang):
    parsed = doc(f"```{info}\necho hi\n```\n")
    assert cmds(parsed) == [(2, 2, "echo hi", None, "run")]
    assert parsed.blocks[0].lang == lang
    assert parsed.steps[0].kind == "bare"


def test_info_attributes_are_parsed():
    parsed = doc('```{.bash .numberLines #install title="Install it"}\nls\n```\n')
    assert parsed.blocks[0].attrs == {"id": "install", "title": "Install it", "class": "numberLines"}
    assert parsed.blocks[0].info == '{.bash .numberLines #install title="Install it"}'


@pytest.mark.parametrize("info", ["yaml", "toml", "json", "text", "python", "ini", "Dockerfile"])
def test_non_shell_blocks_are_not_steps(info):
    assert doc(f"```{info}\nsudo rm -rf /\n$ ls\n```\n").steps == []


def test_unlabelled_block_is_a_step_only_when_prompted():
    parsed = doc("""
        ```
        RateLimitInterval=0s
        ```

        ```
        # say hi
        $ echo hi
        hi
        ```
        """)
    assert cmds(parsed) == [(7, 7, "echo hi", "hi", "run")]
    assert parsed.steps[0].lang == ""


def test_empty_and_comment_only_shell_blocks_are_not_steps():
    parsed = doc("""
        ```bash
        ```

        ```bash
        # just a note
        #   more note
        ```

        ```sh

        ```
        """)
    assert parsed.steps == []
    assert len(parsed.blocks) == 3


# ---------------------------------------------------------------- containers


def test_fence_in_nested_list_items_strips_only_container_indent():
    parsed = doc("""
        1. First

           - Nested item:

             ```bash
             cat <<EOF > cfg.yaml
             top:
               nested: 1
             EOF
             ```
        2. Second
        """)
    assert cmds(parsed) == [(6, 9, "cat <<EOF > cfg.yaml\ntop:\n  nested: 1\nEOF", None, "run")]
    assert parsed.steps[0].line_map == (6, 7, 8, 9)
    assert parsed.blocks[0].line == 5 and parsed.blocks[0].end_line == 10


def test_fence_in_block_quote_and_quote_in_list():
    parsed = doc("""
        > ```console
        > $ echo quoted
        > quoted
        > ```

        - item
          > ```bash
          > ls /tmp
          > ```
        """)
    assert cmds(parsed) == [(2, 2, "echo quoted", "quoted", "run"), (8, 8, "ls /tmp", None, "run")]


def test_mkdocs_tabs_give_alternatives_and_keep_yaml_shape():
    parsed = doc("""
        # Install

        === "Debian/Ubuntu"
            ```bash
            sudo apt-get install -y foo
            cat <<EOF | sudo tee /etc/foo.yaml
            a:
              b: 1
            EOF
            ```

        === "Fedora"

            ```bash
            sudo dnf install -y foo
            ```

        === "From source"
            ```bash
            make install
            ```

        ```bash
        foo --version
        ```
        """)
    assert [(s.line, s.alternative) for s in parsed.steps] == [
        (5, "Debian/Ubuntu"), (15, "Fedora"), (20, None), (24, None)]
    assert [b.tab for b in parsed.blocks] == ["Debian/Ubuntu", "Fedora", "From source", None]
    assert parsed.steps[0].command == (
        "sudo apt-get install -y foo\ncat <<EOF | sudo tee /etc/foo.yaml\na:\n  b: 1\nEOF")
    assert parsed.steps[0].line_map == (5, 6, 7, 8, 9)


def test_admonitions_with_code_and_collapsible_ones():
    parsed = doc("""
        !!! note "Heads up"
            Run this first:

            ```console
            $ modprobe kvm
            ```

        ???+ tip
            ```bash
            echo tip
            ```
        After.
        """)
    assert cmds(parsed) == [(5, 5, "modprobe kvm", None, "run"), (10, 10, "echo tip", None, "run")]
    assert parsed.prose == []  # text inside an admonition is a note, not a prose step


def test_indented_code_blocks_count_only_when_prompted():
    parsed = doc("""
        Paragraph.

            $ uname -r
            6.1.0

        Another.

            key = value
            other = 2
        """)
    assert cmds(parsed) == [(3, 3, "uname -r", "6.1.0", "run")]
    assert [b.kind for b in parsed.blocks] == ["indented", "indented"]


def test_tab_header_inside_code_fence_is_left_alone():
    parsed = doc("""
        ```bash
        === "not a tab"
            echo inside
        ```
        """)
    assert cmds(parsed) == [(2, 3, '=== "not a tab"\n    echo inside', None, "run")]


# ---------------------------------------------------------------- prompts


def test_prompt_styles():
    parsed = doc("""
        ```console
        $ echo one
        ~$ echo two
        user@host:~$ echo three
        user@host:/srv/app$ echo four
        [me@box dir]$ echo five
        ```
        """)
    assert [(s.command, s.prompt) for s in parsed.steps] == [
        ("echo one", "$ "), ("echo two", "~$ "), ("echo three", "user@host:~$ "),
        ("echo four", "user@host:/srv/app$ "), ("echo five", "[me@box dir]$ ")]


def test_dollar_typo_is_still_a_prompt_and_flagged():
    parsed = doc("```bash\n$sudo apt-get update\n$ ls\n```\n")
    assert [(s.command, s.prompt) for s in parsed.steps] == [("sudo apt-get update", "$"), ("ls", "$ ")]


@pytest.mark.parametrize(
    "line, command",
    [
        ("/ # hostname", "hostname"), ("bash-4.2# id", "id"), ("[container]# ls", "ls"),
        ("[root@xyz /]# cat /etc/os-release", "cat /etc/os-release"), ("(qemu) info status", "info status"),
        ("root@container:/# apt update", "apt update"), ("sh-5.1# echo $0", "echo $0"),
    ],
)
def test_guest_prompts_are_skipped(line, command):
    parsed = doc(f"```\n$ sudo ctr run -t --rm img c sh\n{line}\noutput\n```\n")
    host, guest = parsed.steps
    assert (host.command, host.status, host.expected_output) == ("sudo ctr run -t --rm img c sh", "run", None)
    assert (guest.command, guest.status, guest.reason, guest.expected_output) == (command, "skip", GUEST, "output")
    assert guest.line == 3


def test_output_comments_and_blank_lines():
    parsed = doc("""
        ```bash
        # first, update
        $ sudo apt-get update
        Hit:1 http://deb.debian.org bookworm InRelease

        # then list
        $ ls
        a

        b

        $ true
        ```
        """)
    assert cmds(parsed) == [
        (3, 3, "sudo apt-get update", "Hit:1 http://deb.debian.org bookworm InRelease", "run"),
        (7, 7, "ls", "a\n\nb", "run"),
        (12, 12, "true", None, "run"),
    ]


def test_continuations_heredocs_quotes_and_compounds():
    parsed = doc("""
        ```console
        $ sudo apt-get install -y \\
            curl \\
            jq
        $ cat <<'EOF' | sudo tee /etc/x.conf
        $ not a prompt: heredoc body
        EOF
        [x]
        $ echo "open
        quote" 'and
        another'
        $ if true; then
          echo yes
        fi
        $ case "$1" in
          a) echo a ;;
        esac
        $ for i in 1 2; do echo $i; done
        1
        2
        ```
        """)
    assert cmds(parsed) == [
        (2, 4, "sudo apt-get install -y \\\n    curl \\\n    jq", None, "run"),
        (5, 7, "cat <<'EOF' | sudo tee /etc/x.conf\n$ not a prompt: heredoc body\nEOF", "[x]", "run"),
        (9, 11, "echo \"open\nquote\" 'and\nanother'", None, "run"),
        (12, 14, "if true; then\n  echo yes\nfi", None, "run"),
        (15, 17, 'case "$1" in\n  a) echo a ;;\nesac', None, "run"),
        (18, 18, "for i in 1 2; do echo $i; done", "1\n2", "run"),
    ]
    assert parsed.steps[1].line_map == (5, 6, 7)


def test_ps2_continuation_prompts_are_stripped():
    parsed = doc("""
        ```console
        $ cat <<EOF > greeting
        > hello
        >
        > world
        > EOF
        $ while read -r l; do
        >   echo "$l"
        > done < greeting
        hello
        ```
        """)
    assert cmds(parsed) == [
        (2, 6, "cat <<EOF > greeting\nhello\n\nworld\nEOF", None, "run"),
        (7, 9, 'while read -r l; do\n  echo "$l"\ndone < greeting', "hello", "run"),
    ]


def test_command_that_never_completes_is_cut_at_the_next_prompt():
    parsed = doc("""
        ```bash
        $ echo "unbalanced
        $ ls
        file
        ```
        """)
    assert cmds(parsed) == [(2, 2, 'echo "unbalanced', None, "run"), (3, 3, "ls", "file", "run")]


def test_unfinished_heredoc_at_block_end_keeps_its_lines():
    parsed = doc("```bash\n$ cat <<EOF\nabc\n```\n")
    assert cmds(parsed) == [(2, 3, "cat <<EOF\nabc", None, "run")]


def test_bare_block_line_map_points_at_each_line():
    parsed = doc("""
        ```bash

        set -e
        ./configure \\
          --prefix=/usr
        make

        ```
        """)
    (step,) = parsed.steps
    assert (step.line, step.end_line, step.kind) == (3, 6, "bare")
    assert step.command == "set -e\n./configure \\\n  --prefix=/usr\nmake"
    assert step.line_map == (3, 4, 5, 6)
    assert step.source_line(3) == 6


# ---------------------------------------------------------------- annotations


def test_annotation_keys_apply_to_every_step_of_the_block():
    parsed = doc("""
        <!-- doctest: timeout=15m expect-exit=3 user=root requires=kvm,network name=probe reboot output=warn pty -->

        ```console
        $ kvm-ok
        $ lsmod
        ```
        """)
    assert parsed.errors == []
    assert len(parsed.steps) == 2
    for step in parsed.steps:
        o = step.options
        assert (o.timeout, o.expect_exit, o.user, o.requires, o.name, o.reboot, o.output, o.pty) == (
            900, 3, "root", ("kvm", "network"), "probe", True, "warn", True)
        assert step.status == "run"
    assert parsed.blocks[0].annotation.timeout == 900
    assert parsed.steps[0].options is not parsed.steps[1].options  # each step owns its options


def test_skip_annotation_with_reason():
    parsed = doc("""
        <!-- doctest: skip reason="needs a GPU" -->
        ```bash
        nvidia-smi
        ```

        <!-- doctest: skip -->
        ```bash
        reboot
        ```
        """)
    assert [(s.status, s.reason) for s in parsed.steps] == [
        ("skip", "needs a GPU"), ("skip", "skipped by doctest annotation")]


def test_unknown_key_and_bad_values_are_errors_with_lines_and_block_still_parsed():
    parsed = doc("""
        # T

        <!-- doctest:
             timeout=soon
             colour=blue
             user=root
        -->
        ```bash
        ls
        ```
        """)
    assert [(e.line, e.message.split(" (")[0]) for e in parsed.errors] == [
        (4, "timeout must be a positive number of seconds"),
        (5, "unknown doctest annotation key 'colour'"),
    ]
    assert str(parsed.errors[1]).startswith("t.md:5: unknown doctest annotation key 'colour'")
    assert cmds(parsed) == [(9, 9, "ls", None, "run")]
    assert parsed.steps[0].options.user == "root"


@pytest.mark.parametrize(
    "body, message",
    [
        ("expect-exit=300", "expect-exit must be an exit status"),
        ("output=loud", "output must be check, ignore or warn"),
        ("requires=", "requires must be a comma-separated list"),
        ("user=Bob!", "user must be a user name"),
        ("user='Bob Smith'", "user must be a user name"),
        ("skip=maybe", "'skip' takes no value or true/false"),
        ("timeout", "'timeout' needs a value"),
        ('reason="unclosed', "bad doctest annotation"),
    ],
)
def test_bad_annotation_values(body, message):
    parsed = doc(f"<!-- doctest: {body} -->\n```bash\nls\n```\n")
    assert len(parsed.errors) == 1 and parsed.errors[0].line == 1
    assert message in parsed.errors[0].message
    assert len(parsed.steps) == 1


def test_annotation_must_directly_precede_a_block():
    parsed = doc("""
        <!-- doctest: skip -->

        Some text in between.

        ```bash
        ls
        ```
        <!-- doctest: timeout=5 -->
        """)
    assert [(e.line, e.message) for e in parsed.errors] == [
        (1, "doctest annotation is not followed by a code block"),
        (8, "doctest annotation is not followed by a code block"),
    ]
    assert parsed.steps[0].status == "run"


def test_plain_html_comments_are_ignored():
    parsed = doc("<!-- just a comment -->\n```bash\nls\n```\n")
    assert parsed.errors == [] and parsed.blocks[0].annotation is None


def test_hidden_setup_and_cleanup_blocks():
    parsed = doc("""
        # Guide

        <!-- doctest: setup
        ```bash
        sudo apt-get update
        sudo apt-get install -y jq
        ```
        -->

        ```bash
        jq --version
        ```

        <!-- doctest: cleanup user=root timeout=60
        ```console
        $ rm -rf /opt/x
        $ systemctl daemon-reload
        ```
        -->
        """)
    assert [(s.kind, s.line, s.end_line, s.command) for s in parsed.steps] == [
        ("setup", 5, 6, "sudo apt-get update\nsudo apt-get install -y jq"),
        ("bare", 11, 11, "jq --version"),
        ("cleanup", 16, 16, "rm -rf /opt/x"),
        ("cleanup", 17, 17, "systemctl daemon-reload"),
    ]
    assert parsed.steps[2].options.user == "root" and parsed.steps[2].options.timeout == 60
    assert [b.kind for b in parsed.blocks] == ["hidden-setup", "fenced", "hidden-cleanup"]
    assert (parsed.blocks[0].line, parsed.blocks[0].end_line) == (4, 7)
    assert parsed.steps[0].heading == ("Guide",)
    assert parsed.errors == []


def test_setup_with_unknown_key_reports_it():
    parsed = doc("<!-- doctest: setup color=red\n```bash\ntrue\n```\n-->\n")
    assert [e.line for e in parsed.errors] == [1]
    assert parsed.steps[0].kind == "setup"


# ---------------------------------------------------------------- file-write steps


def test_title_with_absolute_path_writes_the_file_with_sudo():
    parsed = doc("""
        ```yaml title="/etc/kata/x.yaml"
        a:
          b: "$HOME"
        ```
        """)
    (step,) = parsed.steps
    assert step.kind == "file" and step.file_path == "/etc/kata/x.yaml"
    assert step.command == (
        "sudo mkdir -p /etc/kata && sudo tee /etc/kata/x.yaml >/dev/null <<'DOCTEST_EOF'\n"
        'a:\n  b: "$HOME"\nDOCTEST_EOF')
    assert (step.line, step.end_line, step.line_map) == (1, 4, (1, 2, 3, 4))


def test_relative_title_and_file_annotation():
    parsed = doc("""
        ```yaml title="values.yaml"
        k: v
        ```

        <!-- doctest: file=~/.config/app/conf.toml -->
        ```toml
        x = 1
        ```

        <!-- doctest: file=run.sh -->
        ```bash
        echo from script
        ```
        """)
    assert [(s.kind, s.file_path, s.command) for s in parsed.steps] == [
        ("file", "values.yaml", "tee values.yaml >/dev/null <<'DOCTEST_EOF'\nk: v\nDOCTEST_EOF"),
        ("file", "~/.config/app/conf.toml",
         "mkdir -p \"$HOME\"/.config/app && tee \"$HOME\"/conf.toml >/dev/null <<'DOCTEST_EOF'\nx = 1\nDOCTEST_EOF"
         .replace('"$HOME"/conf.toml', '"$HOME"/.config/app/conf.toml')),
        ("file", "run.sh", "tee run.sh >/dev/null <<'DOCTEST_EOF'\necho from script\nDOCTEST_EOF"),
    ]


@pytest.mark.parametrize(
    "title, path",
    [("/etc/x.yaml", "/etc/x.yaml"), ("values.yaml", "values.yaml"), ("conf/x.toml", "conf/x.toml"),
     ("Example config", None), ("$HOME/x.yaml", None), ("Values", None), ("", None), ("dir/", None)],
)
def test_title_path(title, path):
    assert title_path(title) == path


def test_shell_block_with_title_is_still_a_shell_step():
    parsed = doc('```bash title="install.sh"\necho hi\n```\n')
    assert [(s.kind, s.command) for s in parsed.steps] == [("bare", "echo hi")]


def test_prompt_in_title_is_the_command_and_the_body_its_output():
    parsed = doc("""
        ```sh title="$ kubectl logs job/x"
        skipping node cp-1
        ```

        ```console title="$ uname -r"
        ```
        """)
    assert [(s.line, s.end_line, s.command, s.expected_output, s.prompt, s.kind) for s in parsed.steps] == [
        (1, 1, "kubectl logs job/x", "skipping node cp-1", "$ ", "prompted"),
        (5, 5, "uname -r", None, "$ ", "prompted"),
    ]


def test_file_write_delimiter_never_collides_with_content():
    command = file_write_command("/tmp/x", "a\nDOCTEST_EOF\nb")
    assert command.endswith("\nDOCTEST_EOF_")
    assert "<<'DOCTEST_EOF_'" in command


def test_annotation_run_makes_a_text_block_a_step():
    parsed = doc("<!-- doctest: run -->\n```text\nuname -a\n```\n\n<!-- doctest: timeout=5 -->\n```\nls\n```\n")
    assert [(s.kind, s.command) for s in parsed.steps] == [("bare", "uname -a"), ("bare", "ls")]


# ---------------------------------------------------------------- headings, ids, alternatives


def test_heading_paths_and_ids():
    parsed = doc("""
        # A
        ## B
        ```bash
        one
        ```
        ### C
        ```bash
        two
        ```
        ## D
        ```bash
        three
        ```
        Setext
        ------
        ```bash
        four
        ```
        """, path="guides/x.md")
    assert [s.heading for s in parsed.steps] == [("A", "B"), ("A", "B", "C"), ("A", "D"), ("A", "Setext")]
    assert [s.id for s in parsed.steps] == ["guides/x.md:4", "guides/x.md:8", "guides/x.md:12", "guides/x.md:17"]
    assert parsed.headings == [(1, ("A",)), (2, ("A", "B")), (6, ("A", "B", "C")), (10, ("A", "D")),
                               (14, ("A", "Setext"))]
    assert {s.path for s in parsed.steps} == {"guides/x.md"}


def test_ids_get_suffixes_when_a_line_yields_several_steps():
    parsed = doc("```bash\nls\n```\n")
    steps = parsed.steps * 3
    steps = [s.__class__(**s.__dict__) for s in steps]
    assign_ids(steps)
    assert [s.id for s in steps] == ["t.md:2", "t.md:2#2", "t.md:2#3"]


@pytest.mark.parametrize(
    "title, distro",
    [("Debian/Ubuntu", True), ("Fedora", True), ("CentOS / RHEL", True), ("openSUSE", True), ("Arch", True),
     ("Alpine", True), ("Rocky Linux 9", True), ("Red Hat", True), ("From source", False),
     ("Control-plane nodes only", False), (None, False)],
)
def test_names_distro(title, distro):
    assert names_distro(title) is distro


# ---------------------------------------------------------------- prose steps


def test_prose_steps_are_conservative():
    parsed = doc("""
        # Setup

        - Download the tarball.
        - Configure the daemon

          - Edit `/etc/x.conf` to add the key.
        - Check it is up:

          ```bash
          systemctl status x
          ```
        - Run the tests:

          ```bash
          make test
          ```
        - The service is now ready.

        > Restart the machine if unsure.

        Reboot the machine.

        ## Packages

        Install the packages:

        ```bash
        sudo apt-get install -y x
        ```

        Install one of the following:

        - [Docker](https://docker.com)
        """)
    assert [(p.line, p.text) for p in parsed.prose] == [
        (3, "Download the tarball."),
        (4, "Configure the daemon"),
        (6, "Edit `/etc/x.conf` to add the key."),
        (21, "Reboot the machine."),
    ]
    assert parsed.prose[0].heading == ("Setup",)
    # a paragraph counts until the next heading or list item: a later block satisfies it
    later = doc("Download the archive.\n\nIt is large.\n\n```bash\ncurl -O x\n```\n")
    assert later.prose == []


# ---------------------------------------------------------------- odd inputs


def test_unterminated_fence_is_an_error_at_its_line_and_the_rest_is_parsed():
    parsed = doc("""
        # T

        ```bash
        $ ls
        ```

        ```bash
        $ echo never closed
        more
        """)
    assert [(e.line, e.message) for e in parsed.errors] == [
        (7, "unterminated code fence: ``` opened here is never closed")]
    assert cmds(parsed) == [
        (4, 4, "ls", None, "run"),
        (8, 8, "echo never closed", "more", "skip"),
    ]
    assert parsed.steps[1].reason == "unterminated code fence"


def test_crlf_and_bom_keep_line_numbers():
    parsed = parse_text("\ufeff# T\r\n\r\n```bash\r\n$ ls\r\nout\r\n```\r\n", "w.md")
    assert cmds(parsed) == [(4, 4, "ls", "out", "run")]


def test_tilde_fences_and_longer_backtick_fences():
    parsed = doc("""
        ~~~bash
        echo tilde
        ~~~

        ````bash
        ```
        echo inner
        ````
        """)
    assert cmds(parsed) == [(2, 2, "echo tilde", None, "run"), (6, 7, "```\necho inner", None, "run")]
