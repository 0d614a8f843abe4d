"""Build a Debian image from Debian's packages with debootstrap, in two cached stages.

Stage 1 (slow, ~1-2 min): debootstrap + apt lists, kept as a tarball keyed by only the fields that
affect it (suite, mirror, packages, sources), so a tweak to the configuration does not re-download.
Stage 2 (seconds): unpack, configure (user, keys, hostname, network, fstab, initramfs), make an ext4
filesystem straight from the directory (`mkfs.ext4 -d`: no loop devices or mounts needed), convert to
qcow2, and take the kernel and initrd out for direct kernel boot.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from doctest_runner.image.cache import file_lock, host_key_line, remove_tree
from doctest_runner.image.recipe import Recipe, recipe_hash
from doctest_runner.model import DoctestError
from doctest_runner.trust import guest_write_path

Log = Callable[[str], None]

STAGE1_KEYS = ("suite", "mirror", "components", "variant", "packages", "extra_packages", "apt_sources", "apt_update",
               "command_index")
# `command_index`: which package ships which command, for fix proposals ("install the package that provides
# `jq`"). apt fetches the signed Contents index once, at build time, through this target (the one apt-file
# declares); the bin/ and sbin/ entries are kept as `command section/package,...` lines in COMMAND_INDEX, and the
# apt target and its index files are removed again, so the guest's apt behaves as a fresh install's.
COMMAND_INDEX = "/usr/share/doctest-runner/commands"
_CONTENTS_CONF = "/etc/apt/apt.conf.d/49doctest-contents"
_CONTENTS_TARGET = (
    'Acquire::IndexTargets::deb::Contents-deb {\n'
    '  MetaKey "$(COMPONENT)/Contents-$(ARCHITECTURE)";\n'
    '  ShortDescription "Contents-$(ARCHITECTURE)";\n'
    '  Description "$(RELEASE)/$(COMPONENT) $(ARCHITECTURE) Contents (deb)";\n'
    '  KeepCompressed "true";\n'
    '};\n'
)
_EXTRACT_COMMANDS = (
    "set -e; mkdir -p /usr/share/doctest-runner; "
    "for f in /var/lib/apt/lists/*_Contents-*; do [ -e \"$f\" ] && /usr/lib/apt/apt-helper cat-file \"$f\"; done "
    "| grep -E '^(usr/)?(local/)?s?bin/[^/[:space:]]+[[:space:]]' "
    "| sed -E 's|^[^[:space:]]*/([^/[:space:]]+)[[:space:]]+|\\1 |' | LC_ALL=C sort -u > " + COMMAND_INDEX + "; "
    "test -s " + COMMAND_INDEX
)
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
    "HOME": "/root",
}


def run_logged(argv: list[str], log_file: Path, what: str, *, env: dict[str, str] | None = None,
               cwd: Path | None = None) -> None:
    """Run a build command with its output appended to the build log; on failure say what and show the tail."""
    with open(log_file, "a") as fh:
        fh.write(f"\n$ {' '.join(argv)}\n")
        fh.flush()
        res = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    if res.returncode != 0:
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-15:])
        raise DoctestError(f"{what} failed (exit {res.returncode}); see {log_file}; last lines:\n{tail}")


def stage1_key(recipe: Recipe) -> str:
    return recipe_hash({k: recipe.data.get(k) for k in STAGE1_KEYS}, "stage1")


def build_rootfs(recipe: Recipe, idir: Path, log: Log) -> Path:
    """Stage 1: a debootstrapped root filesystem as a tarball, reused across configuration changes."""
    key = stage1_key(recipe)
    out = idir / ".rootfs" / f"{recipe.get('suite')}-{key}.tar"
    if out.exists():
        log(f"rootfs {out.name}: cached")
        return out
    with file_lock(idir / ".locks" / f"rootfs-{key}.lock", log, f"rootfs {key}"):
        if out.exists():
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = idir / f".tmp-rootfs-{key}-{os.getpid()}"
        remove_tree(tmp)
        tmp.mkdir(parents=True)
        root = tmp / "root"
        blog = tmp / "debootstrap.log"
        try:
            debs = idir / ".debs"
            debs.mkdir(exist_ok=True)
            # `extra_packages` go in with apt-get afterwards: debootstrap's --include does not order the
            # configuration of packages with deep dependency trees (cloud-init's python3-cryptography fails).
            argv = ["debootstrap", f"--include={','.join(recipe.get('packages'))}",
                    f"--components={','.join(recipe.get('components'))}", f"--cache-dir={debs}"]
            if recipe.get("variant"):
                argv.append(f"--variant={recipe.get('variant')}")
            argv += [recipe.get("suite"), str(root), recipe.get("mirror")]
            t0 = time.monotonic()
            log(f"debootstrap {recipe.get('suite')} from {recipe.get('mirror')} "
                f"({len(recipe.get('packages'))} packages) ...")
            try:
                run_logged(argv, blog, "debootstrap")
            except DoctestError:
                inner = root / "debootstrap" / "debootstrap.log"
                if inner.exists():  # the useful detail is in the tree that is about to be deleted
                    kept = idir / ".rootfs" / f"{recipe.get('suite')}-{key}.failed.log"
                    shutil.copy(inner, kept)
                    tail = "\n".join(inner.read_text(errors="replace").splitlines()[-15:])
                    raise DoctestError(f"debootstrap failed; details in {kept}; last lines:\n{tail}") from None
                raise
            log(f"debootstrap done in {time.monotonic() - t0:.0f} s")
            if recipe.get("apt_sources"):
                (root / "etc/apt/sources.list").write_text("\n".join(recipe.get("apt_sources")) + "\n")
            extra = [p for p in recipe.get("extra_packages") if p not in recipe.get("packages")]
            if recipe.get("apt_update") or extra:
                # debootstrap left the host's resolv.conf in the tree, so apt can resolve the mirror here.
                run_logged(["chroot", str(root), "apt-get", "-q", "update"], blog, "apt-get update (in the image)",
                           env=CHROOT_ENV)
            if extra:
                log(f"apt-get install {' '.join(extra)} (in the image) ...")
                with _chroot_mounts(root):
                    run_logged(["chroot", str(root), "apt-get", "-q", "-y", "install", *extra], blog,
                               f"apt-get install {' '.join(extra)} (in the image)", env=CHROOT_ENV)
            if recipe.get("command_index"):
                _command_index(root, blog, log, keep_lists=bool(recipe.get("apt_update") or extra))
            run_logged(["chroot", str(root), "apt-get", "clean"], blog, "apt-get clean", env=CHROOT_ENV)
            part = out.with_suffix(f".part{os.getpid()}")
            run_logged(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", str(root), "-cf",
                        str(part), "."], blog, "tar of the rootfs")
            os.replace(part, out)
            shutil.copy(blog, out.with_suffix(".log"))
        finally:
            remove_tree(tmp)
    return out


def _command_index(root: Path, blog: Path, log: Log, *, keep_lists: bool) -> None:
    """COMMAND_INDEX from the mirror's Contents files, fetched by a second `apt-get update` with the Contents
    target on. Best effort: the index only helps fix proposals, so a mirror that serves a Contents file apt
    refuses ("File has unexpected size ... Mirror sync in progress?") costs the index, never the image. The
    target and the Contents files go again either way (and the package lists when the recipe wants none)."""
    _write(root, _CONTENTS_CONF, _CONTENTS_TARGET)
    try:
        run_logged(["chroot", str(root), "apt-get", "-q", "update"], blog,
                   "apt-get update with Contents (in the image)", env=CHROOT_ENV)
        run_logged(["chroot", str(root), "sh", "-c", _EXTRACT_COMMANDS], blog,
                   "the command index (from apt's Contents files)", env=CHROOT_ENV)
    except DoctestError as exc:
        log(f"command index not built ({str(exc).splitlines()[0]}): fix proposals will not name the package of a "
            "missing command")
        (root / COMMAND_INDEX.lstrip("/")).unlink(missing_ok=True)
    finally:
        (root / _CONTENTS_CONF.lstrip("/")).unlink(missing_ok=True)
        for f in (root / "var/lib/apt/lists").glob("*_Contents-*"):
            f.unlink()
        if not keep_lists:
            for f in (root / "var/lib/apt/lists").iterdir():
                if f.is_file() and f.name != "lock":
                    f.unlink()


@contextlib.contextmanager
def _chroot_mounts(root: Path) -> Iterator[None]:
    """/proc for maintainer scripts, and a policy-rc.d so no service starts on the build host."""
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    os.chmod(policy, 0o755)
    proc = root / "proc"
    mounted = subprocess.run(["mount", "-t", "proc", "proc", str(proc)], capture_output=True).returncode == 0
    try:
        yield
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(proc)], capture_output=True)
        policy.unlink(missing_ok=True)


def _passwd_ids(root: Path, user: str) -> tuple[int, int, str]:
    for line in (root / "etc/passwd").read_text().splitlines():
        f = line.split(":")
        if f[0] == user:
            return int(f[2]), int(f[3]), f[5]
    raise DoctestError(f"user {user} missing from the image")


def _write(root: Path, guest_path: str, text: str, mode: int = 0o644, uid: int = 0, gid: int = 0) -> None:
    """Write a file of the image; `guest_write_path` keeps it under `root` (no '..', no symlinked folder out)."""
    p = guest_write_path(root, guest_path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.is_symlink():
        p.unlink()
    p.write_text(text)
    os.chmod(p, mode)
    os.chown(p, uid, gid)


def _install_key(root: Path, home: str, pubkey: str, uid: int, gid: int) -> None:
    ssh = root / home.lstrip("/") / ".ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    os.chmod(ssh, 0o700)
    os.chown(ssh, uid, gid)
    _write(root, f"{home}/.ssh/authorized_keys", pubkey + "\n", 0o600, uid, gid)


def hosts_file(hostname: str) -> str:
    """/etc/hosts with the hostname on 127.0.1.1, as the Debian installer writes it (else every sudo warns)."""
    return (f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")


def configure_rootfs(root: Path, recipe: Recipe, pubkey: str, log_file: Path) -> None:
    """Stage 2: everything that makes a debootstrap tree a bootable, reachable machine."""
    hostname = recipe.get("hostname")
    _write(root, "/etc/hostname", hostname + "\n")
    _write(root, "/etc/hosts", hosts_file(hostname))
    _write(root, "/etc/fstab", "# <file system> <mount point> <type> <options> <dump> <pass>\n"
                               "/dev/vda\t/\text4\trw,errors=remount-ro\t0\t1\n")
    _write(root, "/etc/default/locale", "LANG=C.UTF-8\n")
    # slirp's DNS; dhclient rewrites it at boot. Never keep the build host's resolv.conf.
    _write(root, "/etc/resolv.conf", "nameserver 10.0.2.3\n")
    network = recipe.get("network")
    if network in ("ifupdown", "networkd"):
        _write(root, "/etc/network/interfaces",
               "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n")
    if network == "ifupdown":
        _write(root, "/etc/network/interfaces.d/eth0", "allow-hotplug eth0\niface eth0 inet dhcp\n")
    elif network == "networkd":
        # systemd-networkd's built-in DHCP client: about 3 s sooner to network.target (and sshd) under TCG
        # than ifupdown's dhclient scripts. DNS stays the static slirp resolver written above.
        _write(root, "/etc/systemd/network/20-doctest-dhcp.network",
               "[Match]\nType=ether\n\n[Network]\nDHCP=ipv4\n")
        run_logged(["chroot", str(root), "systemctl", "enable", "systemd-networkd.service"], log_file,
                   "enabling systemd-networkd", env=CHROOT_ENV)
    for unit in recipe.get("mask_units"):
        link = guest_write_path(root, f"/etc/systemd/system/{unit}")
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to("/dev/null")
    # Fresh host keys for every image build (the tarball's keys were made once, in stage 1).
    for p in (root / "etc/ssh").glob("ssh_host_*"):
        p.unlink()
    run_logged(["ssh-keygen", "-A", "-f", str(root)], log_file, "ssh host key generation")
    _write(root, "/etc/ssh/sshd_config.d/10-doctest.conf",
           "# doctest-runner: key logins only, and no reverse DNS wait on login\n"
           "PasswordAuthentication no\nUseDNS no\n")
    if recipe.get("ssh_early"):
        _ssh_early(root)
    user = recipe.data.get("user", "tester")
    if user:
        run_logged(["chroot", str(root), "useradd", "--create-home", "--shell", "/bin/bash", "--groups", "sudo,users",
                    user], log_file, f"useradd {user}", env=CHROOT_ENV)
        # '*' (not '!'): no password, but not a "locked" account that sshd would refuse.
        run_logged(["chroot", str(root), "usermod", "-p", "*", user], log_file, "usermod", env=CHROOT_ENV)
        _write(root, f"/etc/sudoers.d/90-doctest-{user}", f"{user} ALL=(ALL:ALL) NOPASSWD: ALL\n", 0o440)
        uid, gid, home = _passwd_ids(root, user)
        _install_key(root, home, pubkey, uid, gid)
        if recipe.get("linger"):
            # `loginctl enable-linger`: the user's systemd starts during boot instead of inside the first
            # SSH login, where under TCG it is the slowest part of getting a shell.
            _write(root, f"/var/lib/systemd/linger/{user}", "")
        _install_key(root, "/root", pubkey, 0, 0)
    for path, content in recipe.get("files").items():
        _write(root, path, content)
    mods = recipe.get("initramfs_modules")
    if mods:
        _write(root, "/etc/initramfs-tools/conf.d/doctest", "MODULES=list\n")
        _write(root, "/etc/initramfs-tools/modules", "\n".join(mods) + "\n")
        run_logged(["chroot", str(root), "update-initramfs", "-u", "-k", "all"], log_file, "update-initramfs",
                   env=CHROOT_ENV)


def _ssh_early(root: Path) -> None:
    """Start sshd without waiting for network.target (it listens on 0.0.0.0 anyway) and without the
    `sshd -t` pre-check: under TCG this makes the VM reachable seconds sooner. A copy in /etc overrides the
    packaged unit; only ordering and the pre-check differ."""
    for d in ("usr/lib/systemd/system", "lib/systemd/system"):
        unit = root / d / "ssh.service"
        if unit.exists():
            break
    else:
        return
    lines = []
    for line in unit.read_text().splitlines():
        if line.startswith("After="):
            kept = [u for u in line[len("After="):].split() if u != "network.target"]
            if not kept:
                continue
            line = "After=" + " ".join(kept)
        if line.startswith("ExecStartPre=/usr/sbin/sshd -t"):
            continue
        lines.append(line)
    _write(root, "/etc/systemd/system/ssh.service",
           "# doctest-runner: the packaged unit without network.target ordering and the sshd -t pre-check\n"
           + "\n".join(lines) + "\n")


def version_key(name: str) -> list:
    """Sort key that orders kernel file names by version (`vmlinuz-6.1.0-10` after `vmlinuz-6.1.0-9`)."""
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", name)]


def kernel_files(root: Path) -> tuple[Path, Path]:
    """The newest kernel and its initrd in /boot."""
    kernels = sorted((root / "boot").glob("vmlinuz-*"), key=lambda p: version_key(p.name))
    if not kernels:
        raise DoctestError("no kernel in /boot of the image (is linux-image-* in packages?)")
    k = kernels[-1]
    initrd = root / "boot" / ("initrd.img-" + k.name[len("vmlinuz-"):])
    if not initrd.exists():
        raise DoctestError(f"no initrd for {k.name} in /boot of the image")
    return k, initrd


def make_disk(root: Path, size: str, out: Path, log_file: Path) -> None:
    """An unpartitioned ext4 filesystem (root=/dev/vda) populated from `root`, as a sparse qcow2."""
    raw = out.with_suffix(".raw")
    run_logged(["truncate", "-s", size, str(raw)], log_file, "truncate")
    run_logged(["mkfs.ext4", "-q", "-F", "-L", "doctest-root", "-d", str(root), str(raw)], log_file,
               "mkfs.ext4 -d")
    run_logged(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(out)], log_file, "qemu-img convert")
    raw.unlink()


def rootfs_host_key(root: Path) -> str:
    """The ed25519 host key `ssh-keygen -A` made in the tree, as `type base64`: the image manifest keeps it
    so every cold boot of the image is pinned to it (vm.boot)."""
    try:
        return host_key_line((root / "etc/ssh/ssh_host_ed25519_key.pub").read_text())
    except OSError as exc:
        raise DoctestError(f"the image build made no ed25519 host key: {exc.strerror}") from None


def build_debootstrap(recipe: Recipe, work: Path, idir: Path, pubkey: str, log: Log) -> dict:
    """Build into `work` (a fresh temp dir); returns the manifest fields."""
    tar = build_rootfs(recipe, idir, log)
    log_file = work / "build.log"
    root = work / "root"
    root.mkdir()
    t0 = time.monotonic()
    run_logged(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", str(root), "-xpf", str(tar)],
               log_file, "unpacking the rootfs")
    configure_rootfs(root, recipe, pubkey, log_file)
    host_key = rootfs_host_key(root)
    kernel, initrd = kernel_files(root)
    shutil.copy(kernel, work / "vmlinuz")
    shutil.copy(initrd, work / "initrd.img")
    make_disk(root, recipe.get("disk_size"), work / "base.qcow2", log_file)
    remove_tree(root)
    log(f"configured and packed in {time.monotonic() - t0:.0f} s")
    return {"base": "base.qcow2", "kernel": "vmlinuz", "initrd": "initrd.img", "cmdline": recipe.get("cmdline"),
            "user": recipe.data.get("user", "tester") or "root", "kernel_version": kernel.name[len("vmlinuz-"):],
            "host_key": host_key}
