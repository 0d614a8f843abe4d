"""Libvirt VM lifecycle behind a small interface: nothing outside this package sees domain XML."""

from doctest_runner.vm.accel import choose_accel
from doctest_runner.vm.machine import Machine, boot, connect, reap_stale

__all__ = ["Machine", "boot", "choose_accel", "connect", "reap_stale"]
