"""Platforms: the vocabulary, scopes from headings/labels/tabs, tool rule, overrides, recipes, classify.

Guides written for the tests are in tests/data/platform/; a real guide of another project is planned
too when ../shared/external-docs is present.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from doctest_runner.classify.core import classify
from doctest_runner.image.recipe import load_recipe
from doctest_runner.model import ExecResult, Step
from doctest_runner.parse import parse_file, parse_text
from doctest_runner.plan import parse_sidecar, plan_doc
from doctest_runner.plan.platform import platform_from_fields, read_title, recipe_platform
from doctest_runner.plan.scope import platform_targets

DATA = Path(__file__).parent / "data" / "platform"
EXTERNAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "external-docs"


def statuses(plan):
    return [(s.line, s.status, s.reason) for s in plan.steps]


def test_multi_platform_guide_on_debian_runs_only_the_debian_and_linux_steps():
    plan = plan_doc(parse_file(DATA / "multi.md"))
    assert plan.platform.distro == "debian" and plan.platform.release == "12" and plan.platform.family == "debian"
    img = "the image is debian-12"
    assert statuses(plan) == [
        (8, "run", None),  # "Building on Linux and macOS": names Linux
        (14, "skip", f"for macOS; {img}"),
        (20, "skip", f"for Fedora 39+; {img}"),
        (26, "skip", f"for openSUSE; {img}"),
        (32, "skip", f"for FreeBSD; {img}"),
        (39, "run", None),  # Debian 12 (Bookworm)
        (45, "skip", f"for Debian 11; {img}"),  # another release, while the guide has one for this image
        (51, "skip", f"for Windows; {img}"),
        (59, "run", None),  # mkdocs tab "Debian/Ubuntu"
        (65, "skip", "alternative for Arch Linux; image is debian-12"),
        (71, "skip", f"for Alpine; {img}"),  # **Alpine** label
        (77, "skip", f"for macOS; {img}"),  # "On macOS:" label
        (83, "run", None),  # "Why not Windows?" merely mentions Windows
        (89, "skip", f"uses brew (macOS); {img}"),  # unscoped brew
        (93, "run", None),  # guarded by uname: correct as written
        (97, "skip", f"for Windows; {img} (its prompt is that platform's)"),  # PS C:\> prompt
        (103, "skip", f"for aarch64; {img}"),  # ### arm64
    ]


def test_the_same_guide_on_fedora_runs_the_fedora_section():
    plan = plan_doc(parse_file(DATA / "multi.md"), image="fedora-40")
    got = {line: (status, reason) for line, status, reason in statuses(plan)}
    assert got[20] == ("run", None)
    assert got[39] == ("skip", "for Debian 12; the image is fedora-40")
    assert got[89] == ("skip", "uses brew (macOS); the image is fedora-40")
    assert plan.platform.family == "rhel" and plan.platform.package_manager == "dnf"


def test_docusaurus_hugo_admonition_list_labels_and_annotations():
    plan = plan_doc(parse_file(DATA / "tabs.md"))
    img = "the image is debian-12"
    assert statuses(plan) == [
        (7, "skip", "alternative for macOS; image is debian-12"),  # <TabItem label="macOS">
        (14, "run", None),  # <TabItem label="Linux">
        (23, "skip", "alternative for FreeBSD; image is debian-12"),  # {{< tab "FreeBSD" >}}
        (28, "run", None),
        (36, "skip", f"for Fedora; {img}"),  # !!! note "On Fedora"
        (42, "skip", f"for Fedora; {img}"),  # * Fedora:
        (48, "run", None),  # * Debian:
        (54, "run", None),  # prose after the list ends the label
        (59, "run", None),  # platform=any
        (64, "skip", f"for macOS; {img} (platform: macos)"),  # platform=macos pins it out
    ]


def test_a_sidecar_forces_platform_any_or_skip_false_and_rejects_a_non_platform():
    doc = parse_file(DATA / "multi.md")
    sc = parse_sidecar("steps:\n  - line: 14\n    platform: any\n  - line: 20\n    skip: false\n",
                       Path("/nonexistent/multi.doctest.yaml"), "multi.doctest.yaml")
    got = {line: status for line, status, _ in statuses(plan_doc(doc, sc))}
    assert got[14] == "run" and got[20] == "run" and got[26] == "skip"
    with pytest.raises(Exception, match=r"multi.doctest.yaml:3: platform must be 'any' or name a platform"):
        parse_sidecar("steps:\n  - line: 14\n    platform: sometimes\n", Path("/nonexistent/m.doctest.yaml"),
                      "multi.doctest.yaml")


@pytest.mark.parametrize("title, names", [
    ("macOS", "macOS"), ("On Fedora 39+", "Fedora 39+"), ("Installing containerd on Windows", "Windows"),
    ("CentOS / RHEL", "CentOS/RHEL"), ("Arch Linux (AUR)", "Arch Linux"), ("Debian 11 (Bullseye)", "Debian 11"),
    ("Installing on Mac & Windows", "macOS/Windows"), ("Prerequisites for AArch64", "aarch64"),
    ("Install CRI-O on Flatcar with Sysexts", "Flatcar"), ("APT based operating systems", "Debian-based"),
    ("Debian up to bullseye - Ubuntu up to 22.04", "Debian 11 or older/Ubuntu 22.04 or older"),
    ("[Fedora CoreOS](https://x), [Fedora Silverblue](https://y)", "Fedora"),
    # mentions in passing: not a platform section
    ("Why not Windows?", ""), ("Install from source", ""), ("Booting Linux", ""), ("Host OS", ""),
    ("Creating FreeBSD rootfs and kernel Images", ""), ("Example from the Fedora `containers-common` package", ""),
    ("Settings for Docker Desktop", ""),
])
def test_heading_rule_on_titles_from_real_guides(title, names):
    from doctest_runner.plan.platform import describe_targets
    assert describe_targets(platform_targets(title)) == names


def test_versions_and_families_match_the_image():
    from doctest_runner.plan.platform import DISTRO, EXACT, FAMILY, GENERIC, NONE, best_match
    deb = platform_from_fields("debian-12")
    level = {t: best_match(read_title(t).targets, deb)[0] for t in (
        "Debian 12", "Debian bookworm or higher", "Debian 11", "Ubuntu", "Debian/Ubuntu", "Linux", "Fedora",
        "x86_64", "arm64", "WSL")}
    assert level == {"Debian 12": EXACT, "Debian bookworm or higher": EXACT, "Debian 11": DISTRO,
                     "Ubuntu": FAMILY, "Debian/Ubuntu": EXACT, "Linux": GENERIC, "Fedora": NONE,
                     "x86_64": GENERIC, "arm64": NONE, "WSL": NONE}
    assert platform_from_fields("rocky-9").family == "rhel"
    assert platform_from_fields("ubuntu-24.04-arm64").arch == "aarch64"


@pytest.mark.parametrize("command, skipped", [
    ("sudo dnf install -y x", "dnf (Fedora/RHEL)"),
    ("env FOO=1 zypper in x", "zypper (openSUSE/SLES)"),
    ("pkg install -y x", "pkg (FreeBSD)"),
    ("pkg-config --libs x", None),  # not FreeBSD's pkg
    ("sudo service docker start", None),  # `service` exists on Linux too
    ("snap install x", None),  # cross-distro
    ("if command -v dnf >/dev/null; then sudo dnf install -y x; fi", None),  # a guard
    ("sudo apt-get install -y x || sudo dnf install -y x", None),  # the image's own tool too
    ("Set-ExecutionPolicy RemoteSigned", "Set-ExecutionPolicy (Windows)"),
    ("echo $(brew --prefix)", "brew (macOS)"),
])
def test_tool_rule(command, skipped):
    doc = parse_text(f"# T\n\n```bash\n{command}\n```\n", "t.md")
    step = plan_doc(doc).steps[0]
    assert step.reason == (f"uses {skipped}; the image is debian-12" if skipped else None)


def test_recipe_declares_its_platform_and_platform_fields_are_not_hashed(tmp_path):
    rec = load_recipe("debian-12")
    assert recipe_platform(rec).distro == "debian" and recipe_platform(rec).package_manager == "apt"
    base = "kind: debootstrap\nsuite: noble\ndistro: ubuntu\nrelease: '24.04'\n"
    (tmp_path / "ubuntu-24.04.yaml").write_text(base)
    (tmp_path / "ubuntu-arm.yaml").write_text(base + "arch: arm64\nfamily: debian\n")
    plain = load_recipe("ubuntu-24.04", [tmp_path])
    arm = load_recipe("ubuntu-arm", [tmp_path])
    got = recipe_platform(plain)
    assert (got.distro, got.release, got.family) == ("ubuntu", "24.04", "debian")
    assert recipe_platform(arm).arch == "aarch64"
    (tmp_path / "x.yaml").write_text(base + "name: ubuntu-24.04\n")
    (tmp_path / "y.yaml").write_text(base + "name: ubuntu-24.04\narch: x86_64\npackage_manager: apt\n")
    assert load_recipe(str(tmp_path / "x.yaml")).hash() == load_recipe(str(tmp_path / "y.yaml")).hash()


@pytest.mark.parametrize("output, category", [
    ("bash: line 1: brew: command not found", "platform-mismatch"),
    ("sudo: dnf: command not found", "platform-mismatch"),
    ("bash: line 3: Set-ExecutionPolicy: command not found", "platform-mismatch"),
    ("bash: line 1: frob: command not found", "command-not-found"),
])
def test_classify_another_platforms_missing_tool_is_environment(output, category):
    step = Step(id="t.md:3", path="t.md", line=3, end_line=3, heading=(), command="x", kind="bare")
    verdict = classify(step, ExecResult(exit_code=127, output=output + "\n", duration_s=0.1))
    assert verdict.category == category
    assert (verdict.group == "environment") == (category == "platform-mismatch")


@pytest.mark.skipif(not (EXTERNAL / "podman__installation.md").is_file(), reason="external docs absent")
def test_real_podman_guide_on_debian():
    plan = plan_doc(parse_file(EXTERNAL / "podman__installation.md"))
    got = {s.line: (s.status, s.reason) for s in plan.steps}
    img = "the image is debian-12"
    assert got[45] == ("skip", f"for macOS; {img}")  # ### macOS
    assert got[81] == ("skip", f"for Arch Linux/Manjaro; {img}")
    assert got[109] == ("run", None)  # #### Debian: sudo apt-get -y install podman
    assert got[178] == ("skip", f"for Ubuntu; {img}")  # the guide has a Debian section
    assert got[230] == ("skip", f"for FreeBSD; {img}")
    assert got[328] == ("skip", f"for FreeBSD; {img}")  # `##### Linux Emulation` under the FreeBSD section
    assert got[413] == ("skip", f"for openSUSE; {img}")  # "On openSUSE Leap 15.x and Tumbleweed:" label
    assert got[352] == ("skip", f"uses dnf (Fedora/RHEL); {img}")
    assert got[380] == ("run", None)  # the Debian build dependencies
    assert got[525] == ("run", None)  # git clone: every platform


def test_wsl_section_a_label_before_a_shortcode_and_a_bad_annotation():
    text = (
        "# Guide\n"                                              # 1
        "\n"
        "## WSL 2\n"                                             # 3
        "\n"
        "```bash\n"                                              # 5
        "sudo apt-get install -y tool\n"                         # 6
        "```\n"
        "\n"
        "## Linux\n"                                             # 9
        "\n"
        "On Arch Linux via pacman (https://archlinux.org/packages/tool)\n"  # 11
        "{{< highlight bash >}}\n"                               # 12
        "sudo pacman -S tool\n"                                  # 13
        "{{< /highlight >}}\n"
        "\n"
        "<!-- doctest: platform=\"?!\" -->\n"                    # 16
        "```bash\n"
        "sudo rpm -i tool.rpm\n"                                 # 18
        "```\n"
    )
    doc = parse_text(text, "g.md")
    plan = plan_doc(doc)
    got = {s.line: s.reason for s in plan.steps}
    assert got[6] == "for WSL 2; the image is debian-12"  # WSL: Linux under a Windows host, not this VM
    assert got[13] == "for Arch Linux; the image is debian-12"  # a label without a colon right before code
    assert got[18] == "uses rpm (Fedora/RHEL); the image is debian-12"
    assert [str(e) for e in doc.errors if e.line == 16] == [
        "g.md:16: platform must be any or a platform name such as macos or fedora, not '?!'"]


def test_tab_markup_forms_and_tab_sets():
    from doctest_runner.plan.scope import doc_scopes
    lines = [
        '{{% tab name="macOS" %}}',        # 1
        "brew install x",                  # 2
        "{{% /tab %}}",                    # 3
        '{{< tab header="Linux" >}}',      # 4
        "apt-get install x",               # 5
        "{{< /tab >}}",                    # 6
        "",                                # 7
        "Some prose between two sets.",    # 8
        "",                                # 9
        '<TabItem value="win" label={"Windows"}>',  # 10
        "choco install x",                 # 11
        "</TabItem>",                      # 12
        '=== "Fedora"',                    # 13
        "",                                # 14
        "    dnf install x",               # 15
        '=== "Debian"',                    # 16
        "",                                # 17
        "    apt install x",               # 18
        "",                                # 19
        "After the tabs.",                 # 20
    ]
    scopes, tabs = doc_scopes(lines, [])
    assert scopes == []
    assert [(t.line, t.end_line, t.title, t.group) for t in tabs] == [
        (1, 3, "macOS", 0), (4, 6, "Linux", 0), (10, 12, "Windows", 1), (13, 15, "Fedora", 2), (16, 18, "Debian", 2)]


def test_an_image_of_unknown_distribution_skips_only_other_operating_systems():
    plan = plan_doc(parse_file(DATA / "multi.md"), image="cloud")  # vm_images/cloud.yaml: distro unknown
    got = {line: status for line, status, _ in statuses(plan)}
    assert [got[n] for n in (20, 26, 39, 45, 59, 71)] == ["run"] * 6  # any distribution may be the reader's
    assert got[65] == "skip"  # one tab of a set: the first, with a note
    assert [got[n] for n in (14, 32, 51, 77, 89)] == ["skip"] * 5  # macOS, FreeBSD, Windows, brew
