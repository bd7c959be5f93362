"""Crash triage for Windows minidumps: `dump` and `stacks` return the JSON report that the
`triage` command prints, as a dict; `Engine` keeps symbols parsed across dumps; `discover`
finds dumps as `triage scan` does; `triage.dask` spreads a share over a Dask cluster."""

from ._native import Engine, discover, dump, stacks

__all__ = ["Engine", "discover", "dump", "stacks"]
