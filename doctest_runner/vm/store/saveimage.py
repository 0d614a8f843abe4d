"""The libvirt save image format: its header, the domain XML inside it, and a copy retargeted for another VM.

Why here: a restore copies the save image with a rewritten XML (libvirt refuses a changed uuid through its own
API); pure but for file I/O, so it is unit-tested on a synthetic image."""

from __future__ import annotations

import os
import subprocess
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import IO

from doctest_runner.model import DoctestError
from doctest_runner.vm.domain import QEMU_NS
from doctest_runner.vm.store.records import HEADER, SAVE_MAGIC


def _read_save_header(f: IO[bytes], path: Path) -> tuple[tuple[int, ...], bytes, str]:
    """A save image's header fields, its XML-and-cookie area, and the domain XML in it."""
    head = f.read(HEADER.size)
    if len(head) < HEADER.size or not head.startswith(SAVE_MAGIC):
        raise DoctestError(f"{path}: not a libvirt save image")
    fields = HEADER.unpack(head)
    data_len, cookie_off = fields[2], fields[5]
    data = f.read(data_len)
    if len(data) != data_len:
        raise DoctestError(f"{path}: truncated save image header")
    xml_area = data[:cookie_off] if cookie_off else data  # offset 0: no cookie, the XML fills the area
    return fields, data, xml_area.split(b"\0", 1)[0].decode()


def read_save_xml(path: Path) -> str:
    """The domain XML embedded in a libvirt save image."""
    with open(path, "rb") as f:
        return _read_save_header(f, path)[2]


def rewrite_save_image(src: Path, dst: Path, transform: Callable[[str], str]) -> None:
    """Copy a save image with its embedded domain XML replaced by `transform(xml)`; the migration stream after
    the header is copied in the kernel (copy_file_range), so this costs about one page-cache read."""
    with open(src, "rb") as f:
        fields, data, xml = _read_save_header(f, src)
        magic, version, data_len, running, compressed, cookie_off, unused = fields
        cookie = data[cookie_off:].split(b"\0", 1)[0] if cookie_off else b""
        new_xml = transform(xml).encode() + b"\0"
        body = new_xml + (cookie + b"\0" if cookie else b"")
        if len(body) > data_len:
            raise DoctestError(f"{src}: rewritten domain XML does not fit the save image header")
        body += b"\0" * (data_len - len(body))
        cookie_new = len(new_xml) if cookie else 0
        offset = HEADER.size + data_len
        size = os.fstat(f.fileno()).st_size
        with open(dst, "wb") as out:
            out.write(HEADER.pack(magic, version, data_len, running, compressed, cookie_new, unused))
            out.write(body)
            out.flush()
            remaining = size - offset
            while remaining > 0:
                n = os.copy_file_range(f.fileno(), out.fileno(), remaining, offset)
                if n == 0:
                    break
                offset += n
                remaining -= n
            if remaining:
                raise DoctestError(f"{src}: short copy of the save image")


# libvirt's save image compression codes (qemu_saveimage.h); 9.0 knows raw, gzip, bzip2, xz, lzop, and restores a
# compressed image by piping it through the program of that name (`gzip -dc`).
RAW, GZIP = 0, 1


def compress_save_image(src: Path, dst: Path) -> bool:
    """Write `src` to `dst` with its migration stream gzip-compressed (level 1) and the header saying so; libvirt
    decompresses it on restore. False (nothing written) when `src` is compressed already.

    Why gzip -1: a checkpoint's memory image is mostly kernel and program pages and shrinks about 4x; the only
    faster format this libvirt restores is lzop, which a host seldom has; gzip is everywhere and costs ~1 s of
    decompression per restore of a 150 MiB image, paid only by --resume, shared prefixes and fix trials."""
    with open(src, "rb") as f:
        fields, data, _xml = _read_save_header(f, src)
        magic, version, data_len, running, compressed, cookie_off, unused = fields
        if compressed != RAW:
            return False
        # a guest's memory (its secrets too): readable by the owner only, as libvirt writes a save image
        with open(dst, "wb", opener=lambda p, flags: os.open(p, flags, 0o600)) as out:
            out.write(HEADER.pack(magic, version, data_len, running, GZIP, cookie_off, unused))
            out.write(data)
            out.flush()
            os.lseek(f.fileno(), HEADER.size + data_len, os.SEEK_SET)  # gzip reads the fd, not Python's buffer
            res = subprocess.run(["nice", "-n", "10", "gzip", "-1", "-c"], stdin=f, stdout=out,
                                 stderr=subprocess.PIPE, check=False)
        if res.returncode != 0:
            raise DoctestError(f"{src}: gzip failed: {res.stderr.decode(errors='replace').strip()[:200]}")
    return True


def retarget_xml(xml: str, *, name: str, overlay: Path, console_log: Path, ssh_port: int,
                 domain_uuid: str | None = None) -> str:
    """The saved domain, renamed onto its own uuid, overlay, console log and forwarded SSH port."""
    ET.register_namespace("qemu", QEMU_NS)
    root = ET.fromstring(xml)
    root.find("name").text = name  # type: ignore[union-attr]
    u = root.find("uuid")
    if u is not None:
        u.text = domain_uuid or str(uuid.uuid4())
    disks = [d for d in root.findall("./devices/disk") if d.get("device", "disk") == "disk"]
    if len(disks) != 1:
        raise DoctestError(f"saved domain has {len(disks)} disks, expected 1")
    src = disks[0].find("source")
    if src is None:
        raise DoctestError("saved domain disk has no source")
    src.set("file", str(overlay))
    for bs in disks[0].findall("backingStore"):  # libvirt reads the new overlay's chain itself
        disks[0].remove(bs)
    for tag in ("serial", "console"):
        for dev in root.findall(f"./devices/{tag}"):
            s = dev.find("source")
            if s is not None and s.get("path"):
                s.set("path", str(console_log))
    for chan in root.findall("./devices/channel"):  # the agent's socket: libvirt makes one per domain name
        s = chan.find("source")
        if s is not None and chan.get("type") == "unix":
            s.attrib.pop("path", None)
    found = False
    for arg in root.iter(f"{{{QEMU_NS}}}arg"):
        v = arg.get("value", "")
        if "hostfwd=tcp:127.0.0.1:" in v:
            parts = [f"hostfwd=tcp:127.0.0.1:{ssh_port}-:22" if p.startswith("hostfwd=tcp:127.0.0.1:") else p
                     for p in v.split(",")]
            arg.set("value", ",".join(parts))
            found = True
    if not found:
        raise DoctestError("saved domain has no forwarded SSH port")
    return ET.tostring(root, encoding="unicode")
