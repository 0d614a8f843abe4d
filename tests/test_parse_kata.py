"""Exact step lists for real Kata Containers guides (the snapshot next to the repo).

Expectations were written by reading the docs with `cat -n`: what a reader would type, at which
lines, with which output shown. Long tables of output are referred to by their doc lines
(`doc_lines`), i.e. "exactly the text of lines a..b", not by anything the parser produced.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from doctest_runner.parse import parse_file

KATA = Path(__file__).resolve().parents[1].parent / "shared" / "kata-docs"

pytestmark = pytest.mark.skipif(not KATA.is_dir(), reason=f"Kata docs snapshot not found at {KATA}")

CONTAINERD = "docs/install/container-manager/containerd/containerd-install.md"
CRICTL = "docs/how-to/run-kata-with-crictl.md"
INSTALLATION = "docs/installation.md"
DEVGUIDE = "docs/Developer-Guide.md"
K8S = "docs/how-to/how-to-use-k8s-with-containerd-and-kata.md"
GUEST = "runs inside a guest shell"


def parse(rel: str):
    return parse_file(KATA / rel, display_path=rel)


def doc_lines(rel: str, first: int, last: int) -> str:
    """The verbatim text of doc lines first..last (1-based, inclusive)."""
    lines = (KATA / rel).read_text().split("\n")
    return "\n".join(lines[first - 1: last])


def typed(rel: str, line: int) -> str:
    """What a reader types on a `$ ` line: the line without its prompt."""
    text = (KATA / rel).read_text().split("\n")[line - 1]
    assert text.startswith("$ "), text
    return text[2:]


def summary(doc):
    return [(s.line, s.end_line, s.command, s.expected_output, s.status) for s in doc.steps]


def test_containerd_install_exact():
    doc = parse(CONTAINERD)
    assert summary(doc) == [
        # fence inside a list item ("- Check installation by showing version details:")
        (56, 56, "kata-runtime --version", None, "run"),
        (116, 116, 'image="docker.io/library/busybox:latest"', None, "run"),
        (117, 117, 'sudo ctr image pull "$image"', None, "run"),
        (118, 118, 'sudo ctr run --runtime "io.containerd.kata.v2" --rm -t "$image" test-kata uname -r', None, "run"),
    ]
    assert [s.id for s in doc.steps] == [f"{CONTAINERD}:{n}" for n in (56, 116, 117, 118)]
    assert all(s.kind == "prompted" and s.prompt == "$ " for s in doc.steps)
    assert doc.steps[0].heading == ("Install Kata Containers with containerd", "Install Kata Containers")
    assert doc.steps[0].block_line == 55
    assert doc.errors == []
    # the prose instructions with no command (issue #5's rule)
    assert [(p.line, p.text) for p in doc.prose] == [
        (31, "Download a release from:"),
        (39, "Unpack the downloaded archive."),
        (67, "Download a release from:"),
        (71, "Unpack the downloaded archive."),
        (73, "Configure containerd"),
        (75, "Download the standard `systemd(1)` service file and install to `/etc/systemd/system/`:"),
        (108, "Start the containerd service."),
    ]
    assert doc.prose[-1].heading == ("Install Kata Containers with containerd", "Install containerd")


def test_crictl_exact():
    doc = parse(CRICTL)
    assert summary(doc) == [
        (22, 22, "sudo crictl runp -r kata sandbox_config.json",
         "16a62b035940f9c7d79fd53e93902d15ad21f7f9b3735f1ac9f51d16539b836b", "run"),
        (25, 25, "sudo crictl pods", doc_lines(CRICTL, 26, 27), "run"),
        (33, 33, "sudo crictl create 16a62b035940f container_config.json sandbox_config.json",
         "e6ca0e0f7f532686236b8b1f549e4878e4fe32ea6b599a5d684faf168b429202", "run"),
        (40, 40, "sudo crictl ps -a", doc_lines(CRICTL, 41, 42), "run"),
        (48, 48, "sudo crictl start e6ca0e0f7f532", "e6ca0e0f7f532", "run"),
        (55, 55, "sudo crictl ps", doc_lines(CRICTL, 56, 57), "run"),
        (63, 63, "sudo crictl exec -it e6ca0e0f7f532 sh", None, "run"),
        # unlabelled block of busybox prompts: commands inside the container
        (69, 69, "hostname", "busybox_host", "skip"),
        (71, 71, "id", "uid=0(root) gid=0(root)", "skip"),
        (84, 84, "sudo crictl run -r kata redis_server_container_config.json redis_server_sandbox_config.json",
         "bb36e05c599125842c5193909c4de186b1cee3818f5d17b951b6a0422681ce4b", "run"),
        (91, 91, "sudo crictl run -r kata redis_client_container_config.json redis_client_sandbox_config.json",
         "e344346c5414e3f51f97f20b2262e0b7afe457750e94dc0edb109b94622fc693", "run"),
        # two commands with output in one block; the blank line between them is not output
        (98, 98, "sudo crictl pods", doc_lines(CRICTL, 99, 101), "run"),
        (103, 103, "sudo crictl ps", doc_lines(CRICTL, 104, 106), "run"),
        # the block starts with a blank line
        (115, 115, """server=$(sudo crictl inspectp 02c12fdb08219 | jq .status.network.ip | tr -d '"' )""", None, "run"),
        (116, 116, "echo $server", "172.19.0.118", "run"),
        (123, 123, "sudo crictl exec -it e344346c5414e redis-cli -h $server", doc_lines(CRICTL, 124, 129), "run"),
        (135, 135, "sudo crictl exec -it bb36e05c59912 redis-cli get test-key", '"test-val"', "run"),
    ]
    guests = [s for s in doc.steps if s.status == "skip"]
    assert [(s.reason, s.prompt) for s in guests] == [(GUEST, "/ # "), (GUEST, "/ # ")]
    assert doc.steps[1].expected_output.startswith("POD ID ")
    assert doc.steps[15].expected_output.split("\n")[1] == "(nil)"


def test_installation_exact():
    doc = parse(INSTALLATION)
    assert summary(doc) == [
        (36, 36, "grep -E -o '(vmx|svm)' /proc/cpuinfo | sort -u", None, "run"),
        (44, 44, "ls -l /dev/kvm", None, "run"),
        (50, 51, "sudo modprobe kvm_intel   # Intel hosts\nsudo modprobe kvm_amd     # AMD hosts", None, "run"),
        (71, 72, "sudo modprobe vhost_vsock\nsudo modprobe vhost_net", None, "run"),
        (78, 78, "printf 'vhost_vsock\\nvhost_net\\n' | sudo tee /etc/modules-load.d/kata-containers.conf", None, "run"),
        (119, 123, (
            "# Pick the version you want to install, or use the latest release.\n"
            "export VERSION=$(curl -sSL https://api.github.com/repos/kata-containers/kata-containers/releases/latest"
            " | jq -r .tag_name)\n"
            'export CHART="oci://ghcr.io/kata-containers/kata-deploy-charts/kata-deploy"\n'
            "\n"
            'helm install kata-deploy "${CHART}" --version "${VERSION}"'), None, "run"),
        (130, 130, 'helm show values "${CHART}" --version "${VERSION}"', None, "run"),
        (136, 136, 'helm show chart "${CHART}"', None, "run"),
        (160, 160, "kubectl get runtimeclasses", None, "run"),
        # ```yaml title="kata-qemu-runtime-rs-test.yaml"``` : a relative file-write step
        (168, 179, (
            "tee kata-qemu-runtime-rs-test.yaml >/dev/null <<'DOCTEST_EOF'\n"
            "apiVersion: v1\n"
            "kind: Pod\n"
            "metadata:\n"
            "  name: kata-runtime-rs-test\n"
            "spec:\n"
            "  runtimeClassName: kata-qemu-runtime-rs\n"
            "  containers:\n"
            "    - name: test\n"
            "      image: quay.io/libpod/ubuntu:latest\n"
            '      command: ["uname", "-r"]\n'
            "DOCTEST_EOF"), None, "run"),
        (182, 183, "kubectl apply -f kata-qemu-runtime-rs-test.yaml\nkubectl logs kata-runtime-rs-test", None, "run"),
        (193, 193, "helm uninstall kata-deploy -n kube-system", None, "run"),
        # bare block: case statement and a `\` continuation, one step with a line map
        (210, 228, doc_lines(INSTALLATION, 210, 228), None, "run"),
        (248, 251, (
            "curl -fsSL -o kata-go-static.tar.zst \\\n"
            '  "https://github.com/kata-containers/kata-containers/releases/download/${VERSION}/'
            'kata-go-static-${VERSION}-${ARCH}.tar.zst"\n'
            "\n"
            "sudo tar -xvf kata-go-static.tar.zst -C /"), None, "run"),
        # ```json title="/etc/docker/daemon.json"``` : an absolute file-write step, with sudo
        (265, 276,
         "sudo mkdir -p /etc/docker && sudo tee /etc/docker/daemon.json >/dev/null <<'DOCTEST_EOF'\n"
         + doc_lines(INSTALLATION, 266, 275) + "\nDOCTEST_EOF", None, "run"),
        (289, 290, "sudo systemctl restart docker\ndocker run --runtime kata -it --rm ubuntu:24.04 uname -r", None, "run"),
    ]
    kinds = [s.kind for s in doc.steps]
    assert kinds.count("file") == 2 and kinds.count("bare") == 14
    files = [s for s in doc.steps if s.kind == "file"]
    assert [f.file_path for f in files] == ["kata-qemu-runtime-rs-test.yaml", "/etc/docker/daemon.json"]
    big = doc.steps[12]
    assert big.line_map == tuple(range(210, 229))
    assert big.source_line(14) == 224  # the `curl ... \` line of the continuation
    assert big.command.split("\n")[14].endswith("\\")
    assert doc.steps[12].heading == ("Installation", "Install from a pre-built release tarball")
    # admonitions (`!!! note "..."`) hold prose, not steps, and are not prose steps either
    assert doc.prose == []


DEV_PROMPTED_LINES = [
    53, 54, 55, 56, 57, 58, 75, 76, 84, 97, 115, 128, 129, 236, 261, 275, 276, 277, 278, 287, 294, 295, 296,
    305, 306, 307, 308, 309, 330, 331, 332, 333, 334, 335, 342, 348, 354, 371, 372, 373, 379, 380, 381, 390,
    412, 413, 414, 415, 416, 417, 418, 425, 426, 427, 428, 429, 430, 439, 445, 455, 456, 457, 458, 464, 465,
    466, 472, 473, 474, 475, 476, 477, 478, 498, 499, 500, 504, 505, 511, 519, 524, 525, 526, 527, 529, 530,
    542, 543, 544, 554, 598, 626, 635, 641, 693, 694, 695, 711, 712, 713, 723, 734, 747, 781, 789, 798, 816,
    838,
]


def test_developer_guide_exact():
    doc = parse(DEVGUIDE)
    guest = {642: ("id", "uid=0(root) gid=0(root) groups=0(root)"), 644: ("pwd", "/"), 646: ("exit", "exit")}
    outputs = {
        236: "Jun 29 14:51:17 mymachine systemd-journald[346]: Suppressed 4150 messages from /system.slice/docker.service",
        781: "CONNECT 1026",
        789: "CONNECT 1026",
        838: doc_lines(DEVGUIDE, 839, 846),
    }
    expected = []
    for n in sorted(DEV_PROMPTED_LINES + list(guest) + [768]):
        if n in guest:
            expected.append((n, n, guest[n][0], guest[n][1], "skip"))
        elif n == 768:  # the one bare block in the guide (no prompt)
            expected.append((768, 768, doc_lines(DEVGUIDE, 768, 768), None, "run"))
        else:
            expected.append((n, n, typed(DEVGUIDE, n), outputs.get(n), "run"))
    assert summary(doc) == expected
    by_line = {s.line: s for s in doc.steps}
    # `# Optional` inside a `$ ` block is a comment: neither a command nor output of `make`
    assert by_line[527].command == "make -j $(nproc --ignore=1)" and by_line[527].expected_output is None
    assert by_line[529].command == "sudo -E make install"
    # quotes closed on the same line: one-line commands
    assert by_line[307].command == """script -fec 'sudo -E ./install_libseccomp.sh ${seccomp_install_path} ${gperf_install_path}"'"""
    # `kata-runtime exec` enters the guest; the next prompts are the guest's
    assert by_line[641].expected_output is None and by_line[641].status == "run"
    assert all(by_line[n].reason == GUEST and by_line[n].prompt == "bash-4.2# " for n in guest)
    # unlabelled fences with `$ ` prompts are steps; unlabelled config text (253) is not
    assert by_line[115].lang == "" and 254 not in by_line
    assert by_line[53].heading == ("Build and install Kata Containers", "Build and install the Kata Containers runtime")
    assert [(p.line, p.text.split()[0]) for p in doc.prose] == [(547, "Modify"), (829, "Set")]


def test_k8s_containerd_heredocs_and_open_quotes():
    doc = parse(K8S)
    by_line = {s.line: s for s in doc.steps}
    # heredoc in a fence inside a list item, indented by 2: only the container's indent is stripped
    assert (by_line[46].end_line, by_line[46].command) == (49, (
        "cat << EOF | sudo tee  /etc/systemd/system/kubelet.service.d/0-containerd.conf\n"
        "[Service]\n"
        'Environment="KUBELET_EXTRA_ARGS=--container-runtime=remote --runtime-request-timeout=15m '
        '--container-runtime-endpoint=unix:///run/containerd/containerd.sock"\n'
        "EOF"))
    # open double quote spanning lines 65-69
    assert (by_line[65].end_line, by_line[65].command) == (69, 'services="\nkubelet\ncontainerd\ndocker\n"')
    assert by_line[65].expected_output is None
    # a for loop (with a blank line and a heredoc inside) that only completes at `done`
    loop = by_line[71]
    assert loop.end_line == 82 and loop.line_map == tuple(range(71, 83))
    assert loop.command == (
        "for service in ${services}; do\n"
        "\n"
        '    service_dir="/etc/systemd/system/${service}.service.d/"\n'
        "    sudo mkdir -p ${service_dir}\n"
        "\n"
        '    cat << EOF | sudo tee "${service_dir}/proxy.conf"\n'
        "[Service]\n"
        'Environment="HTTP_PROXY=${http_proxy}"\n'
        'Environment="HTTPS_PROXY=${https_proxy}"\n'
        'Environment="NO_PROXY=${no_proxy}"\n'
        "EOF\n"
        "done"
    )
    assert (by_line[84].command, by_line[84].expected_output) == ("sudo systemctl daemon-reload", None)
    # JSON heredoc: nested YAML/JSON indentation is kept exactly
    cni = by_line[125]
    assert cni.end_line == 141
    assert cni.command.split("\n")[:3] == [
        "sudo -E cat > /etc/cni/net.d/10-mynet.conf <<EOF", "{", '  "cniVersion": "0.2.0",']
    assert cni.command.split("\n")[-4:] == ["    ]", "  }", "}", "EOF"]
    assert (by_line[158].end_line, by_line[158].command) == (164, (
        "cat > runtime.yaml <<EOF\napiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n"
        "  name: kata\nhandler: kata\nEOF"))
    # heredoc body with a blank line in it
    assert (by_line[177].end_line, by_line[177].command) == (188, (
        "cat << EOF | tee nginx-kata.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: nginx-kata\nspec:\n"
        "  runtimeClassName: kata\n  containers:\n  - name: nginx\n    image: nginx\n\nEOF"))
    assert sorted(by_line) == [35, 45, 46, 57, 65, 71, 84, 92, 93, 103, 109, 110, 111, 112, 123, 125, 149, 158,
                               166, 177, 193, 199, 204, 210]


def test_runtime_configuration_heredoc_in_bare_block():
    rel = "docs/runtime-configuration.md"
    doc = parse(rel)
    assert [(s.line, s.end_line, s.kind) for s in doc.steps] == [(49, 54, "bare"), (60, 63, "bare")]
    assert doc.steps[1].command == (
        "sudo cat > /opt/kata/share/defaults/kata-containers/runtimes/qemu/config.d/50-memory.toml << 'EOF'\n"
        "[hypervisor.qemu]\ndefault_memory = 4096\nEOF")


def test_helm_tabs_record_their_titles():
    doc = parse("docs/helm-configuration.md")
    tabbed = [(b.line, b.tab, b.attrs.get("title")) for b in doc.blocks if b.tab]
    assert tabbed == [(540, "Control-plane nodes only", "values.yaml"),
                      (550, "Control-plane nodes and workers", "values.yaml")]
    step = next(s for s in doc.steps if s.line == 540)
    # tab content is unindented by exactly 4 columns: YAML keeps its nesting
    assert step.command.split("\n")[1:3] == ["nodeSelector:", '  node-role.kubernetes.io/control-plane: ""']
    assert step.alternative is None  # tab titles that name no distribution are not alternatives
    # ```sh title="$ kubectl logs job/kata-deploy-install-dispatcher"```: command in the title,
    # its output in the body
    logs = next(s for s in doc.steps if s.line == 570)
    assert (logs.command, logs.expected_output, logs.end_line) == (
        "kubectl logs job/kata-deploy-install-dispatcher", doc_lines("docs/helm-configuration.md", 571, 572), 570)


def all_docs() -> list[Path]:
    return sorted(KATA.rglob("*.md")) if KATA.is_dir() else []


def test_snapshot_has_22_docs():
    assert len(all_docs()) == 22


@pytest.mark.parametrize("path", all_docs(), ids=lambda p: str(p.relative_to(KATA)))
def test_every_doc_parses_and_steps_stay_in_their_block(path: Path):
    doc = parse_file(path)
    assert not [e for e in doc.errors if "internal" in e.message]
    n_lines = path.read_text().count("\n") + 1
    blocks = {b.line: b for b in doc.blocks}
    for step in doc.steps:
        block = blocks[step.block_line]
        assert block.line <= step.line <= step.end_line <= block.end_line, step.id
        assert 1 <= step.line and step.end_line <= n_lines
        assert len(step.line_map) == step.command.count("\n") + 1
        assert list(step.line_map) == sorted(step.line_map)
        assert all(block.line <= ln <= block.end_line for ln in step.line_map)
    assert len({s.id for s in doc.steps}) == len(doc.steps)
    raw_lines = path.read_text().split("\n")
    for step in doc.steps:
        pairs = list(zip(step.command.split("\n"), step.line_map))
        for cmd_line, doc_line in pairs[1:-1] if step.kind == "file" else pairs:
            assert cmd_line.strip() in raw_lines[doc_line - 1], (step.id, cmd_line)
