"""Distributed triage with Dask: a dump share spread over a `dask.distributed` cluster.

Paths are found as `triage scan` finds them, cut into batches, and each batch is triaged
by one task. Every worker process keeps one engine per configuration, so symbol files are
parsed once per worker, not once per dump. A worker lost mid-run loses nothing: Dask runs
its batches again elsewhere, and results are collected per batch, so no dump is counted
twice. `to_jsonl` writes each batch's file under a temporary name and renames it, so a
batch that runs twice leaves one file.

    from triage.dask import scan
    reports = scan(["/mnt/dumps"], symbols=["/mnt/symbols"])          # a local cluster
    reports = scan(["/mnt/dumps"], symbols=[...], client=Client("tcp://scheduler:8786"))
"""

import json
import os
import time
from pathlib import Path

from . import Engine, discover

#: Test hook (documented in tests/README.md): seconds each batch waits before it starts,
#: so a test can kill a worker while batches are in flight. Unset in normal runs.
_DELAY_HOOK = "TRIAGE_DASK_TEST_DELAY"

_engines = {}


def _engine(config):
    """The engine of this worker process for `config`, built on first use."""
    engine = _engines.get(config)
    if engine is None:
        symbols, rules, signature_lists = config
        engine = Engine(symbols=list(symbols), rules=list(rules), signature_lists=list(signature_lists))
        _engines[config] = engine
    return engine


def _triage_batch(paths, config):
    delay = float(os.environ.get(_DELAY_HOOK, "0") or 0)
    if delay:
        time.sleep(delay)
    engine = _engine(config)
    return [engine.dump(path) for path in paths]


def _write_batch(paths, config, out_dir, index):
    reports = _triage_batch(paths, config)
    final = Path(out_dir) / f"part-{index:05d}.jsonl"
    partial = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    with open(partial, "w", encoding="utf-8") as out:
        for report in reports:
            out.write(json.dumps(report, separators=(",", ":")) + "\n")
    os.replace(partial, final)
    return str(final)


def _config(symbols, rules, signature_lists):
    as_strings = lambda entries: tuple(str(entry) for entry in entries)
    return (as_strings(symbols), as_strings(rules), as_strings(signature_lists))


def _batches(paths, batch_size):
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    found = discover([str(p) for p in paths])
    return [found[i : i + batch_size] for i in range(0, len(found), batch_size)]


def _run(client, function, calls):
    """Runs `function(*arguments)` for each of `calls` on `client` (a local cluster when
    None) and returns the results in order. Tasks are not pure: a task lost with its worker
    is run again (`retries`), and each result is gathered once."""
    from dask.distributed import Client, LocalCluster

    own = client is None
    if own:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = [client.submit(function, *arguments, pure=False, retries=3) for arguments in calls]
        return client.gather(futures)
    finally:
        if own:
            client.close()
            cluster.close()


def scan(paths, symbols=(), rules=(), signature_lists=(), client=None, batch_size=64):
    """Triages every dump under `paths` (files or directories) on a Dask cluster and returns
    the reports as dicts, exactly as `triage dump --format json` prints them, in path order.
    `client=None` starts a local cluster for the call."""
    batches = _batches(paths, batch_size)
    config = _config(symbols, rules, signature_lists)
    results = _run(client, _triage_batch, [(batch, config) for batch in batches])
    return [report for batch in results for report in batch]


def to_jsonl(paths, out_dir, symbols=(), rules=(), signature_lists=(), client=None, batch_size=64):
    """Like `scan`, but each batch writes `out_dir/part-NNNNN.jsonl` (one report a line, as
    `triage scan --format jsonl` writes them) on its worker; returns the files written."""
    os.makedirs(out_dir, exist_ok=True)
    batches = _batches(paths, batch_size)
    config = _config(symbols, rules, signature_lists)
    calls = [(batch, config, str(out_dir), index) for index, batch in enumerate(batches)]
    return _run(client, _write_batch, calls)
