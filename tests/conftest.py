"""Shared pytest fixtures.

--- VM fixtures (owner: image/vm) ---------------------------------------------------------------
`built_image`: the default image, built once per cache (minutes the first time, a cache hit after).
`machine`: a fresh VM booted from it for one test, removed afterwards whatever happens.
Tests using either must be marked `@pytest.mark.vm`.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def built_image():
    """The default `debian-12` image (cache in $DOCTEST_RUNNER_CACHE or ~/.cache/doctest-runner)."""
    from doctest_runner.image import build_image

    return build_image("debian-12", log=lambda msg: print(f"[image] {msg}"))


@pytest.fixture
def machine(built_image, tmp_path):
    """A fresh VM (TCG here) reachable over SSH; its console log is in tmp_path; destroyed after the test."""
    from doctest_runner.vm import boot

    with boot(built_image, workdir=tmp_path) as m:
        yield m

# --- end of VM fixtures ---------------------------------------------------------------------------
