"""The package reads as the pipeline: every import in doctest_runner is checked here, by reading the source with
`ast` (nothing is imported), so the shape described in README's "How it is built" stays true as code moves.

Rules, each reported as `file:line import ...` so a failure says exactly what to change:

  layer     a package imports only packages at or below its own layer (LAYERS, low to high);
  private   an `_underscore` name (or module) is private to the module that defines it: no other module imports
            it, not even one in the same package. Helpers a package shares between its own modules get a plain
            name; they stay package-internal by not being listed in the package's `__all__`;
  public    an import across packages names only the other package's public face: `from doctest_runner.P import N`
            with N in P/__init__.py's `__all__`, or `from doctest_runner.P.M import N` / `import doctest_runner.P.M`
            with "M" listed in P's `__all__` as a public submodule;
  cycle     no two packages import each other, directly or round a loop, counting imports inside functions and
            under `if TYPE_CHECKING:` (a typing-only import is still a dependency of the design);
  hidden    an import inside a function (or class body) carries a `# lazy: why` comment on its line or the line
            above it: only deliberate lazy imports of a heavy optional dependency (libvirt, paramiko, testinfra, the
            run machinery from a light CLI command) belong there.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "doctest_runner"

# Layers, low to high. A unit is a top-level module or sub-package of doctest_runner; one line says why it sits
# where it does (what it needs from below). Units on one layer may import each other (the cycle rule still holds).
LAYERS: tuple[tuple[str, ...], ...] = (
    # ground: plain data and helpers every stage shares; they import nothing of the pipeline. trust is the one
    # check of every path, URL, ref and image name from docs or recipes (plan reads docs, image writes files);
    # paths the one cache root
    ("doctest_runner", "model", "text", "wait", "paths", "trust", "schemas"),
    # shell: the one reader of shell text (lexer, bash co-process, declare -p); needs only the ground
    ("shell",),
    # parse: Markdown -> steps; asks shell whether a line is complete
    ("parse",),
    # image: recipes -> qcow2 bases; below plan because plan asks the recipes what platform an image is and
    # which recipe files build it (--changed); image needs nothing of plan (trust is ground)
    ("image",),
    # plan: sidecars, doc sets, platforms -> Plan; runs parse, lexes commands with shell, reads image recipes
    ("plan",),
    # vm: libvirt lifecycle; boots the images that image builds
    ("vm",),
    # exec: the guide's terminal in a booted machine (typed by model.Machine)
    ("exec",),
    # checks: expected output and testinfra checks of the finished machine
    ("checks",),
    # classify: failure -> verdict; reads plan facts (site values, tool targets) and checks' output mismatches
    ("classify",),
    # fix (#14): proposes doc edits for a classified failure and judges them from a re-run; reads verdicts
    ("fix",),
    # report: report.json, junit, html, checklist from RunResult (verdicts already decided)
    ("report",),
    # lint: static review of plans; plans docs (plan), prints findings in report's GitHub annotation format
    ("lint",),
    # history: the SQLite history of past RunResults
    ("history",),
    # run: orchestration of everything below for one guide and many
    ("run",),
    # entry points: the CLI sub-commands and the pytest plugin drive run, lint, report and history
    ("cli", "pytest_plugin", "__main__"),
)

# Known exceptions, as (file, imported module, imported name or "*") so line moves do not matter: none left
# (the redesign's last ones, in the run command and the runner, were fixed when #13 landed).
PENDING: frozenset[tuple[str, str, str]] = frozenset()


@dataclass(frozen=True)
class Violation:
    rule: str
    path: str  # relative to the scanned root, posix
    line: int
    text: str  # the import as written, on one line
    module: str  # absolute module imported from
    name: str  # the imported name ("*" for a whole-module import)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.text}"


@dataclass(frozen=True)
class Imp:
    path: str
    line: int
    text: str
    importer: str  # absolute module name of the importing file
    module: str  # absolute module imported from (for `import a.b.c`: a.b.c)
    name: str | None  # the name taken from `module` (None for `import module`)
    nested: bool  # inside a function or class body
    comment_ok: bool  # a `# lazy:` comment on its line(s) or the line above


def module_name(root: Path, file: Path) -> str:
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str, package: str) -> str:
    """The layering unit of a module: `doctest_runner.plan.build` -> `plan`; `doctest_runner` -> itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0] if parts[0] == package else ""


def _resolve(importer: str, is_pkg: bool, level: int, module: str | None) -> str:
    base = importer.split(".")
    if not is_pkg:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _has_lazy_comment(lines: list[str], start: int, end: int) -> bool:
    for n in range(max(start - 1, 1), end + 1):
        text = lines[n - 1]
        if "#" in text and "lazy:" in text.split("#", 1)[1]:
            return True
    return False


def read_imports(root: Path, package: str) -> Iterator[Imp]:
    """Every import of a `package` module, resolved to absolute names, in file order."""
    for file in sorted((root / package).rglob("*.py")):
        source = file.read_text(encoding="utf-8")
        lines = source.splitlines()
        importer = module_name(root, file)
        is_pkg = file.name == "__init__.py"
        rel = file.relative_to(root).as_posix()

        def visit(node: ast.AST, nested: bool) -> Iterator[Imp]:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    text = " ".join(ast.get_source_segment(source, child).split())  # type: ignore[union-attr]
                    ok = _has_lazy_comment(lines, child.lineno, child.end_lineno or child.lineno)
                    if isinstance(child, ast.Import):
                        for alias in child.names:
                            yield Imp(rel, child.lineno, text, importer, alias.name, None, nested, ok)
                    else:
                        mod = (_resolve(importer, is_pkg, child.level, child.module) if child.level
                               else child.module or "")
                        for alias in child.names:
                            yield Imp(rel, child.lineno, text, importer, mod, alias.name, nested, ok)
                inner = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))
                yield from visit(child, nested or inner)

        yield from visit(ast.parse(source, filename=str(file)), False)


def public_names(root: Path, package: str, unit: str) -> set[str] | None:
    """The `__all__` of a unit (its package __init__, or the module itself); None when it declares none."""
    base = root / package if unit == package else root / package / unit
    file = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    if not file.exists():
        return None
    names: set[str] | None = None
    for node in ast.parse(file.read_text(encoding="utf-8")).body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets, value = [node.target], node.value
        if value is None or not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            continue
        if isinstance(value, (ast.List, ast.Tuple)):
            found = {e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
            names = found if isinstance(node, (ast.Assign, ast.AnnAssign)) else (names or set()) | found
    return names


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def check_tree(root: Path, package: str, layers: tuple[tuple[str, ...], ...]) -> list[Violation]:
    """All violations of the five rules in `root/package`, sorted by file and line."""
    rank = {unit: i for i, layer in enumerate(layers) for unit in layer}
    found: list[Violation] = []
    edges: dict[tuple[str, str], list[Imp]] = {}
    publics: dict[str, set[str] | None] = {}

    def add(rule: str, imp: Imp, name: str | None) -> None:
        found.append(Violation(rule, imp.path, imp.line, imp.text, imp.module, name or "*"))

    for imp in read_imports(root, package):
        if imp.nested and not imp.comment_ok:
            add("hidden", imp, imp.name)
        if imp.module != package and not imp.module.startswith(package + "."):
            continue
        src, dst = unit_of(imp.importer, package), unit_of(imp.module, package)
        # `from doctest_runner import plan` names the unit `plan` itself
        if imp.module == package and imp.name in rank:
            dst = imp.name
        whole_unit = imp.module == package and imp.name in rank  # `from doctest_runner import shell`
        sub = imp.module.split(".")[2:] if dst != package else []
        # private: an underscored module on the path, or an underscored name taken from another module
        if any(_is_private(p) for p in imp.module.split(".")) or (
            imp.name is not None and _is_private(imp.name) and imp.module != imp.importer
        ):
            add("private", imp, imp.name)
        if src == dst:
            continue
        edges.setdefault((src, dst), []).append(imp)
        if src not in rank or dst not in rank:
            add("layer", imp, imp.name)  # a unit the layer table does not know: place it
        elif rank[dst] > rank[src]:
            add("layer", imp, imp.name)
        # public face of dst
        if dst not in publics:
            publics[dst] = public_names(root, package, dst)
        face = publics[dst]
        if whole_unit or dst == package:
            continue  # the unit itself, or the root package's own names (`__version__`)
        if not (root / package / dst).is_dir():  # a plain module: its `__all__` if it has one, else any public name
            if face is not None and imp.name is not None and imp.name not in face:
                add("public", imp, imp.name)
            continue
        if sub:
            if face is None or sub[0] not in face:
                add("public", imp, imp.name)
        elif imp.name is not None and imp.name != "*" and (face is None or imp.name not in face):
            add("public", imp, imp.name)
        elif imp.name is None:
            pass  # `import doctest_runner.P`: the package itself
    # cycles between units: every edge on a loop of the unit graph
    graph: dict[str, set[str]] = {}
    for src, dst in edges:
        graph.setdefault(src, set()).add(dst)

    def reaches(a: str, b: str) -> bool:
        seen, todo = {a}, [a]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt == b:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    for (src, dst), imps in edges.items():
        if reaches(dst, src):
            for imp in imps:
                add("cycle", imp, imp.name)
    return sorted(set(found), key=lambda v: (v.path, v.line, v.rule, v.name))


def test_every_unit_has_a_layer() -> None:
    units = {p.stem if p.is_file() else p.name for p in (ROOT / PACKAGE).iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    placed = {u for layer in LAYERS for u in layer}
    assert sorted(units - placed) == [], "add these to LAYERS, with a line saying why"


def test_doctest_runner_imports_follow_the_layering() -> None:
    violations = check_tree(ROOT, PACKAGE, LAYERS)
    pending = [v for v in violations if (v.path, v.module, v.name) in PENDING]
    new = [v for v in violations if v not in pending]
    lines = list(dict.fromkeys(map(str, new)))  # one line per import statement and rule
    assert not new, "import rules broken (see tests/test_layering.py):\n" + "\n".join(lines)


# --- the checker itself must be able to fail ------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


TOY_LAYERS = (("pkg", "model", "helpers"), ("low",), ("mid",), ("high",))


@pytest.fixture()
def toy(tmp_path: Path) -> Path:
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/model.py": 'X = 1\nW = 5\n_HIDDEN = 2\nY = 3\n__all__ = ["X", "Y"]\n',
        "pkg/helpers.py": "Z = 4\n",
        "pkg/low/__init__.py": 'from pkg.low.core import api\n\n__all__ = ["api", "tools"]\n',
        "pkg/low/core.py": "def api():\n    return 1\n\n\ndef _helper():\n    return 2\n",
        "pkg/low/tools.py": "from pkg.low.core import api\n\nVALUE = api()\n",
        "pkg/low/internal.py": "SECRET = 3\n",
        "pkg/mid/__init__.py": '__all__ = ["thing"]\nthing = 1\n',
        "pkg/high/__init__.py": "",
    })
    return tmp_path


def _rules(root: Path) -> list[tuple[str, str, int]]:
    return [(v.rule, v.path, v.line) for v in check_tree(root, "pkg", TOY_LAYERS)]


def test_clean_toy_tree_has_no_violation(toy: Path) -> None:
    _write(toy, {"pkg/mid/ok.py": """\
        from pkg import low, model
        from pkg.low import api
        from pkg.low.tools import VALUE
        import pkg.low.tools
        from . import thing


        def f():
            import json  # lazy: json is heavy here (a comment saying why makes it deliberate)
            return json, api, VALUE, low, model, thing, pkg
        """})
    assert _rules(toy) == []


def test_each_kind_of_violation_is_reported_with_file_and_line(toy: Path) -> None:
    _write(toy, {
        # layer: low imports mid, above it; and mid imports low, so the two form a cycle
        "pkg/low/up.py": "from pkg.mid import thing\n",
        # private: an underscored name of another module (same package too); public: a name not in __all__,
        # and a submodule the package does not list
        "pkg/mid/bad.py": """\
            from pkg.low import api
            from pkg.low.core import _helper
            from pkg.model import _HIDDEN
            from pkg.low.internal import SECRET
            from pkg.low.core import api as direct
            from pkg.model import Y, W
            """,
        "pkg/low/peer.py": "from pkg.low.core import _helper\n",
        # hidden: an import inside a function with no comment saying why
        "pkg/high/run.py": """\
            def go():
                from pkg.mid import thing
                return thing
            """,
    })
    got = _rules(toy)
    assert ("layer", "pkg/low/up.py", 1) in got
    assert ("cycle", "pkg/low/up.py", 1) in got and ("cycle", "pkg/mid/bad.py", 1) in got
    assert ("private", "pkg/mid/bad.py", 2) in got
    assert ("private", "pkg/mid/bad.py", 3) in got
    assert ("private", "pkg/low/peer.py", 1) in got
    assert ("public", "pkg/mid/bad.py", 4) in got  # internal is not listed in low.__all__
    assert ("public", "pkg/mid/bad.py", 5) in got  # core is not listed either
    assert [v.name for v in check_tree(toy, "pkg", TOY_LAYERS) if v.line == 6] == ["W"]  # model.__all__ lacks W
    assert ("hidden", "pkg/high/run.py", 2) in got
    assert ("public", "pkg/mid/bad.py", 1) not in got  # api is in __all__
    message = "\n".join(str(v) for v in check_tree(toy, "pkg", TOY_LAYERS))
    assert "pkg/high/run.py:2: [hidden] from pkg.mid import thing" in message


def test_cycle_through_function_level_imports_counts(toy: Path) -> None:
    _write(toy, {
        "pkg/low/a.py": "def f():\n    from pkg.low import api  # lazy: same package, no edge\n    return api\n",
        "pkg/model.py": "def g():\n    from pkg.high import x  # lazy: still an edge between units\n    return x\n",
        "pkg/high/__init__.py": '__all__ = ["x"]\nfrom pkg.model import X as x\n',
    })
    got = _rules(toy)
    assert ("cycle", "pkg/model.py", 2) in got
    assert ("layer", "pkg/model.py", 2) in got
    assert not any(path == "pkg/low/a.py" for _, path, _ in got)


def test_unknown_unit_must_be_placed(toy: Path) -> None:
    _write(toy, {"pkg/extra.py": "from pkg.low import api\n"})
    assert ("layer", "pkg/extra.py", 1) in _rules(toy)
