//! The crash database: every report of a scan in one SQLite file (`triage scan --db`),
//! so that a support team's daily cycle builds on what it already knows.
//!
//! * [`ScanStore`] writes a scan's reports and tells the scan ([`crate::scan::Known`])
//!   which dumps are unchanged (same path, size and modification time) or moved (same
//!   content hash at a new path), so those are not triaged again.
//! * [`rejudge`] runs the rules and the classifier again over the stored reports, without
//!   opening a dump.
//! * [`crash_report`] counts known issues and buckets by day and by the version of the
//!   module that matters, with the evidence that a fix worked; [`draft_rule`] turns a
//!   bucket into a rule to review.
//! * [`import_jsonl`] merges the JSON Lines of scans run elsewhere; [`Database::query`]
//!   runs read-only SQL.
//!
//! The schema is `docs/db-schema.md`; its version is kept in `PRAGMA user_version`
//! ([`SCHEMA_VERSION`]). The file is in WAL mode and every write happens in a transaction,
//! so a killed process loses at most its last uncommitted batch and never corrupts the file.

mod draft;
mod import;
mod query;
mod rejudge;
mod report;
mod schema;
mod stamp;
mod store;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

pub use draft::{draft_rule, Draft};
pub use import::{import_jsonl, ImportTotals};
pub use query::{QueryResult, Value};
pub use rejudge::{rejudge, Change, Rejudged, Verdict};
pub use report::{crash_report, Count, CrashReport, Evidence, ReportOptions, Trend};
pub use schema::SCHEMA_VERSION;
pub use stamp::content_hash;
pub use store::ScanStore;

/// What went wrong with a crash database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite refused: a damaged file, a full disk, bad SQL.
    #[error("crash database {path}: {message}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        message: String,
    },
    /// The file was written by a newer triage whose schema this one does not know.
    #[error("crash database {path} has schema version {found}; this triage knows up to version {known}: use a newer triage")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
        /// [`SCHEMA_VERSION`].
        known: i64,
    },
    /// Opened for reading, yet the file holds no crash database.
    #[error("{path} is not a triage crash database (no schema version); create one with `triage scan --db`")]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// `db query` was given a statement that writes.
    #[error("db query is read-only: {0}")]
    NotReadOnly(String),
    /// A `--since` date that is not `YYYY-MM-DD`.
    #[error("{0:?} is not a date (YYYY-MM-DD)")]
    BadDate(String),
    /// A file to import could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// `rules draft` was asked for a bucket the database does not hold.
    #[error("no unexplained crashes with signature or bucket {0:?} in the database")]
    NoSuchBucket(String),
}

/// An open crash database.
#[derive(Debug)]
pub struct Database {
    conn: Connection,
    path: PathBuf,
}

impl Database {
    /// Opens the database at `path` for writing, creating it (and its schema) if needed.
    /// Fails with [`DbError::TooNew`] for a file of a newer schema.
    pub fn open(path: &Path) -> Result<Database, DbError> {
        let conn = Connection::open(path).map_err(|e| sqlite(path, e))?;
        let db = Database {
            conn,
            path: path.to_path_buf(),
        };
        db.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
            )
            .map_err(|e| db.error(e))?;
        schema::create_or_check(&db)?;
        Ok(db)
    }

    /// Opens an existing database for reading only: SQLite's read-only mode plus
    /// `PRAGMA query_only`, so no statement can change it.
    pub fn open_read_only(path: &Path) -> Result<Database, DbError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| sqlite(path, e))?;
        let db = Database {
            conn,
            path: path.to_path_buf(),
        };
        db.conn
            .execute_batch("PRAGMA query_only = ON; PRAGMA busy_timeout = 10000;")
            .map_err(|e| db.error(e))?;
        schema::check(&db)?;
        Ok(db)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, error: rusqlite::Error) -> DbError {
        sqlite(&self.path, error)
    }
}

fn sqlite(path: &Path, error: rusqlite::Error) -> DbError {
    DbError::Sqlite {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}

/// Which triage wrote a row: dumps stored by another engine version are triaged again.
pub fn engine_version() -> String {
    format!(
        "triage {} (report schema {})",
        env!("CARGO_PKG_VERSION"),
        crate::model::SCHEMA_VERSION
    )
}

/// Seconds since the Unix epoch, now.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
