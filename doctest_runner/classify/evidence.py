"""What a failed step says is missing, and what a step's command mentions or would have provided.

Three later decisions rest on these two sets of names: a failure that follows from an earlier failed step
(a cascade: `git: command not found` after the step that installs git failed), a failure whose missing
tool is one the guide names as a prerequisite, and a missing file the guide asks the reader to fetch in
words. All three compare what the evidence names (a command word, a path, a unit, a variable, a daemon)
with what a step or a sentence names, so both sides are reduced to the same lower-case names here.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from doctest_runner.classify import rules as R
from doctest_runner.shell import empty_expansions, mask
from doctest_runner.text import clean_lines

_CMD = (
    re.compile(r"(?:^|: )(?:line \d+: )?(?P<n>[^\s:]+): command not found"),
    re.compile(r"command not found: (?P<n>\S+)"),
    re.compile(r"^\S*sh: \d+: (?P<n>\S+): not found$"),
    re.compile(r"^env: ['‘](?P<n>[^'’]+)['’]: No such file"),
    re.compile(r"sudo: (?:unable to execute )?(?P<n>\S+): (?:command not found|No such file)"),
    re.compile(r"exec: \"(?P<n>[^\"]+)\": executable file not found"),
)
_PATH = (
    re.compile(r"(?P<n>[^\s:'\"‘’`]+)['’\"]?: Cannot open: No such file"),
    re.compile(r"(?P<n>[^\s:'\"‘’`]+)['’\"]?: No such file or directory"),
    re.compile(r"cannot (?:access|stat|open|find|read) ['‘\"]?(?P<n>[^'’\"\s:]+)", re.IGNORECASE),
    re.compile(r"can't (?:cd to|open|access) ['‘\"]?(?P<n>[^'’\"\s:]+)"),
    re.compile(r"(?:stat|open|lstat|chdir) (?P<n>[^\s:]+): no such file", re.IGNORECASE),
    re.compile(r"No such file or directory: ['‘](?P<n>[^'’]+)['’]"),
    re.compile(r"(?:file|directory|path) ['‘\"]?(?P<n>[^'’\"\s]+?)['’\"]? (?:does not exist|not found)", re.I),
)
_UNIT = (
    re.compile(r"Unit (?:file )?(?P<n>[\w@.:-]+?)\.? (?:not found|does not exist|could not be found)"),
    re.compile(r"Failed to \w+ (?P<n>[\w@.:-]+?): Unit \S+ (?:not found|does not exist)"),
)
_VAR = re.compile(r"(?P<n>[A-Za-z_]\w*): unbound variable")
_PACKAGE = (
    re.compile(r"Unable to locate package (?P<n>\S+)"),
    re.compile(r"Package ['‘]?(?P<n>[^'’\s]+)['’]? has no installation candidate"),
    re.compile(r"No match for argument:? (?P<n>\S+)"),
    re.compile(r"E: Version ['‘][^'’]+['’] for ['‘](?P<n>[^'’]+)['’] was not found"),
)
# A daemon the command could not reach: (pattern, daemon name or None for the socket's own name).
_DAEMON = (
    (re.compile(r"Cannot connect to the Docker daemon|Is the docker daemon running", re.IGNORECASE), "docker"),
    (re.compile(r"The connection to the server \S+ was refused"), "kubernetes"),
    (re.compile(r"(?P<sock>[\w./-]+?)\.sock\b"), None),
)
_LOCAL_REFUSED = re.compile(r"(?:Connection refused|connect: connection refused|Couldn't connect to server)"
                            r".*" + R.LOCAL_ENDPOINT + r"|" + R.LOCAL_ENDPOINT
                            + r".*(?:connection refused|couldn't connect to server)",
                            re.IGNORECASE)
# Clients whose refused local connection means their daemon or cluster is not there.
CLIENT_DAEMON = {
    "kubectl": "kubernetes", "helm": "kubernetes", "virtctl": "kubernetes", "kubeadm": "kubernetes",
    "docker": "docker", "ctr": "containerd", "nerdctl": "containerd", "crictl": "containerd",
    "podman": "podman", "virsh": "libvirt",
}
# Package name -> the commands it installs, where they differ from the package's name.
PACKAGE_COMMANDS: dict[str, tuple[str, ...]] = {
    "build-essential": ("make", "gcc", "g++", "cc"), "golang": ("go", "gofmt"), "golang-go": ("go", "gofmt"),
    "docker.io": ("docker", "dockerd"), "docker-ce": ("dockerd", "docker"), "docker-ce-cli": ("docker",),
    "containerd.io": ("containerd", "ctr"), "containerd": ("containerd", "ctr"), "python3-pip": ("pip3", "pip"),
    "python-is-python3": ("python",), "nodejs": ("node",), "cri-tools": ("crictl",), "uidmap": ("newuidmap",),
    "qemu-system-x86": ("qemu-system-x86_64",), "qemu-utils": ("qemu-img",), "libvirt-clients": ("virsh",),
    "libvirt-daemon-system": ("libvirtd",), "openssh-client": ("ssh", "scp"), "iproute2": ("ip", "ss"),
    "net-tools": ("ifconfig", "netstat"), "dnsutils": ("dig", "nslookup"), "bind9-dnsutils": ("dig",),
    "xz-utils": ("xz",), "gnupg": ("gpg",), "gnupg2": ("gpg",), "software-properties-common": ("add-apt-repository",),
    "cargo": ("cargo",), "rustc": ("rustc",), "default-jdk": ("java", "javac"), "bzip2": ("bzip2",),
    "apt-transport-https": (), "ca-certificates": (), "cpu-checker": ("kvm-ok",), "procps": ("ps", "sysctl"),
}
_PKG_SUFFIX = re.compile(r"(?:[-.](?:cli|client|clients|tools|utils|bin|ce|io|daemon|server))+$")
_SOURCE = re.compile(r"\.(?:go|c|cc|cpp|rs|java)$")
_ARCHIVE = re.compile(r"(?:\.tar)?\.(?:gz|tgz|xz|txz|bz2|tbz2?|zst|zip|deb|rpm|git|sh|tar)$")
# Changes the package sources: a later "Unable to locate package" can follow from its failure.
_SOURCES = re.compile(r"sources\.list|add-apt-repository|\bapt(?:-get)? update\b|/etc/apt/keyrings|yum\.repos\.d|"
                      r"config-manager|zypper (?:ar|addrepo)\b|/usr/share/keyrings")
SOURCES_MARK = "@package-sources"
# A service on this machine refused a connection: a step that failed to start a service may be why.
LOCAL_SERVICE = "@local-service"
_STARTS_SERVICE = re.compile(r"\bsystemctl\s+(?:--\S+\s+)*(?:start|restart|enable\s+--now|enable\s+\S+\s+--now)\b"
                             r"|\bservice\s+\S+\s+(?:start|restart)\b|\bdocker\s+(?:run|start)\b.*\s-p\s")
# Names too common to tie two steps together.
GENERIC = frozenset({
    "", ".", "..", "~", "-", "/", "tmp", "usr", "bin", "sbin", "local", "etc", "home", "opt", "var", "lib", "root",
    "sudo", "sh", "bash", "env", "echo", "cd", "true", "false", "dev", "null", "run", "share", "src", "x", "y",
    "install", "get", "sudo -e", "tee", "cat", "rm", "mv", "cp", "ln", "chmod", "chown", "test", "the", "and",
})


@dataclass(frozen=True)
class Missing:
    """What a failure's output says is not there. Empty when the failure is not about something missing."""

    commands: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    daemons: tuple[str, ...] = ()  # a daemon or cluster not reachable: docker, containerd, kubernetes
    line: str = ""  # the output line that says so

    def __bool__(self) -> bool:
        return bool(self.commands or self.paths or self.units or self.variables or self.packages or self.daemons)

    def names(self) -> set[str]:
        """Every lower-case name that could tie this failure to an earlier step or a sentence."""
        out: set[str] = set()
        for c in self.commands:
            out |= {c.lower(), basename(c).lower()}
        for p in self.paths:
            out |= path_names(p)
        for u in self.units:
            out |= {u.lower(), u.lower().removesuffix(".service")}
        out |= {v.lower() for v in self.variables}
        out |= {d.lower() for d in self.daemons}
        if self.packages:
            out.add(SOURCES_MARK)
            out |= {p.lower() for p in self.packages}
        return out - GENERIC


def basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


# Folders every system has: a missing file below one of these says nothing about an earlier step.
SYSTEM_DIRS = frozenset({
    "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/media", "/mnt", "/opt", "/proc", "/root", "/run",
    "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64",
    "/usr/libexec", "/usr/local", "/usr/local/bin", "/usr/local/sbin", "/usr/local/lib", "/usr/local/share",
    "/usr/share", "/usr/include", "/usr/src", "/var/lib", "/var/log", "/var/run", "/var/cache", "/var/tmp",
    "/etc/default", "/etc/systemd", "/etc/systemd/system", "/etc/apt", "/etc/apt/sources.list.d",
    "/etc/apt/keyrings", "/usr/share/keyrings", "/etc/sysctl.d", "/etc/modules-load.d", "/lib/systemd",
    "/lib/systemd/system", "/usr/lib/systemd", "/usr/lib/systemd/system", "/etc/profile.d", "/dev/shm",
})


def path_names(path: str) -> set[str]:
    """A missing path's names: itself, its last component (and that without an archive suffix), for a
    relative path its first component, and for an absolute path each folder above it that is not a
    standard system folder (`/opt/demo` for `/opt/demo/tool.conf`: the folder an earlier step should have
    made)."""
    p = path.strip("'\"").rstrip("/")
    base = basename(p)
    out = {p.lower(), base.lower(), _ARCHIVE.sub("", base).lower()}
    rel = p.removeprefix("./")
    if rel and not rel.startswith(("/", "~", "$", "..")) and "/" in rel:
        out.add(rel.split("/", 1)[0].lower())
    if p.startswith("/"):
        parent = p.rsplit("/", 1)[0]
        while parent.count("/") >= 2 or (parent and parent not in SYSTEM_DIRS and parent.count("/") == 1):
            if parent not in SYSTEM_DIRS:
                out.add(parent.lower())
            parent = parent.rsplit("/", 1)[0]
    return out - GENERIC


def _first(patterns, line: str) -> str | None:
    for pat in patterns:
        m = pat.search(line)
        if m:
            return m.group("n")
    return None


def missing(command: str, output: str, failed_line_index: int | None = None) -> Missing:
    """What the output of a failed `command` names as missing (a command, path, unit, variable, package or
    daemon). Paths count when the command names them or they are paths (`open` in "Cannot open" is not)."""
    words = set(command_names(command, install_aliases=False))
    commands: list[str] = []
    paths: list[str] = []
    units: list[str] = []
    variables: list[str] = []
    packages: list[str] = []
    daemons: list[str] = []
    first_line = ""
    for line in clean_lines(output):
        if not line.strip() or R.NOISE.match(line):
            continue
        before = (len(commands), len(paths), len(units), len(variables), len(packages), len(daemons))
        name = _first(_CMD, line)
        if name:
            commands.append(name)
        else:
            name = _first(_PATH, line)
            if name and ("/" in name or name.lower() in words or basename(name).lower() in words):
                paths.append(name)
        unit = _first(_UNIT, line)
        if unit:
            units.append(unit)
        var = _VAR.search(line)
        if var:
            variables.append(var.group("n"))
        pkg = _first(_PACKAGE, line)
        if pkg:
            packages.append(pkg)
        for pat, daemon in _DAEMON:
            m = pat.search(line)
            if not m:
                continue
            if daemon is None:
                if not re.search(r"no such file|connection refused|not found|dial unix|connect", line, re.I):
                    continue
                daemon = basename(m.group("sock")).split(".")[0]
            daemons.append(daemon)
            break
        else:
            if _LOCAL_REFUSED.search(line):
                client = _command_word(command, failed_line_index)
                daemons.append(CLIENT_DAEMON.get(client, LOCAL_SERVICE))
        after = (len(commands), len(paths), len(units), len(variables), len(packages), len(daemons))
        if after != before and not first_line:
            first_line = line.strip()
    # `v${VERSION}` printed as `v`: the variable an earlier step should have set is empty
    cleaned = [ln for ln in clean_lines(output) if ln.strip()]
    for exp in empty_expansions(command):
        shown = next((ln for ln in cleaned if exp.expanded in ln and exp.word not in ln), None)
        if shown is not None:
            variables.append(exp.var)
            first_line = first_line or shown.strip()
    return Missing(tuple(dict.fromkeys(commands)), tuple(dict.fromkeys(paths)), tuple(dict.fromkeys(units)),
                   tuple(dict.fromkeys(variables)), tuple(dict.fromkeys(packages)), tuple(dict.fromkeys(daemons)),
                   first_line)


def _command_word(command: str, index: int | None) -> str:
    lines = command.split("\n")
    line = lines[index] if index is not None and 0 <= index < len(lines) else (lines[0] if lines else "")
    words = [w for w in line.split() if "=" not in w.split("/")[0]]
    while words and words[0] in ("sudo", "env", "time", "exec", "nohup") or (words and words[0].startswith("-")):
        words.pop(0)
    return basename(words[0]) if words else ""


def _tokens(text: str) -> list[str]:
    try:
        lex = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
        lex.whitespace_split = True
        lex.commenters = ""
        return list(lex)
    except ValueError:  # an unclosed quote: plain words are still names
        return text.replace('"', " ").replace("'", " ").split()


def command_names(command: str, *, install_aliases: bool = True) -> list[str]:
    """Lower-case names a command mentions or would create: its words, the last part of each path or URL
    (with and without an archive suffix), assigned variable names, unit names, and for package installs the
    commands those packages bring. Here-document bodies and comments are left out (they are file content)."""
    text = mask(command).text
    out: list[str] = []
    installing = bool(re.search(r"\binstall\b", text))
    for tok in _tokens(text):
        if tok in ";&|()<>" or not tok:
            continue
        if tok.startswith("-"):
            if "=" not in tok:
                continue
            tok = tok.split("=", 1)[1]
        if re.match(r"^[A-Za-z_]\w*=", tok):
            name, _, value = tok.partition("=")
            out.append(name.lower())
            tok = value
            if not tok:
                continue
        tok = tok.split("?", 1)[0].split("#", 1)[0] if "://" in tok else tok
        low = tok.lower()
        base = basename(low)
        bare = re.split(r"[@=<>:~]", base, maxsplit=1)[0]  # x@latest, x==1.2
        out += [low, base, _ARCHIVE.sub("", base), bare, _SOURCE.sub("", base)]  # `go build main.go` makes `main`
        if re.fullmatch(r"v\d+", bare) and "/" in low:  # a Go module's major version: .../go-md2man/v2@latest
            out.append(basename(low.rsplit("/", 1)[0]))
        if base.endswith(".service"):
            out.append(base.removesuffix(".service"))
        if install_aliases and installing:
            out += list(PACKAGE_COMMANDS.get(base, ()))
            stripped = _PKG_SUFFIX.sub("", base)
            if stripped and stripped != base:
                out.append(stripped)
    for m in re.finditer(r"\b(?:export|readonly|declare(?:\s+-\w+)*|local|read(?:\s+-\w+)*)\s+([A-Za-z_]\w*)", text):
        out.append(m.group(1).lower())
    if install_aliases and _SOURCES.search(text):
        out.append(SOURCES_MARK)
    if install_aliases and _STARTS_SERVICE.search(text):
        out.append(LOCAL_SERVICE)
    return [n for n in dict.fromkeys(out) if n not in GENERIC]
