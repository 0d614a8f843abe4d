"""The platform vocabulary: operating systems, distributions, families, versions, architectures, tools.

One place that knows that "Rocky 9" is a RHEL-family Linux, that `zypper` is openSUSE's package
manager and that "Debian/Ubuntu" fits a Debian 12 image. Everything else (which heading is a
platform section, which step to skip) asks here, so a new distribution is one table row.

A title or a tool names a `Target` (an OS, a family, a distribution with an optional version
constraint, or an architecture); `match(target, platform)` says how well it fits the image:

    EXACT      the image's distribution (and release, when a version is given)
    DISTRO     the image's distribution, another release ("Debian 11" on debian-12)
    FAMILY     another distribution of the image's family ("Ubuntu" on debian-12)
    GENERIC    a whole family or OS ("Linux", "APT-based systems", "Debian/Ubuntu" counts as EXACT)
    NONE       another OS, family or architecture

An image whose distribution is unknown (`distro: unknown`) matches every distribution of its OS at
FAMILY level: nothing of its OS is skipped, but another OS's sections still are.

WSL: a WSL section is about Linux *under a Windows host* (`wsl --install`, `/mnt/c`, Docker Desktop's
WSL backend); what sets it apart from the guide's Linux section is exactly the Windows side, which a
Linux VM does not have. So WSL is its own OS here ("wsl"): skipped on a Linux image, with the reason
saying so, while the guide's plain Linux section runs.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

from doctest_runner.image import Recipe, load_recipe
from doctest_runner.model import DoctestError, Platform

DEFAULT_IMAGE = "debian-12"

# match levels, best first
EXACT, DISTRO, GENERIC, FAMILY, NONE = 4, 3, 2, 1, 0


@dataclass(frozen=True)
class Distro:
    id: str
    name: str  # how reasons print it
    family: str
    package_manager: str
    aliases: tuple[str, ...]  # lowercase word sequences ("red hat", "rocky linux")
    codenames: tuple[tuple[str, str], ...] = ()  # (codename, release)
    os: str = "linux"


DISTROS: tuple[Distro, ...] = (
    Distro("debian", "Debian", "debian", "apt", ("debian",),
           (("stretch", "9"), ("buster", "10"), ("bullseye", "11"), ("bookworm", "12"), ("trixie", "13"),
            ("forky", "14"))),
    Distro("ubuntu", "Ubuntu", "debian", "apt", ("ubuntu", "kubuntu", "xubuntu", "lubuntu"),
           (("xenial", "16.04"), ("bionic", "18.04"), ("focal", "20.04"), ("jammy", "22.04"), ("noble", "24.04"),
            ("oracular", "24.10"), ("plucky", "25.04"))),
    Distro("mint", "Linux Mint", "debian", "apt", ("linux mint", "mint")),
    Distro("raspbian", "Raspberry Pi OS", "debian", "apt", ("raspbian", "raspberry pi os", "raspios")),
    Distro("kali", "Kali", "debian", "apt", ("kali",)),
    Distro("popos", "Pop!_OS", "debian", "apt", ("pop os", "popos")),
    Distro("fedora", "Fedora", "rhel", "dnf",
           ("fedora", "fedora coreos", "fcos", "fedora silverblue", "silverblue", "fedora workstation")),
    Distro("rhel", "RHEL", "rhel", "dnf",
           ("rhel", "red hat enterprise linux", "red hat", "redhat", "rhcos", "el")),
    Distro("centos", "CentOS", "rhel", "dnf", ("centos stream", "centos")),
    Distro("rocky", "Rocky Linux", "rhel", "dnf", ("rocky linux", "rocky", "rockylinux")),
    Distro("alma", "AlmaLinux", "rhel", "dnf", ("almalinux", "alma linux", "alma")),
    Distro("oracle", "Oracle Linux", "rhel", "dnf", ("oracle linux", "oraclelinux", "ol")),
    Distro("amazon", "Amazon Linux", "rhel", "dnf", ("amazon linux", "amazonlinux", "amzn", "al2023", "al2")),
    Distro("opensuse", "openSUSE", "suse", "zypper",
           ("opensuse", "opensuse leap", "opensuse tumbleweed", "leap", "tumbleweed", "opensuse kubic", "kubic",
            "opensuse microos", "microos", "suse")),
    Distro("sles", "SLES", "suse", "zypper", ("sles", "suse linux enterprise server", "suse linux enterprise",
                                               "sle")),
    Distro("arch", "Arch Linux", "arch", "pacman", ("arch linux", "archlinux", "arch", "aur")),
    Distro("manjaro", "Manjaro", "arch", "pacman", ("manjaro linux", "manjaro", "endeavouros")),
    Distro("alpine", "Alpine", "alpine", "apk", ("alpine linux", "alpine")),
    Distro("gentoo", "Gentoo", "gentoo", "emerge", ("gentoo linux", "gentoo")),
    Distro("nixos", "NixOS", "nixos", "nix-env", ("nixos",)),
    Distro("void", "Void Linux", "void", "xbps-install", ("void linux", "voidlinux")),
    Distro("flatcar", "Flatcar", "flatcar", "", ("flatcar container linux", "flatcar")),
    Distro("photon", "Photon OS", "photon", "tdnf", ("photon os", "photonos", "photon")),
    Distro("azurelinux", "Azure Linux", "mariner", "tdnf", ("azure linux", "azurelinux", "cbl mariner",
                                                             "mariner")),
    Distro("clearlinux", "Clear Linux", "clearlinux", "swupd", ("clear linux", "clearlinux")),
    Distro("solus", "Solus", "solus", "eopkg", ("solus",)),
    Distro("openembedded", "OpenEmbedded/Yocto", "openembedded", "", ("openembedded", "yocto", "poky")),
    # not Linux
    Distro("macos", "macOS", "macos", "brew", ("macos", "mac os x", "mac os", "osx", "os x", "mac", "macs",
                                               "darwin", "homebrew", "brew", "macports"), os="macos"),
    Distro("windows", "Windows", "windows", "winget",
           ("windows", "win10", "win11", "windows server", "chocolatey", "choco", "winget", "scoop", "powershell"),
           os="windows"),
    Distro("wsl", "WSL", "wsl", "", ("wsl", "wsl2", "windows subsystem for linux"), os="wsl"),
    Distro("freebsd", "FreeBSD", "freebsd", "pkg", ("freebsd",), os="freebsd"),
    Distro("openbsd", "OpenBSD", "openbsd", "pkg_add", ("openbsd",), os="openbsd"),
    Distro("netbsd", "NetBSD", "netbsd", "pkgin", ("netbsd",), os="netbsd"),
)
BY_ID = {d.id: d for d in DISTROS}

# Family names and the words that name a whole family ("APT-based", "RPM-based", "Red Hat family").
FAMILY_NAMES = {"debian": "Debian-based", "rhel": "RHEL/Fedora-family", "suse": "SUSE", "arch": "Arch-based",
                "alpine": "Alpine", "gentoo": "Gentoo", "nixos": "NixOS"}
FAMILY_WORDS = {
    "apt": "debian", "apt get": "debian", "deb": "debian", "dpkg": "debian", "debian based": "debian",
    "dnf": "rhel", "yum": "rhel", "rpm": "rhel", "rhel based": "rhel", "el based": "rhel",
    "red hat based": "rhel", "fedora based": "rhel",
    "zypper": "suse", "suse based": "suse",
    "pacman": "arch", "arch based": "arch",
    "apk": "alpine", "emerge": "gentoo", "portage": "gentoo",
}
OS_NAMES = {"linux": "Linux", "macos": "macOS", "windows": "Windows", "wsl": "WSL", "freebsd": "FreeBSD",
            "openbsd": "OpenBSD", "netbsd": "NetBSD"}
OS_WORDS = {"linux": "linux", "gnu linux": "linux", "bsd": "bsd", "unix": "unix", "posix": "unix"}

ARCHES = {
    "x86_64": ("x86_64", "x86 64", "amd64", "x64", "x86", "intel", "x86-64"),
    "aarch64": ("aarch64", "arm64", "armv8", "arm 64", "apple silicon", "graviton"),
    "armhf": ("armhf", "armv7", "armv7l", "arm32", "armel"),
    "ppc64le": ("ppc64le", "ppc64el", "power", "powerpc", "ppc64"),
    "s390x": ("s390x", "s390", "ibm z", "z systems"),
    "riscv64": ("riscv64", "risc v", "riscv"),
}
_ARCH_ALIAS = {alias: arch for arch, aliases in ARCHES.items() for alias in aliases}


@dataclass(frozen=True)
class Target:
    """What a title or tool names: one of os / family / distro (+ version constraint) / arch."""

    os: str | None = None
    family: str | None = None
    distro: str | None = None
    op: str = ""  # "", "=", ">=", "<=" (version constraint on `version`)
    version: str = ""
    arch: str | None = None

    def describe(self) -> str:
        if self.arch:
            return self.arch
        if self.distro:
            name = BY_ID[self.distro].name
            if not self.version:
                return name
            suffix = {"": "", "=": "", ">=": "+", "<=": " or older"}[self.op]
            return f"{name} {self.version}{suffix}"
        if self.family:
            return FAMILY_NAMES.get(self.family, self.family)
        return OS_NAMES.get(self.os or "", self.os or "")


# --- reading titles ------------------------------------------------------------------------------------

_ALIASES: list[tuple[tuple[str, ...], str, str]] = sorted(
    [(tuple(a.split()), "distro", d.id) for d in DISTROS for a in d.aliases]
    + [(tuple(w.split()), "family", f) for w, f in FAMILY_WORDS.items()]
    + [(tuple(w.split()), "os", o) for w, o in OS_WORDS.items()]
    + [(tuple(a.split()), "arch", arch) for a, arch in _ARCH_ALIAS.items()],
    key=lambda item: -len(item[0]),
)
_CODENAMES = {c: (d.id, r) for d in DISTROS for c, r in d.codenames}
_VERSION_RE = re.compile(r"^v?\d+(?:\.\d+)*x?$")
# "ol" and "el" are too short to trust alone; "mac"/"arch"/"power"/"intel" need care too but are
# common in titles ("Arch", "Intel Macs"); ambiguous words in running prose never reach here because
# only titles that are essentially a platform list count (see scope.py).
_WEAK = {"ol", "el", "sle", "x86", "power", "intel"}
_FAMILY_SUFFIX = {"based", "family", "like", "derivatives", "derived", "flavors", "flavours"}


def words(text: str) -> list[str]:
    """Lowercase words of a title; `+`, `/`, `&`, `(`, `)`, `,` kept as their own tokens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [Fedora](https://...) -> Fedora
    text = re.sub(r"<[^>]+>", " ", text)  # inline HTML
    text = text.replace("Pop!_OS", "popos").replace("_", " ")
    text = re.sub(r"(?i)\b(x86)[-_](64)\b", r"x86_64", text)
    raw = re.findall(r"x86_64|\d+(?:\.\d+)*\+?|[a-z0-9]+(?:\.\d+)*|[+/&(),]", text.lower())
    out: list[str] = []
    for w in raw:
        if w.endswith("+") and len(w) > 1:
            out += [w[:-1], "+"]
        else:
            out.append(w)
    # "fedora39" / "rhel8" / "el9" / "centos7" / "debian12": split a distro glued to its version
    split: list[str] = []
    for w in out:
        m = re.fullmatch(r"(rhel|el|centos|fedora|debian|ubuntu|sles|alpine|fc|win)(\d+(?:\.\d+)?)", w)
        split += [m.group(1), m.group(2)] if m else [w]
    return split


@dataclass(frozen=True)
class Reading:
    """How a title reads: the targets it names and the words that are neither platform nor filler."""

    targets: tuple[Target, ...]
    other: tuple[str, ...]  # words left over (not a platform, version, codename or filler)
    negated: bool = False


# Words that may stand in a platform list without making it prose ("On Fedora 39+", "Ubuntu 22.04 LTS").
FILLER = {
    "on", "for", "in", "and", "or", "the", "a", "an", "only", "users", "user", "version", "versions", "release",
    "releases", "lts", "stable", "latest", "newer", "later", "higher", "above", "up", "to", "older", "earlier",
    "lower", "below", "before", "or", "+", "/", "&", ",", "(", ")", "based", "systems", "system", "operating",
    "os", "distributions", "distribution", "distros", "distro", "hosts", "host", "machines", "machine", "servers",
    "server", "desktop", "edition", "family", "like", "derivatives", "derived", "flavors", "flavours", "other",
    "others", "platforms", "platform", "x", "v", "beta", "experimental", "preview", "via", "with", "using",
    "enterprise", "workstation", "since", "from", "onwards", "plus", "packages", "package", "repository", "repo",
    "repositories", "official", "instructions", "install", "installing", "installation", "setup", "set",
    "setting", "configuration", "configure", "configuring", "build", "building", "requirements", "prerequisites",
    "prerequisite", "dependencies", "dependency", "notes", "note", "tips", "support", "supported", "steps",
    "guide", "quickstart", "quick", "start", "starting", "run", "running", "getting", "started", "option",
    "method", "any", "all", "most", "recent", "modern", "current", "supported", "specific", "native", "hosts",
}
# A title with one of these mentions a platform without being its section ("Why not Windows?",
# "For example using CentOS:" -- an illustration that runs anywhere).
NEGATIONS = {"not", "without", "except", "unlike", "no", "non", "why", "vs", "versus", "instead", "example",
             "eg", "instance"}


def read_title(title: str) -> Reading:
    """The platforms a title names, with version constraints ("Fedora 39+", "Debian up to bullseye")."""
    ws = words(title)
    targets: list[Target] = []
    other: list[str] = []
    negated = any(w in NEGATIONS for w in ws)
    i = 0
    last: int | None = None  # index in targets of the last distro, for a following version
    pending_op = ""  # "up to" / "or later" style words seen right after a distro
    distro_end = -1  # index just past the last distribution's name
    while i < len(ws):
        w = ws[i]
        hit = None
        for alias, kind, ident in _ALIASES:
            n = len(alias)
            if tuple(ws[i:i + n]) == alias:
                hit = (n, kind, ident)
                break
        if hit is not None:
            n, kind, ident = hit
            if ident == "linux" and i == distro_end and targets[-1].os == "linux":
                i += n  # "Arch Linux", "Fedora Linux": part of the distribution's name
                continue
            if alias_is_weak(ws[i:i + n]) and not _near_platform(ws, i, n):
                other.append(w)
                i += n
                continue
            if kind == "distro":
                targets.append(Target(os=BY_ID[ident].os, family=BY_ID[ident].family, distro=ident))
                last = len(targets) - 1
                distro_end = i + n
            elif kind == "family":
                targets.append(Target(os="linux", family=ident))
                last = None
            elif kind == "os":
                targets.append(Target(os=ident))
                last = None
            else:
                targets.append(Target(arch=ident))
            i += n
            # "Debian-based", "RHEL family": the whole family
            if i < len(ws) and ws[i] in _FAMILY_SUFFIX and targets[-1].family and targets[-1].os == "linux":
                targets[-1] = Target(os="linux", family=targets[-1].family)
                last = None
            continue
        if w in _CODENAMES:
            distro, release = _CODENAMES[w]
            if last is not None and targets[last].distro == distro:
                if not targets[last].version:
                    targets[last] = _with_version(targets[last], release, pending_op or "=")
            else:
                d = BY_ID[distro]
                targets.append(Target(os=d.os, family=d.family, distro=distro, op=pending_op or "=", version=release))
                last = len(targets) - 1
            pending_op = ""
            i += 1
            continue
        if _VERSION_RE.match(w) and last is not None:
            t = targets[last]
            if not t.version:
                targets[last] = _with_version(t, w.lstrip("v").rstrip("x").rstrip("."), pending_op or "=")
            pending_op = ""
            i += 1
            continue
        if w in ("up", "before", "older", "below", "earlier", "lower") and last is not None:
            if targets[last].version and w != "up":
                targets[last] = _with_version(targets[last], targets[last].version, "<=")
            else:
                pending_op = "<="
        elif w in ("+", "later", "newer", "higher", "above", "onwards", "since") and last is not None:
            if targets[last].version:
                targets[last] = _with_version(targets[last], targets[last].version, ">=")
            elif w == "since":
                pending_op = ">="
        elif w not in FILLER and w not in NEGATIONS and not _VERSION_RE.match(w):
            other.append(w)
        i += 1
    return Reading(tuple(_dedupe(targets)), tuple(other), negated)


def alias_is_weak(ws: list[str]) -> bool:
    return len(ws) == 1 and ws[0] in _WEAK


def _near_platform(ws: list[str], i: int, n: int) -> bool:
    """A weak alias ("el", "intel") counts only next to a version or another platform word ("EL 9")."""
    nxt = ws[i + n] if i + n < len(ws) else ""
    return bool(_VERSION_RE.match(nxt)) or nxt in ("macs", "mac")


def _with_version(t: Target, version: str, op: str) -> Target:
    return Target(os=t.os, family=t.family, distro=t.distro, op=op, version=version, arch=t.arch)


def _dedupe(targets: list[Target]) -> list[Target]:
    out: list[Target] = []
    for t in targets:
        if t not in out:
            out.append(t)
    return out


# --- matching ------------------------------------------------------------------------------------------

def _vkey(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)) or (0,)


def _version_fits(target: Target, release: str) -> bool:
    if not target.version or not release:
        return True
    have, want = _vkey(release), _vkey(target.version)
    n = len(want)
    have_cut = have[:n] if target.op in ("", "=") else have
    if target.op in ("", "="):
        return have_cut == want
    if target.op == ">=":
        return have >= want
    return have[:n] <= want


def match(target: Target, platform: Platform) -> int:
    """How well a named target fits the image (EXACT .. NONE, see the module docstring)."""
    if target.arch:
        return GENERIC if target.arch == platform.arch else NONE
    if (target.distro or target.family) and platform.distro not in BY_ID and target.os == platform.os:
        # an image of a distribution we do not know (the `cloud` recipe before `distro:` is set): any
        # distribution's section of its OS may be the reader's, none is sure to be
        return FAMILY
    if target.distro:
        if target.distro == platform.distro:
            return EXACT if _version_fits(target, platform.release) else DISTRO
        if target.family == platform.family and target.os == platform.os:
            return FAMILY
        return NONE
    if target.family:
        return GENERIC if target.family == platform.family and platform.os == "linux" else NONE
    if target.os == "unix":
        return GENERIC  # "Unix-like systems": Linux, macOS and the BSDs alike
    if target.os == "bsd":
        return GENERIC if platform.os.endswith("bsd") else NONE
    return GENERIC if target.os == platform.os else NONE


def best_match(targets: tuple[Target, ...], platform: Platform) -> tuple[int, Target | None]:
    """The best level among a title's targets; an arch target must fit as well as an OS one."""
    arch = [t for t in targets if t.arch]
    rest = [t for t in targets if not t.arch]
    if arch and all(match(t, platform) == NONE for t in arch):
        return NONE, arch[0]
    if not rest:
        return (GENERIC, None) if arch else (NONE, None)
    best = max(rest, key=lambda t: match(t, platform))
    return match(best, platform), best


def describe_targets(targets: tuple[Target, ...]) -> str:
    """`Fedora 39+`, `macOS/Windows`: how a skip reason names what a section is for."""
    plain = {t.distro for t in targets if t.distro and not t.version}
    families = {t.family for t in targets if t.distro}
    shown = [t for t in targets if not (t.distro in plain and t.version)  # "openSUSE 15 and openSUSE"
             and not (not t.distro and t.family in families)]  # "Arch Linux via pacman"
    return "/".join(dict.fromkeys(t.describe() for t in shown))


# --- tools -----------------------------------------------------------------------------------------------

# command word -> (target it belongs to, how a reason names it). `service`, `snap` and `flatpak` are
# deliberately absent: they exist on Debian too (snap/flatpak are cross-distro).
_LINUX = "linux"
TOOLS: dict[str, tuple[Target, str]] = {}


def _tool(names: str, target: Target, label: str) -> None:
    for name in names.split():
        TOOLS[name] = (target, label)


_tool("apt apt-get apt-cache dpkg dpkg-reconfigure add-apt-repository", Target(os=_LINUX, family="debian"),
      "Debian/Ubuntu")
_tool("dnf yum yum-config-manager dnf5 microdnf rpm rpm-ostree", Target(os=_LINUX, family="rhel"), "Fedora/RHEL")
_tool("subscription-manager", Target(os=_LINUX, family="rhel", distro="rhel"), "RHEL")
_tool("tdnf", Target(os=_LINUX, family="photon"), "Photon/Azure Linux")
_tool("zypper transactional-update", Target(os=_LINUX, family="suse"), "openSUSE/SLES")
_tool("pacman yay paru makepkg", Target(os=_LINUX, family="arch"), "Arch")
_tool("apk rc-update rc-service", Target(os=_LINUX, family="alpine"), "Alpine")
_tool("emerge eselect", Target(os=_LINUX, family="gentoo"), "Gentoo")
_tool("xbps-install", Target(os=_LINUX, family="void"), "Void")
_tool("nix-env nixos-rebuild", Target(os=_LINUX, family="nixos"), "NixOS")
_tool("swupd", Target(os=_LINUX, family="clearlinux"), "Clear Linux")
_tool("eopkg", Target(os=_LINUX, family="solus"), "Solus")
_tool("bitbake", Target(os=_LINUX, family="openembedded"), "OpenEmbedded/Yocto")
_tool("brew port launchctl softwareupdate xcode-select defaults", Target(os="macos"), "macOS")
_tool("choco winget scoop Set-ExecutionPolicy Invoke-WebRequest Invoke-Expression iwr iex Expand-Archive "
      "New-Item Get-Service Start-Service Set-Service Restart-Service New-Service Get-ChildItem Set-Location "
      "Add-WindowsFeature Install-WindowsFeature Enable-WindowsOptionalFeature Get-Command Copy-Item Remove-Item "
      "Start-Process Write-Host Set-Item Get-Content Set-Content Install-Module Import-Module Get-Item "
      "sc.exe reg.exe cmd.exe powershell.exe msiexec setx wsl wsl.exe", Target(os="windows"), "Windows")
_tool("sysrc pkg kldload freebsd-update", Target(os="freebsd"), "FreeBSD")
_tool("pkg_add rcctl", Target(os="openbsd"), "OpenBSD")
_tool("pkgin", Target(os="netbsd"), "NetBSD")


def tool_target(argv: list[str], *, missing: bool = False) -> tuple[Target, str] | None:
    """The platform a command (argv after sudo/env) belongs to, or None for a cross-platform one.

    `pkg` counts only as FreeBSD's `pkg install/add/...` (Linux has unrelated `pkg` scripts), `port`
    only as MacPorts' `port install`, `defaults` only as `defaults write/read`. `missing`: the
    command is known to be absent (`pkg: command not found`), so any use of the name counts.
    """
    if not argv:
        return None
    name = argv[0]
    entry = TOOLS.get(name.rsplit("/", 1)[-1])
    if entry is None and "-" in name and name[:1].isupper():
        # any PowerShell cmdlet: Verb-Noun with an approved verb
        if name.split("-", 1)[0] in _PS_VERBS:
            entry = (Target(os="windows"), "Windows")
    if entry is None:
        return None
    sub = argv[1] if len(argv) > 1 else ""
    if missing:
        return entry
    if name == "pkg" and sub not in ("install", "add", "upgrade", "update", "delete", "remove", "search", "info"):
        return None
    if name == "port" and sub not in ("install", "selfupdate", "upgrade", "uninstall", "search"):
        return None
    if name == "defaults" and sub not in ("write", "read", "delete"):
        return None
    return entry


_PS_VERBS = {"Get", "Set", "New", "Remove", "Add", "Install", "Uninstall", "Invoke", "Start", "Stop", "Restart",
             "Enable", "Disable", "Import", "Export", "Expand", "Copy", "Move", "Test", "Write", "Register",
             "Unregister", "Update", "Out", "Select", "Where", "ForEach", "Resolve", "Join", "Split", "Mount"}


# --- images ----------------------------------------------------------------------------------------------

def _distro_in(name: str) -> Distro | None:
    ws = words(name)
    for i in range(len(ws)):
        for alias, kind, ident in _ALIASES:
            if kind == "distro" and tuple(ws[i:i + len(alias)]) == alias and not alias_is_weak(list(alias)):
                return BY_ID[ident]
    return None


def platform_from_fields(name: str, distro: str | None = None, release: str | None = None,
                         family: str | None = None, package_manager: str | None = None,
                         arch: str | None = None, os: str | None = None) -> Platform:
    """A platform from whatever a recipe declares, the rest derived from the image name.

    `ubuntu-24.04` -> ubuntu 24.04, debian family, apt, x86_64; an unknown distribution keeps its
    name (its first word) as distribution and family, so only generic scopes ("Linux") fit it.
    """
    known = BY_ID.get((distro or "").lower()) if distro and distro != "unknown" else _distro_in(name)
    if known is None and distro and distro != "unknown":
        known = _distro_in(distro)
    if release is None or release == "":
        m = re.search(r"(\d+(?:\.\d+)*)", name)
        release = m.group(1) if m else ""
        if not release:
            for w in words(name):
                if w in _CODENAMES:
                    release = _CODENAMES[w][1]
    first = (words(name) or [name.lower()])[0]
    arch_word = next((w for w in words(name) if w in _ARCH_ALIAS and w not in _WEAK), None)
    return Platform(
        image=name,
        os=os or (known.os if known else "linux"),
        distro=known.id if known else (distro if distro and distro != "unknown" else first),
        release=release,
        family=family or (known.family if known else (distro if distro and distro != "unknown" else first)),
        package_manager=package_manager or (known.package_manager if known else ""),
        arch=_ARCH_ALIAS.get((arch or "").lower(), arch or (_ARCH_ALIAS[arch_word] if arch_word else "x86_64")),
    )


def platform_for_image(image: str) -> Platform:
    """The platform of an image: its recipe's declaration when a recipe of that name exists, else its name."""
    return _platform_for_image(image, os.environ.get("DOCTEST_RUNNER_RECIPES", ""))


@functools.lru_cache(maxsize=64)
def _platform_for_image(image: str, recipe_dirs: str) -> Platform:  # noqa: ARG001 - part of the cache key
    try:
        recipe = load_recipe(image)  # a recipe is optional here: `list` plans for names with none
    except DoctestError:
        return platform_from_fields(image)
    return recipe_platform(recipe)


def recipe_platform(recipe: Recipe) -> Platform:
    """What an image recipe builds (distribution, release, family, package manager, arch): declared in the
    recipe or derived from its name. The vocabulary lives here, with the planner; the recipe only declares."""
    return platform_from_fields(recipe.name, **recipe.platform_fields())


def distro_of(image: str) -> str:
    """`debian-12` -> `debian`, `ubuntu-24.04` -> `ubuntu`; an unknown name -> its first word."""
    return platform_from_fields(image).distro


def platform_label(platform: Platform) -> str:
    """How reasons name the image: its name (`debian-12`)."""
    return platform.image or f"{platform.distro}-{platform.release}".rstrip("-")
