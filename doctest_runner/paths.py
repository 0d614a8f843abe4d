"""Where the harness keeps what outlives one run: one cache root for every stage.

Images, saved states, checkpoints, the package cache, remote-host records and cloned doc-set sources all live
under `cache_root()`. It was decided in two places that disagreed (the image cache ignored $XDG_CACHE_HOME, doc
set sources honoured it), so a user who moved their cache got images in one place and sources in another.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CACHE_ENV = "DOCTEST_RUNNER_CACHE"
APP_DIR = "doctest-runner"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """The cache root: $DOCTEST_RUNNER_CACHE as given (`~` expanded); else `doctest-runner` under
    $XDG_CACHE_HOME; else under ~/.cache. An empty variable counts as unset, as the XDG spec says."""
    env = os.environ if environ is None else environ
    own = env.get(CACHE_ENV)
    if own:
        return Path(own).expanduser()
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / APP_DIR
