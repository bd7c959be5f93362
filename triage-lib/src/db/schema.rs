//! Schema version 1 (documented in `docs/db-schema.md`), created on first open. A database
//! of an older version is migrated in place, one version at a time, by the steps in
//! [`MIGRATIONS`]; one of a newer version is refused.

use super::{Database, DbError};

/// The schema version this triage writes, kept in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;

/// Version 1, from nothing.
const V1: &str = "
CREATE TABLE rule_sets (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    rules TEXT NOT NULL,
    first_used INTEGER NOT NULL
);
CREATE TABLE dumps (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    size INTEGER,
    mtime INTEGER,
    hash TEXT,
    engine TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    first_day INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    status TEXT NOT NULL,
    error_kind TEXT,
    crash_code TEXT,
    class TEXT,
    signature TEXT,
    bucket TEXT,
    known INTEGER NOT NULL,
    unknown_key TEXT,
    top_module TEXT,
    top_version TEXT,
    rule_set INTEGER REFERENCES rule_sets(id)
);
CREATE INDEX dumps_hash ON dumps(hash);
CREATE INDEX dumps_first_day ON dumps(first_day);
CREATE INDEX dumps_unknown ON dumps(unknown_key, first_day, top_module, top_version)
    WHERE unknown_key IS NOT NULL;
CREATE TABLE reports (
    dump INTEGER PRIMARY KEY REFERENCES dumps(id) ON DELETE CASCADE,
    json TEXT NOT NULL
);
CREATE TABLE modules (
    dump INTEGER NOT NULL REFERENCES dumps(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    version TEXT,
    debug_id TEXT,
    first_day INTEGER NOT NULL
);
CREATE INDEX modules_dump ON modules(dump);
CREATE INDEX modules_key ON modules(key, version, first_day);
CREATE TABLE findings (
    dump INTEGER NOT NULL REFERENCES dumps(id) ON DELETE CASCADE,
    rule TEXT NOT NULL,
    confidence TEXT NOT NULL,
    fix_status TEXT NOT NULL,
    thread INTEGER NOT NULL,
    fixed_module TEXT,
    fixed_version TEXT,
    installed_version TEXT,
    first_day INTEGER NOT NULL
);
CREATE INDEX findings_dump ON findings(dump);
CREATE INDEX findings_rule
    ON findings(rule, first_day, installed_version, fixed_module, fixed_version);
CREATE TABLE frames (
    dump INTEGER NOT NULL REFERENCES dumps(id) ON DELETE CASCADE,
    thread INTEGER NOT NULL,
    crashed INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    module TEXT,
    function TEXT,
    offset TEXT
);
CREATE INDEX frames_dump ON frames(dump);
";

/// `MIGRATIONS[n]` takes a database from version `n` to `n + 1`; version 0 is an empty
/// file. A new schema version appends its step here and bumps [`SCHEMA_VERSION`].
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [V1];

/// Creates or migrates the schema of a database opened for writing.
pub(super) fn create_or_check(db: &Database) -> Result<(), DbError> {
    let found = version(db)?;
    refuse_newer(db, found)?;
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let sql = format!(
            "BEGIN IMMEDIATE; {sql} PRAGMA user_version = {}; COMMIT;",
            step + 1
        );
        db.conn.execute_batch(&sql).map_err(|e| db.error(e))?;
    }
    Ok(())
}

/// Checks the schema of a database opened for reading.
pub(super) fn check(db: &Database) -> Result<(), DbError> {
    match version(db)? {
        0 => Err(DbError::NotADatabase {
            path: db.path.clone(),
        }),
        found => refuse_newer(db, found),
    }
}

fn version(db: &Database) -> Result<i64, DbError> {
    db.conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| db.error(e))
}

fn refuse_newer(db: &Database, found: i64) -> Result<(), DbError> {
    if found > SCHEMA_VERSION {
        return Err(DbError::TooNew {
            path: db.path.clone(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_gets_version_1_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crashes.db");
        let db = Database::open(&path).unwrap();
        assert_eq!(version(&db).unwrap(), 1);
        let tables: i64 = db
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
                 AND name IN ('dumps', 'reports', 'modules', 'findings', 'frames', 'rule_sets')",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(tables, 6);
        db.conn.execute_batch("PRAGMA user_version = 7").unwrap();
        drop(db);
        let error = Database::open(&path).unwrap_err();
        assert!(matches!(error, DbError::TooNew { found: 7, .. }), "{error}");
        let error = Database::open_read_only(&path).unwrap_err();
        assert!(error.to_string().contains("newer triage"), "{error}");
    }

    #[test]
    fn reading_a_file_that_is_no_database_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.db");
        drop(rusqlite::Connection::open(&path).unwrap());
        let error = Database::open_read_only(&path).unwrap_err();
        assert!(matches!(error, DbError::NotADatabase { .. }), "{error}");
    }
}
