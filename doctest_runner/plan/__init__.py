"""Planning: which docs, which steps, with which sidecar settings, on which image.

    plan_paths(args, source=None, image=None) -> PlanSet   # everything, errors collected per file
    plan_matrix(args, source=None, images=[...]) -> PlanSet # plan_paths per image (--image given repeatedly)
    discover(args, source=None) -> list[DocTarget]        # just the docs (and their sidecars / sets)
    load_sidecar(path) -> Sidecar                          # validated sidecar, errors with file:line
    plan_doc(parsed, sidecar=None, image=None) -> Plan     # pure: ParsedDoc (+ sidecar) -> Plan
    changed_planset(planset, ref, paths)                   # --changed REF: only guides a diff touches

Plan sits above image: the platform of an image comes from its recipe (`image.load_recipe`), and --changed
follows the recipe files a guide's image is built from. The classifier reads two plan facts: whether a skip
was for an unset site value (`is_site_value_skip`) and which platform a tool belongs to (`tool_target`).
"""

from doctest_runner.plan.build import plan_doc, select
from doctest_runner.plan.changed import NothingChanged, changed_planset, nothing_message
from doctest_runner.plan.discover import DocTarget, discover
from doctest_runner.plan.distro import DEFAULT_IMAGE, distro_of, title_matches
from doctest_runner.plan.docset import MANIFEST_NAME, DocSet, fetch_git, load_manifest
from doctest_runner.plan.planset import PlanSet, plan_matrix, plan_paths
from doctest_runner.plan.platform import tool_target
from doctest_runner.plan.sidecar import (
    SIDECAR_SUFFIX,
    Fixture,
    Rule,
    Script,
    Sidecar,
    load_sidecar,
    parse_sidecar,
)
from doctest_runner.plan.sitevalues import is_site_value_skip
from doctest_runner.plan.yamlnodes import MultipleErrors

__all__ = [
    "DEFAULT_IMAGE", "MANIFEST_NAME", "SIDECAR_SUFFIX",
    "DocSet", "DocTarget", "Fixture", "MultipleErrors", "NothingChanged", "PlanSet", "Rule", "Script", "Sidecar",
    "changed_planset", "discover", "distro_of", "fetch_git", "is_site_value_skip", "load_manifest", "load_sidecar",
    "nothing_message", "parse_sidecar", "plan_doc", "plan_matrix", "plan_paths", "select", "title_matches",
    "tool_target",
]
