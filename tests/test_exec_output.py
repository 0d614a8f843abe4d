"""Pure parts of exec: output collection, transcripts, interactive evidence."""

from __future__ import annotations

from doctest_runner.exec.output import (
    OutputCollector,
    format_transcript,
    interactive_evidence,
    write_transcript,
)


def test_collector_keeps_arrival_order_and_streams_it():
    seen = []
    col = OutputCollector(t0=100.0, on_output=lambda s, t: seen.append((s, t)))
    col.feed(100.5, "stdout", b"one\n")
    col.feed(100.6, "stderr", b"warn\n")
    col.feed(100.7, "stdout", b"two\n")
    assert col.output == "one\nwarn\ntwo\n"
    assert seen == [("stdout", "one\n"), ("stderr", "warn\n"), ("stdout", "two\n")]
    assert [c[:2] for c in col.chunks] == [(0.5, "stdout"), (0.6, "stderr"), (0.7, "stdout")]


def test_utf8_split_across_chunks_is_joined():
    col = OutputCollector(t0=0.0)
    data = "é✓\n".encode()
    col.feed(1.0, "stdout", data[:1])
    col.feed(2.0, "stdout", data[1:4])
    col.feed(3.0, "stdout", data[4:])
    col.finish(4.0)
    assert col.output == "é✓\n"


def test_invalid_utf8_is_replaced_not_fatal():
    col = OutputCollector(t0=0.0)
    col.feed(1.0, "stdout", b"\xff\xfeok\n")
    col.finish(2.0)
    assert col.output.endswith("ok\n") and "\ufffd" in col.output


def test_pty_newlines_are_normalised():
    col = OutputCollector(t0=0.0, pty=True)
    col.feed(1.0, "stdout", b"a\r\nb\r\n")
    assert col.output == "a\nb\n"


def test_transcript_lines_keep_streams_apart_and_join_partial_lines():
    text = format_transcript([(0.1, "stdout", "hel"), (0.2, "stdout", "lo\nwor"), (0.3, "stderr", "oops\n"),
                              (0.4, "stdout", "ld\n")])
    lines = text.splitlines()
    assert lines[0].endswith("out| hello")
    assert lines[1].endswith("out| wor")
    assert lines[2].endswith("err| oops")
    assert lines[3].endswith("out| ld")
    assert lines[0].startswith("[+   0.100s]")


def test_write_transcript(tmp_path):
    p = tmp_path / "logs" / "001-x.log"
    write_transcript(p, header={"step": "a.md:3", "pty": None}, chunks=[(0.0, "stdout", "hi\n")],
                     footer={"exit": 0})
    body = p.read_text()
    assert "# step: a.md:3" in body and "pty" not in body and "out| hi" in body and "# exit: 0" in body


def test_interactive_evidence():
    assert interactive_evidence("Reading...\nDo you want to continue? [Y/n] Abort.\n") == \
        "Do you want to continue? [Y/n] Abort."
    assert interactive_evidence("the input device is not a TTY") is not None
    assert interactive_evidence("sudo: a terminal is required to read the password") is not None
    assert interactive_evidence("all fine\n") is None
