"""JSON Schemas (draft 2020-12) of the hand-written YAML files: sidecars and doc-set manifests.

Editors check a file against them as it is typed (yaml-language-server's `# yaml-language-server: $schema=`
comment); the loaders in plan/sidecar.py and plan/docset.py stay the authority and check what a schema cannot
(files inside the docs tree, regexes that compile, rules that select a step). tests/test_schemas.py keeps
the two in agreement.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).parent
SCHEMAS = {"sidecar": "sidecar.schema.json", "docset": "docset.schema.json"}


def schema_path(name: str) -> Path:
    """The shipped schema file for `sidecar` or `docset`."""
    return SCHEMA_DIR / SCHEMAS[name]


def load_schema(name: str) -> dict[str, Any]:
    with schema_path(name).open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data
