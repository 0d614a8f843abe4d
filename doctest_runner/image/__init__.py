"""VM image recipes -> cached qcow2 bases (see `vm_images/` for the recipes).

`build_image` builds (or finds) the base a recipe describes; `file_lock` and `remove_tree` are the cache's
own locking and removal, which the VM layer uses for what it keeps beside the images.
"""

from doctest_runner.image.build import ImageInfo, build_image, list_images, prune_images
from doctest_runner.image.cache import BuiltImage, file_lock, images_dir, remove_tree
from doctest_runner.image.debootstrap import COMMAND_INDEX
from doctest_runner.image.recipe import Recipe, default_recipe_dirs, load_recipe

__all__ = [
    "COMMAND_INDEX",
    "BuiltImage",
    "ImageInfo",
    "Recipe",
    "build_image",
    "default_recipe_dirs",
    "file_lock",
    "images_dir",
    "list_images",
    "load_recipe",
    "prune_images",
    "remove_tree",
]
