"""Does a line of text read as a command a reader types, or as prose, output or data?

Real guides leave this to the reader's eye: `# make install` in a ``console`` block is a root
prompt, `# Build the kernel` is a comment; an unlabelled fence holding `sudo sysctl -w x=1` is a
command, one holding `kind-2` or `CONFIG_USER_NS=y` is output. The parser decides it the way a
reader does, with two signals that do not depend on one guide: bash's own parser (prose with an
apostrophe or a dangling `for each node,` does not parse) and the first word (a command a reader
would recognise, or a path to an executable, versus an English word). Everything here is
deliberately conservative: a line that is not clearly a command is not one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from doctest_runner.shell import SyntaxCheck, check_syntax

# Command words a reader recognises: coreutils and friends, shell builtins and keywords, package
# managers, build tools, container, virtualisation and cluster tools. Lowercase, as typed.
KNOWN_COMMANDS = frozenset(
    """
    alias apt apt-get apt-cache apt-key aptitude dpkg dpkg-reconfigure snap flatpak dnf yum rpm zypper
    pacman yay apk emerge pkg port brew nix nix-env nix-shell guix xbps-install eopkg swupd tdnf
    microdnf rpm-ostree transactional-update add-apt-repository update-alternatives update-ca-certificates
    pip pip3 pipx python python3 virtualenv poetry uv conda npm npx yarn pnpm node deno gem bundle
    cargo rustup rustc go gofmt make cmake ninja meson gcc g++ cc clang ld autoreconf autogen.sh
    configure mvn gradle java javac dotnet
    git gh hub svn hg curl wget scp rsync ssh ssh-keygen ssh-copy-id sftp ftp nc ncat socat telnet
    ping dig nslookup host traceroute openssl gpg gpg2 sha256sum sha512sum md5sum sha1sum base64
    tar gzip gunzip zcat zgrep bzip2 bunzip2 xz unxz unzip zip zstd 7z cpio ar
    ls ll cd pwd mkdir rmdir rm cp mv ln touch cat tac less more head tail tee chmod chown chgrp
    chattr stat file find xargs grep egrep fgrep rg sed awk gawk cut sort uniq wc tr paste join
    diff cmp patch comm column fold fmt nl od hexdump xxd strings dd truncate mktemp realpath
    readlink basename dirname install du df free lsblk blkid fdisk parted sfdisk mkfs mkfs.ext4
    mkfs.xfs mkfs.vfat mkswap swapon swapoff mount umount losetup fallocate e2fsck resize2fs
    tune2fs lvcreate pvcreate vgcreate cryptsetup sync
    echo printf read export unset set source env printenv which type command hash test true false
    exec eval exit return shift trap wait sleep time timeout nohup watch yes seq expr bc let
    declare local readonly ulimit umask history jobs fg bg kill killall pkill pgrep ps top htop
    if then else elif fi for while until do done case esac in function select break continue
    sudo su doas runuser chroot unshare nsenter setpriv newgrp id whoami who groups useradd
    adduser usermod userdel groupadd groupmod gpasswd passwd chpasswd visudo getent
    systemctl journalctl service rc-service rc-update sysrc loginctl hostnamectl timedatectl
    localectl networkctl resolvectl update-rc.d chkconfig initctl reboot shutdown poweroff halt
    modprobe insmod rmmod lsmod modinfo depmod dmesg sysctl lscpu lspci lsusb lshw dmidecode uname
    hostname uptime date hwclock nproc arch getconf ldconfig ldd strace ltrace perf gdb
    ip ifconfig route iptables ip6tables nft ebtables iptables-save iptables-restore ufw firewall-cmd
    brctl bridge tc ethtool ss netstat nmcli resolvconf
    vi vim nano emacs ed code
    docker docker-compose podman buildah skopeo nerdctl ctr crictl containerd runc crun runsc
    youki lxc lxd incus machinectl systemd-nspawn kubectl kubeadm kubelet minikube kind k3s k3d
    k0s microk8s helm kustomize oc istioctl linkerd velero argocd flux virtctl kubectl-virt
    qemu-system-x86_64 qemu-system-aarch64 qemu-img qemu-kvm virsh virt-install virt-customize
    virt-builder guestfish guestmount vagrant packer terraform ansible ansible-playbook
    firecracker jailer cloud-hypervisor ch-remote kata-runtime kata-ctl kata-monitor
    crio crio-status conmon slirp4netns fuse-overlayfs newuidmap newgidmap mokutil
    aws gcloud az gsutil az doctl jq yq xmllint envsubst gettext
    bats shellcheck shfmt pytest tox pre-commit go-md2man
    setenforce getenforce semanage restorecon chcon aa-status apparmor_parser
    cosign notation oras regctl crane trivy syft grype
    nvidia-smi nvidia-ctk
    zsh bash sh dash fish ksh tmux screen script clear tput stty logout
    wsl scoop choco winget
    """.split()
)

# Commands that a reader often types with no argument at all. A single-word line of any other
# known command (`kind`, `docker`) is much more often output (`kind get clusters` prints `kind`).
ARGLESS_COMMANDS = frozenset(
    """
    make ls ll pwd id whoami hostname uptime date env printenv history popd dirs jobs sync reboot
    poweroff logout exit clear nproc lscpu lsmod lsblk lspci lsusb dmesg free df groups uname bash
    sh zsh su true sudo -i cd fi done esac else then do
    """.split()
)

# Commands that are also everyday English words: followed only by plain words ("more note",
# "find out", "install dependencies") they are a sentence, so they need an argument that is not
# plain English (an option, a path, a value) to count as a command.
ENGLISH_COMMANDS = frozenset(
    """
    more less find set read test type date host time watch wait sleep touch kill patch file sort join
    cut split yes true false which who select return break continue command source script code clear
    free shift stat install in if then else for while until do done case function local alias history
    jobs top head tail arch host link unset exit let type hash trap eval exec bridge route column
    """.split()
)
_PLAIN_WORD_RE = re.compile(r"^[A-Za-z]+[,.;:!?]?$")

# Words that only prefix the real command; the command word is the one after them.
_WRAPPERS = frozenset({"sudo", "doas", "env", "time", "nohup", "exec", "command", "builtin", "!", "nice",
                       "ionice", "stdbuf", "unbuffer", "xargs"})
_SUDO_ARG_OPTS = frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "--user", "--group"})
_ASSIGN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_EXEC_PATH_RE = re.compile(r"^(?:\.{1,2}/|~/|\$\{?HOME\}?/|/)[\w.+@-]+(?:/[\w.+@-]+)*$")
_QUOTED_RE = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`")
_CONTRACTION_RE = re.compile(r"[A-Za-z]'[A-Za-z]")
_VERSION_OUTPUT_RE = re.compile(r"(?<![-\w])version:?\s+v?(?:go)?\d+\.\d+", re.IGNORECASE)

# English words that commands almost never hold outside quotes; two of them make a line prose.
PROSE_WORDS = frozenset(
    """
    the an is are was were be been being to of that this these those you your we our us it its they
    their will would should could can must may might sure which when before after following because
    please here there also only now want need needs just into from with without about than very
    has have had does did same other each every more most such some first next using
    """.split()
)


Checker = Callable[[str], SyntaxCheck]


def words_of(text: str) -> list[str]:
    """Whitespace words of `text` with quoted strings kept whole (enough to find the command word)."""
    return re.findall(r"(?:'[^']*'|\"(?:[^\"\\]|\\.)*\"|[^\s'\"])+|['\"]", text)


def command_word(text: str) -> str | None:
    """The command a line starts with, when it is one a reader would recognise (None otherwise).

    Leading `VAR=value` assignments and wrappers (`sudo -E`, `env`, `time`) are passed over, so
    `sudo sysctl -w x=1` gives `sysctl`. A path to an executable counts (`./kind`, `/usr/local/bin/x`).
    """
    words = words_of(text.strip())
    i = 0
    while i < len(words) and _ASSIGN_RE.match(words[i]):
        i += 1
    while i < len(words) and words[i] in _WRAPPERS:
        wrapper = words[i]
        i += 1
        while i < len(words) and words[i].startswith("-"):
            i += 2 if wrapper in ("sudo", "doas") and words[i] in _SUDO_ARG_OPTS else 1
        while i < len(words) and _ASSIGN_RE.match(words[i]):
            i += 1
        if i >= len(words):
            return wrapper
    if i >= len(words):
        return None
    word = words[i]
    if word in KNOWN_COMMANDS:
        return word
    if _is_exec_path(word, has_args=i + 1 < len(words)):
        return word
    return None


def _is_exec_path(word: str, has_args: bool) -> bool:
    """`./kind`, `../bin/x`, `~/bin/x`, `/usr/local/bin/x --flag`: a program run by its path.

    An absolute path alone on its line is usually output (a file listing), so it counts only with
    arguments or when it sits in a bin/sbin/libexec folder or is a script."""
    if not _EXEC_PATH_RE.match(word):
        return False
    if word.startswith(("./", "../", "~/", "$")):
        return True
    return has_args or bool(re.search(r"/(?:s?bin|libexec)/[^/]+$", word)) or word.endswith(".sh")


def is_prose(text: str) -> bool:
    """English prose rather than a command: ends like a sentence or holds English function words."""
    bare = _QUOTED_RE.sub(" ", text).strip()
    if not bare:
        return False
    if bare.endswith(":") or bare.endswith("..."):
        return True
    words = [w.strip(".,;:!?()").lower() for w in bare.split()]
    hits = sum(1 for w in words[1:] if w in PROSE_WORDS)
    if hits >= 2:
        return True
    sentence_end = re.search(r"[A-Za-z]{2}[.!?]$", bare) is not None and len(words) >= 3
    return hits >= 1 and sentence_end or (sentence_end and len(words) >= 5)


def reads_as_command(text: str, checker: Checker = check_syntax) -> bool:
    """Is this line (the text after a `# `, `> ` or `% `) a command a reader types?

    Its first word is a known command or a path to an executable, it is not prose, and bash's
    parser accepts it (or wants more lines, as a heredoc or `\\` continuation does; an apostrophe
    inside a word, `don't`, is prose)."""
    text = text.strip()
    if not text or command_word(text) is None or is_prose(text):
        return False
    words = words_of(text)
    if len(words) == 1 and words[0] not in ARGLESS_COMMANDS and not words[0].startswith(("./", "../", "~/")):
        return False  # `kind`, `/usr/local/bin/kind`: the output of `kind get clusters`, `which kind`
    if _VERSION_OUTPUT_RE.search(text):
        return False  # `go version go1.21.5 linux/amd64`: what `go version` prints
    if words[0] in ENGLISH_COMMANDS and all(_PLAIN_WORD_RE.match(w) for w in words[1:]):
        return False  # "more note", "find out": a sentence
    verdict = checker(text)
    if verdict.ok:
        return True
    if verdict.complete:
        return False  # a syntax error: not shell
    if verdict.wanted_kind == "char" and verdict.wanted == "'" and _CONTRACTION_RE.search(text):
        return False
    return True


# --------------------------------------------------------------------------- output and data


_TABLE_HEAD_RE = re.compile(r"^[A-Z][A-Z0-9_/()%.-]*(?: [A-Z][A-Z0-9_/()%.-]*)?(?: {2,}|\t+)")
_LOG_RE = re.compile(
    r"^\s*(?:\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\[?\d{2}:\d{2}:\d{2}|"
    r"[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}|\[\s*\d+\.\d+\]|"
    r"\[?(?:INFO|WARN|WARNING|ERROR|DEBU|DEBUG|TRACE|FATAL|ERRO)\]?[\[:\s]|time=\"|level=\w+)"
)
_KEY_VALUE_RE = re.compile(r"^\s*[A-Za-z][\w .()/-]{0,40}:(?:\s+\S.*)?$")
_LSMOD_RE = re.compile(r"^[\w-]+\s+\d+\s+\d+(?:\s+[\w,-]+)?$")
_LS_LONG_RE = re.compile(r"^[-dlcbps][rwxsStT-]{9}[.+@]?\s")
_TREE_RE = re.compile(r"^[\s│|]*(?:├──|└──|`--|\|--)")


def output_shape(lines: list[str]) -> str | None:
    """Why these lines look like a command's output or a data dump (None: they do not).

    Only shapes a command never has: a column table under an upper-case header (`docker ps`,
    `kubectl get`, `lsmod`), log lines, `Key: value` dumps, `ls -l` or `tree` listings."""
    body = [ln for ln in lines if ln.strip()]
    if not body:
        return None
    first = body[0].strip()
    if command_word(first) is not None and not is_prose(first):
        return None
    head = body[0].lstrip()
    if _TABLE_HEAD_RE.match(head) and len(re.split(r" {2,}|\t+", head.strip())) >= 3:
        return "a table of columns"
    if re.match(r"^Module\s+Size\s+Used by", head):
        return "lsmod columns"

    def share(rx: re.Pattern[str]) -> float:
        return sum(1 for ln in body if rx.match(ln)) / len(body)

    if share(_LOG_RE) >= 0.5:
        return "log lines"
    if share(_LSMOD_RE) >= 0.6 and len(body) >= 2:
        return "lsmod columns"
    if share(_LS_LONG_RE) >= 0.5 or share(_TREE_RE) >= 0.5:
        return "a file listing"
    if len(body) >= 2 and share(_KEY_VALUE_RE) >= 0.6:
        return "key: value lines"
    return None


_OUTPUT_INTRO_RE = re.compile(
    r"\b(?:(?:example|sample|expected|typical)\s+output"
    r"|output\s+(?:is|was|should|will|would|looks|similar|like)"
    r"|output\s*:"
    r"|should\s+(?:print|output|show|display|return|see|look|read|get)"
    r"|(?:you|we)\s+(?:should|will|would)\s+(?:see|get|notice)"
    r"|(?:will|would)\s+(?:print|output|show|display|return)"
    r"|(?:prints|displays|outputs|returns|shows)\s+(?:something\s+)?(?:like|similar)"
    r"|(?:looks?|look)\s+(?:something\s+)?like\s+(?:this|the\s+following)"
    r"|similar\s+to\s+(?:this|the\s+following|below))",
    re.IGNORECASE,
)
_EXPLICIT_OUTPUT_RE = re.compile(r"\b(?:example|sample|expected|typical)\s+output\b|\boutput\s*:", re.IGNORECASE)
_COMMAND_WORD_RE = re.compile(r"\bcommands?\b", re.IGNORECASE)
_RUN_INTRO_RE = re.compile(r"\b(?:run|execute|type|enter|use|command|commands|invoke|following\s+command)\s*:\s*$",
                           re.IGNORECASE)


def output_intro(paragraph: str | None) -> str | None:
    """The phrase of the paragraph just before a block that says the block is output, if any.

    "Example output:", "You should see:", "The output looks like this:" introduce output; a
    last sentence that asks to run something ("To check the output, run:") does not."""
    if not paragraph:
        return None
    text = " ".join(paragraph.split())
    sentences = re.split(r"(?<=[.!?])\s+", text)
    last = sentences[-1] if sentences else text
    if _RUN_INTRO_RE.search(last) and not _EXPLICIT_OUTPUT_RE.search(last):
        return None
    m = _OUTPUT_INTRO_RE.search(last)
    if m is None:
        return None
    if _COMMAND_WORD_RE.search(last) and not _EXPLICIT_OUTPUT_RE.search(last):
        return None  # "The following command should print the version:" introduces the command
    quoted = last if len(last) <= 80 else last[:77] + "..."
    return quoted


# --------------------------------------------------------------------------- unlabelled blocks

_HEREDOC_RE = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][\w-]*)\1")
MAX_UNLABELLED_LINES = 30


def logical_lines(lines: list[str]) -> list[str] | None:
    """The command lines of a block: `\\` continuations joined, heredoc bodies and comments left
    out. None when a heredoc is never closed."""
    out: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        joined = line
        while joined.rstrip().endswith("\\") and i + 1 < n:
            i += 1
            joined = joined.rstrip()[:-1] + " " + lines[i].strip()
        out.append(joined.strip())
        i += 1
        for m in _HEREDOC_RE.finditer(_QUOTED_RE.sub("", joined)):
            delim = m.group(2)
            while i < n and lines[i].strip() != delim:
                i += 1
            if i >= n:
                return None
            i += 1
    return out


def unlabelled_shell_reason(lines: list[str], checker: Checker = check_syntax) -> str | None:
    """Why an unlabelled, unprompted block reads as commands a reader types (None: it does not).

    Every command line must start with a known command word or a path to an executable (pure
    `VAR=value` lines are fine next to real commands), none may read as prose, and bash must parse
    the whole block. Data (YAML, JSON, INI, TOML), output, logs, tables, diffs, file listings and
    source code all fail the first-word test."""
    body = [ln for ln in lines if ln.strip()]
    if not body or len(body) > MAX_UNLABELLED_LINES or body[0].startswith("#!"):
        return None  # a `#!` line: a script file's content, not what a reader types
    logical = logical_lines(lines)
    if not logical:
        return None
    words: list[str] = []
    for line in logical:
        if _pure_assignment(line):
            continue
        if not reads_as_command(line, checker):
            return None
        word = command_word(line)
        assert word is not None
        if word not in words:
            words.append(word)
    if not words:
        return None
    verdict = checker("\n".join(lines))
    if not verdict.ok:
        return None
    shown = ", ".join(f"`{w}`" for w in words[:3]) + (" ..." if len(words) > 3 else "")
    return f"every line starts with a command ({shown}) and bash parses it"


def _pure_assignment(line: str) -> bool:
    words = words_of(line)
    return bool(words) and all(_ASSIGN_RE.match(w) for w in words)
