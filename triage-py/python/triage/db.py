"""Read-only access to a crash database written by `triage scan --db FILE` (schema:
docs/db-schema.md), with Python's own sqlite3.

    with triage.db.open("crashes.db") as db:
        for row in db.query("SELECT rule, count(*) AS dumps FROM findings GROUP BY rule"):
            print(row["rule"], row["dumps"])

The file is opened with SQLite's read-only mode and `PRAGMA query_only`, so a query can
never change it, and a database of a newer schema than this module knows is refused."""

import pathlib
import sqlite3
import urllib.parse

# The schema version this module reads (PRAGMA user_version), as triage::db::SCHEMA_VERSION.
SCHEMA_VERSION = 1


class DatabaseError(Exception):
    """The file is not a crash database this module can read."""


class Database:
    """An open crash database; `query` runs one SQL statement and returns its rows."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        if not self.path.is_file():
            raise DatabaseError(f"{self.path}: no such file")
        uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?mode=ro"
        self._conn = sqlite3.connect(uri, uri=True)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA query_only = ON")
        (version,) = self._conn.execute("PRAGMA user_version").fetchone()
        if version == 0:
            self.close()
            raise DatabaseError(f"{self.path} is not a triage crash database")
        if version > SCHEMA_VERSION:
            self.close()
            raise DatabaseError(
                f"{self.path} has schema version {version}; this module reads up to "
                f"{SCHEMA_VERSION}: use a newer triage"
            )

    def query(self, sql, parameters=()):
        """The rows `sql` selects, each as a dict of column name to value."""
        cursor = self._conn.execute(sql, parameters)
        return [dict(row) for row in cursor.fetchall()]

    def close(self):
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open(path):
    """Opens the crash database at `path` read-only."""
    return Database(path)
