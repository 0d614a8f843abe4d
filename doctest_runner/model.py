"""The data model shared by every stage of the pipeline.

parse -> plan -> (lint | run: image -> vm -> exec -> checks -> classify) -> report

Each stage takes and returns these dataclasses, so a stage can be tested alone
and the runner never needs to know how the stage before it worked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:  # types only: the ground module imports no SSH library at run time
    import paramiko

StepKind = Literal["prompted", "bare", "file", "setup", "cleanup", "prose"]
PlanStatus = Literal["run", "skip"]
StepStatus = Literal["passed", "failed", "skipped", "not-run", "error"]
DocStatus = Literal["passed", "failed", "error", "skipped"]

# Failure categories, grouped so a run on a host without network does not blame the docs.
DOC_BUG_CATEGORIES = (
    "package-not-found",
    "command-not-found",
    "permission",
    "interactive",
    "placeholder",
    "syntax",
    "service",
    "output-mismatch",
    "unknown",
)
# Environment: the machine or the reader's situation, not the docs. `platform-mismatch`: another platform's tool
# (brew, dnf...) on this image; `prerequisite`: something the guide says (or plainly assumes) the reader already
# has; `prose-step`: a step the guide gives only in words, so its consequences cannot be blamed on a command.
ENVIRONMENT_CATEGORIES = ("network", "timeout", "needs-kvm", "platform-mismatch", "prerequisite", "prose-step")
CATEGORIES = DOC_BUG_CATEGORIES + ENVIRONMENT_CATEGORIES


def category_group(category: str | None) -> Literal["doc", "environment"] | None:
    """Which side a failure category blames: the docs or the machine they ran on."""
    if category is None:
        return None
    return "environment" if category in ENVIRONMENT_CATEGORIES else "doc"


@dataclass(frozen=True)
class Location:
    """A 1-based line in a file: what every error and finding points at."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class DoctestError(Exception):
    """A user-facing error: printed as one line `path:line: message`, never a traceback."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        if self.path and self.line:
            return f"{self.path}:{self.line}: {self.message}"
        if self.path:
            return f"{self.path}: {self.message}"
        return self.message


@dataclass
class StepOptions:
    """Per-step settings from an in-doc annotation or a sidecar rule."""

    skip: bool = False
    reason: str | None = None
    timeout: int | None = None  # seconds
    expect_exit: int = 0
    user: str | None = None  # None: the guide's non-root user; "root": run as root
    requires: tuple[str, ...] = ()  # e.g. ("kvm", "network")
    name: str | None = None
    reboot: bool = False
    output: Literal["check", "warn", "ignore"] | None = None  # None: the run's --output default
    pty: bool = False
    platform: str | None = None  # "any": never skipped for its platform; a platform name: only on that platform


@dataclass
class Block:
    """A code block as found in the Markdown, with container indentation already stripped."""

    path: str
    line: int  # opening fence line (or first line of an indented block), 1-based
    end_line: int  # closing fence line (or last line of an indented block)
    content_line: int  # source line of the first content line
    info: str  # raw info string, e.g. 'bash title="x"'
    lang: str  # normalised language: 'bash', 'console', 'yaml', '' ...
    attrs: dict[str, str]  # info-string attributes, e.g. {"title": "/etc/x.yaml"}
    text: str  # content, container indentation stripped, no trailing newline
    heading: tuple[str, ...]  # heading path above the block
    tab: str | None = None  # enclosing mkdocs tab title (=== "Ubuntu")
    annotation: StepOptions | None = None  # from <!-- doctest: ... --> right before
    kind: Literal["fenced", "indented", "hidden-setup", "hidden-cleanup", "shortcode"] = "fenced"


@dataclass
class Step:
    """One thing a reader types (or a file they write), with where it came from."""

    id: str  # stable within a doc: "<path>:<line>" (suffixed "#n" if a line holds several)
    path: str
    line: int  # first source line of the command
    end_line: int  # last source line of the command (expected output excluded)
    heading: tuple[str, ...]
    command: str  # exactly as it will be run: prompts stripped, continuations kept
    kind: StepKind
    line_map: tuple[int, ...] = ()  # source line of each line of `command`
    expected_output: str | None = None
    prompt: str | None = None  # the prompt that was stripped, e.g. "$ "
    lang: str = ""
    block_line: int = 0  # opening fence of the block the step came from
    alternative: str | None = None  # distro tab title this step belongs to
    file_path: str | None = None  # kind == "file": where the content is written
    origin: Literal["doc", "sidecar"] = "doc"  # "sidecar": a command supplied for a prose step
    options: StepOptions = field(default_factory=StepOptions)
    status: PlanStatus = "run"
    reason: str | None = None  # why skipped
    platform: str | None = None  # platform the step's own text names (e.g. "windows" from a `PS C:\>` prompt)
    why: str | None = None  # how the parser read an ambiguous block ("unlabelled block read as shell: ...")

    def source_line(self, command_line_index: int) -> int:
        """Map a 0-based line of `command` back to its line in the doc."""
        if 0 <= command_line_index < len(self.line_map):
            return self.line_map[command_line_index]
        return self.line


@dataclass
class Prose:
    """An imperative instruction in prose with no command after it (lint's 'prose step')."""

    path: str
    line: int
    text: str
    heading: tuple[str, ...]


@dataclass(frozen=True)
class Prerequisite:
    """Something a guide says (or plainly assumes) the reader already has: Docker, a Kubernetes cluster, Go."""

    name: str  # as a reader says it: "Docker", "a Kubernetes cluster"
    provides: tuple[str, ...]  # lower-case commands, services and sockets it brings: ("docker", "dockerd")
    sentence: str  # the doc's words that name it (one line)
    line: int  # doc line of that sentence
    assumed: bool = False  # True: not said in words: the guide's subject (its title), or a platform it runs uninstalled


@dataclass(frozen=True)
class Condition:
    """A code block the guide runs only on a condition about the reader's setup: the sentence introducing it
    says "If you have the ACL package installed, ..." (plan/prereq.py). A missing tool there is the setup's."""

    block_line: int  # the opening fence of the block the sentence introduces
    sentence: str  # the introducing sentence (one line)
    line: int  # doc line of that sentence
    clause: str  # the condition as the explanation quotes it: "you have the ACL package for your distro installed"


@dataclass(frozen=True)
class Platform:
    """What an image is, for choosing a guide's platform sections (vocabulary and matching: plan/platform.py)."""

    image: str = "debian-12"
    os: str = "linux"  # linux | macos | windows | wsl | freebsd | openbsd | netbsd
    distro: str = "debian"
    release: str = "12"
    family: str = "debian"  # debian | rhel | suse | arch | alpine | gentoo | nixos | ... (the distro for others)
    package_manager: str = "apt"
    arch: str = "x86_64"


@dataclass
class ParsedDoc:
    """What the parser makes of one file: steps in order, plus what lint needs besides."""

    path: str
    steps: list[Step]
    blocks: list[Block] = field(default_factory=list)
    prose: list[Prose] = field(default_factory=list)
    errors: list[DoctestError] = field(default_factory=list)  # non-fatal problems, file:line each
    headings: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)  # (line, path)
    source: str | None = None  # the doc's text, for platform scopes from labels and tabs (plan/scope.py)


@dataclass
class Check:
    """A testinfra check declared in a sidecar, run after a guide's steps."""

    kind: str  # package | service | file | port | command
    target: str
    expect: dict[str, object] = field(default_factory=dict)
    path: str = ""  # sidecar file
    line: int = 0


@dataclass
class Plan:
    """A doc ready to run: its steps with statuses, on which image, with what around it."""

    path: str  # the doc
    steps: list[Step]
    image: str = "debian-12"
    distro: str = "debian"
    platform: Platform = field(default_factory=Platform)  # what the image is (plan/platform.py)
    sidecar: str | None = None
    vars: dict[str, str] = field(default_factory=dict)
    fixtures: list[tuple[str, str]] = field(default_factory=list)  # (local path, guest path)
    checks: list[Check] = field(default_factory=list)
    check_modules: list[str] = field(default_factory=list)  # testinfra test files
    setup: list[Step] = field(default_factory=list)  # sidecar setup, run before the first step
    cleanup: list[Step] = field(default_factory=list)  # run after the guide, pass or fail
    prose: list[Prose] = field(default_factory=list)  # for lint's prose-step rule
    errors: list[DoctestError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # planning remarks, e.g. "no tab for debian; kept Ubuntu"
    prerequisites: list[Prerequisite] = field(default_factory=list)  # what the guide assumes (plan/prereq.py)
    word_steps: list[Prose] = field(default_factory=list)  # fetch/create instructions given in words (plan/prereq.py)
    conditions: list[Condition] = field(default_factory=list)  # blocks run only "if you have X" (plan/prereq.py)


@dataclass
class Finding:
    """One lint finding."""

    path: str
    line: int
    rule: str  # e.g. "sudo-redirect"
    severity: Literal["error", "warning", "info"]
    message: str
    hint: str = ""
    step_id: str | None = None

    def __str__(self) -> str:
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.path}:{self.line}: {self.severity}: [{self.rule}] {self.message}{hint}"


@dataclass
class ExecResult:
    """What running one command in the guest gave."""

    exit_code: int | None  # None: killed (timeout) or lost
    output: str  # stdout and stderr interleaved
    duration_s: float
    timed_out: bool = False
    interactive: bool = False  # it waited for input / a terminal
    failed_line_index: int | None = None  # 0-based line of the command that failed
    transcript: list[tuple[float, str, str]] = field(default_factory=list)  # (t, stream, text)


@dataclass
class StepResult:
    step: Step
    status: StepStatus
    exit_code: int | None = None
    duration_s: float = 0.0
    failed_line: int | None = None  # doc line of the failing command
    category: str | None = None
    explanation: str | None = None
    evidence: str | None = None
    output: str = ""
    output_warning: str | None = None  # expected-output mismatch in `warn` mode
    after_failure: str | None = None  # `path:line` of the earlier failure this one follows from (a cascade)
    # `run --suggest-fixes` (#14): the candidate fixes tried for this failed step, each a `fix.Fix` (typed loosely:
    # fix/ sits above this module); empty without the option, and then no report shows a trace of it
    fixes: list[object] = field(default_factory=list)

    @property
    def output_tail(self) -> str:
        return "\n".join(self.output.splitlines()[-20:])


@dataclass
class CheckResult:
    check: Check
    passed: bool
    message: str = ""


@dataclass
class DocResult:
    path: str
    image: str
    status: DocStatus
    duration_s: float = 0.0
    steps: list[StepResult] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None  # harness error for this guide
    artifacts: str | None = None


@dataclass
class HostInfo:
    accel: str  # "kvm" | "tcg"
    why: str
    cpu_mode: str = ""
    nested: str | None = None


@dataclass
class RunResult:
    run_id: str
    started_at: str
    host: HostInfo
    docs: list[DocResult] = field(default_factory=list)


class Machine(Protocol):
    """A booted machine as the rest of the harness may use it, whichever provider made it (vm/providers: cold
    boot, restore, remote host) or a test's fake.

    Why a Protocol here: run/, exec/, checks/ and cli/ type their machine against this short list, never
    against a provider's class, so a new way of getting a machine only has to offer these members."""

    @property
    def name(self) -> str: ...

    @property
    def ssh_host(self) -> str: ...

    @property
    def ssh_port(self) -> int: ...

    @property
    def user(self) -> str: ...

    @property
    def key_path(self) -> Path: ...

    @property
    def host_key(self) -> str | None:
        """"ssh-ed25519 AAAA..." the guest must present; None: an image built before keys were recorded."""
        ...

    @property
    def host(self) -> HostInfo | None:
        """The acceleration it runs with (None: a fake or unknown)."""
        ...

    @property
    def restored_from(self) -> object | None:
        """The saved state or checkpoint it was restored from; None after a cold boot."""
        ...

    def connect(self, user: str | None = None, timeout: float = 10, retry_s: float = 20) -> paramiko.SSHClient:
        """A logged-in SSH client as `user` (default: the image's user), the guest's host key pinned."""
        ...

    def kept_hint(self) -> str:
        """How to reach it when it is kept for review (--keep-on-failure)."""
        ...

    def destroy(self) -> None: ...


class GuestTerminal(Protocol):
    """The guide's terminal on its machine: runs planned steps in one shell state, and harness commands."""

    def run_step(self, step: Step, *, default_timeout: float | None = 600,
                 on_output: Callable[[str, str], None] | None = None) -> ExecResult:
        """`on_output(stream, text)` sees the step's output as it arrives (exec/output.py's OnOutput)."""
        ...

    def capture(self, cmd: str, *, root: bool = True, timeout: float = 120) -> str: ...
