"""Keys, hashing, prefix planning, LRU eviction and save-image rewriting: no VM needed."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from doctest_runner.model import Step, StepOptions
from doctest_runner.run.checkpoint import checkpoint_points, sequence_keys
from doctest_runner.run.prefix import plan_prefixes
from doctest_runner.vm.providers import identity_script
from doctest_runner.vm.store import (
    HEADER,
    Entry,
    StateKey,
    SavedMachine,
    compact,
    parse_size,
    plan_eviction,
    read_save_xml,
    retarget_xml,
    rewrite_save_image,
)


def step(cmd: str, line: int = 1, path: str = "a.md", heading=("H",), **opts) -> Step:
    return Step(id=f"{path}:{line}", path=path, line=line, end_line=line, heading=heading, command=cmd,
                kind="prompted", options=StepOptions(**opts))


def test_keys_ignore_file_and_line_but_not_text_options_or_order():
    a = sequence_keys([step("x", 3, "a.md"), step("y", 4, "a.md")], "m")
    b = sequence_keys([step("x", 9, "b.md"), step("y", 12, "b.md")], "m")
    assert a == b and len(a) == 3
    assert sequence_keys([step("x"), step("z")], "m")[1] == a[1]
    assert sequence_keys([step("x"), step("z")], "m")[2] != a[2]
    assert sequence_keys([step("y"), step("x")], "m")[1] != a[1]
    assert sequence_keys([step("x", timeout=5), step("y")], "m")[1] != a[1]
    assert sequence_keys([step("x"), step("y")], "other-image")[1] != a[1]


def test_checkpoint_points_per_step_and_heading():
    seq = [step("a", heading=("A",)), step("b", heading=("A",)), step("c", heading=("B",))]
    assert checkpoint_points(seq, "step") == {1, 2}
    assert checkpoint_points(seq, "heading") == {2}
    assert checkpoint_points(seq, "off") == set()


def test_prefix_plan_leader_is_first_and_longest_share_wins():
    ka = sequence_keys([step("u"), step("i"), step("a")], "m")
    kb = sequence_keys([step("u"), step("i"), step("b")], "m")
    kc = sequence_keys([step("u"), step("c")], "m")
    kd = sequence_keys([step("d")], "m")
    pp = plan_prefixes([ka, kb, kc, kd, None])
    assert pp.wait == {1: (2, ka[2], 0), 2: (1, ka[1], 0)}
    assert pp.publish == {0: {2: ka[2], 1: ka[1]}}
    assert 3 not in pp.wait and 4 not in pp.wait


def test_lru_eviction_counts_shared_layers_once():
    layers = {"base": 100, "l1": 10, "l2": 10}
    old = Entry("checkpoint", Path("old"), 50, 1.0, ["base", "l1"])
    mid = Entry("state", Path("mid"), 50, 2.0, ["base"])
    new = Entry("checkpoint", Path("new"), 50, 3.0, ["base", "l2"])
    assert plan_eviction([new, old, mid], layers, set(), 10_000) == []
    assert [e.path.name for e in plan_eviction([new, old, mid], layers, set(), 215)] == ["old"]
    assert [e.path.name for e in plan_eviction([new, old, mid], layers, set(), 200)] == ["old", "mid"]
    assert [e.path.name for e in plan_eviction([new, old, mid], layers, set(), 0)] == ["old", "mid", "new"]


def test_parse_size():
    assert parse_size("20G") == 20 * 1024**3 and parse_size("500M") == 500 * 1024**2 and parse_size("7") == 7
    assert parse_size("1.5GiB") == int(1.5 * 1024**3)
    with pytest.raises(ValueError):
        parse_size("lots")


def test_state_key_names_what_changed():
    k = StateKey("debian-12", "abc", "QEMU 7.2", "tcg", 2048, 2)
    assert k.digest() != StateKey("debian-12", "abc", "QEMU 8.0", "tcg", 2048, 2).digest()
    diff = k.differences({**k.__dict__, "qemu": "QEMU 6.0", "recipe_hash": "old"})
    assert any("QEMU version" in d for d in diff) and any("recipe hash" in d for d in diff)


XML = """<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>src</name>
<uuid>1eca0737-355b-4554-a914-e88b9ab97db5</uuid><devices>
<disk type='file' device='disk'><source file='/old/overlay.qcow2'/><backingStore/><target dev='vda'/></disk>
<serial type='file'><source path='/old/console.log'/></serial><console type='file'><source path='/old/console.log'/></console>
<channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-7-src/org.qemu.guest_agent.0'/>
<target type='virtio' name='org.qemu.guest_agent.0'/></channel>
</devices><qemu:commandline><qemu:arg value='-netdev'/>
<qemu:arg value='user,id=n0,hostfwd=tcp:127.0.0.1:40000-:22'/></qemu:commandline></domain>"""


def test_save_image_rewrite_keeps_the_stream_and_retargets(tmp_path):
    src, dst = tmp_path / "a.sav", tmp_path / "b.sav"
    cookie = b"<cookie/>\n"
    data = XML.encode() + b"\0" + cookie + b"\0"
    data += b"\0" * 4096
    stream = b"QEVM" + bytes(range(256)) * 1000
    head = HEADER.pack(b"LibvirtQemudSave", 2, len(data), 1, 0, len(XML) + 1, b"\0" * 56)
    src.write_bytes(head + data + stream)
    rewrite_save_image(src, dst, lambda x: retarget_xml(x, name="doctest-new", overlay=Path("/new/ov.qcow2"),
                                                       console_log=Path("/new/c.log"), ssh_port=41234))
    raw = dst.read_bytes()
    assert raw.endswith(stream) and len(raw) == len(head) + len(data) + len(stream)
    xml = read_save_xml(dst)
    assert "<name>doctest-new</name>" in xml and "1eca0737" not in xml and "/old/" not in xml
    assert "hostfwd=tcp:127.0.0.1:41234-:22" in xml and "backingStore" not in xml
    # the agent socket of the saved domain is not reused: libvirt makes the new domain its own
    assert "domain-7-src" not in xml and "org.qemu.guest_agent.0" in xml
    _, _, dl, _, _, co, _ = struct.unpack(HEADER.format, raw[:HEADER.size])
    assert raw[HEADER.size + co:HEADER.size + co + len(cookie)] == cookie


def test_compact_compresses_the_stream_and_says_so_in_the_header(tmp_path):
    # what libvirt does on restore of a compressed image: the header names the codec, `gzip -dc` gives the stream
    entry = SavedMachine(path=tmp_path, chain=["l.qcow2"], image="i", recipe_hash="r", base="b", accel="tcg",
                         memory_mb=2048, vcpus=2, qemu="q", build="1", user="tester")
    data = XML.encode() + b"\0" + b"\0" * 4096
    stream = b"QEVM" + bytes(4096) * 2000 + bytes(range(256)) * 64  # mostly zero pages, as a guest's memory is
    head = HEADER.pack(b"LibvirtQemudSave", 2, len(data), 1, 0, 0, b"\0" * 56)
    entry.memory.write_bytes(head + data + stream)
    saved = compact(entry)
    raw = entry.memory.read_bytes()
    assert saved == len(head) + len(data) + len(stream) - len(raw) and len(raw) < len(stream) // 20
    assert raw[:HEADER.size + len(data)] != head + data
    assert struct.unpack(HEADER.format, raw[:HEADER.size])[4] == 1  # compressed: gzip, in libvirt's numbering
    assert raw[HEADER.size:HEADER.size + len(data)] == data  # the XML area is left as it was
    out = subprocess.run(["gzip", "-dc"], input=raw[HEADER.size + len(data):], capture_output=True, check=True)
    assert out.stdout == stream
    assert read_save_xml(entry.memory).startswith("<domain")
    assert compact(entry) == 0 and entry.memory.read_bytes() == raw  # once is enough
    assert [p.name for p in tmp_path.iterdir()] == ["memory.sav"]  # no temporary file left
    assert entry.memory.stat().st_mode & 0o077 == 0  # a guest's memory: the owner's only


def test_identity_script_sets_new_keys_machine_id_and_clock():
    s = identity_script({"ed25519": ("PRIV\n", "ssh-ed25519 AAAA root@x\n")}, "ab" * 16, 1700000000.5, "ff")
    assert "date -u -s @1700000000.500" in s and "ab" * 16 in s and "PRIV" in s
    assert subprocess.run(["sh", "-n"], input=s, text=True).returncode == 0
    # under TCG each started process costs tens of ms: keys are written by the shell's printf, not cat/chmod
    assert "cat " not in s and "chmod" not in s
    # sshd is reloaded only where the listener (not the per-connection child) holds the keys
    reload_line = next(line for line in s.splitlines() if "kill -HUP" in line)
    assert reload_line.startswith("if [ -e /usr/lib/openssh/sshd-session ]") and "echo reloaded" in reload_line
    # host keys of kinds it does not replace are removed, so no clone keeps a key another clone has
    assert '*_ed25519_key) ;; *) rm -f "$f" "$f.pub"' in s
    # without a login to prove it (the guest agent path), the script says whether sshd is running
    assert s.splitlines()[-1].endswith("echo sshd-running; fi")
