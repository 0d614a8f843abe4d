"""The line patterns that name a failure: what Debian's tools actually print, one rule each.

A rule matches one output line. `weight` ranks lines of the same category, so the evidence is
the line that says *why* ("Unable to acquire the dpkg frontend lock ..., are you root?") rather
than a consequence of it. Explanations are format strings over the match's named groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from re import _parser as sre  # type: ignore[attr-defined]  # the stdlib's own regex parser (3.11+)


@dataclass(frozen=True)
class Rule:
    category: str
    pattern: re.Pattern[str]
    weight: int
    explain: str
    unless: re.Pattern[str] | None = None  # a line that also matches this is not this rule's
    http: bool = False  # a server answered with an error status (vs. no connection at all)
    needles: tuple[str, ...] = ()  # lower-case literals; every match contains one of them

    def match(self, line: str, lower: str | None = None) -> re.Match[str] | None:
        """Match one line; `lower` (the line lower-cased) lets the literal gate skip most lines cheaply."""
        if self.needles and lower is not None and not any(n in lower for n in self.needles):
            return None
        m = self.pattern.search(line)
        if m is None or (self.unless is not None and self.unless.search(line)):
            return None
        return m

    def explanation(self, m: re.Match[str]) -> str:
        groups = {k: (v if v is not None else "?") for k, v in m.groupdict().items()}
        return self.explain.format(**groups)


def required_literals(pattern: str) -> tuple[str, ...]:
    """Literal strings of which every match must contain one (lower-cased); () when unknown.

    Output lines are mostly noise (progress, "Unpacking ..."): a substring test per rule rejects
    them far faster than a case-insensitive regex search. Derived from the regex's parse tree so
    the gate can never disagree with the pattern; anything not understood disables the gate.
    """
    try:
        tree = sre.parse(pattern, re.IGNORECASE)
    except re.error:  # pragma: no cover - a pattern the parser rejects fails at compile anyway
        return ()

    def seq(items) -> tuple[str, ...] | None:
        """Needles for a sequence: its longest literal run, or a branch's needles."""
        best, run, options = "", "", None
        for op, av in items:
            name = str(op)
            if name == "LITERAL":
                run += chr(av)
                continue
            best, run = max(best, run, key=len), ""
            if name == "BRANCH":
                alts = [seq(branch) for branch in av[1]]
                found = [alt for alt in alts if alt]
                if len(found) == len(alts) and options is None:  # every branch has needles
                    options = tuple(n for alt in found for n in alt)
            elif name == "SUBPATTERN" and options is None:
                inner = seq(av[-1])
                if inner:
                    options = inner
        best = max(best, run, key=len)
        if len(best) >= 3:
            return (best.lower(),)
        return options

    return seq(tree) or ()


def _r(category: str, pattern: str, weight: int, explain: str, unless: str | None = None,
       http: bool = False) -> Rule:
    return Rule(category, re.compile(pattern, re.IGNORECASE), weight, explain,
                re.compile(unless, re.IGNORECASE) if unless else None, http, required_literals(pattern))


# A connection to this machine itself failed: a service is down, the network is fine.
LOCAL_ENDPOINT = r"(?:localhost|127\.0\.0\.1|\[?::1\]?|0\.0\.0\.0|unix://|unix:|\.sock\b)"

_ENV_NET = "an environment problem (the machine running the guide has no working network), not the doc"

RULES: tuple[Rule, ...] = (
    # -- interactive: the step waited for a person -------------------------------------------------
    _r("interactive", r"\[Y/n\]\s*Abort", 5,
       "apt asked for confirmation and aborted with no terminal: add -y (or DEBIAN_FRONTEND=noninteractive)"),
    _r("interactive", r"a terminal is required to read the password|no tty present and no askpass", 5,
       "sudo wanted a password and there is no terminal: the step cannot run unattended"),
    _r("interactive", r"the input device is not a TTY", 5,
       "the command asks for a terminal (docker run -t/-it) but the step has none: drop -t or mark it pty"),
    _r("interactive", r"cannot open ['‘]?/dev/tty", 4,
       "the command tried to prompt on /dev/tty and there is no terminal (e.g. gpg asking to overwrite)"),
    _r("interactive", r"\bnot a (?:tty|terminal)\b", 3,
       "the command needs a terminal and the step has none",
       unless=r"^\s*stdin: is not a tty\s*$|ttyname failed"),
    # -- network ------------------------------------------------------------------------------------
    _r("network", r"Could not resolve host:? ['‘]?(?P<host>[\w.-]+)", 5,
       "could not resolve host {host}: " + _ENV_NET),
    _r("network", r"Temporary failure resolving ['‘](?P<host>[^'’]+)['’]", 5,
       "could not resolve {host}: " + _ENV_NET),
    _r("network", r"Could not resolve ['‘](?P<host>[^'’]+)['’]", 5,
       "could not resolve {host}: " + _ENV_NET),
    _r("network", r"unable to resolve host address ['‘](?P<host>[^'’]+)['’]", 5,
       "could not resolve host {host}: " + _ENV_NET),
    _r("network", r"Temporary failure in name resolution", 4, "name resolution failed: " + _ENV_NET),
    _r("network", r"lookup (?P<host>[\w.-]+)(?: on \S+)?: (?:no such host|server misbehaving|i/o timeout)", 5,
       "could not resolve host {host}: " + _ENV_NET),
    _r("network", r"getaddrinfo (?:ENOTFOUND|EAI_AGAIN)\s*(?P<host>[\w.-]*)", 5,
       "could not resolve host {host}: " + _ENV_NET),
    _r("network", r"Name or service not known|nodename nor servname provided", 4,
       "name resolution failed: " + _ENV_NET, unless=LOCAL_ENDPOINT),
    _r("network", r"The requested URL returned error: (?P<code>[45]\d\d)", 5,
       "the server answered HTTP {code}: the URL in the doc is wrong or gone, or the server is down", http=True),
    _r("network", r"ERROR (?P<code>[45]\d\d)\b", 5,
       "the server answered HTTP {code}: the URL in the doc is wrong or gone, or the server is down", http=True),
    _r("network", r"awaiting response\.\.\. (?P<code>[45]\d\d)\b", 3,
       "the server answered HTTP {code}: the URL in the doc is wrong or gone, or the server is down", http=True),
    _r("network", r"^(?:E|W|Err)(?::\d+)?:? .*\b(?P<code>[45]\d\d)\s+Not Found", 4,
       "an apt source answered HTTP {code}: the repository line in the doc is wrong or gone", http=True),
    _r("network", r"Failed to connect to (?P<host>\S+) port \d+", 4,
       "could not connect to {host}: " + _ENV_NET, unless=LOCAL_ENDPOINT),
    _r("network", r"Could not connect to (?P<host>[\w.-]+)", 4,
       "could not connect to {host}: " + _ENV_NET, unless=LOCAL_ENDPOINT),
    _r("network", r"Connection refused|Couldn't connect to server", 3,
       "the connection was refused: " + _ENV_NET, unless=LOCAL_ENDPOINT),
    _r("network", r"Network is unreachable|No route to host", 4, "the network is unreachable: " + _ENV_NET,
       unless=LOCAL_ENDPOINT),
    _r("network", r"Connection timed out|Operation timed out|curl: \(28\)|i/o timeout|TLS handshake timeout", 3,
       "a network connection timed out: " + _ENV_NET, unless=LOCAL_ENDPOINT),
    _r("network", r"Connection reset by peer|Failed to establish a new connection|Max retries exceeded|"
       r"NewConnectionError", 3, "a network connection failed: " + _ENV_NET, unless=LOCAL_ENDPOINT),
    _r("network", r"SSL certificate problem|certificate verify failed|server certificate verification failed", 3,
       "the TLS certificate check failed (clock, CA certificates or a proxy): an environment problem"),
    _r("network", r"keyserver receive failed", 3, "the GPG key server could not be reached: " + _ENV_NET),
    _r("network", r"fatal: unable to access ['‘](?P<url>[^'’]+)['’]", 2,
       "git could not reach {url}: " + _ENV_NET),
    # -- needs-kvm ---------------------------------------------------------------------------------
    _r("needs-kvm", r"Could not access KVM kernel module", 5,
       "the VM has no usable /dev/kvm (no nested virtualization): run on a host with KVM"),
    _r("needs-kvm", r"failed to initiali[sz]e kvm", 5,
       "KVM could not be initialised in the VM (no nested virtualization): run on a host with KVM"),
    _r("needs-kvm", r"/dev/kvm['’\"]?:? .*(?:No such file|does not exist|not found|permission denied|"
       r"cannot|failed)", 5, "/dev/kvm is missing or not accessible in the VM: run on a host with KVM"),
    _r("needs-kvm", r"(?:open|access|stat) ['‘\"]?/dev/kvm", 4,
       "/dev/kvm is missing or not accessible in the VM: run on a host with KVM"),
    _r("needs-kvm", r"kvm: permission denied", 5, "no permission on /dev/kvm: an environment problem"),
    _r("needs-kvm", r"could not insert ['‘]?kvm(?:_intel|_amd)?['’]?", 5,
       "the KVM module cannot be loaded: the CPU exposes no virtualization extensions (vmx/svm)"),
    _r("needs-kvm", r"CPU property not found.*\bname=(?:vmx|svm|sie)\b", 5,
       "the CPU has no virtualization extensions (vmx/svm) in this VM: run on a host with nested KVM"),
    _r("needs-kvm", r"kernel property not found.*\bname=(?:kvm\w*|vhost\w*)", 4,
       "a kernel module Kata needs (KVM/vhost) is not available in this VM: run on a host with KVM"),
    _r("needs-kvm", r"System is not capable of running Kata Containers", 3,
       "kata-runtime check failed: this VM cannot run Kata (no KVM / virtualization extensions)"),
    _r("needs-kvm", r"Your CPU does not support KVM extensions|KVM acceleration can NOT be used|"
       r"KVM is not available|kvm (?:is )?not (?:loaded|available|supported)", 4,
       "KVM is not available on this machine: run on a host with KVM"),
    # -- syntax -------------------------------------------------------------------------------------
    _r("syntax", r"syntax error near unexpected token (?P<token>.+)$", 5,
       "the shell could not parse the command (unexpected token {token})"),
    _r("syntax", r"syntax error: unexpected end of file|unexpected EOF while looking for matching (?P<token>.+)$",
       5, "the shell could not parse the command: a quote, bracket or block is not closed"),
    _r("syntax", r"^(?:/bin/)?(?:ba|da)?sh: (?:\d+: |line \d+: )?(?:.*: )?syntax error\b", 4,
       "the shell could not parse the command"),
    _r("syntax", r"^(?:/bin/)?(?:ba|da)?sh: .*\bSyntax error: (?P<token>.+)$", 4,
       "the shell could not parse the command ({token})"),
    _r("syntax", r"\bline \d+: syntax error\b", 3, "the shell could not parse the command"),
    _r("syntax", r"bad substitution|syntax error in expression|conditional binary operator expected", 3,
       "the shell rejected an expansion or expression in the command"),
    # -- permission ---------------------------------------------------------------------------------
    _r("permission", r"Unable to acquire the dpkg frontend lock .*are you root\?", 6,
       "apt needs root: the step runs it without sudo"),
    _r("permission", r"are you root\?", 5, "the command needs root: the step runs it without sudo"),
    _r("permission", r"could not open lock file (?P<path>\S+)", 4,
       "could not take the lock {path}: the command needs root (sudo)"),
    _r("permission", r"is not in the sudoers file|sudo: a password is required", 5,
       "the guide's user may not use sudo as the step assumes"),
    _r("permission", r"Interactive authentication required|Access denied", 4,
       "the action needs root: run it with sudo"),
    _r("permission", r"must be (?:run as )?root|must be superuser|requires root|superuser privilege|"
       r"run (?:this|it) as root|need to be root|Run as root", 4, "the command needs root: run it with sudo"),
    _r("permission", r"(?P<path>/[^\s:'’]*)['’]?: Permission denied", 4,
       "permission denied on {path}: the step needs root (sudo) for it, or the wrong user owns it"),
    _r("permission", r"Permission denied", 3, "permission denied: the step needs root (sudo) or other rights"),
    _r("permission", r"Operation not permitted", 3, "operation not permitted: the step needs root (sudo)"),
    # -- package-not-found --------------------------------------------------------------------------
    _r("package-not-found", r"Unable to locate package (?P<pkg>\S+)", 5,
       "apt has no package named {pkg}: the name is wrong, or its repository was not added (and apt-get update run)"),
    _r("package-not-found", r"Package ['‘]?(?P<pkg>[^'’\s]+)['’]? has no installation candidate", 5,
       "package {pkg} is known but not installable from the configured repositories"),
    _r("package-not-found", r"Couldn't find any package by (?:glob|regex) ['‘](?P<pkg>[^'’]+)['’]", 5,
       "apt found no package matching {pkg}"),
    _r("package-not-found", r"Version ['‘](?P<ver>[^'’]+)['’] for ['‘](?P<pkg>[^'’]+)['’] was not found", 5,
       "version {ver} of {pkg} is not in the repositories: the pinned version in the doc is wrong or gone"),
    _r("package-not-found", r"No match for argument:? (?P<pkg>\S+)", 5,
       "dnf has no package named {pkg}: the name is wrong or its repository is missing"),
    _r("package-not-found", r"Unable to find a match:? (?P<pkg>\S+)", 5,
       "dnf/yum has no package named {pkg}"),
    _r("package-not-found", r"No package (?P<pkg>\S+) available", 5, "yum has no package named {pkg}"),
    _r("package-not-found", r"No matching distribution found for (?P<pkg>\S+)", 5,
       "pip found no release of {pkg} for this Python/platform: the name or version pin is wrong"),
    _r("package-not-found", r"Could not find a version that satisfies the requirement (?P<pkg>\S+)", 4,
       "pip found no release of {pkg} for this Python/platform: the name or version pin is wrong"),
    _r("package-not-found", r"error: target not found: (?P<pkg>\S+)", 5, "pacman has no package named {pkg}"),
    _r("package-not-found", r"error: snap ['‘\"](?P<pkg>[^'’\"]+)['’\"] not found", 5, "no snap named {pkg}"),
    _r("package-not-found", r"No provider of ['‘](?P<pkg>[^'’]+)['’] found", 5, "zypper has no package {pkg}"),
    _r("package-not-found", r"The repository ['‘](?P<repo>[^'’]+)['’] does not have a Release file", 4,
       "the apt repository the doc adds has no Release file for this distribution: {repo}"),
    # -- command-not-found --------------------------------------------------------------------------
    _r("command-not-found", r"(?:^|: )(?P<cmd>[^\s:]+): command not found", 5,
       "{cmd}: command not found: it is not installed by an earlier step (or is misspelt)"),
    _r("command-not-found", r"command not found: (?P<cmd>\S+)", 5,
       "{cmd}: command not found: it is not installed by an earlier step (or is misspelt)"),
    _r("command-not-found", r"^\S*sh: \d+: (?P<cmd>\S+): not found$", 5,
       "{cmd}: command not found: it is not installed by an earlier step (or is misspelt)"),
    _r("command-not-found", r"^env: ['‘](?P<cmd>[^'’]+)['’]: No such file or directory", 5,
       "{cmd}: command not found: it is not installed by an earlier step (or is misspelt)"),
    _r("command-not-found", r"sudo: (?:unable to execute )?(?P<cmd>\S+): (?:command not found|No such file)", 5,
       "{cmd}: command not found (for sudo): not installed, or not on root's secure_path"),
    _r("command-not-found", r"executable file not found in \$PATH", 4,
       "a program the command starts is not installed"),
    # -- service ------------------------------------------------------------------------------------
    _r("service", r"Job for (?P<unit>\S+) failed", 6,
       "{unit} failed to start: see its journal in the artifacts; the doc's configuration or order is wrong"),
    _r("service", r"Unit (?:file )?(?P<unit>\S+?)\.? (?:not found|does not exist)", 5,
       "unit {unit} does not exist: the package providing it was not installed by an earlier step"),
    _r("service", r"Failed to (?:start|restart|enable|reload|stop) (?P<unit>\S+?):", 4,
       "systemctl could not act on {unit}"),
    _r("service", r"Active: (?P<state>failed|inactive)\b", 4, "the service is {state}, not running"),
    _r("service", r"System has not been booted with systemd|Failed to connect to bus", 4,
       "systemd is not running where the step expects it"),
    _r("service", r"Cannot connect to the Docker daemon|Is the docker daemon running", 5,
       "the Docker daemon is not running: start/enable it in an earlier step"),
    _r("service", r"The connection to the server (?P<host>\S+) was refused", 5,
       "the Kubernetes API server at {host} is not running (or kubeconfig points elsewhere)"),
    _r("service", r"dial unix (?P<sock>\S+?\.sock)|failed to dial ['‘\"](?P<sock2>[^'’\"]+)", 5,
       "the daemon's socket is not there: the service is not running"),
    _r("service", r"(?:Connection refused|Couldn't connect to server|Failed to connect to).*" + LOCAL_ENDPOINT +
       r"|" + LOCAL_ENDPOINT + r".*(?:Connection refused|Couldn't connect to server)", 4,
       "nothing listens on the local address: the service the step talks to is not running"),
    _r("service", r"Failed to start ", 3, "a service failed to start"),
)

# systemctl is-active / is-enabled print the bare state on stdout and exit non-zero.
SERVICE_STATE = re.compile(r"^\s*(inactive|failed|activating|deactivating|unknown|disabled|masked)\s*$")

# The last line of a step that was killed while waiting for an answer.
PROMPT_AT_END = re.compile(
    r"(\[Y/n\]|\[y/N\]|\(y/n\)|\(yes/no(?:/\[fingerprint\])?\)|\(Y/I/N/O/D/Z\)|"
    r"password(?: for \S+)?:|Press \[?ENTER\]?|passphrase:|Overwrite\?.*)(?:\s*\[default=\w*\])?\s*\??\s*$",
    re.IGNORECASE,
)

# Lines printed by login shells that mean nothing about the step.
NOISE = re.compile(
    r"^\s*(?:stdin: is not a tty|mesg: ttyname failed.*|\+.*"
    r"|sudo: unable to resolve host .*"  # hostname not in /etc/hosts: sudo warns and goes on
    r"|[NW]: Download is performed unsandboxed as root.*"  # apt installing a local .deb from /root
    r")$"
)


def _any_needle() -> re.Pattern[str] | None:
    """One regex over the lower-cased line for every rule's literals: a line with none is skipped."""
    if any(not r.needles for r in RULES):
        return None  # some rule has no gate: every line must be tried
    return re.compile(_trie_pattern({n for r in RULES for n in r.needles}))


def _trie_pattern(words: set[str]) -> str:
    """An alternation of literals as a prefix trie: Python's regex engine then tries each character
    once instead of every word in turn (4x faster on 120 words). A word that is a prefix of another
    already decides the match, so the longer ones are dropped."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        if "" in node:
            return ""
        alts = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items())]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return build(trie)


ANY_NEEDLE = _any_needle()
