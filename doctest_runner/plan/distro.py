"""Which distribution an image is, and which mkdocs tab titles name it.

Guides offer per-distro tabs ("Debian/Ubuntu", "Fedora"); a VM can follow only
one of them, so the plan keeps the tab for the image's distribution.
"""

from __future__ import annotations

import re

DEFAULT_IMAGE = "debian-12"

# word in a title or image name -> distribution id
DISTRO_WORDS = {
    "debian": "debian",
    "ubuntu": "ubuntu",
    "fedora": "fedora",
    "centos": "centos",
    "rhel": "rhel",
    "redhat": "rhel",
    "rocky": "rocky",
    "rockylinux": "rocky",
    "alma": "alma",
    "almalinux": "alma",
    "opensuse": "opensuse",
    "suse": "opensuse",
    "sles": "opensuse",
    "arch": "arch",
    "archlinux": "arch",
    "alpine": "alpine",
    "amazon": "amazon",
    "amzn": "amazon",
    "gentoo": "gentoo",
    "mint": "mint",
    "nixos": "nixos",
    "flatcar": "flatcar",
    "oracle": "oracle",
}
NON_LINUX_WORDS = {"macos", "mac", "osx", "darwin", "windows", "freebsd", "openbsd", "brew", "homebrew"}


def _words(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    # "Red Hat" is one distribution
    joined = []
    i = 0
    while i < len(words):
        if words[i] == "red" and i + 1 < len(words) and words[i + 1] == "hat":
            joined.append("redhat")
            i += 2
        else:
            joined.append(words[i])
            i += 1
    return joined


def distro_of(image: str) -> str:
    """`debian-12` -> `debian`, `ubuntu-24.04` -> `ubuntu`; an unknown name -> its first word."""
    words = _words(image)
    for word in words:
        if word in DISTRO_WORDS:
            return DISTRO_WORDS[word]
    return words[0] if words else image.lower()


def title_distros(title: str) -> set[str]:
    """The distributions a tab title names (empty when it names none)."""
    return {DISTRO_WORDS[w] for w in _words(title) if w in DISTRO_WORDS}


def names_os(title: str) -> bool:
    """Whether a title is about an operating system at all (a distro, 'Linux', 'macOS'...)."""
    words = set(_words(title))
    return bool(title_distros(title) or words & NON_LINUX_WORDS or "linux" in words)


def title_matches(title: str, distro: str) -> bool:
    """Whether a tab titled `title` is meant for `distro` ("Debian/Ubuntu" matches debian and ubuntu)."""
    named = title_distros(title)
    if named:
        return distro in named
    words = set(_words(title))
    if words & NON_LINUX_WORDS:
        return False
    return "linux" in words  # a generic "Linux" tab fits any distribution
