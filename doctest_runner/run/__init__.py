"""Orchestration: plans -> one fresh VM per guide -> verdicts -> reports.

Public submodules (listed in `__all__`, not imported here, so importing one of them loads only what it needs:
the pytest plugin must not pay for the whole runner): `guide` (one guide in one machine, the class both front
ends use), `runner` (many guides at once, exit status), `select` (-k/-m and --from/--only selection), `shard`
(splitting a run into CI jobs and merging their reports), `fixes` (the run side of --suggest-fixes, and fixes.md
and the patches of a run or of merged shards). `checkpoint`, `prefix` and `resume` serve the runner
and stay internal.
"""

__all__ = ["fixes", "guide", "runner", "select", "shard"]
