"""The trust boundary: every path, URL, ref and image name that comes from docs, sidecars, manifests or recipes.

A docs pull request can come from anyone, so whatever it names is checked here, in one
place, before the harness reads, fetches or writes it on the host: paths must resolve
(symlinks followed) inside their tree, git gets only https/ssh URLs and well-formed refs,
images are recipe names, and image-build writes stay under the image root. A refusal
never says whether something outside the tree exists: the message is the same either way.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from doctest_runner.model import DoctestError

# the one wording for every path that leaves its tree (whether or not the target exists)
OUTSIDE = "is outside the docs tree (absolute paths, '..' and symlinks that leave it are refused)"

IMAGE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")  # the recipe name rule (image/recipe.py NAME_RE)
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_HEX_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_SCP_LIKE = re.compile(r"^(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]*)@(?P<host>[^:/\s]+):(?P<path>[^\s]+)$")
# protocols git may use for a doc set's source: never ext:: (runs commands), git://, http:// or file://
GIT_PROTOCOLS_REMOTE = "https:ssh"
GIT_PROTOCOLS_LOCAL = "file"


def _realpath(path: str | os.PathLike[str]) -> Path:
    """Symlinks followed; a loop or an unreadable component gives the path as far as it resolves, never raises."""
    return Path(os.path.realpath(path))


def is_inside(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """True when `path`, with every symlink followed, is `root` or below it."""
    real, top = _realpath(path), _realpath(root)
    return real == top or top in real.parents


def confine(root: Path, rel: str, what: str, where: tuple[str, int | None] = ("", None), *,
            base: Path | None = None) -> Path:
    """`rel` resolved against `base` (default `root`; symlinks followed), or a one-line refusal when it leaves
    the tree `root`.

    `what` names the thing in the message (e.g. "fixture 'data/x'"); `where` is (file, line) of the value.
    Nothing is checked for existence here: the caller reports "not found" only for paths inside the tree.
    """
    path, line = where
    if "\x00" in rel or os.path.isabs(rel):
        raise DoctestError(f"{what} {OUTSIDE}", path, line)
    target = _realpath(Path(base if base is not None else root) / rel)
    if not is_inside(target, root):
        raise DoctestError(f"{what} {OUTSIDE}", path, line)
    return target


def escaping_links(folder: Path, root: Path, limit: int = 10000) -> bool:
    """True when a folder (a fixture to copy) holds a symlink that leaves `root` or links a folder (a loop to
    copy forever), or more than `limit` entries."""
    seen = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            seen += 1
            full = Path(dirpath, name)
            if seen > limit or (full.is_symlink() and (not is_inside(full, root) or full.is_dir())):
                return True
    return False


def docs_root(start: Path) -> Path:
    """The docs tree a command-line argument belongs to: its git work tree (the nearest folder holding `.git`;
    a pull request cannot add one), else the current folder when the argument is below it, else the argument's
    own folder. Docs, sidecars and manifests may only name paths inside it."""
    named = Path(start).absolute()
    folder = _realpath(named if named.is_dir() else named.parent)  # a symlinked file: the folder of the link
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    cwd = _realpath(os.getcwd())
    if folder == cwd or cwd in folder.parents:
        return cwd
    return folder


# --- git --------------------------------------------------------------------------------------------------

def git_url_problem(url: str) -> str | None:
    """Why a remote git URL is refused (None: accepted). Only https://, ssh:// and user@host:path."""
    if _CONTROL.search(url) or url.startswith("-"):
        return "git URL must not start with '-' or hold spaces or control characters"
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "ssh"):
            return f"git URL scheme {parts.scheme!r} is not allowed (https:// or ssh:// only)"
        host = parts.hostname or ""
        if not _HOST.match(host) or not parts.path.strip("/"):
            return "git URL needs a host name and a path"
        return None
    match = _SCP_LIKE.match(url)
    if match and _HOST.match(match["host"]) and not match["path"].startswith("-"):
        return None
    return "git URL must be https://HOST/PATH, ssh://HOST/PATH or USER@HOST:PATH (or a folder in the docs repo)"


def is_remote_url(url: str) -> bool:
    """Written as a URL (or scp-like user@host:path) rather than a local folder."""
    return "://" in url or "::" in url or _SCP_LIKE.match(url) is not None or url.startswith("-")


def git_ref_problem(ref: str) -> str | None:
    """Why a ref is refused (None: accepted): a hex commit id, or a name by `git check-ref-format` rules."""
    if _HEX_SHA.match(ref):
        return None
    if not ref or ref.startswith("-") or _CONTROL.search(ref):
        return "ref must not be empty, start with '-' or hold spaces or control characters"
    bad = any(c in ref for c in "~^:?*[\\") or ".." in ref or "@{" in ref or "//" in ref or ref == "@"
    parts = ref.split("/")
    if bad or ref.endswith(("/", ".", ".lock")) or any(not p or p.startswith(".") or p.endswith(".lock")
                                                       for p in parts):
        return "ref is not a valid branch, tag or commit name (git check-ref-format rules)"
    return None


def git_env(local: bool) -> dict[str, str]:
    """Environment for every git call on a doc set's source: only the allowed transports, no prompts."""
    protocols = GIT_PROTOCOLS_REMOTE + (":" + GIT_PROTOCOLS_LOCAL if local else "")
    return dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", LC_ALL="C", GIT_ALLOW_PROTOCOL=protocols,
                GIT_PROTOCOL_FROM_USER="0")


# no hooks, no fsmonitor command, no submodules, no ext:: transport, whatever a config file says
GIT_SAFE_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "protocol.ext.allow=never",
                   "-c", "submodule.recurse=false")


# --- images -------------------------------------------------------------------------------------------------

def image_name_problem(name: str) -> str | None:
    """Why an `image:` is refused (None: accepted): images are recipe NAMES looked up in the recipe folders."""
    if IMAGE_NAME_RE.match(name) and ".." not in name:
        return None
    return (f"image {name[:80]!r} must be a recipe name (lowercase letters, digits, . _ -) looked up in vm_images/ "
            f"or --recipes DIR, not a path")


def guest_write_path(root: Path, guest_path: str) -> Path:
    """Where an image build may write `guest_path`: below `root`, or a one-line refusal.

    `..`, `.` and empty components are refused outright; every existing folder on the way is resolved on the
    host and must stay in `root` (a symlinked folder pointing out, e.g. `etc -> /etc`, is refused). The last
    component may be a symlink: the writer replaces it instead of following it.
    """
    parts = guest_path.split("/")
    if not guest_path.startswith("/") or "\x00" in guest_path or any(p in ("", ".", "..") for p in parts[1:]):
        raise DoctestError(f"image file {guest_path[:200]!r} must be an absolute guest path without '.', '..' or "
                           f"'//' components")
    target = Path(root, *parts[1:])
    if not is_inside(target.parent, root):
        raise DoctestError(f"image file {guest_path[:200]!r} leaves the image root through a symlink")
    return target
