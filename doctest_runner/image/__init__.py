"""VM image recipes -> cached qcow2 bases (see `vm_images/` for the recipes)."""

from doctest_runner.image.build import ImageInfo, build_image, list_images, prune_images
from doctest_runner.image.cache import BuiltImage, cache_root, images_dir
from doctest_runner.image.recipe import Recipe, load_recipe

__all__ = ["BuiltImage", "ImageInfo", "Recipe", "build_image", "cache_root", "images_dir", "list_images",
           "load_recipe", "prune_images"]
