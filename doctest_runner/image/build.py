"""`build_image`, `list_images`, `prune_images`: the cache front door for every recipe kind."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from doctest_runner.image.cache import (
    MANIFEST,
    BuiltImage,
    dir_size,
    ensure_keypair,
    file_lock,
    images_dir,
    public_key,
    remove_tree,
    write_manifest,
)
from doctest_runner.image.cloud import build_cloud
from doctest_runner.image.debootstrap import build_debootstrap, stage1_key
from doctest_runner.image.recipe import Recipe, default_recipe_dirs, load_recipe
from doctest_runner.model import DoctestError

Log = Callable[[str], None]


def file_digest(path: Path, idir: Path) -> str:
    """sha256 of a (large) source file, remembered by (size, mtime) so a cache hit stays fast."""
    st = path.stat()
    db_path = idir / ".source-digests.json"
    try:
        db = json.loads(db_path.read_text())
    except (OSError, ValueError):
        db = {}
    key = str(path.resolve())
    ent = db.get(key)
    if ent and ent.get("size") == st.st_size and ent.get("mtime_ns") == st.st_mtime_ns:
        return ent["sha256"]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    db[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": h.hexdigest()}
    tmp = db_path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(db, indent=1))
    os.replace(tmp, db_path)
    return h.hexdigest()


def cloud_source(recipe: Recipe, source: str | Path | None) -> Path:
    """The cloud image file: --from, else the recipe's `source` (relative to the recipe file)."""
    src = source or recipe.get("source")
    if not src:
        raise DoctestError("a cloud-image recipe needs a source image: set `source:` or pass --from FILE",
                           str(recipe.path))
    p = Path(src).expanduser()
    if not p.is_absolute() and source is None:
        p = recipe.path.parent / p
    if not p.is_file():
        raise DoctestError(f"cloud image file not found: {p}", str(recipe.path))
    return p.resolve()


def image_key(recipe: Recipe, idir: Path, pubkey: str, source: str | Path | None = None) -> tuple[str, Path | None]:
    """The recipe hash that names the cache entry; for cloud images the source file's content counts too."""
    if recipe.kind == "cloud-image":
        src = cloud_source(recipe, source)
        return recipe.hash(pubkey, file_digest(src, idir)), src
    return recipe.hash(pubkey), None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_tmp(idir: Path) -> None:
    """Remove half-built directories whose builder died (pid is the name's last field)."""
    for d in idir.glob(".tmp-*"):
        try:
            pid = int(d.name.rsplit("-", 1)[-1])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            remove_tree(d) if d.is_dir() else d.unlink(missing_ok=True)


def build_image(name_or_path: str = "debian-12", *, cache_dir: Path | None = None, force: bool = False,
                log: Log = print, source: str | Path | None = None) -> BuiltImage:
    """Return a built image for the recipe, building it only if the cache has no entry for its hash.

    `source` overrides a cloud-image recipe's `source` (the CLI's --from).
    """
    recipe = load_recipe(name_or_path)
    idir = images_dir(cache_dir)
    key_path = ensure_keypair(idir)
    pubkey = public_key(key_path)
    h, src = image_key(recipe, idir, pubkey, source)
    final = idir / f"{recipe.name}-{h}"
    if not force and (final / MANIFEST).exists():
        log(f"image {recipe.name}-{h}: cached ({final})")
        return BuiltImage.from_dir(final, key_path)
    with file_lock(idir / ".locks" / f"{recipe.name}-{h}.lock", log, f"{recipe.name}-{h}"):
        if not force and (final / MANIFEST).exists():
            log(f"image {recipe.name}-{h}: built by another process")
            return BuiltImage.from_dir(final, key_path)
        _clean_tmp(idir)
        work = idir / f".tmp-{recipe.name}-{h}-{os.getpid()}"
        remove_tree(work)
        work.mkdir(parents=True)
        t0 = time.monotonic()
        log(f"building image {recipe.name}-{h} ({recipe.kind}) from {recipe.path}")
        try:
            if recipe.kind == "debootstrap":
                fields = build_debootstrap(recipe, work, idir, pubkey, log)
            else:
                assert src is not None
                fields = build_cloud(recipe, src, work, pubkey, log)
            write_manifest(work, name=recipe.name, recipe_hash=h, kind=recipe.kind, distro=recipe.get("distro"),
                           release=recipe.get("release"), recipe=str(recipe.path), hostname=recipe.get("hostname"),
                           build_seconds=round(time.monotonic() - t0, 1), **fields)
            if final.exists():  # --force: move the old one aside first so the rename stays atomic
                old = idir / f".tmp-old-{recipe.name}-{h}-{os.getpid()}"
                os.rename(final, old)
                remove_tree(old)
            os.rename(work, final)
        except BaseException:
            remove_tree(work)
            raise
        log(f"image {recipe.name}-{h} built in {time.monotonic() - t0:.0f} s: {final / 'base.qcow2'}")
    return BuiltImage.from_dir(final, key_path)


@dataclass
class ImageInfo:
    name: str
    recipe_hash: str
    kind: str
    path: Path
    size: int  # bytes on disk
    created: float  # epoch seconds
    current: bool  # matches the recipe as it is now

    @property
    def age_s(self) -> float:
        return time.time() - self.created


def _current_hash(manifest: dict, idir: Path, pubkey: str) -> str | None:
    """The hash the image's recipe has today, or None if the recipe (or a cloud source) is gone."""
    try:
        recipe = load_recipe(manifest.get("recipe") or manifest["name"])
        if recipe.name != manifest["name"]:
            recipe = load_recipe(manifest["name"])
        return image_key(recipe, idir, pubkey, manifest.get("source"))[0]
    except (DoctestError, OSError, KeyError):
        return None


def list_images(cache_dir: Path | None = None) -> list[ImageInfo]:
    """Built images in the cache, with whether each still matches its recipe."""
    idir = images_dir(cache_dir)
    key = idir / "id_ed25519.pub"
    pubkey = key.read_text().strip() if key.exists() else ""
    out = []
    for d in sorted(idir.iterdir()):
        if d.name.startswith(".") or not (d / MANIFEST).is_file():
            continue
        try:
            m = json.loads((d / MANIFEST).read_text())
        except ValueError:
            continue
        out.append(ImageInfo(name=m.get("name", d.name), recipe_hash=m.get("recipe_hash", "?"), kind=m.get("kind", "?"),
                             path=d, size=dir_size(d), created=(d / MANIFEST).stat().st_mtime,
                             current=_current_hash(m, idir, pubkey) == m.get("recipe_hash")))
    return out


def prune_images(
    cache_dir: Path | None = None, *, in_use: Mapping[str, str], all: bool = False, log: Log = print
) -> list[Path]:
    """Remove bases that no current recipe builds (or every base with all=True) and unused rootfs tarballs.

    `in_use` maps the base file of every live (or kept) VM to its name: such a base is kept. The caller asks the
    VM layer (`vm.bases_in_use()`); the image cache sits below the VMs and does not read their records itself.
    """
    idir = images_dir(cache_dir)
    removed: list[Path] = []
    with file_lock(idir / ".locks" / "prune.lock", log, "prune"):
        _clean_tmp(idir)
        for info in list_images(idir):
            user = next((vm for base, vm in in_use.items() if Path(base).parent == info.path), None)
            if user and (all or not info.current):
                log(f"kept {info.path}: in use by {user}")
                continue
            if all or not info.current:
                with file_lock(idir / ".locks" / f"{info.name}-{info.recipe_hash}.lock", log, info.path.name):
                    remove_tree(info.path)
                removed.append(info.path)
                log(f"removed {info.path} ({info.size / 2**20:.0f} MiB)")
        keep: set[str] = set()
        if not all:
            for d in default_recipe_dirs():
                for f in sorted(d.glob("*.y*ml")) if d.is_dir() else []:
                    try:
                        r = load_recipe(str(f))
                    except DoctestError:
                        continue
                    if r.kind == "debootstrap":
                        keep.add(stage1_key(r))
        for tar in (idir / ".rootfs").glob("*.tar") if (idir / ".rootfs").is_dir() else []:
            if tar.stem.rsplit("-", 1)[-1] not in keep:
                tar.unlink()
                tar.with_suffix(".log").unlink(missing_ok=True)
                removed.append(tar)
                log(f"removed {tar}")
    return removed
