"""`triage.dask` on a local cluster: the same reports as the CLI, a worker killed mid-run
losing and doubling nothing, and JSON Lines partitions that `triage scan` could have
written."""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("dask.distributed")

import triage
import triage.dask

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DUMP = REPO / "corpus/examples/q269588.dmp"
EXAMPLE_SYMBOLS = REPO / "corpus/examples/symbols"


@pytest.fixture
def share(tmp_path):
    root = tmp_path / "share"
    (root / "deep").mkdir(parents=True)
    for name in ["a.dmp", "b.dmp", "deep/c.dmp", "deep/d.dmp", "e.dmp"]:
        shutil.copy(EXAMPLE_DUMP, root / name)
    (root / "BROKEN.DMP").write_bytes(b"X" * 64)
    (root / "notes.txt").write_text("not a dump")
    return root


def test_discover_finds_what_triage_scan_finds(share):
    found = [Path(p).relative_to(share).as_posix() for p in triage.discover([str(share)])]
    assert found == ["BROKEN.DMP", "a.dmp", "b.dmp", "deep/c.dmp", "deep/d.dmp", "e.dmp"]


def test_scan_on_a_local_cluster_equals_triage_dump(share):
    reports = triage.dask.scan([share], symbols=[EXAMPLE_SYMBOLS], batch_size=2)

    assert [Path(r["path"]).name for r in reports] == ["BROKEN.DMP", "a.dmp", "b.dmp", "c.dmp", "d.dmp", "e.dmp"]
    assert reports[0]["error"]["kind"] == "not_a_minidump"
    expected = triage.dump(str(share / "a.dmp"), symbols=[EXAMPLE_SYMBOLS])
    assert reports[1] == expected
    assert all(r["findings"][0]["rule"] == "Q269588" for r in reports[1:])


def test_a_worker_lost_mid_run_loses_and_doubles_nothing(share, monkeypatch):
    monkeypatch.setenv("TRIAGE_DASK_TEST_DELAY", "1.5")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        pids = list(client.run(os.getpid).values())

        def kill_one_worker():
            time.sleep(0.8)
            os.kill(pids[0], signal.SIGKILL)

        killer = threading.Thread(target=kill_one_worker)
        killer.start()
        reports = triage.dask.scan([share], symbols=[EXAMPLE_SYMBOLS], client=client, batch_size=1)
        killer.join()
    finally:
        client.close()
        cluster.close()

    names = [Path(r["path"]).name for r in reports]
    assert names == ["BROKEN.DMP", "a.dmp", "b.dmp", "c.dmp", "d.dmp", "e.dmp"]


def test_to_jsonl_partitions_hold_every_report_once(share, tmp_path):
    out = tmp_path / "parts"
    files = triage.dask.to_jsonl([share], out, symbols=[EXAMPLE_SYMBOLS], batch_size=4)

    assert [Path(f).name for f in files] == ["part-00000.jsonl", "part-00001.jsonl"]
    lines = [line for f in files for line in Path(f).read_text().splitlines()]
    assert len(lines) == 6
    assert sorted(Path(json.loads(l)["path"]).name for l in lines) == sorted(
        ["BROKEN.DMP", "a.dmp", "b.dmp", "c.dmp", "d.dmp", "e.dmp"]
    )
    assert not list(out.glob(".*tmp"))
