"""doctest-runner: run the shell steps of install guides in fresh VMs and report which step breaks.

`__version__` is the project's one version: the package metadata (pyproject's dynamic version), the
`--version` flag and every report read it from here.
"""

__version__ = "0.1.0"
