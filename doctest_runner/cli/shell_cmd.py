"""`doctest-runner shell [IMAGE]`: a fresh VM and an interactive shell in it as the guide's user.

The VM is the same as a run gets (same image, same user), so what works here works in a run. It is
removed when the shell exits, including on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from doctest_runner.image import build_image
from doctest_runner.model import DoctestError


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("shell", help="boot a fresh VM and open a shell in it",
                              description="Boot a fresh VM from an image and open an interactive shell as the "
                                          "guide's user; the VM is removed when the shell exits.",
                              epilog="exit status: the shell's own; 2 usage error or the VM failed to boot\n\n"
                              "example:\n  doctest-runner shell debian-12 --user root")
    p.add_argument("image", nargs="?", default="debian-12", help="image recipe name or path (default: debian-12)")
    p.add_argument("--user", help="log in as this user instead (e.g. root)")
    p.add_argument("--accel", choices=("kvm", "tcg"), help="override the automatic choice")
    p.add_argument("--memory", type=int, default=2048, metavar="MiB", help="guest memory (default 2048)")
    p.add_argument("--vcpus", type=int, default=2, help="guest CPUs (default 2)")
    p.add_argument("--keep", action="store_true", help="leave the VM running after the shell exits")
    p.add_argument("--cold-boot", action="store_true",
                   help="boot cold instead of restoring the saved booted machine (the one `run` starts guides from)")
    return p


def ssh_argv(key: str, port: int, user: str, host: str = "127.0.0.1") -> list[str]:
    """OpenSSH client command for a throwaway VM (`shell`, and walk's [o]pen shell): its host key is new every
    build or restore, so do not record it."""
    return ["ssh", "-i", key, "-p", str(port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes", f"{user}@{host}"]


def run(args: argparse.Namespace) -> int:
    if not shutil.which("ssh"):
        raise DoctestError("the shell command needs the OpenSSH client (apt-get install openssh-client)")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    image = build_image(args.image, log=log)
    from doctest_runner.vm import decide_host, fresh_machine, new_run_id  # lazy: the VM layer loads paramiko

    # the same start as a run's guide: a restore of the saved booted machine (saved once, on first use), and a
    # cold boot, said in the log, when there is none or it cannot be restored
    with fresh_machine(image, host=decide_host(args.accel), run_id=new_run_id(), memory_mb=args.memory,
                       vcpus=args.vcpus, keep=args.keep, fast=not args.cold_boot, log=log) as m:
        how = f"restored from {m.restored_from.path.name}" if m.restored_from is not None else "cold-booted"
        log(f"{m.name}: {how}; logging in as {args.user or m.user} (exit the shell to remove the VM)")
        return subprocess.run(ssh_argv(str(m.key_path), m.ssh_port, args.user or m.user)).returncode
