"""Code blocks written with site-generator shortcodes instead of Markdown fences.

    {{< highlight bash >}}            {% highlight bash %}          :::{code-block} bash
    sudo make install                 sudo make install             sudo make install
    {{< /highlight >}}                {% endhighlight %}            :::

Hugo (`highlight`, `code`, `codeFromInline`, in `{{< >}}` and `{{% %}}` form), Jekyll/Liquid and
Jinja (`{% highlight %}`), and MyST colon fences (`:::{code-block}`). To mistune these are
paragraphs, so the commands in them were lost. A pre-pass rewrites the opening and closing lines
into a backtick fence with the block's language, line for line: line numbers stay exact, and the
content is untouched (a Hugo template value inside a command, `{{< stableVersion >}}`, stays as
written; lint reports it as a placeholder and a sidecar var can fill it).
"""

from __future__ import annotations

import re

from .containers import Fence, track_fence

_HUGO_OPEN_RE = re.compile(
    r"^(?P<indent>[ \t]*)\{\{(?P<d>[<%])-?[ \t]*(?P<name>highlight|code|codeFromInline|codeblock|code-block)"
    r"(?P<args>(?:[ \t][^\n]*?)?)[ \t]*-?(?P=d)?[>%]\}\}[ \t]*$",
    re.IGNORECASE,
)
_HUGO_CLOSE = r"^[ \t]*\{{\{{[<%]-?[ \t]*/[ \t]*{name}[ \t]*-?[>%]\}}\}}[ \t]*$"
_LIQUID_OPEN_RE = re.compile(
    r"^(?P<indent>[ \t]*)\{%-?[ \t]*highlight(?P<args>(?:[ \t][^\n]*?)?)[ \t]*-?%\}[ \t]*$", re.IGNORECASE
)
_LIQUID_CLOSE_RE = re.compile(r"^[ \t]*\{%-?[ \t]*endhighlight[ \t]*-?%\}[ \t]*$", re.IGNORECASE)
_COLON_OPEN_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<colons>:{3,})(?P<info>\{[A-Za-z][\w:-]*\}.*)$")
_LANG_KEY_RE = re.compile(r"""\b(?:lang|language)[ \t]*=[ \t]*["']?(?P<lang>[\w+#.-]+)""", re.IGNORECASE)
_POSITIONAL_RE = re.compile(r"""^[ \t]*["']?(?P<lang>[A-Za-z][\w+#.-]*)["']?(?:[ \t]|$)""")
_BACKTICKS_RE = re.compile(r"^[ \t]*(`+)")


def _lang(args: str) -> str:
    m = _LANG_KEY_RE.search(args)
    if m:
        return m.group("lang")
    m = _POSITIONAL_RE.match(args)
    if m and "=" not in args.split()[0]:
        return m.group("lang")
    return ""


def convert_shortcodes(lines: list[str]) -> tuple[list[str], set[int]]:
    """Rewrite shortcode/colon-fence code blocks as backtick fences, in place (same line count).

    Returns the new lines and the 1-based lines of the fences that came from a shortcode."""
    out = list(lines)
    found: set[int] = set()
    fence: Fence = None
    i, n = 0, len(out)
    while i < n:
        line = out[i]
        in_code, fence = track_fence(line, fence)
        if in_code:
            i += 1
            continue
        opened = _opening(line)
        if opened is None:
            i += 1
            continue
        indent, info, closing = opened
        end = next((j for j in range(i + 1, n) if closing.match(out[j])), None)
        if end is None:
            i += 1
            continue
        run = max((len(m.group(1)) for k in range(i + 1, end) if (m := _BACKTICKS_RE.match(out[k]))), default=0)
        ticks = "`" * max(3, run + 1)
        out[i] = f"{indent}{ticks}{info}"
        out[end] = f"{indent}{ticks}"
        found.add(i + 1)
        i = end + 1
    return out, found


def _opening(line: str) -> tuple[str, str, re.Pattern[str]] | None:
    """(indent, fence info, closing-line pattern) when `line` opens a shortcode code block."""
    if "{" not in line and ":::" not in line:
        return None
    m = _HUGO_OPEN_RE.match(line)
    if m:
        closing = re.compile(_HUGO_CLOSE.format(name=re.escape(m.group("name"))), re.IGNORECASE)
        return m.group("indent"), _lang(m.group("args")), closing
    m = _LIQUID_OPEN_RE.match(line)
    if m:
        return m.group("indent"), _lang(m.group("args")), _LIQUID_CLOSE_RE
    m = _COLON_OPEN_RE.match(line)
    if m:
        closing = re.compile(r"^[ \t]*" + m.group("colons") + r"[ \t]*$")
        return m.group("indent"), m.group("info").strip(), closing
    return None
