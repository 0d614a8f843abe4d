"""Issue 11, item 1: a doc-set manifest's `git:`/`ref:` never become git options or command-running transports.

The attack: `ref: --upload-pack=touch CANARY` (or the same as the URL, or an `ext::` URL) ran a command on the
host during plain `list`. Now the manifest is refused at its line, git never starts, and even a value that got
past the manifest check could not run anything: every call has `--` before URL and ref, and git may only use
https, ssh (and file, for a local folder in the docs repo).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from untrusted import assert_one_line_error, put, run_cli

from doctest_runner import trust
from doctest_runner.model import DoctestError
from doctest_runner.plan import docset as docset_mod

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _manifest(docs, canary, *, git: str, ref: str, folder: str = "set") -> None:
    put(docs, f"{folder}/doctest-set.yaml", f"""\
        name: evil
        source:
          git: '{git.format(canary=canary)}'
          ref: '{ref.format(canary=canary)}'
        docs: ['*.md']
        """)


HOSTILE = [
    ("https://example.invalid/x.git", "--upload-pack=touch {canary}", "ref must not be empty, start with '-'"),
    ("https://example.invalid/x.git", "-u touch {canary}", "ref must not be empty, start with '-'"),
    ("https://example.invalid/x.git", "main\tx", "ref must not be empty"),
    ("https://example.invalid/x.git", "main..other", "not a valid branch, tag or commit name"),
    ("--upload-pack=touch {canary}", "main", "git URL must not start with '-'"),
    ("ext::sh -c touch% {canary}", "main", "git URL must not start with '-' or hold spaces"),
    ("ext::sh", "main", "git URL must be https://HOST/PATH"),
    ("file:///etc", "main", "git URL scheme 'file' is not allowed"),
    ("http://example.invalid/x.git", "main", "git URL scheme 'http' is not allowed"),
    ("ssh://-oProxyCommand=touch%20{canary}/x", "main", "git URL needs a host name"),
    ("git@-oProxyCommand=x:path", "main", "git URL must be https://HOST/PATH"),
]


def test_hostile_manifests_are_one_line_errors_during_list_and_git_never_runs(docs, canary):
    """Each crafted set is one error line at its own manifest line; the good doc is still listed."""
    names = []
    for i, (git, ref, _message) in enumerate(HOSTILE):
        _manifest(docs, canary, git=git, ref=ref, folder=f"set{i:02}")
        names.append(f"set{i:02}")
    put(docs, "other.md", "# Other\n\n```bash\necho ok\n```\n")
    result = run_cli("list", *names, "other.md", cwd=docs)
    assert "Traceback" not in result.err and result.code == 1
    assert len(result.err_lines) == len(HOSTILE), result.err
    for i, (line, (_git, _ref, message)) in enumerate(zip(result.err_lines, HOSTILE)):
        assert line.startswith(f"set{i:02}/doctest-set.yaml:"), line
        assert message in line, line
    assert "# other.md" in result.out  # the other argument still planned
    assert not canary.exists()
    assert not any("git" in str(p) for p in result.processes()), result.processes()


def test_upload_pack_ref_alone(docs, canary):
    _manifest(docs, canary, git="https://example.invalid/x.git", ref="--upload-pack=touch {canary}")
    result = run_cli("list", "set", cwd=docs)
    line = assert_one_line_error(result, code=2)
    assert line == ("set/doctest-set.yaml:4: ref must not be empty, start with '-' or hold spaces or control "
                    "characters")
    assert not canary.exists() and result.processes() == []


def test_a_local_git_path_outside_the_docs_repo_is_refused(docs, tmp_path, canary):
    bare = tmp_path / "elsewhere.git"
    bare.mkdir()
    _manifest(docs, canary, git=str(bare), ref="main")
    result = run_cli("list", "set", cwd=docs)
    line = assert_one_line_error(result, code=2)
    assert line == ("set/doctest-set.yaml:3: git path "
                    f"'{bare}' is outside the docs tree (absolute paths, '..' and symlinks that leave it are refused)")
    assert result.processes() == []


def test_fetch_git_refuses_hostile_values_before_running_git(tmp_path, canary, monkeypatch):
    """Defence in depth: the fetcher checks again, whatever the caller passes."""
    started = []
    monkeypatch.setattr(docset_mod.subprocess, "run", lambda *a, **k: started.append(a) or None)
    monkeypatch.setenv("DOCTEST_RUNNER_CACHE", str(tmp_path / "cache"))
    for url, ref in [("https://example.invalid/x", f"--upload-pack=touch {canary}"),
                     (f"--upload-pack=touch {canary}", "main"), ("ext::sh -c x", "main")]:
        with pytest.raises(DoctestError):
            docset_mod.fetch_git(url, ref, [])
    assert started == [] and not canary.exists()


def test_git_calls_put_double_dash_before_url_and_ref_and_forbid_ext(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"]
    subprocess.run(["git", *ident, "init", "-q"], cwd=work, check=True)
    put(work, "guide.md")
    subprocess.run(["git", *ident, "add", "-A"], cwd=work, check=True)
    subprocess.run(["git", *ident, "commit", "-qm", "x"], cwd=work, check=True)
    monkeypatch.setenv("DOCTEST_RUNNER_CACHE", str(tmp_path / "cache"))
    calls: list[tuple[list[str], dict]] = []
    real_run = subprocess.run

    def spy(argv, **kw):
        calls.append((list(argv), kw.get("env") or {}))
        return real_run(argv, **kw)

    monkeypatch.setattr(docset_mod.subprocess, "run", spy)
    dest = docset_mod.fetch_git(str(work), "main", [])
    assert (dest / "guide.md").is_file()
    fetches = [argv for argv, _ in calls if "fetch" in argv]
    assert fetches and all(argv[argv.index("--") + 1:] == [str(work), "main"] for argv in fetches)
    for argv, env in calls:
        assert "core.hooksPath=/dev/null" in argv and "core.fsmonitor=false" in argv
        assert env["GIT_ALLOW_PROTOCOL"] == "https:ssh:file"


def test_ext_transport_cannot_run_even_when_handed_to_git(tmp_path, canary):
    """If a URL ever got past the checks, git itself refuses `ext::` under the harness's environment."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    done = subprocess.run(["git", *trust.GIT_SAFE_CONFIG, "fetch", "--", f"ext::sh -c touch% {canary}", "main"],
                          cwd=repo, env=trust.git_env(local=False), capture_output=True, text=True)
    assert done.returncode != 0 and not canary.exists()
    assert "transport 'ext' not allowed" in done.stderr


@pytest.mark.parametrize("url, ok", [
    ("https://github.com/kata-containers/kata-containers", True),
    ("ssh://git@example.com:2222/org/repo.git", True),
    ("git@github.com:org/repo.git", True),
    ("https://example.com", False),
    ("git://example.com/repo", False),
    ("https://exa mple.com/x", False),
])
def test_url_rule(url, ok):
    assert (trust.git_url_problem(url) is None) == ok


@pytest.mark.parametrize("ref, ok", [
    ("main", True), ("v3.12.0", True), ("release/3.x", True), ("HEAD", True),
    ("7c6ba40c54ea29b459b4997cff948caaba4e658b", True),
    ("-x", False), ("a..b", False), ("a b", False), ("x.lock", False), ("a/.b", False), ("@{1}", False),
    ("refs//x", False), ("x/", False), ("", False), ("a\x7fb", False), ("a:b", False),
])
def test_ref_rule(ref, ok):
    assert (trust.git_ref_problem(ref) is None) == ok
