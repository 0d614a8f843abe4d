"""Fixtures for the untrusted-docs tests (issue #11): a docs repo, a host folder outside it, a canary.

The helpers (the real CLI under an audit hook, crafted files) are in `untrusted.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from untrusted import GUIDE, put


@pytest.fixture
def docs(tmp_path) -> Path:
    """A docs repository (its own git work tree: `.git` marks the tree's top) with one guide, `guide.md`."""
    root = tmp_path / "docs"
    (root / ".git").mkdir(parents=True)
    put(root, "guide.md", GUIDE)
    return root


@pytest.fixture
def outside(tmp_path) -> Path:
    """A host folder outside the docs tree with a secret file: it must never be read."""
    folder = tmp_path / "host"
    put(folder, "secret.md", "# Secret\n\n```bash\necho secret-token\n```\n")
    put(folder, "secret.txt", "secret-token\n")
    return folder


@pytest.fixture
def canary(tmp_path) -> Path:
    """A file that an attack would create; it must not exist after the test."""
    path = tmp_path / "CANARY"
    assert not path.exists()
    return path
