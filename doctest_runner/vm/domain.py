"""Libvirt domain XML for one throwaway VM, generated from a small spec (pure: unit-tested without libvirt).

Networking is QEMU user mode (slirp) through <qemu:commandline>: libvirt 9.0 has no passt backend and its
`<interface type='user'>` cannot forward ports. SSH is forwarded from 127.0.0.1 only; no bridge, no libvirt
network. The NIC sits on PCI slot 0x1e, which libvirt never hands out for its own devices on `pc` machines.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
NIC_SLOT = "0x1e"
AGENT_CHANNEL = "org.qemu.guest_agent.0"


def kernel_cmdline(image_cmdline: str) -> str:
    """The image's kernel command line plus a machine id of this VM's own, as two installs would have (the
    image's /etc/machine-id stays untouched)."""
    return f"{image_cmdline} systemd.machine_id={uuid.uuid4().hex}".strip()


@dataclass
class DomainSpec:
    name: str
    overlay: Path
    console_log: Path
    ssh_port: int
    accel: str = "tcg"  # "kvm" | "tcg"
    cpu_mode: str = "maximum"  # "maximum" (tcg) | "host-passthrough" (kvm)
    memory_mb: int = 2048
    vcpus: int = 2
    kernel: Path | None = None
    initrd: Path | None = None
    cmdline: str = ""
    seed: Path | None = None  # cloud-init NoCloud ISO
    # TCG translation cache: qemu's default is 1 GiB; 512 MiB saves ~300 MiB RSS per VM (measured here)
    tcg_tb_cache_mb: int | None = 512
    emulator: str = "/usr/bin/qemu-system-x86_64"
    # a virtio-serial port for the QEMU guest agent (vm/agent.py): a restored clone gets its new identity
    # through it, without an SSH login first; the socket path is libvirt's own (per domain)
    guest_agent: bool = True


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def domain_xml(spec: DomainSpec) -> str:
    """The domain definition. qemu runs as root without relabelling: the cached base is shared by concurrent
    VMs, and libvirt's DAC relabelling would chown it (and /root/.cache is not traversable by libvirt-qemu)."""
    if spec.accel not in ("kvm", "tcg"):
        raise ValueError(f"accel must be kvm or tcg, not {spec.accel!r}")
    if not 1 <= spec.ssh_port <= 65535:
        raise ValueError(f"bad ssh port {spec.ssh_port}")
    ET.register_namespace("qemu", QEMU_NS)
    dom = ET.Element("domain", {"type": "kvm" if spec.accel == "kvm" else "qemu"})
    _sub(dom, "name", spec.name)
    _sub(dom, "memory", str(spec.memory_mb), unit="MiB")
    _sub(dom, "vcpu", str(spec.vcpus))
    os_ = _sub(dom, "os")
    _sub(os_, "type", "hvm", arch="x86_64", machine="pc")
    if spec.kernel:
        _sub(os_, "kernel", str(spec.kernel))
        if spec.initrd:
            _sub(os_, "initrd", str(spec.initrd))
        _sub(os_, "cmdline", spec.cmdline)
    else:
        _sub(os_, "boot", dev="hd")
    feats = _sub(dom, "features")
    _sub(feats, "acpi")
    _sub(feats, "apic")
    if spec.accel == "tcg" and spec.tcg_tb_cache_mb:
        _sub(_sub(feats, "tcg"), "tb-cache", str(spec.tcg_tb_cache_mb), unit="MiB")
    cpu = _sub(dom, "cpu", mode=spec.cpu_mode)
    if spec.cpu_mode == "host-passthrough":
        cpu.set("check", "none")
    _sub(dom, "clock", offset="utc")
    _sub(dom, "on_poweroff", "destroy")
    _sub(dom, "on_reboot", "restart")
    _sub(dom, "on_crash", "destroy")
    devs = _sub(dom, "devices")
    _sub(devs, "emulator", spec.emulator)
    disk = _sub(devs, "disk", type="file", device="disk")
    # cache=unsafe: the overlay is thrown away with the VM, so flushes are wasted time.
    _sub(disk, "driver", name="qemu", type="qcow2", cache="unsafe", discard="unmap")
    _sub(disk, "source", file=str(spec.overlay))
    _sub(disk, "target", dev="vda", bus="virtio")
    if spec.seed:
        cd = _sub(devs, "disk", type="file", device="cdrom")
        _sub(cd, "driver", name="qemu", type="raw")
        _sub(cd, "source", file=str(spec.seed))
        _sub(cd, "target", dev="hdc", bus="ide")
        _sub(cd, "readonly")
    serial = _sub(devs, "serial", type="file")
    _sub(serial, "source", path=str(spec.console_log), append="on")
    _sub(serial, "target", port="0")
    if spec.guest_agent:
        chan = _sub(devs, "channel", type="unix")
        _sub(chan, "source", mode="bind")
        _sub(chan, "target", type="virtio", name=AGENT_CHANNEL)
    rng = _sub(devs, "rng", model="virtio")
    _sub(rng, "backend", "/dev/urandom", model="random")
    _sub(devs, "memballoon", model="none")
    seclabel = _sub(dom, "seclabel", type="static", model="dac", relabel="no")
    _sub(seclabel, "label", "+0:+0")
    cmd = ET.SubElement(dom, f"{{{QEMU_NS}}}commandline")
    for arg in ("-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{spec.ssh_port}-:22",
                "-device", f"virtio-net-pci,netdev=n0,bus=pci.0,addr={NIC_SLOT}"):
        ET.SubElement(cmd, f"{{{QEMU_NS}}}arg", {"value": arg})
    ET.indent(dom)
    return ET.tostring(dom, encoding="unicode")


def disk_sources(xml: str) -> list[Path]:
    """File-backed disks of a domain (how `reap_stale` finds a domain's overlay)."""
    root = ET.fromstring(xml)
    return [Path(file) for s in root.findall("./devices/disk/source") if (file := s.get("file"))]
