"""A step's output as it arrives: interleaved text, a timestamped transcript, a log file (pure)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

OnOutput = Callable[[str, str], None]

# What programs print when they wanted a human at the keyboard. Used only for steps that failed or timed
# out: the process watcher (guest/watch.sh) sees reads from stdin; these cover the need for a terminal.
INTERACTIVE_PATTERNS = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"sudo: a terminal is required",
    r"sudo: a password is required",
    r"sudo: no tty present",
    r"the input device is not a TTY",
    r"Inappropriate ioctl for device",
    r"Do you want to continue\? \[Y/n\] Abort",
    r"stdin: is not a tty",
    r"Input is not from a terminal",
    r"unable to initialize frontend: (Dialog|Readline)",
    r"cannot open /dev/tty",
    r"read_passphrase: can't open /dev/tty",
    r"Host key verification failed",
))


def interactive_evidence(output: str) -> str | None:
    """The first line of `output` that shows a command wanted a terminal or an answer, if any."""
    for line in output.splitlines():
        for pat in INTERACTIVE_PATTERNS:
            if pat.search(line):
                return line.strip()
    return None


@dataclass
class OutputCollector:
    """Decodes stdout/stderr chunks in arrival order into one interleaved text and a transcript."""

    t0: float
    on_output: OnOutput | None = None
    pty: bool = False
    chunks: list[tuple[float, str, str]] = field(default_factory=list)
    _decoders: dict[str, codecs.IncrementalDecoder] = field(default_factory=dict)

    def _decoder(self, stream: str) -> codecs.IncrementalDecoder:
        if stream not in self._decoders:
            self._decoders[stream] = codecs.getincrementaldecoder("utf-8")(errors="replace")
        return self._decoders[stream]

    def feed(self, t: float, stream: str, data: bytes, final: bool = False) -> None:
        """Add a chunk; a UTF-8 character split between chunks is kept until its end arrives."""
        text = self._decoder(stream).decode(data, final=final)
        if self.pty:
            text = text.replace("\r\n", "\n")
        if not text:
            return
        self.chunks.append((round(t - self.t0, 4), stream, text))
        if self.on_output is not None:
            self.on_output(stream, text)

    def finish(self, t: float) -> None:
        for stream in list(self._decoders):
            self.feed(t, stream, b"", final=True)

    @property
    def output(self) -> str:
        return "".join(text for _, _, text in self.chunks)


def format_transcript(chunks: Sequence[tuple[float, str, str]]) -> str:
    """One line per output line: `[+t] out| text`, so stdout and stderr stay in order and apart."""
    lines: list[str] = []
    tag = {"stdout": "out", "stderr": "err"}
    pending: str | None = None  # stream of the last line if that line is still open
    for t, stream, text in chunks:
        parts = text.split("\n")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last and part == "":
                break
            if i == 0 and pending == stream:
                lines[-1] += part
            else:
                lines.append(f"[+{t:8.3f}s] {tag.get(stream, stream)}| {part}")
        pending = stream if parts[-1] != "" else None
    return "\n".join(lines) + ("\n" if lines else "")


def write_transcript(path: Path, *, header: dict[str, object], chunks: Sequence[tuple[float, str, str]],
                     footer: dict[str, object]) -> None:
    """The per-step log file: what ran, its output in order with times, and how it ended."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "".join(f"# {k}: {v}\n" for k, v in header.items() if v not in (None, "", ()))
    foot = "".join(f"# {k}: {v}\n" for k, v in footer.items() if v not in (None, ""))
    path.write_text(head + "\n" + format_transcript(chunks) + "\n" + foot, encoding="utf-8")
