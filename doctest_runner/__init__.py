"""doctest-runner: run the shell steps of install guides in fresh VMs and report which step breaks."""

__version__ = "0.1.0"
