"""fix/patch.py: a candidate's edits go back into the Markdown with the doc's formatting, and the diff applies
with real `git apply`; re-parsing the patched doc shows the step now runs the new command."""

from __future__ import annotations

import pytest
from fix_support import FixedFacts, failed, git_apply, git_repo, mismatched, step_at, steps_of

from doctest_runner.fix import Edit, apply_edits, propose, suggestion, unified_diff
from doctest_runner.model import DoctestError
from doctest_runner.parse import parse_text

PATH = "docs/install.md"
# Line numbers are part of the test: a list item's fenced block (3-space indent, a `\` continuation and output),
# a tab-indented list item, a prompted block in a quote, a root-prompted block.
GUIDE = """\
# Install the tools

1. Install the JSON tool:

   ```console
   $ sudo apt-get install \\
       jq
   $ jq --version
   jq-1.6
   ```

- Write the setting:

\t```bash
\tsudo echo "x = 1" >> /etc/x.conf
\t```

> ```console
> user@host:~$ sudo apt install curl
> ```

```console
# systemctl enable --now kata-monitor.service
```
"""
FACTS = FixedFacts(units=["kata-monitord.service", "ssh.service"], packages=["curl", "jq"])


def _only(result, steps, facts=FACTS):
    cands = propose(result, steps, facts)
    assert cands, result
    return cands[0]


def _check_with_git(tmp_path, source: str, patched: str, path: str = PATH, newline_bytes: bytes | None = None):
    """The diff applies with `git apply` and gives exactly `patched`; returns the diff."""
    diff = unified_diff(source, patched, path)
    assert diff.startswith(f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n")
    repo = git_repo(tmp_path, {path: source.encode()})
    check = git_apply(repo, diff, check_only=True)
    assert check.returncode == 0, check.stderr + diff
    done = git_apply(repo, diff)
    assert done.returncode == 0, done.stderr
    assert (repo / path).read_bytes() == patched.encode()
    return diff


def _steps_by_line(text: str) -> dict[int, str]:
    return {s.line: s.command for s in parse_text(text, PATH).steps}


def test_continuation_line_in_a_list_item_keeps_indent_prompt_and_backslash(tmp_path):
    steps = steps_of(GUIDE, PATH)
    step = step_at(steps, 6)
    assert step.command == "sudo apt-get install \\\n    jq"
    cand = _only(failed(step, "Do you want to continue? [Y/n] Abort.\n", line_index=0), steps)
    patched = apply_edits(GUIDE, cand.edits, PATH)
    lines = patched.split("\n")
    assert lines[5] == "   $ sudo apt-get install -y \\"
    assert lines[6] == "       jq"  # the continuation line is untouched
    diff = _check_with_git(tmp_path, GUIDE, patched)
    assert "-   $ sudo apt-get install \\\n+   $ sudo apt-get install -y \\\n" in diff
    assert _steps_by_line(patched)[6] == cand.command == "sudo apt-get install -y \\\n    jq"


def test_tab_indented_list_item_keeps_its_tab(tmp_path):
    steps = steps_of(GUIDE, PATH)
    step = step_at(steps, 15)
    cand = _only(failed(step, "bash: line 1: /etc/x.conf: Permission denied\n", line_index=0), steps)
    patched = apply_edits(GUIDE, cand.edits, PATH)
    assert patched.split("\n")[14] == '\techo "x = 1" | sudo tee -a /etc/x.conf >/dev/null'
    _check_with_git(tmp_path, GUIDE, patched)
    assert _steps_by_line(patched)[15] == cand.command == 'echo "x = 1" | sudo tee -a /etc/x.conf >/dev/null'


def test_inserted_step_in_a_quoted_prompted_block_copies_quote_and_prompt(tmp_path):
    steps = steps_of(GUIDE, PATH)
    step = step_at(steps, 19)
    cand = _only(failed(step, "E: Unable to locate package curl\n"), steps)
    assert cand.proposer == "apt-update" and cand.insert_before == ("sudo apt-get update",)
    patched = apply_edits(GUIDE, cand.edits, PATH)
    assert patched.split("\n")[18:21] == ["> user@host:~$ sudo apt-get update",
                                          "> user@host:~$ sudo apt install curl", "> ```"]
    _check_with_git(tmp_path, GUIDE, patched)
    after = _steps_by_line(patched)
    assert after[19] == "sudo apt-get update" and after[20] == "sudo apt install curl"


def test_root_prompt_kept(tmp_path):
    steps = steps_of(GUIDE, PATH)
    step = step_at(steps, 23)
    assert step.prompt == "# "
    cand = _only(failed(step, "Failed to enable unit: Unit file kata-monitor.service does not exist.\n"), steps)
    patched = apply_edits(GUIDE, cand.edits, PATH)
    assert patched.split("\n")[22] == "# systemctl enable --now kata-monitord.service"
    _check_with_git(tmp_path, GUIDE, patched)
    assert _steps_by_line(patched)[23] == "systemctl enable --now kata-monitord.service"


def test_expected_output_in_a_list_item_keeps_the_list_indent(tmp_path):
    steps = steps_of(GUIDE, PATH)
    step = step_at(steps, 8)
    cand = _only(mismatched(step, "jq-1.7.1\n"), steps)
    patched = apply_edits(GUIDE, cand.edits, PATH)
    assert patched.split("\n")[8] == "   jq-1.7.1"
    _check_with_git(tmp_path, GUIDE, patched)
    assert step_at(parse_text(patched, PATH).steps, 8).expected_output == "jq-1.7.1"


def test_a_command_growing_a_continuation_line_gets_the_block_indent(tmp_path):
    edit = Edit(PATH, 8, 8, ("jq --version",), ("jq --version \\", "  --monochrome-output"))
    patched = apply_edits(GUIDE, [edit], PATH)
    assert patched.split("\n")[7:10] == ["   $ jq --version \\", "     --monochrome-output", "   jq-1.6"]
    _check_with_git(tmp_path, GUIDE, patched)
    assert _steps_by_line(patched)[8] == "jq --version \\\n  --monochrome-output"


def test_crlf_file_stays_crlf_and_applies(tmp_path):
    crlf = GUIDE.replace("\n", "\r\n")
    steps = steps_of(crlf, PATH)
    step = step_at(steps, 15)
    cand = _only(failed(step, "bash: line 1: /etc/x.conf: Permission denied\n", line_index=0), steps)
    patched = apply_edits(crlf, cand.edits, PATH)
    assert "\n" not in patched.replace("\r\n", "")
    assert '\techo "x = 1" | sudo tee -a /etc/x.conf >/dev/null\r\n' in patched
    diff = _check_with_git(tmp_path, crlf, patched)
    assert '+\techo "x = 1" | sudo tee -a /etc/x.conf >/dev/null\r\n' in diff
    assert _steps_by_line(patched)[15] == cand.command


def test_last_line_without_newline(tmp_path):
    doc = "# T\n\n    $ sudo apt-get install jq"  # an indented block ending the file, no final newline
    steps = steps_of(doc, PATH)
    cand = _only(failed(steps[0], "Do you want to continue? [Y/n] Abort.\n"), steps)
    patched = apply_edits(doc, cand.edits, PATH)
    assert patched == "# T\n\n    $ sudo apt-get install -y jq"
    diff = _check_with_git(tmp_path, doc, patched)
    assert diff.count("\\ No newline at end of file") == 2


def test_fenced_heredoc_in_list_item_rewritten_on_its_first_line_only(tmp_path):
    doc = """\
# Configure

1. Write the unit:

   ```bash
   sudo cat > /etc/app.conf <<'EOF'
   port = 8080
   EOF
   ```
"""
    steps = steps_of(doc, PATH)
    cand = _only(failed(steps[0], "bash: line 1: /etc/app.conf: Permission denied\n", line_index=0), steps)
    patched = apply_edits(doc, cand.edits, PATH)
    assert patched.split("\n")[5:8] == ["   sudo tee /etc/app.conf >/dev/null <<'EOF'", "   port = 8080", "   EOF"]
    _check_with_git(tmp_path, doc, patched)
    assert parse_text(patched, PATH).steps[0].command == "sudo tee /etc/app.conf >/dev/null <<'EOF'\nport = 8080\nEOF"


def test_doc_changed_since_the_run_is_a_one_line_error():
    edit = Edit(PATH, 8, 8, ("jq --help",), ("jq -h",))
    with pytest.raises(DoctestError) as exc:
        apply_edits(GUIDE, [edit], PATH)
    assert str(exc.value).startswith(f"{PATH}:8: ") and "\n" not in str(exc.value)


def test_overlapping_edits_refused():
    a = Edit(PATH, 8, 8, ("jq --version",), ("jq -V",))
    b = Edit(PATH, 8, 8, ("jq --version",), ("jq --help",))
    with pytest.raises(DoctestError, match=rf"^{PATH}:8: two edits"):
        apply_edits(GUIDE, [a, b], PATH)


def test_suggestion_shows_replaced_lines_as_formatted():
    ins = Edit.insert_before(PATH, 19, "sudo apt install curl", ("sudo apt-get update",))
    assert suggestion(GUIDE, ins) == (19, 19, ["> user@host:~$ sudo apt-get update",
                                               "> user@host:~$ sudo apt install curl"])
    out = Edit(PATH, 9, 9, ("jq-1.6",), ("jq-1.7.1",), "output")
    assert suggestion(GUIDE, out) == (9, 9, ["   jq-1.7.1"])


def test_no_change_no_diff():
    assert unified_diff(GUIDE, GUIDE, PATH) == ""
