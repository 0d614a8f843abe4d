"""Image recipes: YAML data files in `vm_images/` describing how a base image is made.

A recipe is plain data so that its hash can key the image cache: change any field
and the image is rebuilt, leave it alone and the cached base is reused.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import site
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from doctest_runner.model import DoctestError

# Bump when the build code changes what it produces from the same recipe: it is part of every hash,
# so old caches are rebuilt instead of silently reused.
BUILDER_VERSION = "2"  # 2: the build records the guest's SSH host key (pinned at the first login)

KINDS = ("debootstrap", "cloud-image")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SIZE_RE = re.compile(r"^\d+[KMGT]?$")

# field -> (type, default); `None` default means optional.
_FIELDS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "name": (str, None),
    "kind": (str, None),
    "distro": (str, "debian"),
    "release": (str, ""),
    "suite": (str, None),
    "mirror": (str, "http://deb.debian.org/debian"),
    "components": (list, ["main"]),
    "variant": (str, None),
    "apt_sources": (list, []),
    "apt_update": (bool, False),
    "command_index": (bool, False),
    "packages": (list, []),
    "extra_packages": (list, []),
    "hostname": (str, "doctest"),
    "user": (str, "tester"),
    "disk_size": (str, "20G"),
    "initramfs_modules": (list, []),
    "cmdline": (str, "root=/dev/vda rw console=ttyS0,115200"),
    "network": (str, "ifupdown"),
    "mask_units": (list, []),
    "ssh_early": (bool, False),
    "linger": (bool, False),
    "files": (dict, {}),
    "extends": (str, None),
    # cloud-image only
    "source": (str, None),
    "boot": (str, "disk"),
    "root_partition": (int, None),
    "user_data": (dict, {}),
    # what the image is, for choosing a guide's platform sections (plan/platform.py); unset: derived
    # from `distro` / `release` and the recipe name. Descriptive only: not part of the image hash.
    "os": (str, None),
    "family": (str, None),
    "package_manager": (str, None),
    "arch": (str, None),
}
# Keys that describe the image without changing how it is built: a new or edited one keeps the cache.
PLATFORM_KEYS = ("os", "family", "package_manager", "arch")
# what a recipe may say about the platform it builds (plan/platform.py reads them)
PLATFORM_FIELDS = ("distro", "release", "family", "package_manager", "arch", "os")


# where a wheel install puts vm_images/*.yaml (pyproject's data-files), in a venv or system-wide, or with
# `pip install --user`: the recipes ship with the tool
INSTALLED_RECIPES = tuple(Path(base) / "share" / "doctest-runner" / "vm_images"
                          for base in (sys.prefix, site.getuserbase()))


def default_recipe_dirs() -> list[Path]:
    """Where recipes are looked up by name: $DOCTEST_RUNNER_RECIPES (colon list), then the checkout's
    vm_images/, or the installed copy when the package does not run from a checkout."""
    dirs = [Path(p) for p in os.environ.get("DOCTEST_RUNNER_RECIPES", "").split(":") if p]
    checkout = Path(__file__).resolve().parents[2] / "vm_images"
    dirs.append(checkout if checkout.is_dir() else next((d for d in INSTALLED_RECIPES if d.is_dir()),
                                                         INSTALLED_RECIPES[0]))
    return dirs


@dataclass
class Recipe:
    """A resolved recipe (`extends` already merged): the data that is hashed, and where it came from."""

    name: str
    kind: str
    data: dict[str, Any]
    path: Path
    sources: tuple[Path, ...] = ()  # every file that contributed (for messages)
    extra: dict[str, Any] = field(default_factory=dict)  # not hashed: e.g. a --from override already folded in

    def get(self, key: str) -> Any:
        value = self.data.get(key)
        if value is None:
            default = _FIELDS[key][1]
            return copy.deepcopy(default)
        return value

    @property
    def user(self) -> str | None:
        """The guide's user; None when the recipe says `user: null` (cloud-init makes it later)."""
        return self.data.get("user", "tester")

    @property
    def packages(self) -> list[str]:
        return list(self.get("packages")) + [p for p in self.get("extra_packages") if p not in self.get("packages")]

    def hash(self, *extra: str) -> str:
        """Short content hash of the recipe, the builder version and anything else the result depends on."""
        return recipe_hash({k: v for k, v in self.data.items() if k not in PLATFORM_KEYS}, *extra)

    def platform_fields(self) -> dict[str, str | None]:
        """What the recipe declares about the image it builds (distro, release, family, package manager, arch,
        os): the planner (plan/platform.py, which owns that vocabulary) derives the image's Platform from it."""
        return {k: self.data.get(k) for k in PLATFORM_FIELDS}


def recipe_hash(data: dict[str, Any], *extra: str) -> str:
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    h = hashlib.sha256()
    h.update(f"builder={BUILDER_VERSION}\n".encode())
    h.update(blob.encode())
    for item in extra:
        h.update(b"\0" + item.encode())
    return h.hexdigest()[:12]


def find_recipe(name_or_path: str, dirs: list[Path] | None = None) -> Path:
    """A recipe file from a path or a name looked up in the recipe directories."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if not p.is_file():
            raise DoctestError("recipe file not found", str(p))
        return p
    for d in dirs if dirs is not None else default_recipe_dirs():
        for ext in (".yaml", ".yml"):
            cand = d / f"{name_or_path}{ext}"
            if cand.is_file():
                return cand
    known = ", ".join(sorted(r.stem for d in (dirs or default_recipe_dirs()) if d.is_dir() for r in d.glob("*.yaml")))
    raise DoctestError(f"no image recipe named {name_or_path!r} (known: {known or 'none'})")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise DoctestError(f"cannot read recipe: {exc.strerror}", str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # where the construct began ("while parsing a flow sequence") beats where the parser gave up
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DoctestError(f"invalid YAML: {problem}", str(path), line) from None
    if not isinstance(data, dict):
        raise DoctestError("a recipe must be a YAML mapping", str(path), 1)
    return data


def _key_line(path: Path, key: str) -> int | None:
    """The line a top-level key is on, so an error can point at it."""
    try:
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(rf"^{re.escape(key)}\s*:", line):
                return i
    except OSError:
        pass
    return None


def validate(data: dict[str, Any], path: Path) -> None:
    """Reject unknown keys and wrong types with file:line, so a typo never silently builds the wrong image."""
    for key, value in data.items():
        if key not in _FIELDS:
            raise DoctestError(f"unknown recipe key {key!r}", str(path), _key_line(path, key))
        typ = _FIELDS[key][0]
        if value is not None and not isinstance(value, typ):
            if typ is str and isinstance(value, (int, float)) and not isinstance(value, bool):
                data[key] = str(value)
                continue
            raise DoctestError(f"{key}: expected {getattr(typ, '__name__', typ)}, got {type(value).__name__}",
                               str(path), _key_line(path, key))
    for key in ("packages", "extra_packages", "components", "apt_sources", "initramfs_modules", "mask_units"):
        if any(not isinstance(x, str) for x in data.get(key) or []):
            raise DoctestError(f"{key}: every item must be a string", str(path), _key_line(path, key))
    for k, v in (data.get("files") or {}).items():
        if not isinstance(k, str) or not k.startswith("/") or not isinstance(v, str):
            raise DoctestError("files: keys must be absolute guest paths and values strings", str(path),
                               _key_line(path, "files"))
        if "\x00" in k or any(part in ("", ".", "..") for part in k.split("/")[1:]):  # writes stay in the image
            raise DoctestError(f"files: key {k[:200]!r} must not hold '.', '..' or '//' components", str(path),
                               _key_line(path, "files"))
    for unit in data.get("mask_units") or []:
        if "/" in unit or unit in ("", ".", ".."):
            raise DoctestError(f"mask_units: {unit[:200]!r} is not a unit name", str(path),
                               _key_line(path, "mask_units"))


def load_recipe(name_or_path: str, dirs: list[Path] | None = None) -> Recipe:
    """Load, merge (`extends`) and validate a recipe; errors name the file and line."""
    path = find_recipe(name_or_path, dirs)
    chain: list[Path] = []
    data: dict[str, Any] = {}
    cur: Path | None = path
    layers: list[dict[str, Any]] = []
    while cur is not None:
        if cur.resolve() in [c.resolve() for c in chain]:
            raise DoctestError("recipe extends itself (cycle)", str(cur), _key_line(cur, "extends"))
        chain.append(cur)
        layer = _read_yaml(cur)
        validate(layer, cur)
        layers.append(layer)
        parent = layer.get("extends")
        if parent:
            search = [cur.parent] + (dirs if dirs is not None else default_recipe_dirs())
            try:
                cur = find_recipe(parent, search)
            except DoctestError as exc:
                raise DoctestError(exc.message, str(chain[-1]), _key_line(chain[-1], "extends")) from None
        else:
            cur = None
    for layer in reversed(layers):
        data.update({k: v for k, v in layer.items() if k != "extends"})
    # `name` belongs to the file that was asked for, never inherited.
    data["name"] = layers[0].get("name") or path.stem
    name = data["name"]
    if not NAME_RE.match(str(name)):
        raise DoctestError(f"invalid image name {name!r} (lowercase letters, digits, . _ -)", str(path),
                           _key_line(path, "name"))
    kind = data.get("kind")
    if kind not in KINDS:
        raise DoctestError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})", str(path),
                           _key_line(path, "kind") or 1)
    if kind == "debootstrap" and not data.get("suite"):
        raise DoctestError("a debootstrap recipe needs `suite` (e.g. bookworm)", str(path), 1)
    if not SIZE_RE.match(str(data.get("disk_size", "20G"))):
        raise DoctestError("disk_size must look like 20G", str(path), _key_line(path, "disk_size"))
    if data.get("network", "ifupdown") not in ("ifupdown", "networkd", "none"):
        raise DoctestError("network must be ifupdown, networkd or none", str(path), _key_line(path, "network"))
    if data.get("boot", "disk") not in ("disk", "kernel"):
        raise DoctestError("boot must be disk or kernel", str(path), _key_line(path, "boot"))
    if data.get("user") is not None and not re.match(r"^[a-z_][a-z0-9_-]*$", data["user"]):
        raise DoctestError(f"invalid user name {data['user']!r}", str(path), _key_line(path, "user"))
    return Recipe(name=name, kind=kind, data=data, path=path, sources=tuple(chain))
