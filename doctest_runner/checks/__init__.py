"""After the steps: expected output of prompted commands, and testinfra checks of the finished machine.

`compare_output` (output.py) says where a step's printed output stops matching its doc; `run_checks`
(testinfra.py) runs a sidecar's checks over SSH, importing testinfra and paramiko only when called.
"""

from doctest_runner.checks.output import OutputMismatch, compare_output
from doctest_runner.checks.testinfra import run_checks

__all__ = ["OutputMismatch", "compare_output", "run_checks"]
