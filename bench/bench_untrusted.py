"""Peak memory and time of `lint` and `list` on crafted, hostile inputs (issue #11 items 5-7).

Each input is written to a temporary folder, then `doctest-runner list` and `doctest-runner lint`
run on it in a child process; the figures are the child's wall time, exit status, the peak RSS of
the child and everything it waited for (`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`, measured
in a fresh middle process per command so one command's peak never hides behind another's; this
includes bash, shellcheck and git), and the first error line. Figures only: nothing is asserted
about time; a peak over 1 GiB is flagged with "OVER".

    python bench/bench_untrusted.py                 # every input
    python bench/bench_untrusted.py --only big-doc  # one input (names: --list)
    python bench/bench_untrusted.py --keep DIR      # write the inputs to DIR and keep them
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

LIMIT_KB = 1024 * 1024  # 1 GiB, the ceiling for `lint` and `list`
TIMEOUT_S = 900

# ----------------------------------------------------------------------------------- the inputs


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", errors="surrogatepass")


def marker_heredoc(folder: Path) -> None:
    """A heredoc whose delimiter and body hold the co-process's old answer markers, then a victim."""
    _write(folder, {
        "a.md": "# A\n\n```console\n$ cat <<'EOF\n__DR_DONE 0\n__DR_END\nX'\n```\n\n"
                "```console\n$ cat <<EOF\n__DR_DONE 0\n__DR_END\nEOF\n```\n",
        "b.md": "# B\n\n```console\n$ echo one\none\n$ if true; then\n>   echo two\n> fi\ntwo\n```\n",
    })


def regex_backtracking(folder: Path) -> None:
    """`command_re: (a+)+$` against a 5,000-character `aaaa…b` command."""
    _write(folder, {
        "guide.md": "# Guide\n\n```bash\necho " + "a" * 5000 + "b\n```\n",
        "guide.doctest.yaml": "steps:\n  - command_re: (a+)+$\n    skip: true\n",
    })


def yaml_alias_bomb(folder: Path) -> None:
    """A billion laughs in a file check's `mode:` (its value used to be repr'd into the error)."""
    lines = ['x0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"x{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    sidecar = "\n".join(lines) + "\nchecks:\n  - file: /etc/hosts\n    mode: *l9\n"
    _write(folder, {"guide.md": "# Guide\n\n```bash\nls\n```\n", "guide.doctest.yaml": sidecar})


def yaml_deep(folder: Path) -> None:
    """A sidecar nested 500 levels deep (was a RecursionError)."""
    sidecar = "steps:\n" + "".join("  " * (i + 1) + "- x:\n" for i in range(500)) + "  " * 501 + "- 1\n"
    _write(folder, {"guide.md": "# Guide\n\n```bash\nls\n```\n", "guide.doctest.yaml": sidecar})


def yaml_deep_flow(folder: Path) -> None:
    """The same in flow style: 100,000 nested brackets on one line."""
    sidecar = "vars: " + "[" * 100_000 + "]" * 100_000 + "\n"
    _write(folder, {"guide.md": "# Guide\n\n```bash\nls\n```\n", "guide.doctest.yaml": sidecar})


def surrogate(folder: Path) -> None:
    """A lone surrogate through a YAML escape in every kind of sidecar value."""
    sidecar = ('image: "debian-12"\nvars:\n  V: "a\\ud800b"\nsetup: "echo \\ud800"\n'
               'checks:\n  - file: "/etc/\\ud800"\nsteps:\n  - line: 3\n    reason: "r\\udfff"\n    skip: true\n')
    _write(folder, {"guide.md": "# Guide\n\n```bash\nls\n```\n", "guide.doctest.yaml": sidecar})


def deep_substitution(folder: Path) -> None:
    """A step of 3,000 nested `$(` (shellcheck took 19 GB on it), then an ordinary step."""
    n = 3000
    step = "echo " + "$(echo " * n + "x" + ")" * n
    _write(folder, {"deep.md": f"# Deep\n\n```bash\n{step}\n```\n\n```bash\nls /tmp\n```\n"})


def deep_substitution_small(folder: Path) -> None:
    """The issue's 4.5 KB step: 500 nested `$(` (shellcheck took 33 s and 4.5 GB)."""
    n = 500
    step = "echo " + "$(echo " * n + "x" + ")" * n
    _write(folder, {"deep.md": f"# Deep\n\n```bash\n{step}\n```\n"})


def big_doc(folder: Path, megabytes: float = 5.0) -> None:
    """A command-dense 5 MB guide: prompted commands, substitutions, heredocs, placeholders, loops."""
    section = (
        "## Part {i}\n\nInstall the package and configure it.\n\n"
        "```console\n"
        "$ sudo apt-get install -y pkg{i} curl\n"
        "$ export VERSION_{i}=$(curl -s https://example.invalid/v{i} | jq -r .tag)\n"
        "$ curl -fsSL https://example.invalid/{i}.tar.gz | sudo tar -xz -C /opt\n"
        '$ sudo echo "x={i}" > /etc/pkg{i}.conf\n'
        "$ cat <<EOF | sudo tee /etc/pkg{i}.yaml\nkey: {i}\nEOF\nkey: {i}\n"
        "$ echo $VERSION_{i} <placeholder-{i}>\n"
        "```\n\n"
        "```bash\n"
        'for f in /opt/pkg{i}/*; do\n  if [ -f "$f" ]; then echo "$f"; fi\ndone\n'
        "sudo systemctl restart pkg{i}\n"
        "```\n\n"
    )
    parts, size, i = [], 0, 0
    while size < megabytes * 1024 * 1024:
        text = section.format(i=i)
        parts.append(text)
        size += len(text)
        i += 1
    _write(folder, {"big.md": "# Big\n\n" + "".join(parts)})


def doc_at_lint_limit(folder: Path) -> None:
    """The same, 0.95 MB: just under lint's doc size limit, so lint reads it (and its time budget applies)."""
    big_doc(folder, 0.95)


INPUTS: dict[str, Callable[[Path], None]] = {
    "marker-heredoc": marker_heredoc,
    "regex-backtracking": regex_backtracking,
    "yaml-alias-bomb": yaml_alias_bomb,
    "yaml-deep": yaml_deep,
    "yaml-deep-flow": yaml_deep_flow,
    "surrogate": surrogate,
    "deep-substitution": deep_substitution,
    "deep-substitution-500": deep_substitution_small,
    "big-doc": big_doc,
    "doc-at-lint-limit": doc_at_lint_limit,
}

# ----------------------------------------------------------------------------------- measuring

_CHILD = r"""
import json, resource, subprocess, sys, time
t = time.monotonic()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True, errors="replace", timeout=float(%d))
dt = time.monotonic() - t
err = [ln for ln in p.stderr.splitlines() if ln.strip()]
print(json.dumps({"rc": p.returncode, "s": dt, "kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "err": err[:3], "nerr": len(err), "tail": p.stdout.splitlines()[-1:] if p.stdout else []}))
""" % TIMEOUT_S


def measure(args: list[str], cwd: Path) -> dict:
    """Run `doctest-runner ARGS` below a fresh middle process that reports its children's peak RSS."""
    env = dict(os.environ, DOCTEST_RUNNER_CACHE=str(cwd / ".cache"))
    cmd = [sys.executable, "-c", _CHILD, sys.executable, "-m", "doctest_runner", *args]
    try:
        out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S + 30)
        return json.loads(out.stdout)
    except (subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        return {"rc": None, "s": float("nan"), "kb": 0, "err": [f"bench: {type(exc).__name__}"], "nerr": 1, "tail": []}


def _report(name: str, command: str, r: dict) -> None:
    flag = "OVER" if r["kb"] > LIMIT_KB else "ok"
    first = (r["err"][0] if r["err"] else (r["tail"][0] if r["tail"] else ""))[:150]
    print(f"{name:24s} {command:5s} rc={r['rc']!s:4s} {r['s']:7.2f} s  peak {r['kb'] / 1024:8.1f} MiB {flag:4s} "
          f"errors={r['nerr']:<3d} {first}")


def bench_codeowners() -> None:
    """CODEOWNERS: a line of 200 `**` against a 2,000-character path, timed in this process."""
    import time

    from doctest_runner.report.codeowners import parse_codeowners

    path = "/".join(["d"] * 1000) + "/guide.md"
    text = "/".join(["**"] * 200) + "/x.md @a\n" + "**/" * 200 + "*.md @b\n"
    t = time.monotonic()
    owners = parse_codeowners(text, "CODEOWNERS", root=Path("/nonexistent")).owners_for(path)
    print(f"{'codeowners-200-stars':24s} match {time.monotonic() - t:7.3f} s  owners={owners}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", action="append", choices=sorted(INPUTS), help="run only this input (repeatable)")
    ap.add_argument("--keep", metavar="DIR", help="write the inputs below DIR and keep them")
    ap.add_argument("--list", action="store_true", help="print the input names and exit")
    opts = ap.parse_args()
    if opts.list:
        for name, fn in INPUTS.items():
            print(f"{name:24s} {(fn.__doc__ or '').strip()}")
        return 0
    base = Path(opts.keep) if opts.keep else Path(tempfile.mkdtemp(prefix="bench-untrusted-"))
    try:
        for name in opts.only or list(INPUTS):
            folder = base / name
            folder.mkdir(parents=True, exist_ok=True)
            INPUTS[name](folder)
            for command in ("list", "lint"):
                _report(name, command, measure([command, "."], folder))
        if not opts.only:
            bench_codeowners()
    finally:
        if not opts.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
