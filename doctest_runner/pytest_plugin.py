"""pytest plugin: `pytest docs_under_test/...` runs guides as tests.

A guide is a collector (its VM boots when its first step runs and goes after its last),
each step an item with the id `path::L12` (`path::L12[name]` for a named step). So JUnit XML,
`-k`, `-x` and xdist (`-n N --dist loadfile`: a guide stays on one worker) come from pytest
itself, and the verdicts come from the same `GuideRun` that `doctest-runner run` uses.

`-k` matches the words `run -k` matches (run/select.py `step_keywords`: headings, step name,
the command's first line, the path, `L12`), given to pytest through `extra_keyword_matches`.
A guide builds on itself, so selecting a step also runs the steps before it: after pytest's
deselection (by `-k`, `-m`, `--deselect`, node ids...) the steps a selected step needs
(run/select.py `needed_steps`, as `run -k`) run in that item's setup and are reported as such
(user properties, a report section, a terminal summary section).

Guides are collected under the ini `doctest_runner_paths` folders (default
`docs_under_test`) or when a `.md` file is named on the command line, so the harness's
own test fixtures are never taken for guides.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

from doctest_runner.model import DoctestError, Plan, Step, StepResult
from doctest_runner.plan import plan_paths
from doctest_runner.run.guide import GuideOptions, GuideRun, MachineBackend, slug
from doctest_runner.run.select import needed_steps, step_keywords

SET_MANIFEST = "doctest-set.yaml"
SETUP_PROPERTY = "doctest-runner setup step"  # user property: a needed step run in a selected item's setup
_BROKEN = re.compile(r":\d+ (failed|error)( |$)")  # a setup step's property value (`_describe`) that broke


class _Hooks:
    """Hooks this plugin adds to pytest."""

    @pytest.hookspec(firstresult=True)
    def pytest_doctest_runner_backend(self, config: pytest.Config) -> MachineBackend | None:
        """Where guides' machines come from instead of libvirt VMs: the plugin's own tests return a fake
        machine backend here (run/guide.py `MachineBackend`); None (no implementation) is the real path."""
        raise NotImplementedError  # a hookspec: never called itself


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(_Hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("doctest-runner", "run documentation guides in fresh VMs")
    group.addoption("--dr-source", metavar="DIR", help="local checkout that replaces a doc set's source")
    group.addoption("--dr-image", metavar="NAME", help="run every guide on this image")
    group.addoption("--dr-output", choices=("off", "warn", "check"), default="warn", help="expected output mode")
    group.addoption("--dr-accel", choices=("kvm", "tcg"), help="override the acceleration choice")
    group.addoption("--dr-timeout", type=float, default=900.0, help="default per-step timeout (s)")
    group.addoption("--dr-keep-going", action="store_true", help="run a guide's steps after one failed")
    group.addoption("--dr-out", default="doctest-out/pytest", help="artifacts directory")
    parser.addini("doctest_runner_paths", "folders whose Markdown guides are collected", type="paths",
                  default=[])


def _roots(config: pytest.Config) -> list[Path]:
    roots = list(config.getini("doctest_runner_paths")) or [config.rootpath / "docs_under_test"]
    return [Path(r).resolve() for r in roots]


def _named(config: pytest.Config, path: Path) -> bool:
    """Was this file or folder itself named on the command line?"""
    rp = path.resolve()
    for arg in config.args:
        a = Path(str(arg).split("::")[0])
        a = (config.invocation_params.dir / a).resolve()
        if a == rp:
            return True
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    config = parent.config
    inside = any(r == file_path.resolve() or r in file_path.resolve().parents for r in _roots(config))
    if file_path.name == SET_MANIFEST and (inside or _named(config, file_path.parent)):
        return DocSetFile.from_parent(parent, path=file_path)
    if file_path.suffix == ".md" and (inside or _named(config, file_path)):
        if _in_explicit_set(file_path) and not _named(config, file_path):
            return None
        return GuideFile.from_parent(parent, path=file_path)
    return None


def _in_explicit_set(path: Path) -> bool:
    return any((d / SET_MANIFEST).exists() for d in path.parents)


def _arg(config: pytest.Config, path: Path) -> str:
    """The path as `doctest-runner run` would be given it: relative to where pytest was started."""
    here = config.invocation_params.dir
    return os.path.relpath(path, here) if path.is_relative_to(here) else str(path)


def _plans(config: pytest.Config, args: list[str]) -> list[Plan]:
    planset = plan_paths(args, source=config.getoption("--dr-source"), image=config.getoption("--dr-image"))
    if planset.errors:
        raise pytest.UsageError("; ".join(str(e) for e in planset.errors))
    return planset.plans


def item_name(plan: Plan, step: Step) -> str:
    """`L12`, `L12#2` when a line holds several steps, plus `[name]` for a named step; a step from another file
    (a sidecar's setup) is prefixed with that file's name: `hello.doctest.yaml:L4`."""
    where = f"L{step.line}" if step.path == plan.path else f"{PurePosixPath(step.path).name}:L{step.line}"
    several = "#" + step.id.rsplit("#", 1)[1] if "#" in step.id else ""
    return where + several + (f"[{step.options.name}]" if step.options.name else "")


class _GuideNode(pytest.Collector):
    """Shared by a guide file and a guide inside a doc set: the VM lives from setup to teardown."""

    plan: Plan
    guide: GuideRun | None = None
    _setup_steps: list[Step]  # deselected steps that selected ones need, in guide order, not run yet

    def _make_items(self) -> Iterator[pytest.Item]:
        self._setup_steps = []
        for step in self.sequence:
            yield StepItem.from_parent(self, name=item_name(self.plan, step), step=step)
        if self.plan.checks or self.plan.check_modules or self.plan.cleanup:
            yield ChecksItem.from_parent(self, name="checks")

    @property
    def sequence(self) -> list[Step]:
        """The guide's steps in the order a run takes them."""
        return [*self.plan.setup, *self.plan.steps]

    def select(self, selected: list[pytest.Item]) -> None:
        """Which deselected steps the selected items of this guide need (all of them before the checks)."""
        seq = self.sequence
        chosen = {i.step.id for i in selected if isinstance(i, StepItem)}
        wanted = {s.id for s in seq} if any(isinstance(i, ChecksItem) for i in selected) else chosen
        self._setup_steps = [s for s in needed_steps(seq, wanted) if s.id not in chosen]

    def take_setup_steps(self, before: Step | None) -> list[Step]:
        """The needed steps before `before` (all of them for None) that have not run yet."""
        if before is None:
            taken, self._setup_steps = self._setup_steps, []
            return taken
        order = {s.id: i for i, s in enumerate(self.sequence)}
        taken = [s for s in self._setup_steps if order[s.id] < order[before.id]]
        self._setup_steps = [s for s in self._setup_steps if s not in taken]
        return taken

    def setup(self) -> None:
        cfg = self.config
        opts = GuideOptions(
            keep_going=cfg.getoption("--dr-keep-going"),
            output_mode=cfg.getoption("--dr-output"),
            default_timeout=cfg.getoption("--dr-timeout"),
            accel=cfg.getoption("--dr-accel"),
            image=cfg.getoption("--dr-image"),
        )
        out = Path(cfg.getoption("--dr-out"))
        # lazy: the VM layer loads paramiko and libvirt; pytest loads this plugin in every session of the env
        from doctest_runner.vm import new_run_id

        self.guide = GuideRun(
            plan=self.plan, options=opts, artifacts_dir=out / slug(self.plan.path), run_id=new_run_id(),
            log=lambda s: None, backend=cfg.hook.pytest_doctest_runner_backend(config=cfg),
        )
        if any(s.status == "run" for s in self.sequence):
            try:
                self.guide.start()
            except DoctestError as exc:
                pytest.fail(f"could not start the VM: {exc}", pytrace=False)

    def teardown(self) -> None:
        if self.guide is not None:
            self.guide.close()


class GuideFile(_GuideNode, pytest.File):
    def collect(self):
        plans = _plans(self.config, [_arg(self.config, self.path)])
        if not plans:
            return
        self.plan = plans[0]
        yield from self._make_items()


class DocSetFile(pytest.File):
    """A doc set folder (its `doctest-set.yaml`): one guide collector per planned doc."""

    def collect(self):
        for plan in _plans(self.config, [_arg(self.config, self.path.parent)]):
            yield GuideNode.from_parent(self, name=plan.path, plan=plan)


class GuideNode(_GuideNode):
    def __init__(self, *, plan: Plan, **kw):
        super().__init__(**kw)
        self.plan = plan

    def collect(self):
        yield from self._make_items()


class StepFailure(Exception):
    def __init__(self, result: StepResult):
        super().__init__(result.category)
        self.result = result


def _location(r: StepResult) -> str:
    return f"{r.step.path}:{r.failed_line or r.step.line}"


def _describe(r: StepResult) -> str:
    """One setup step's verdict for properties and the summary: `path:12 passed`, `path:12 failed (...)`."""
    text = f"{r.step.path}:{r.step.line} {r.status}"
    if r.status in ("failed", "error"):
        text += f" ({r.category} at {_location(r)}: {r.evidence or r.explanation or ''})"
    elif r.status in ("skipped", "not-run") and r.explanation:
        text += f" ({r.explanation})"
    return text


def _run_setup_steps(item: pytest.Item, node: _GuideNode, before: Step | None) -> None:
    """Run the deselected steps this item needs, record them as setup, and fail the setup like a fixture when
    one failed and the guide stops there (with --dr-keep-going the item still runs, as in `run -k`)."""
    guide = node.guide
    steps = node.take_setup_steps(before)
    if guide is None or not steps:
        return
    results = [guide.run_step(s) for s in steps]
    for r in results:
        item.user_properties.append((SETUP_PROPERTY, _describe(r)))
    # pytest titles it "Captured <key> <when>": "Captured earlier steps run as setup"
    item.add_report_section("setup", "earlier steps run as", "\n".join(_describe(r) for r in results))
    bad = [r for r in results if r.status in ("failed", "error")]
    if bad and not guide.options.keep_going:
        r = bad[0]
        pytest.fail(
            f"{_location(r)}: {r.category}: {r.evidence or ''}\n"
            f"(an earlier step: deselected, but this one needs it, so it ran as setup and {r.status})\n"
            f"{r.explanation or ''}\n--- output (last lines) ---\n{r.output_tail}",
            pytrace=False,
        )


class StepItem(pytest.Item):
    def __init__(self, *, step: Step, **kw):
        super().__init__(**kw)
        self.step = step
        # what `-k` reads (pytest matches node names, markers and these): the same words as `run -k`
        self.extra_keyword_matches.update(step_keywords(self.guide_node.plan, step))

    @property
    def guide_node(self) -> _GuideNode:
        assert isinstance(self.parent, _GuideNode)
        return self.parent

    def setup(self) -> None:
        _run_setup_steps(self, self.guide_node, self.step)

    def runtest(self) -> None:
        guide = self.guide_node.guide
        assert guide is not None
        result = guide.run_step(self.step)
        if result.status in ("skipped", "not-run"):
            pytest.skip(result.explanation or result.status)
        if result.status in ("failed", "error"):
            raise StepFailure(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, StepFailure):
            r = excinfo.value.result
            return (
                f"{_location(r)}: {r.category}: {r.evidence or ''}\n"
                f"{r.explanation or ''}\n--- output (last lines) ---\n{r.output_tail}"
            )
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.step.path, self.step.line - 1, f"{self.step.path}:{self.step.line}"


class ChecksItem(pytest.Item):
    """Cleanup steps and the sidecar's testinfra checks, after the guide's last step."""

    @property
    def guide_node(self) -> _GuideNode:
        assert isinstance(self.parent, _GuideNode)
        return self.parent

    def setup(self) -> None:
        _run_setup_steps(self, self.guide_node, None)

    def runtest(self) -> None:
        guide = self.guide_node.guide
        assert guide is not None
        doc = guide.finish()
        bad = [c for c in doc.checks if not c.passed]
        if bad:
            raise AssertionError(
                "\n".join(f"{c.check.kind} {c.check.target}: {c.message}" for c in bad)
            )
        if guide.failed:
            pytest.skip("checks not run: a step failed")

    def reportinfo(self):
        plan = self.guide_node.plan
        return plan.path, None, f"{plan.path}::checks"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]):
    """After every deselection (-k, -m, --deselect, node ids): which deselected steps each guide still needs."""
    result = yield
    by_guide: dict[int, tuple[_GuideNode, list[pytest.Item]]] = {}
    for item in items:
        if isinstance(item, (StepItem, ChecksItem)):
            node = item.guide_node
            by_guide.setdefault(id(node), (node, []))[1].append(item)
    for node, selected in by_guide.values():
        node.select(selected)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A skipped step's report points at its doc line (`SKIPPED [1] guide.md:23: reason`), not at this plugin."""
    report = yield
    if isinstance(item, StepItem) and report.skipped and isinstance(report.longrepr, tuple):
        report.longrepr = (item.step.path, item.step.line, report.longrepr[2])
    return report


class _SetupSummary:
    """Collects the setup steps from the reports (xdist workers' too) for the terminal summary and the exit
    status: a failed setup step fails the session even when --dr-keep-going let its item run."""

    def __init__(self) -> None:
        self.setups: dict[str, list[str]] = {}
        self.failed = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "setup":
            return
        steps = [str(v) for k, v in report.user_properties if k == SETUP_PROPERTY]
        if steps:
            self.setups[report.nodeid] = steps
            self.failed = self.failed or any(_BROKEN.search(s) for s in steps)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.failed and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.setups:
            return
        terminalreporter.write_sep("=", "doctest-runner: earlier steps run as setup (deselected, but needed)")
        for nodeid, steps in self.setups.items():
            terminalreporter.write_line(f"{nodeid} needed {len(steps)} earlier step{'s' if len(steps) > 1 else ''}:")
            for s in steps:
                terminalreporter.write_line(f"  {s}")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_SetupSummary(), "doctest-runner-setup-summary")
