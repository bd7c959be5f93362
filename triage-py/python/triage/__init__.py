"""Crash triage for Windows minidumps: `dump` and `stacks` return the JSON report that the
`triage` command prints, as a dict; `Engine` keeps symbols parsed across dumps; `discover`
finds dumps as `triage scan` does; `triage.dask` spreads a share over a Dask cluster;
`triage.db` reads the crash database of `triage scan --db`."""

from . import db
from ._native import Engine, discover, dump, stacks

__all__ = ["Engine", "db", "discover", "dump", "stacks"]
