"""fix/facts.py: what the guest knows, read through fixed commands only (the capture function here stands for
the guest terminal and answers with what Debian's tools print)."""

from __future__ import annotations

from doctest_runner.fix.facts import (
    COMMAND_PACKAGES_CMD,
    COMMANDS_CMD,
    PACKAGES_CMD,
    UNITS_CMD,
    CapturedFacts,
    parse_command_packages,
)

ANSWERS = {
    PACKAGES_CMD: "jq\nlibjq1\ncurl\n\nnot a package name\n",
    COMMAND_PACKAGES_CMD: "jq jq\nrg ripgrep\nfd fd-find\n",
    UNITS_CMD: "ssh.service enabled enabled\ncron.service enabled enabled\nfstrim.timer enabled enabled\n",
    COMMANDS_CMD: "cd\nls\njq\nkata-runtime\n",
}


def test_answers_come_from_fixed_commands_asked_once():
    asked: list[str] = []

    def capture(cmd: str) -> str:
        asked.append(cmd)
        return ANSWERS[cmd]

    facts = CapturedFacts(capture)
    assert facts.package_names() == ["jq", "libjq1", "curl"]
    assert facts.package_for_command("rg") == "ripgrep"
    assert facts.package_for_command("kata-runtme --version; reboot") is None  # a doc's text is only looked up
    assert facts.unit_names() == ["ssh.service", "cron.service", "fstrim.timer"]
    assert facts.command_names() == ["cd", "ls", "jq", "kata-runtime"]
    facts.package_names()
    facts.package_for_command("jq")
    assert sorted(asked) == sorted(ANSWERS)  # each fixed command once, nothing else


def test_contents_index_lines():
    lines = ["usr/bin/jq                       utils/jq",
             "usr/sbin/nft                     net/nftables,admin/nftables-extra",
             "bin/ss                           net/iproute2",
             "garbage"]
    # COMMAND_PACKAGES_CMD strips the directory part: the helper reads `cmd section/pkg[,section/pkg]`
    table = parse_command_packages(ln.split("/", 2)[-1] if ln.startswith("usr/") else ln.split("/", 1)[-1]
                                   for ln in lines)
    assert table == {"jq": "jq", "nft": "nftables", "ss": "iproute2"}


def test_command_index_prefers_the_package_named_like_the_command():
    # the image's table (image/debootstrap.py COMMAND_INDEX): `cmd section/pkg,...`, sorted, one line per suite
    lines = ["mawk interpreters/mawk",
             "rename perl/file-rename,perl/rename",
             "rename perl/rename-utils",
             "tree utils/tree",
             "tree utils/tree-ng",
             "vi editors/nvi,editors/vim-tiny"]
    table = parse_command_packages(lines)
    assert table["rename"] == "rename"  # named like the command, though listed second
    assert table["tree"] == "tree"  # a later suite's line does not take it away
    assert table["vi"] == "nvi"  # none named like it: the first listed
    assert table["mawk"] == "mawk"


def test_command_index_is_read_first():
    from doctest_runner.fix.facts import COMMAND_PACKAGES_CMD
    from doctest_runner.image import COMMAND_INDEX

    assert COMMAND_PACKAGES_CMD.startswith(f"if [ -s {COMMAND_INDEX} ]; then cat {COMMAND_INDEX}; ")
