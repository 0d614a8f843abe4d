"""The sample run that the report, history and shard tests share (tests/data/report/sample_run.py)."""

import importlib.util
from pathlib import Path
from types import ModuleType

SAMPLE_RUN = Path(__file__).parent / "data" / "report" / "sample_run.py"


def sample() -> ModuleType:
    """A fresh import of the sample module, so a test that mutates its run cannot leak into another."""
    spec = importlib.util.spec_from_file_location("report_sample_run", SAMPLE_RUN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
