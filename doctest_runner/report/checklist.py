"""`checklist.md`: the sprint list of doc fixes, one checkbox per broken step.

Doc bugs come first (work for the doc owners); environment problems follow in their own section
so nobody "fixes" a guide that only failed because the test VM had no network or KVM. Each broken
step is listed once, even when its guide ran on several images. With a CODEOWNERS file the
items are grouped by owner (last matching pattern wins, as on GitHub).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from doctest_runner.model import CheckResult, RunResult
from doctest_runner.report import data
from doctest_runner.report.codeowners import CodeOwners, load_codeowners
from doctest_runner.report.json import atomic_write_text
from doctest_runner.text import one_line

UNOWNED = "Unowned"

# Characters that start Markdown syntax; `_` only matters at a word edge (kata_containers is safe).
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def md(text: str | None) -> str:
    """Plain text that Markdown will show as written (no emphasis, links or HTML), on one line: CR, Unicode
    line separators and control characters cannot start a heading or list item (doctest_runner.text)."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), one_line(text).strip())


def _code(text: str) -> str:
    """A code span that shows `text` as written, on one line (a fence longer than any backtick run in it)."""
    flat = one_line(text).strip()
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", flat)), default=0) + 1)
    return f"{ticks} {flat} {ticks}"


@dataclass
class _Item:
    doc: str  # guide path
    line: int
    text: str  # the rendered list item
    order: int = 0  # steps (0) before the guide's failed checks (1)


def _hint(category: str, explanation: str | None) -> str:
    if category in data.QUOTING_CATEGORIES and explanation:
        return md(explanation)  # it quotes the guide's own sentence and says what to provide
    if category == "permission" and explanation and "redirect" in explanation:
        return "write `cmd | sudo tee file` instead of `sudo cmd > file`"
    return data.HINTS.get(category, data.HINTS["unknown"])


def _step_items(run: RunResult, multi_image: bool) -> tuple[list[_Item], list[_Item]]:
    doc_items: list[_Item] = []
    env_items: list[_Item] = []
    for b in data.first_failures(run):  # a cascade is named once, with the failure it follows from
        sr = b.step
        images = f" ({md(', '.join(b.images))})" if multi_image else ""
        text = (
            f"- [ ] {md(b.location)}{images} — step \"{md(data.broken_command(sr))}\" — "
            f"{b.category}: {md(sr.evidence or '(no output)')} — {_hint(b.category, sr.explanation)}"
        )
        if b.later:
            text += f" — {data.later_text(b)} ({md(data.later_lines(b))})"
        for fix in data.fixes(sr):  # run --suggest-fixes: each candidate and its proof, under the item
            text += (f"\n  - fix: {md(fix.candidate.description)}: {_code(data.fix_change(fix))} — "
                     f"{md(data.fix_proof(fix))}")
        (env_items if b.group == "environment" else doc_items).append(_Item(b.path, b.line, text))
    return doc_items, env_items


def _check_item(doc_path: str, cr: CheckResult) -> _Item:
    where = f"{cr.check.path}:{cr.check.line}" if cr.check.path and cr.check.line else doc_path
    text = (
        f"- [ ] {md(doc_path)} — check {md(cr.check.kind)} {md(cr.check.target)} ({md(where)}) — "
        f"{md(cr.message or 'failed')} — the guide's steps do not leave the machine as its checks expect"
    )
    return _Item(doc_path, cr.check.line or 0, text, order=1)


def _render_items(items: list[_Item], owners: CodeOwners | None, level: int) -> list[str]:
    """Items grouped by guide (and by owner first, when CODEOWNERS is given)."""
    out: list[str] = []
    if owners is not None:
        by_owner: dict[str, list[_Item]] = {}
        for item in items:
            key = " ".join(owners.owners_for(item.doc)) or UNOWNED
            by_owner.setdefault(key, []).append(item)
        ordered = sorted(by_owner, key=lambda k: (k == UNOWNED, k.lower()))
        for key in ordered:
            out += [f"{'#' * level} {md(key)}", ""]
            out += _render_items(by_owner[key], None, level + 1)
        return out
    by_doc: dict[str, list[_Item]] = {}
    for item in items:
        by_doc.setdefault(item.doc, []).append(item)
    for doc, doc_items in by_doc.items():
        out += [f"{'#' * level} {md(doc)}", ""]
        out += [i.text for i in sorted(doc_items, key=lambda i: (i.order, i.line))]
        out.append("")
    return out


def checklist_markdown(run: RunResult, *, codeowners: Path | str | CodeOwners | None = None) -> str:
    """The checklist as Markdown text."""
    owners = load_codeowners(codeowners) if isinstance(codeowners, (str, Path)) else codeowners
    multi_image = len({d.image for d in run.docs}) > 1
    doc_items, env_items = _step_items(run, multi_image)
    for doc in run.docs:
        for cr in doc.checks:
            if not cr.passed:
                doc_items.append(_check_item(doc.path, cr))
    not_run = [d for d in run.docs if d.error and d.status != "skipped"]
    warnings = [
        (doc, sr) for doc in run.docs for sr in doc.steps if sr.output_warning and not data.is_broken(sr)
    ]

    summ = data.summary(run)
    groups = summ["groups"]
    lines = [
        f"# Doc fix checklist — run {md(run.run_id)}",
        "",
        (f"Run started {md(run.started_at)} on {md(run.host.accel)} ({md(run.host.why)}). "
         f"{len(summ['broken'])} broken step(s) in {sum(1 for d in run.docs if d.status == 'failed')} guide(s): "
         f"{groups['doc']} doc bug(s), {groups['environment']} environment problem(s)"
         + (f", {summ['after_failure']} step(s) failed after an earlier failure." if summ["after_failure"] else ".")),
        "",
    ]
    if not (doc_items or env_items or not_run or warnings):
        lines += ["Nothing to fix: every guide that ran passed.", ""]
    if doc_items:
        lines += ["## Doc bugs", ""]
        lines += _render_items(doc_items, owners, 3)
    if env_items:
        lines += [
            "## Environment problems",
            "",
            ("Not the docs' fault: the machine the guide ran on lacked network, KVM or time, or what the guide "
             "assumes the reader has (a prerequisite, another platform, a step given in words). "
             "Rerun these where that is fixed before changing the doc."),
            "",
        ]
        lines += _render_items(env_items, owners, 3)
    if not_run:
        lines += ["## Guides that could not run", ""]
        for d in not_run:
            lines.append(f"- [ ] {md(d.path)} ({md(d.image)}) — error: {md(d.error)}")
        lines.append("")
    if warnings:
        lines += ["## Output warnings", "", "The step worked, but its output differs from what the doc shows.", ""]
        seen: set[tuple[str, str]] = set()
        for doc, sr in warnings:
            key = (sr.step.path or doc.path, sr.step.id)
            if key in seen:
                continue
            seen.add(key)
            lines.append(
                f"- [ ] {md(data.location(sr))} — step \"{md(data.broken_command(sr))}\" — "
                f"output-mismatch: {md(sr.output_warning)} — {data.HINTS['output-mismatch']}"
            )
        lines.append("")
    if owners is not None and owners.errors:
        lines += ["## CODEOWNERS problems", ""]
        lines += [f"- {md(str(e))}" for e in owners.errors]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_checklist(run: RunResult, path: Path, *, codeowners: Path | str | CodeOwners | None = None) -> Path:
    atomic_write_text(path, checklist_markdown(run, codeowners=codeowners))
    return path
