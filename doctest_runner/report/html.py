"""`report.html`: one self-contained page (inline CSS/JS, no network) to read a run in a browser.

Summary first, then the broken steps linked to their place, then every guide with every step:
status, `path:line`, the command, category and explanation, the doc lines around it (when the
doc sources are at hand) and the output, collapsed. Every piece of run data is HTML-escaped:
commands and outputs are full of `<`, `&` and quotes.
"""

from __future__ import annotations

from html import escape
from importlib import resources
from pathlib import Path
from string import Template

from doctest_runner import __version__
from doctest_runner.model import DocResult, RunResult, StepResult, category_group
from doctest_runner.report import data
from doctest_runner.report.json import atomic_write_text
from doctest_runner.text import clean_lines, clean_text

CONTEXT_LINES = 3  # doc lines shown above and below a step
MAX_OUTPUT_CHARS = 200_000  # per step; the artifacts hold the rest


def _asset(name: str) -> str:
    return resources.files("doctest_runner.report").joinpath("assets", name).read_text(encoding="utf-8")


def e(value: object) -> str:
    """Escape for HTML text and attribute values alike, after the shared report cleaning (doctest_runner.text):
    no control characters or lone surrogates reach the page."""
    return escape(clean_text(value), quote=True)


class _Sources:
    """Doc files read once each, for the source excerpts; missing files just give no excerpt."""

    def __init__(self, root: Path | None):
        self.root = root
        self._cache: dict[str, list[str] | None] = {}

    def lines(self, path: str) -> list[str] | None:
        if self.root is None:
            return None
        if path not in self._cache:
            p = Path(path)
            p = p if p.is_absolute() else self.root / p
            try:
                self._cache[path] = p.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                self._cache[path] = None
        return self._cache[path]


def _step_anchor(doc_index: int, step_index: int) -> str:
    return f"s-{doc_index}-{step_index}"


def _source_excerpt(sources: _Sources, sr: StepResult) -> str:
    lines = sources.lines(sr.step.path)
    if not lines or sr.step.line <= 0:
        return ""
    first = max(1, sr.step.line - CONTEXT_LINES)
    last = min(len(lines), max(sr.step.end_line, sr.step.line) + CONTEXT_LINES)
    if first > len(lines):
        return ""
    mark = data.step_line(sr) if data.is_broken(sr) else None
    rows = []
    for n in range(first, last + 1):
        text = f'<span class="ln">{n}</span>{e(lines[n - 1])}'
        if n == mark:
            text = f'<span class="cur">{text}</span>'
        rows.append(text)
    is_open = " open" if data.is_broken(sr) else ""
    return (
        f'<details class="src"{is_open}><summary>source {e(sr.step.path)}:{first}–{last}</summary>'
        f'<pre>{chr(10).join(rows)}</pre></details>'
    )


def _output_block(sr: StepResult) -> str:
    if not sr.output:
        return ""
    text = "\n".join(clean_lines(sr.output)).rstrip("\n")
    note = ""
    if len(text) > MAX_OUTPUT_CHARS:
        note = f"[... {len(text) - MAX_OUTPUT_CHARS} characters cut; the full output is in the artifacts]\n"
        text = text[-MAX_OUTPUT_CHARS:]
    count = text.count("\n") + 1
    return (
        f'<details class="output"><summary>output ({count} line{"s" if count != 1 else ""})</summary>'
        f"<pre>{e(note + text)}</pre></details>"
    )


def _category_badge(category: str | None) -> str:
    if not category:
        return ""
    group = category_group(category) or "doc"
    label = "doc bug" if group == "doc" else "environment"
    return f'<span class="cat {group}" title="{label}">{e(category)}</span>'


def _step_html(doc_index: int, step_index: int, sr: StepResult, sources: _Sources) -> str:
    step = sr.step
    category = data.category_of(sr)
    heading = " › ".join(step.heading)
    prompt = "$ " if step.kind != "file" else ""
    parts = [
        (f'<div class="step status-{e(sr.status)}" id="{_step_anchor(doc_index, step_index)}" '
         f'data-status="{e(sr.status)}">'),
        '<div class="step-head">',
        f'<span class="badge {e(sr.status)}">{e(sr.status)}</span>',
        f'<code class="loc">{e(data.location(sr))}</code>',
        f'<span class="heading">{e(heading)}</span>' if heading else "",
        _category_badge(category) if data.is_broken(sr) else "",
        f'<span class="dur">{sr.duration_s:.1f}s</span>' if sr.duration_s else "",
        "</div>",
    ]
    if step.kind == "file" and step.file_path:
        parts.append(f'<p class="meta">writes <code>{e(step.file_path)}</code></p>')
    parts.append(f'<pre class="cmd">{e(prompt + step.command)}</pre>')
    if data.is_broken(sr):
        exit_code = "" if sr.exit_code is None else f" (exit {e(sr.exit_code)})"
        parts.append(f'<p class="why"><b>{e(category)}</b>{exit_code}: {e(sr.explanation or "")}</p>')
        after = data.after_failure_text(sr.after_failure, step.path)
        if after:
            parts.append(f'<p class="after">{e(after)}</p>')
        if sr.evidence:
            parts.append(f'<p class="evidence">evidence: <code>{e(sr.evidence)}</code></p>')
    reason = data.reason(sr)
    if reason:
        parts.append(f'<p class="reason">{e(reason)}</p>')
    if sr.output_warning:
        parts.append(f'<p class="warning">output differs from the doc: {e(sr.output_warning)}</p>')
    for fix in data.fixes(sr):  # run --suggest-fixes: the change and its proof
        parts.append(f'<div class="fix fix-{e(fix.verdict.status)}"><p><b>fix</b> ({e(fix.candidate.proposer)}): '
                     f'{e(fix.candidate.description)}</p><pre class="cmd">{e(data.fix_change(fix))}</pre>'
                     f'<p class="proof">{e(data.fix_proof(fix))}</p></div>')
    parts.append(_source_excerpt(sources, sr))
    parts.append(_output_block(sr))
    parts.append("</div>")
    return "\n".join(p for p in parts if p)


def _checks_html(doc: DocResult) -> str:
    if not doc.checks:
        return ""
    rows = [
        f'<tr><td><span class="badge {"passed" if c.passed else "failed"}">{"passed" if c.passed else "failed"}'
        f"</span></td><td>{e(c.check.kind)}</td><td><code>{e(c.check.target)}</code></td><td>{e(c.message)}</td></tr>"
        for c in doc.checks
    ]
    return (
        '<table class="checks"><thead><tr><th>check</th><th>kind</th><th>target</th><th>message</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _doc_html(doc_index: int, doc: DocResult, sources: _Sources) -> str:
    counts = data.doc_counts(doc)
    count_text = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    parts = [
        f'<section class="doc status-{e(doc.status)}" id="d-{doc_index}">',
        f'<h2><span class="badge {e(doc.status)}">{e(doc.status)}</span> {e(doc.path)}</h2>',
        f'<p class="meta">image <code>{e(doc.image)}</code> · {doc.duration_s:.1f}s'
        + (f" · {e(count_text)}" if count_text else "")
        + (f' · artifacts <code>{e(doc.artifacts)}</code>' if doc.artifacts else "")
        + "</p>",
    ]
    if doc.error:
        parts.append(f'<p class="doc-error">{e(doc.error)}</p>')
    parts.append(_checks_html(doc))
    parts += [_step_html(doc_index, i, sr, sources) for i, sr in enumerate(doc.steps)]
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def _summary_html(run: RunResult) -> str:
    s = data.summary(run)
    docs, steps, groups = s["docs"], s["steps"], s["groups"]
    cards = [
        (docs["passed"], "guides passed"), (docs["failed"], "guides failed"), (docs["error"], "guides errored"),
        (docs["skipped"], "guides skipped"), (steps["passed"], "steps passed"),
        (steps["failed"] + steps["error"], "steps broken"), (steps["not-run"], "steps not run"),
        (groups["doc"], "doc bugs"), (groups["environment"], "environment problems"),
    ]
    if s["after_failure"]:
        cards.append((s["after_failure"], "failed after an earlier failure"))
    html = ['<section id="summary"><div class="cards">']
    html += [f'<div class="card"><b>{n}</b>{e(label)}</div>' for n, label in cards]
    html.append("</div>")
    if s["categories"]:
        cats = " ".join(f"{_category_badge(c)}&nbsp;×{n}" for c, n in s["categories"].items())
        html.append(f'<p class="meta">by category: {cats}</p>')
    html.append("</section>")
    return "\n".join(html)


def _broken_html(run: RunResult) -> str:
    anchors: dict[tuple[str, str], str] = {}
    for di, doc in enumerate(run.docs):
        for si, sr in enumerate(doc.steps):
            anchors.setdefault((sr.step.path or doc.path, sr.step.id), _step_anchor(di, si))
    broken = data.broken_steps(run)
    errors = [(i, d) for i, d in enumerate(run.docs) if d.error and d.status != "skipped"]
    if not broken and not errors:
        return '<section id="broken"><h2>Broken steps</h2><p>None: every step that ran passed.</p></section>'
    items = []
    for b in broken:
        if b.after is not None:
            continue  # listed under the failure it follows from
        anchor = anchors.get((b.path, b.step.step.id), "")
        later = ""
        if b.later:
            links = ", ".join(f'<a href="#{anchors.get((x.path, x.step.step.id), "")}">{e(x.line)}</a>'
                              for x in b.later)
            lines = "lines" if len(b.later) > 1 else "line"
            later = f' <span class="after">{e(data.later_text(b))} ({lines} {links})</span>'
        items.append(
            f'<li><a href="#{anchor}"><code>{e(b.location)}</code></a> {_category_badge(b.category)} '
            f"<code>{e(b.step.evidence or '')}</code>{later}</li>"
        )
    for i, d in errors:
        items.append(f'<li><a href="#d-{i}"><code>{e(d.path)}</code></a> <b>error</b>: {e(d.error)}</li>')
    return f'<section id="broken"><h2>Broken steps</h2><ol class="broken">{"".join(items)}</ol></section>'


def report_html(run: RunResult, *, source_root: Path | None = None) -> str:
    """The whole report as one HTML document."""
    sources = _Sources(source_root)
    host = run.host
    body = [
        "<header>",
        "<h1>doctest-runner report</h1>",
        (f'<p class="meta">run <code>{e(run.run_id)}</code> · started {e(run.started_at)} · '
         f"accel <b>{e(host.accel)}</b> ({e(host.why)})</p>"),
        "</header>",
        _summary_html(run),
        _broken_html(run),
        ('<nav class="controls"><label><input type="checkbox" id="only-broken"> show only broken steps</label>'
         '<button type="button" id="expand-all">expand all</button></nav>'),
    ]
    body += [_doc_html(i, doc, sources) for i, doc in enumerate(run.docs)]
    return Template(_asset("report.html")).substitute(
        title=e(f"doctest-runner report {run.run_id}"),
        version=e(__version__),
        css=_asset("report.css"),
        js=_asset("report.js"),
        body="\n".join(body),
    )


def write_html(run: RunResult, path: Path, *, source_root: Path | None = None) -> Path:
    atomic_write_text(path, report_html(run, source_root=source_root))
    return path
