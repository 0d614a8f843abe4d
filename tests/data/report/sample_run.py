"""A realistic run over the Kata docs snapshot, built as data for the report tests.

Paths and lines are the real ones in ../shared/kata-docs, so the HTML source excerpts can be
checked against the files. Outputs are what Debian 12 prints for each failure (the resolver and
command-not-found lines were captured on a host without network; systemd's from its sources).
"""

from __future__ import annotations

from doctest_runner.model import (
    Check,
    CheckResult,
    DocResult,
    HostInfo,
    RunResult,
    Step,
    StepOptions,
    StepResult,
)

INSTALL = "docs/installation.md"
CONTAINERD = "docs/install/container-manager/containerd/containerd-install.md"
DEVGUIDE = "docs/Developer-Guide.md"
MINIKUBE = "docs/install/minikube-installation-guide.md"

TARBALL_CMD = """export VERSION=$(curl -sSL https://api.github.com/repos/kata-containers/kata-containers/releases/latest | jq -r .tag_name)

# Release tarballs use architecture names that differ from `uname -m`.
case "$(uname -m)" in
  x86_64)  ARCH=amd64 ;;
  aarch64) ARCH=arm64 ;;
  s390x)   ARCH=s390x ;;
  ppc64le) ARCH=ppc64le ;;
  *)
    echo "unsupported architecture: $(uname -m)" >&2
    exit 1
    ;;
esac

curl -fsSL -o kata-static.tar.zst \\
  "https://github.com/kata-containers/kata-containers/releases/download/${VERSION}/kata-static-${VERSION}-${ARCH}.tar.zst"

# The archive uses an /opt/kata/ prefix.
sudo tar -xvf kata-static.tar.zst -C /"""

TARBALL_OUT = (
    "curl: (6) Could not resolve host: api.github.com\n"
    "curl: (6) Could not resolve host: github.com\n"
)

HTML_TRAP = '<script>alert("x")</script> & <b>bold</b>'


def step(path: str, line: int, command: str, *, end_line: int | None = None, heading=("Install",),
         kind="bare", **kw) -> Step:
    n = command.count("\n")
    return Step(
        id=f"{path}:{line}",
        path=path,
        line=line,
        end_line=end_line if end_line is not None else line + n,
        heading=tuple(heading),
        command=command,
        kind=kind,
        line_map=tuple(range(line, line + n + 1)),
        **kw,
    )


def make_run(run_id: str = "20261128-184247-ab12") -> RunResult:
    host = HostInfo(accel="tcg", why="CPU has no vmx/svm", cpu_mode="max", nested=None)

    kvm = step(INSTALL, 44, "ls -l /dev/kvm", heading=("Installation", "Prerequisites"))
    modprobe = step(INSTALL, 50, "sudo modprobe kvm_intel   # Intel hosts\nsudo modprobe kvm_amd     # AMD hosts",
                    heading=("Installation", "Prerequisites"))
    tarball = step(INSTALL, 210, TARBALL_CMD, heading=("Installation", "Install from a pre-built release tarball"))
    restart = step(INSTALL, 289, "sudo systemctl restart docker", heading=("Installation", "Use Kata Containers with Docker"))
    docker = step(INSTALL, 290, "docker run --runtime kata -it --rm ubuntu:24.04 uname -r",
                  heading=("Installation", "Use Kata Containers with Docker"))
    install = DocResult(
        path=INSTALL,
        image="debian-12",
        status="failed",
        duration_s=312.5,
        artifacts="out/artifacts/docs_installation.md",
        steps=[
            StepResult(kvm, "failed", exit_code=2, duration_s=0.2, failed_line=44, category="needs-kvm",
                       explanation="/dev/kvm is missing or not accessible in the VM: run on a host with KVM",
                       evidence="ls: cannot access '/dev/kvm': No such file or directory",
                       output="ls: cannot access '/dev/kvm': No such file or directory\n"),
            StepResult(modprobe, "passed", exit_code=0, duration_s=0.4, output=HTML_TRAP + "\n",
                       output_warning='line 1 of the expected output: expected "ok", got "<script>"'),
            StepResult(tarball, "failed", exit_code=6, duration_s=3.1, failed_line=224, category="network",
                       explanation="could not resolve host api.github.com: an environment problem",
                       evidence="curl: (6) Could not resolve host: api.github.com", output=TARBALL_OUT),
            StepResult(restart, "failed", exit_code=5, duration_s=0.3, failed_line=289, category="service",
                       explanation="unit docker.service does not exist: the package providing it was not "
                       "installed by an earlier step",
                       evidence="Failed to restart docker.service: Unit docker.service not found.",
                       output="Failed to restart docker.service: Unit docker.service not found.\n"),
            StepResult(docker, "not-run", explanation="not run: an earlier step failed"),
        ],
        checks=[
            CheckResult(Check(kind="service", target="docker", expect={"running": True},
                              path="docs/installation.doctest.yaml", line=7),
                        passed=False, message="docker.service is not running"),
            CheckResult(Check(kind="file", target="/opt/kata", path="docs/installation.doctest.yaml", line=4),
                        passed=True, message="exists"),
        ],
    )

    version = step(CONTAINERD, 56, "kata-runtime --version", heading=("Install Kata Containers",), kind="prompted",
                   prompt="$ ")
    containerd = DocResult(
        path=CONTAINERD,
        image="debian-12",
        status="failed",
        duration_s=95.0,
        steps=[
            StepResult(version, "failed", exit_code=127, duration_s=0.1, failed_line=56,
                       category="command-not-found",
                       explanation="kata-runtime: command not found: it is not installed by an earlier step",
                       evidence="bash: line 1: kata-runtime: command not found",
                       output="bash: line 1: kata-runtime: command not found\n"),
        ],
    )

    check = step(DEVGUIDE, 554, "sudo kata-runtime check", heading=("Check hardware requirements",),
                 kind="prompted", options=StepOptions(requires=("kvm",)), status="skip",
                 reason="requires kvm; this host has none")
    devguide = DocResult(
        path=DEVGUIDE,
        image="debian-12",
        status="passed",
        duration_s=40.0,
        steps=[StepResult(check, "skipped", explanation="requires kvm; this host has none")],
    )

    minikube = DocResult(path=MINIKUBE, image="debian-12", status="error", duration_s=300.0,
                         error="VM did not boot: no SSH on 127.0.0.1:40022 after 300s")

    return RunResult(run_id=run_id, started_at="2026-11-28T18:42:47+00:00", host=host,
                     docs=[install, containerd, devguide, minikube])
