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
    from doctest_runner.vm import boot, decide_host

    with boot(built_image, host=decide_host(), workdir=tmp_path) as m:
        yield m

@pytest.fixture
def own_checkpoints():
    """Checkpoints a test's runs save (hundreds of MiB each) are removed after it, with the layers only they
    used; checkpoints that existed before the test are left alone."""
    from doctest_runner.vm.store import checkpoint_names, forget_since

    before = checkpoint_names()
    yield
    forget_since(before)

# --- end of VM fixtures ---------------------------------------------------------------------------
