"""The end-of-run summary printed in the terminal: counts, then each broken step as `path:line`.

Plain text (no colour codes) so it reads the same in a CI log, a terminal and a test.
Environment problems are listed apart, so a run without network is not read as broken docs.
"""

from __future__ import annotations

from doctest_runner.model import RunResult
from doctest_runner.report import data
from doctest_runner.text import clean_text, one_line, plural


def summary_text(run: RunResult, *, max_width: int = 160, wall_s: float | None = None) -> str:
    """A short summary naming each broken step as path:line with its category and evidence. The last line
    gives the run's wall time when known (`wall_s`) and the guides' summed time, which is larger when guides
    ran side by side."""
    s = data.summary(run)
    docs, steps, groups = s["docs"], s["steps"], s["groups"]
    doc_parts = [f"{docs[k]} {k}" for k in ("passed", "failed", "error", "skipped") if docs[k]]
    step_parts = [f"{steps[k]} {k}" for k in ("passed", "failed", "error", "not-run", "skipped") if steps[k]]
    lines = [
        f"doctest-runner run {run.run_id} ({run.host.accel}: {run.host.why})",
        (f"{plural(docs['total'], 'guide')}: {', '.join(doc_parts) or 'none run'}; "
         f"{plural(steps['total'], 'step')}: {', '.join(step_parts) or 'none'}"),
    ]
    images = list(dict.fromkeys(d.image for d in run.docs))
    if len(images) > 1:  # a matrix (--image given more than once): each image's guides on their own
        per = []
        for image in images:
            mine = [d for d in run.docs if d.image == image]
            counts = {k: sum(1 for d in mine if d.status == k) for k in ("passed", "failed", "error", "skipped")}
            per.append(f"{image}: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n))
        lines.append("per image: " + "; ".join(per))
    broken = data.broken_steps(run)
    if broken:
        lines.append(
            f"{plural(len(broken), 'broken step')}: {plural(groups['doc'], 'doc bug')}, "
            f"{plural(groups['environment'], 'environment problem')}"
            + (f", {s['after_failure']} after an earlier failure" if s["after_failure"] else "")
        )
    for title, group in (("doc bugs", "doc"), ("environment problems (not the docs' fault)", "environment")):
        items = [b for b in broken if b.group == group and b.after is None]  # cascades: with their first failure
        if not items:
            continue
        lines.append(f"{title}:")
        for b in items:
            where = f" ({', '.join(b.images)})" if len(images) > 1 else ""
            text = f"  FAIL {b.location}{where} [{b.category}] {b.step.evidence or '(no output)'}"
            later = f" ({data.later_text(b)})" if b.later else ""
            if len(text) + len(later) > max_width:
                text = text[: max(20, max_width - len(later) - 1)] + "…"
            lines.append(text + later)
    other: list[str] = []
    for doc in run.docs:
        if doc.error and doc.status != "skipped":  # a long error keeps its lines, indented under the entry
            error = clean_text(doc.error).strip().replace("\n", "\n    ")
            other.append(f"  ERROR {one_line(doc.path)} ({one_line(doc.image)}): {error}")
        for c in doc.checks:
            if not c.passed:
                other.append(f"  CHECK {doc.path}: {c.check.kind} {c.check.target}: {c.message}")
    if other:
        lines.append("guide errors and failed checks:")
        lines += other
    warned = [(doc, sr) for doc in run.docs for sr in doc.steps if sr.output_warning and not data.is_broken(sr)]
    if warned:
        lines.append(f"{plural(len(warned), 'output warning')}:")
        for _doc, sr in warned:
            lines.append(f"  WARN {data.location(sr)} {sr.output_warning}")
    verdict = "PASSED" if s["passed"] else "FAILED"
    if wall_s is None:
        lines.append(f"{verdict} in {s['duration_s']:.1f}s")
    else:
        lines.append(f"{verdict} in {wall_s:.1f}s ({s['duration_s']:.1f}s of guide time)")
    # every entry is one line: names, evidence and messages from docs or the guest cannot add lines
    return "\n".join(line if line.startswith("  ERROR ") else one_line(line) for line in lines)
