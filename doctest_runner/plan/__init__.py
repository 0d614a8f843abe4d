"""Planning: which docs, which steps, with which sidecar settings, on which image.

    plan_paths(args, source=None, image=None) -> PlanSet   # everything, errors collected per file
    plan_matrix(args, source=None, images=[...]) -> PlanSet # plan_paths per image (--image given repeatedly)
    discover(args, source=None) -> list[DocTarget]        # just the docs (and their sidecars / sets)
    load_sidecar(path) -> Sidecar                          # validated sidecar, errors with file:line
    plan_doc(parsed, sidecar=None, image=None) -> Plan     # pure: ParsedDoc (+ sidecar) -> Plan
"""

from doctest_runner.plan.build import plan_doc, select
from doctest_runner.plan.discover import DocTarget, discover
from doctest_runner.plan.distro import DEFAULT_IMAGE, distro_of, title_matches
from doctest_runner.plan.docset import MANIFEST_NAME, DocSet, cache_root, fetch_git, load_manifest
from doctest_runner.plan.planset import PlanSet, plan_matrix, plan_paths
from doctest_runner.plan.sidecar import (
    SIDECAR_SUFFIX,
    Fixture,
    Rule,
    Script,
    Sidecar,
    load_sidecar,
    parse_sidecar,
)
from doctest_runner.plan.yamlnodes import MultipleErrors

__all__ = [
    "DEFAULT_IMAGE", "MANIFEST_NAME", "SIDECAR_SUFFIX",
    "DocSet", "DocTarget", "Fixture", "MultipleErrors", "PlanSet", "Rule", "Script", "Sidecar",
    "cache_root", "discover", "distro_of", "fetch_git", "load_manifest", "load_sidecar", "parse_sidecar",
    "plan_doc", "plan_matrix", "plan_paths", "select", "title_matches",
]
