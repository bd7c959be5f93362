"""`triage.db` on a crash database that the CLI writes from the bundled example."""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

import triage

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DUMP = REPO / "corpus/examples/q269588.dmp"
EXAMPLE_SYMBOLS = REPO / "corpus/examples/symbols"


@pytest.fixture
def crash_db(tmp_path):
    """A database of one scan of a share holding the example dump twice over."""
    cli = Path(os.environ.get("TRIAGE_CLI", REPO / "target/debug/triage"))
    if not cli.exists():
        pytest.skip(f"no triage binary at {cli}; set TRIAGE_CLI")
    share = tmp_path / "share"
    share.mkdir()
    shutil.copy(EXAMPLE_DUMP, share / "a.dmp")
    (share / "b.dmp").write_bytes(b"MDMP cut short")
    path = tmp_path / "crashes.db"
    subprocess.run(
        [cli, "scan", share, "--symbols", EXAMPLE_SYMBOLS, "--db", path],
        check=True,
        capture_output=True,
        env={**os.environ, "_NT_SYMBOL_PATH": ""},
    )
    return path


def test_query_returns_rows_as_dicts(crash_db):
    with triage.db.open(crash_db) as db:
        rows = db.query("SELECT path, status FROM dumps ORDER BY path")
        assert [Path(r["path"]).name for r in rows] == ["a.dmp", "b.dmp"]
        assert [r["status"] for r in rows] == ["ok", "error"]
        [finding] = db.query(
            "SELECT rule, confidence, fix_status, fixed_version FROM findings"
        )
        assert finding == {
            "rule": "Q269588",
            "confidence": "confirmed",
            "fix_status": "not_installed",
            "fixed_version": "5.5.2652.85",
        }
        [mapi] = db.query("SELECT version FROM modules WHERE key = ?", ("mapi32",))
        assert mapi["version"] == "5.5.2652.57"


def test_the_database_is_read_only(crash_db):
    with triage.db.open(crash_db) as db:
        with pytest.raises(sqlite3.OperationalError):
            db.query("DELETE FROM dumps")
        with pytest.raises(sqlite3.OperationalError):
            db.query("DROP TABLE findings")
        assert db.query("SELECT count(*) AS n FROM dumps") == [{"n": 2}]


def test_files_that_are_no_database_are_refused(tmp_path):
    with pytest.raises(triage.db.DatabaseError, match="no such file"):
        triage.db.open(tmp_path / "missing.db")
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(triage.db.DatabaseError, match="not a triage crash database"):
        triage.db.open(empty)
    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(triage.db.DatabaseError, match="newer triage"):
        triage.db.open(newer)
