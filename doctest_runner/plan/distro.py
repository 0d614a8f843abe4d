"""Older names for the platform vocabulary (plan/platform.py), kept for callers of `plan.distro`.

`distro_of(image)` and `title_matches(title, distro)` answer from the one vocabulary, so a tab title
is read the same way here as by the planner.
"""

from __future__ import annotations

from doctest_runner.plan.platform import DEFAULT_IMAGE, NONE, best_match, distro_of, platform_from_fields, read_title


def title_distros(title: str) -> set[str]:
    """The distributions a title names (empty when it names none)."""
    return {t.distro for t in read_title(title).targets if t.distro}


def names_os(title: str) -> bool:
    """Whether a title names a platform at all (a distro, 'Linux', 'macOS', an architecture...)."""
    return bool(read_title(title).targets)


def title_matches(title: str, distro: str) -> bool:
    """Whether a tab titled `title` fits `distro` ("Debian/Ubuntu" fits debian and ubuntu; "Linux" fits any)."""
    platform = platform_from_fields(distro, distro=distro)
    level, target = best_match(read_title(title).targets, platform)
    return level != NONE and (target is None or target.distro in (None, distro))


__all__ = ["DEFAULT_IMAGE", "distro_of", "names_os", "title_distros", "title_matches"]
