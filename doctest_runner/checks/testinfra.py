"""After a guide's steps: what the finished guide promises, checked with pytest-testinfra over the VM's SSH.

Declared checks (sidecar `checks:`) map onto testinfra's own modules (package, service,
file, socket, run); testinfra test modules next to a sidecar run under pytest with
`--hosts` pointing at the VM, so their results land beside the steps.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

from doctest_runner.model import Check, CheckResult, Machine
from doctest_runner.wait import retry


def _ssh_config(machine: Machine, artifacts_dir: Path) -> Path:
    """An ssh_config for testinfra: the VM's forwarded port and key, and its host key pinned in a known_hosts
    file when the machine has one (`Machine.host_key`; checks/pinned.py enforces it for the paramiko backend).
    A machine without a known key (an image built before keys were recorded) is not checked."""
    cfg = artifacts_dir / "ssh_config"
    host_key = machine.host_key
    if host_key:
        known = artifacts_dir / "known_hosts"
        name = machine.ssh_host if machine.ssh_port == 22 else f"[{machine.ssh_host}]:{machine.ssh_port}"
        known.write_text(f"{name} {' '.join(host_key.split()[:2])}\n")
        checking = f'  StrictHostKeyChecking yes\n  UserKnownHostsFile "{known}"\n'
    else:
        checking = "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
    cfg.write_text(
        "Host guest\n"
        f"  HostName {machine.ssh_host}\n"
        f"  Port {machine.ssh_port}\n"
        f"  User {machine.user}\n"
        f'  IdentityFile "{machine.key_path}"\n'
        + checking
    )
    return cfg


def _host(machine: Machine, artifacts_dir: Path, connect_timeout: float = 60):
    """A testinfra host, logged in. A first login can fail while the guest is busy or its SSH goes through a
    remote host's tunnel ("No existing session"): it is retried, so a check fails for what it checks, not for a
    lost handshake. After `connect_timeout` the checks fail with the last error."""
    import paramiko  # lazy: the `vm` extra; `list`, `lint` and reports import checks without it
    import testinfra  # lazy: the `vm` extra (pytest-testinfra), as above

    from doctest_runner.checks.pinned import pin  # lazy: pinned.py imports testinfra and paramiko at its top

    host = pin(testinfra.get_host("paramiko://guest", ssh_config=str(_ssh_config(machine, artifacts_dir))))
    lost = (paramiko.SSHException, OSError, EOFError)
    with contextlib.suppress(*lost):  # out of time: the checks fail with the login's error themselves
        retry(lambda: host.backend.client, timeout=connect_timeout, interval=1, retry_on=lost)  # logs in, once
    return host


def evaluate(host, check: Check) -> CheckResult:
    """One declared check against a testinfra host."""
    e = check.expect
    problems: list[str] = []
    kind = check.kind
    if kind == "package":
        want = bool(e.get("installed", True))
        if host.package(check.target).is_installed != want:
            problems.append("is not installed" if want else "is installed")
    elif kind == "service":
        svc = host.service(check.target)
        if "running" in e or not e:
            want = bool(e.get("running", True))
            if svc.is_running != want:
                problems.append("is not running" if want else "is running")
        if "enabled" in e and svc.is_enabled != bool(e["enabled"]):
            problems.append("is not enabled" if e["enabled"] else "is enabled")
    elif kind == "file":
        f = host.file(check.target)
        want = bool(e.get("exists", True))
        if f.exists != want:
            problems.append("does not exist" if want else "exists")
        elif want:
            if "contains" in e and not f.contains(str(e["contains"])):
                problems.append(f"does not contain {e['contains']!r}")
            if "mode" in e and f.mode != int(str(e["mode"]), 8):
                problems.append(f"has mode {oct(f.mode)}, not {e['mode']}")
    elif kind == "port":
        want = bool(e.get("listening", True))
        if host.socket(check.target).is_listening != want:
            problems.append("is not listening" if want else "is listening")
    elif kind == "command":
        with host.sudo() if e.get("user") == "root" else contextlib.nullcontext():
            res = host.run(check.target)
        expected = e.get("exit", 0)  # the sidecar reader made it an int in 0..255
        want_rc = expected if isinstance(expected, int) else 0
        if res.rc != want_rc:
            tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or [""]
            problems.append(f"exited {res.rc}, not {want_rc}: {tail[0][:200]}")
        if "stdout_contains" in e and str(e["stdout_contains"]) not in res.stdout:
            problems.append(f"output does not contain {e['stdout_contains']!r}")
    else:
        problems.append(f"unknown check kind {kind!r}")
    return CheckResult(check=check, passed=not problems, message="; ".join(problems) or "ok")


def run_modules(machine: Machine, modules: list[str], artifacts_dir: Path) -> list[CheckResult]:
    """Run testinfra test modules with pytest against the VM; one CheckResult per test case."""
    if not modules:
        return []
    cfg = _ssh_config(machine, artifacts_dir)
    junit = artifacts_dir / "checks-junit.xml"
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:doctest_runner",
        "-p", "doctest_runner.checks.pinned",  # the guest's host key enforced there too
        "--hosts=paramiko://guest", f"--ssh-config={cfg}", f"--junitxml={junit}", *modules,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    (artifacts_dir / "checks.log").write_text(proc.stdout + proc.stderr)
    results: list[CheckResult] = []
    if not junit.exists():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
        check = Check(kind="module", target=" ".join(modules))
        return [CheckResult(check=check, passed=False, message=f"pytest did not run: {tail[0]}")]
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped") is not None
        message = "skipped" if skipped else "ok"
        if bad is not None:
            message = (bad.get("message") or "failed").splitlines()[0][:300]
        results.append(CheckResult(check=Check(kind="module", target=name), passed=bad is None, message=message))
    return results


NOT_TRUSTED = ("not run: check modules are Python from the docs repo and run on this host; "
               "pass --trust-check-modules to run them")


def untrusted_modules(modules: list[str]) -> list[CheckResult]:
    """Check modules left alone because the command line did not trust the docs repo: reported, never run.

    Like a skipped test they do not fail the guide (the guide's own steps and declared checks still decide)."""
    return [CheckResult(check=Check(kind="module", target=module), passed=True, message=NOT_TRUSTED)
            for module in modules]


def run_checks(machine: Machine, checks: list[Check], modules: list[str], artifacts_dir: Path, *,
               trust_modules: bool = False) -> list[CheckResult]:
    """All of a guide's checks; a check that cannot even be evaluated fails with the reason.

    `modules` run on this host with pytest, so only when `trust_modules` (`run --trust-check-modules`)."""
    results: list[CheckResult] = []
    if checks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            host = _host(machine, artifacts_dir)
            for check in checks:
                try:
                    results.append(evaluate(host, check))
                except Exception as exc:  # a testinfra error is a failed check, not a harness crash
                    results.append(CheckResult(check=check, passed=False, message=f"{type(exc).__name__}: {exc}"))
    results.extend(run_modules(machine, modules, artifacts_dir) if trust_modules else untrusted_modules(modules))
    return results
