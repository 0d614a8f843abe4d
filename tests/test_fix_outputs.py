"""fix/outputs.py: patches for verified fixes only (applied here with real `git apply` from the doc set root),
fixes.md with GitHub suggestion blocks, and the report.json record of each candidate."""

from __future__ import annotations

from pathlib import Path

from fix_support import FixedFacts, failed, git_apply, git_repo, step_at

from doctest_runner.fix import Fix, Verdict, fix_record, propose, write_fixes
from doctest_runner.parse import parse_file

REPO = Path(__file__).resolve().parents[1]
EX = REPO / "docs_under_test/examples"


def _fixes(root: Path) -> list[Fix]:
    """A verified permission fix (ip-forward) and a rejected interactive one (install-jq), docs under `root`."""
    out = []
    ip = parse_file(root / "guides/ip-forward.md", str(root / "guides/ip-forward.md")).steps
    res = failed(step_at(ip, 10), "bash: line 2: /etc/sysctl.d/99-containers.conf: Permission denied\n",
                 line_index=1)
    [cand] = propose(res, ip, FixedFacts())
    out.append(Fix(cand, Verdict("verified", "the guide passes to the end with this change", 11, None, 12.3)))
    jq = parse_file(root / "guides/install-jq.md", str(root / "guides/install-jq.md")).steps
    res = failed(step_at(jq, 7), "Do you want to continue? [Y/n] Abort.\n")
    [cand] = propose(res, jq, FixedFacts())
    out.append(Fix(cand, Verdict("rejected", "the fixed step still fails: x:7 (network)", 7, 7, 3.0)))
    return out


def _docset(tmp_path: Path) -> Path:
    files = {f"guides/{n}": (EX / n).read_bytes() for n in ("ip-forward.md", "install-jq.md")}
    return git_repo(tmp_path, files)


def test_patch_written_for_the_verified_fix_only_and_applies(tmp_path):
    root = _docset(tmp_path)
    out = tmp_path / "out"
    written = write_fixes(out, _fixes(root), root=str(root))
    assert written == {str(root / "guides/ip-forward.md"): "fixes/guides/ip-forward.md.patch"}
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.patch")) == ["fixes/guides/ip-forward.md.patch"]
    patch = (out / "fixes/guides/ip-forward.md.patch").read_text()
    assert patch.startswith("diff --git a/guides/ip-forward.md b/guides/ip-forward.md\n")
    assert git_apply(root, patch, check_only=True).returncode == 0
    assert git_apply(root, patch).returncode == 0
    text = (root / "guides/ip-forward.md").read_text()
    assert 'echo "net.ipv4.ip_forward = 1" | sudo tee -a /etc/sysctl.d/99-containers.conf >/dev/null\n' in text
    steps = parse_file(root / "guides/ip-forward.md").steps
    assert steps[0].command.split("\n")[1].endswith("| sudo tee -a /etc/sysctl.d/99-containers.conf >/dev/null")


def test_fixes_md_has_a_suggestion_per_fix(tmp_path):
    root = _docset(tmp_path)
    out = tmp_path / "out"
    write_fixes(out, _fixes(root), root=str(root))
    md = (out / "fixes.md").read_text()
    ip = f"{root}/guides/ip-forward.md"
    assert f"### {ip}:10: permission: verified (12.3 s)" in md
    assert "```suggestion\n" 'echo "net.ipv4.ip_forward = 1" | sudo tee -a /etc/sysctl.d/99-containers.conf' \
        " >/dev/null\n```" in md
    assert f"`{ip}` line 11:" in md
    assert "Verified patch: `fixes/guides/ip-forward.md.patch`" in md
    assert "interactive: rejected (3.0 s)" in md
    assert "```suggestion\n$ sudo apt-get install -y jq\n```" in md  # the prompt is part of the doc line
    assert "Verification: the fixed step still fails: x:7 (network)." in md


def test_changed_doc_gets_no_patch_and_says_why(tmp_path):
    root = _docset(tmp_path)
    fixes = _fixes(root)
    (root / "guides/ip-forward.md").write_text("# Rewritten since the run\n")
    out = tmp_path / "out"
    assert write_fixes(out, fixes, root=str(root)) == {}
    md = (out / "fixes.md").read_text()
    assert f"No patch: {root}/guides/ip-forward.md:11: the doc does not hold" in md
    assert not list(out.rglob("*.patch"))


def test_report_record(tmp_path):
    fix = _fixes(_docset(tmp_path))[0]
    rec = fix_record(fix, "fixes/guides/ip-forward.md.patch")
    assert rec["verdict"] == "verified" and rec["duration_s"] == 12.3 and rec["before_line"] == 11
    assert rec["proposer"] == "sudo-tee" and rec["category"] == "permission" and rec["placeholder"] is False
    assert rec["edits"] == [{"path": fix.candidate.edits[0].path, "line": 11, "end_line": 11,
                             "new": ['echo "net.ipv4.ip_forward = 1" | sudo tee -a '
                                     '/etc/sysctl.d/99-containers.conf >/dev/null'],
                             "old": list(fix.candidate.edits[0].old), "role": "command", "anchor": ""}]
    assert rec["edits"][0]["old"] and rec["expected_output"] is None
    assert rec["patch"] == "fixes/guides/ip-forward.md.patch"


def test_doc_outside_the_root_gets_no_patch(tmp_path):
    root = _docset(tmp_path)
    out = tmp_path / "out"
    assert write_fixes(out, _fixes(root), root=str(root / "guides" / "sub")) == {}
    assert "outside the doc set root" in (out / "fixes.md").read_text()
    assert not list(tmp_path.rglob("*.patch"))
