"""pytest plugin: `pytest docs_under_test/...` runs guides as tests.

A guide is a collector (its VM boots when its first step runs and goes after its last),
each step an item named `path:line`. So JUnit XML, `-k`, `-x` and xdist
(`-n N --dist loadfile`: a guide stays on one worker) come from pytest itself, and the
verdicts come from the same `GuideRun` that `doctest-runner run` uses.

Guides are collected under the ini `doctest_runner_paths` folders (default
`docs_under_test`) or when a `.md` file is named on the command line, so the harness's
own test fixtures are never taken for guides.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from doctest_runner.model import DoctestError, Plan, Step, StepResult
from doctest_runner.run.guide import GuideOptions, GuideRun, slug

SET_MANIFEST = "doctest-set.yaml"


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
    from doctest_runner.plan import plan_paths

    planset = plan_paths(args, source=config.getoption("--dr-source"), image=config.getoption("--dr-image"))
    if planset.errors:
        raise pytest.UsageError("; ".join(str(e) for e in planset.errors))
    return planset.plans


class _GuideNode:
    """Shared by a guide file and a guide inside a doc set: the VM lives from setup to teardown."""

    plan: Plan
    guide: GuideRun | None = None

    def _make_items(self):
        for step in [*self.plan.setup, *self.plan.steps]:
            yield StepItem.from_parent(self, name=f"{step.path}:{step.line}" + _suffix(step), step=step)
        if self.plan.checks or self.plan.check_modules or self.plan.cleanup:
            yield ChecksItem.from_parent(self, name="checks")

    def setup(self) -> None:
        cfg = self.config
        opts = GuideOptions(
            keep_going=cfg.getoption("--dr-keep-going"),
            output_mode=cfg.getoption("--dr-output"),
            default_timeout=cfg.getoption("--dr-timeout"),
            accel=cfg.getoption("--dr-accel"),
            image=cfg.getoption("--dr-image"),
        )
        from doctest_runner.run.runner import new_run_id

        out = Path(cfg.getoption("--dr-out"))
        self.guide = GuideRun(
            plan=self.plan, options=opts, artifacts_dir=out / slug(self.plan.path), run_id=new_run_id(),
            log=lambda s: None,
        )
        if any(s.status == "run" for s in [*self.plan.setup, *self.plan.steps]):
            try:
                self.guide.start()
            except DoctestError as exc:
                pytest.fail(f"could not start the VM: {exc}", pytrace=False)

    def teardown(self) -> None:
        if self.guide is not None:
            self.guide.close()


def _suffix(step: Step) -> str:
    return "#" + step.id.rsplit("#", 1)[1] if "#" in step.id else ""


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


class GuideNode(_GuideNode, pytest.Collector):
    def __init__(self, *, plan: Plan, **kw):
        super().__init__(**kw)
        self.plan = plan

    def collect(self):
        yield from self._make_items()


class StepFailure(Exception):
    def __init__(self, result: StepResult):
        super().__init__(result.category)
        self.result = result


class StepItem(pytest.Item):
    def __init__(self, *, step: Step, **kw):
        super().__init__(**kw)
        self.step = step
        self.add_marker(pytest.mark.doc_step)
        for word in [*step.heading, step.options.name or ""]:
            if word:
                self.keywords[word] = True

    def runtest(self) -> None:
        guide: GuideRun = self.parent.guide
        result = guide.run_step(self.step)
        if result.status in ("skipped", "not-run"):
            pytest.skip(result.explanation or result.status)
        if result.status in ("failed", "error"):
            raise StepFailure(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, StepFailure):
            r = excinfo.value.result
            line = r.failed_line or self.step.line
            return (
                f"{self.step.path}:{line}: {r.category}: {r.evidence or ''}\n"
                f"{r.explanation or ''}\n--- output (last lines) ---\n{r.output_tail}"
            )
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.step.path, self.step.line - 1, f"{self.step.path}:{self.step.line}"


class ChecksItem(pytest.Item):
    """Cleanup steps and the sidecar's testinfra checks, after the guide's last step."""

    def runtest(self) -> None:
        guide: GuideRun = self.parent.guide
        doc = guide.finish()
        bad = [c for c in doc.checks if not c.passed]
        if bad:
            raise AssertionError(
                "\n".join(f"{c.check.kind} {c.check.target}: {c.message}" for c in bad)
            )
        if guide.failed:
            pytest.skip("checks not run: a step failed")

    def reportinfo(self):
        return self.parent.plan.path, None, f"{self.parent.plan.path}::checks"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "doc_step: a step of a documentation guide run by doctest-runner")
