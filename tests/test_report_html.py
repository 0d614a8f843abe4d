"""report.html: self-contained, escaped, and what a browser renders names the broken steps."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from doctest_runner.report import report_html, write_all
from report_sample import sample

KATA_DOCS = Path(__file__).resolve().parents[1] / ".." / "shared" / "kata-docs"


class _Collect(HTMLParser):
    """Tags and attributes of a page, to check it is well-formed enough and self-contained."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "script":
            self.scripts += 1
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.urls.append(value)


def test_self_contained_and_escaped():
    html = report_html(sample().make_run())
    page = _Collect()
    page.feed(html)
    assert page.urls == []  # nothing to fetch: no external CSS, JS, fonts or images
    assert page.scripts == 1  # only the inline script we ship
    assert "default-src 'none'" in html  # and the CSP forbids loading anything else
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert page.tags.count("details") >= 5


def test_steps_link_from_the_broken_list_and_show_category_and_evidence():
    html = report_html(sample().make_run())
    broken = html[html.index('id="broken"'):html.index('class="controls"')]
    anchors = re.findall(r'href="#(s-\d+-\d+)"><code>([^<]+)</code>', broken)
    assert [loc for _a, loc in anchors] == [
        "docs/installation.md:44", "docs/installation.md:224", "docs/installation.md:289",
        "docs/install/container-manager/containerd/containerd-install.md:56"]
    for anchor, loc in anchors:
        assert f'id="{anchor}"' in html
        step = html[html.index(f'id="{anchor}"'):]
        assert loc in step[:600]
    assert '<span class="cat environment" title="environment">network</span>' in html
    assert '<span class="cat doc" title="doc bug">service</span>' in html
    assert "Failed to restart docker.service: Unit docker.service not found." in html


def test_source_excerpt_from_the_real_doc():
    if not (KATA_DOCS / "docs" / "installation.md").exists():
        pytest.skip("kata docs snapshot not present")
    html = report_html(sample().make_run(), source_root=KATA_DOCS)
    # the failing line of the tarball step (224) is highlighted with its real text
    assert '<span class="cur"><span class="ln">224</span>curl -fsSL -o kata-static.tar.zst \\</span>' in html
    assert '<span class="ln">289</span>sudo systemctl restart docker' in html
    assert "source docs/installation.md:207–231" in html
    # without a source root there is no excerpt, and a missing file is no error
    assert 'class="src"' not in report_html(sample().make_run())
    assert 'class="src"' not in report_html(sample().make_run(), source_root=Path("/nonexistent"))


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed")
def test_renders_in_headless_chromium(tmp_path):
    paths = write_all(sample().make_run(), tmp_path / "out", source_root=KATA_DOCS)
    proc = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", paths["html"].resolve().as_uri() + "#s-0-2"],
        check=False, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    for guide in ("docs/installation.md", "docs/install/container-manager/containerd/containerd-install.md",
                  "docs/Developer-Guide.md", "docs/install/minikube-installation-guide.md"):
        assert f"{guide}</h2>" in dom
    assert "<code>docs/installation.md:289</code>" in dom
    assert ">service</span>" in dom and ">network</span>" in dom and ">needs-kvm</span>" in dom
    # the injected markup stayed text
    assert "&lt;script&gt;alert" in dom and "<script>alert" not in dom
    # the inline script ran: opening the page at a step's anchor expanded that step's output
    target = dom[dom.index('id="s-0-2"'):dom.index('id="s-0-3"')]
    other = dom[dom.index('id="s-0-3"'):dom.index('id="s-0-4"')]
    assert '<details class="output" open="">' in target
    assert '<details class="output">' in other
