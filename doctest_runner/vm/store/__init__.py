"""The one store of saved machines: saved states, checkpoints, the disk layers under them, and their pruning.

Why one package: the folders below are laid out by the VM layer and read by the cache limit, the `cache`
command, `doctor`, the restore provider and the checkpointing of guides; keeping the layout, the save-image
format and the LRU rule together means no caller reaches into another module's folders or files.

Layout: <cache>/states/<key>/{memory.sav,meta.json}, <cache>/checkpoints/<key>/{memory.sav,meta.json},
<cache>/layers/<id>.qcow2. A saved machine lists the layers it needs (bottom first), so checkpoints taken on
top of a restored VM share the layers below. `meta.json`'s mtime is the entry's last use (LRU). A running VM
records the layers it stands on in its VM directory (LAYERS_FILE), and pruning never removes those.

- `records.py`: `SavedMachine`, `StateKey`, the folders; `find(key)`, `valid_state`, `discard`, `remove`.
- `saveimage.py`: the libvirt save image format (header, embedded XML, a retargeted copy).
- `saving.py`: saving a running VM stopped or live; `checkpoint(machine, key, ...)`, `restore(key, ...)`.
- `lru.py`: the size-limited LRU cache: `usage()`, `prune(max_size)`, `forget_since`, sizes as people write them.

Use it as `from doctest_runner.vm import store` and `store.NAME`: every public name is exported here.
"""

from doctest_runner.vm.store.lru import (
    DEFAULT_MAX_SIZE,
    Entry,
    Usage,
    entries,
    forget_since,
    human,
    layer_sizes,
    layers_in_use,
    parse_size,
    plan_eviction,
    prune,
    total_size,
    usage,
)
from doctest_runner.vm.store.records import (
    BUILD_VERSION,
    HEADER,
    LAYERS_FILE,
    SAVE_MAGIC,
    SavedMachine,
    StateKey,
    checkpoint_names,
    checkpoints_dir,
    discard,
    find,
    layers_dir,
    remove,
    states_dir,
    valid_state,
)
from doctest_runner.vm.store.saveimage import (
    compress_save_image,
    read_save_xml,
    retarget_xml,
    rewrite_save_image,
)
from doctest_runner.vm.store.saving import (
    Checkpointed,
    checkpoint,
    checkpoint_running,
    compact,
    live_checkpoints,
    restore,
    save_running,
)

__all__ = [
    "BUILD_VERSION",
    "DEFAULT_MAX_SIZE",
    "HEADER",
    "LAYERS_FILE",
    "SAVE_MAGIC",
    "Checkpointed",
    "Entry",
    "SavedMachine",
    "StateKey",
    "Usage",
    "checkpoint",
    "checkpoint_names",
    "checkpoint_running",
    "compact",
    "compress_save_image",
    "checkpoints_dir",
    "discard",
    "entries",
    "find",
    "forget_since",
    "human",
    "layer_sizes",
    "layers_dir",
    "layers_in_use",
    "live_checkpoints",
    "parse_size",
    "plan_eviction",
    "prune",
    "read_save_xml",
    "remove",
    "restore",
    "retarget_xml",
    "rewrite_save_image",
    "save_running",
    "states_dir",
    "total_size",
    "usage",
    "valid_state",
]
