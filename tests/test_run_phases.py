"""Named, timed phases of a run (run/phases.py): what the long waits of a first run say."""

from __future__ import annotations

import json
import threading

from doctest_runner.run.phases import Phases, load_estimates, save_estimate, start_text, still_text


def test_texts_with_and_without_a_last_time():
    assert start_text("building image debian-12", None) == \
        "building image debian-12 (first time on this machine: minutes under TCG)"
    assert start_text("building image debian-12", 125.4) == "building image debian-12 (about 2 min 5 s the last time here)"
    assert still_text("building image x", 30, None) == "... still building image x: 30 s so far"
    assert still_text("building image x", 90, 120) == "... still building image x: 1 min 30 s of about 2 min"
    assert still_text("building image x", 150, 120) == \
        "... still building image x: 2 min 30 s, longer than the 2 min of last time"


def test_estimates_survive_a_bad_file_and_keep_the_newest(tmp_path):
    f = tmp_path / "phases.json"
    f.write_text("{not json")
    assert load_estimates(f) == {}
    save_estimate("image debian-12", 110.04, f)
    save_estimate("saved machine debian-12", 80, f)
    save_estimate("image debian-12", 95, f)
    assert load_estimates(f) == {"saved machine debian-12": 80.0, "image debian-12": 95.0}
    assert list(json.loads(f.read_text())) == ["saved machine debian-12", "image debian-12"]  # newest last


def test_a_cache_hit_says_nothing_and_keeps_no_time(tmp_path):
    lines: list[str] = []
    ph = Phases(lines.append, path=tmp_path / "p.json")
    with ph.phase("image", "building image debian-12", key="image debian-12") as p:
        p.watch(("building image",), lines.append)("image debian-12-abc: cached (/x)")
    assert lines == ["image debian-12-abc: cached (/x)"]
    assert load_estimates(tmp_path / "p.json") == {}
    assert list(ph.spent) == ["image"] and not ph.waited


def test_real_work_announces_itself_beats_and_is_remembered(tmp_path):
    lines: list[str] = []
    heard = threading.Event()

    def log(msg: str) -> None:
        lines.append(msg)
        if msg.startswith("... still"):
            heard.set()

    ph = Phases(log, path=tmp_path / "p.json", heartbeat_s=0.02)
    with ph.phase("image", "building image debian-12", key="image debian-12") as p:
        p.watch(("building image",), log)("building image debian-12-abc (debootstrap) from vm_images/x.yaml")
        assert heard.wait(10)
    assert lines[0] == "building image debian-12 (first time on this machine: minutes under TCG)"
    assert lines[1].startswith("building image debian-12-abc")
    assert "image debian-12" in load_estimates(tmp_path / "p.json") and ph.waited
    n = len(lines)
    heard.clear()
    assert not heard.wait(0.1) and len(lines) == n  # the heartbeat stops with the phase


def test_failed_phase_keeps_no_estimate_and_summary_sums_repeats(tmp_path):
    ph = Phases(lambda _m: None, path=tmp_path / "p.json")
    try:
        with ph.phase("saved machine", "saving a booted machine", key="state x", announce=True):
            raise RuntimeError("boot failed")
    except RuntimeError:
        pass
    assert load_estimates(tmp_path / "p.json") == {}
    with ph.phase("guides", "running guides"):
        pass
    with ph.phase("guides", "running guides"):
        pass
    assert ph.summary().startswith("phases: saved machine 0 s, guides 0 s")
