//! Writing reports: one row per dump with its modules, findings and frames, in batched
//! transactions; and [`ScanStore`], what `triage scan --db` writes through.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};

use super::stamp::{content_hash, Stamp};
use super::{engine_version, now, Database, DbError};
use crate::model::{ErrorKind, Report, Status};
use crate::module_name;
use crate::rules::{installed_version, RuleSet};
use crate::scan::{unknown_bucket, Known};

/// Rows written per transaction, at most.
const BATCH_ROWS: usize = 256;
/// Longest a batch stays open before it is committed.
const BATCH_TIME: Duration = Duration::from_secs(1);

/// One dump's row as the writer gets it.
pub(super) struct Row<'a> {
    pub report: &'a Report,
    pub stamp: Option<Stamp>,
    pub hash: Option<String>,
    pub engine: &'a str,
    pub seen: i64,
    pub rule_set: Option<i64>,
}

/// Inserts the dump at `row.report.path`, or replaces what is stored at that path (keeping
/// its `first_seen`). Returns its id.
pub(super) fn upsert(conn: &Connection, row: &Row) -> rusqlite::Result<i64> {
    let report = row.report;
    let existing: Option<i64> = conn
        .prepare_cached("SELECT id FROM dumps WHERE path = ?1")?
        .query_row([&report.path], |r| r.get(0))
        .optional()?;
    let (size, mtime) = (row.stamp.map(|s| s.size), row.stamp.map(|s| s.mtime));
    let id = match existing {
        Some(id) => {
            conn.prepare_cached(
                "UPDATE dumps SET size = ?2, mtime = ?3, hash = ?4, engine = ?5, last_seen = ?6 \
                 WHERE id = ?1",
            )?
            .execute(params![id, size, mtime, row.hash, row.engine, row.seen])?;
            for table in ["modules", "findings", "frames"] {
                conn.prepare_cached(&format!("DELETE FROM {table} WHERE dump = ?1"))?
                    .execute([id])?;
            }
            id
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO dumps (path, size, mtime, hash, engine, first_seen, first_day, \
                 last_seen, status, known) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6 / 86400, ?6, '', 0)",
            )?
            .execute(params![
                report.path,
                size,
                mtime,
                row.hash,
                row.engine,
                row.seen
            ])?;
            conn.last_insert_rowid()
        }
    };
    let mut insert = conn.prepare_cached(
        "INSERT INTO modules (dump, name, key, version, debug_id, first_day) \
         VALUES (?1, ?2, ?3, ?4, ?5, (SELECT first_day FROM dumps WHERE id = ?1))",
    )?;
    for module in &report.modules {
        insert.execute(params![
            id,
            module.name,
            module_key(&module.name),
            module.version,
            module.debug_id
        ])?;
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO frames (dump, thread, crashed, idx, module, function, offset) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for thread in &report.threads {
        for frame in &thread.frames {
            insert.execute(params![
                id,
                thread.thread_id,
                thread.crashed,
                frame.index as i64,
                frame.module,
                frame.function,
                frame.offset.map(|o| o.to_string())
            ])?;
        }
    }
    write_verdict(conn, id, report, row.rule_set)?;
    Ok(id)
}

/// Writes what judging decided (findings, status, class, signature, bucket) and the report
/// itself over what is stored for dump `id`: shared by scans and `rejudge`.
pub(super) fn write_verdict(
    conn: &Connection,
    id: i64,
    report: &Report,
    rule_set: Option<i64>,
) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM findings WHERE dump = ?1")?
        .execute([id])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO findings (dump, rule, confidence, fix_status, thread, fixed_module, \
         fixed_version, installed_version, first_day) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
         (SELECT first_day FROM dumps WHERE id = ?1))",
    )?;
    for finding in &report.findings {
        let fixed = finding.fixed_in.as_ref();
        insert.execute(params![
            id,
            finding.rule,
            finding.confidence.as_str(),
            finding.fix_installed.as_str(),
            finding.thread_id,
            fixed.map(|f| module_key(&f.module)),
            fixed.map(|f| f.version.clone()),
            fixed.and_then(|f| installed_version(report, &f.module))
        ])?;
    }
    let top_module = report.blame.as_ref().and_then(|b| b.module.as_deref());
    conn.prepare_cached(
        "UPDATE dumps SET status = ?2, error_kind = ?3, crash_code = ?4, class = ?5, \
         signature = ?6, bucket = ?7, known = ?8, top_module = ?9, top_version = ?10, \
         rule_set = ?11, unknown_key = ?12 WHERE id = ?1",
    )?
    .execute(params![
        id,
        report.status.as_str(),
        report.error.as_ref().map(|e| e.kind.as_str()),
        report.crash.as_ref().map(|c| c.code.to_string()),
        report.class.map(|c| c.as_str()),
        report.signature,
        report.bucket,
        report.findings.len() as i64,
        top_module.map(module_key),
        top_module.and_then(|module| installed_version(report, module)),
        rule_set,
        unknown_bucket(report)
    ])?;
    let json = serde_json::to_string(report).expect("the report model always serializes");
    conn.prepare_cached("INSERT OR REPLACE INTO reports (dump, json) VALUES (?1, ?2)")?
        .execute(params![id, json])?;
    Ok(())
}

/// How the database names a module, so that `MAPI32.dll`, `mapi32` and `Mapi32.DLL` are one
/// ([`module_name::same_module`]): the stem, lower case.
pub(super) fn module_key(name: &str) -> String {
    module_name::stem(name).to_ascii_lowercase()
}

/// The id of the rule set `rules` in `rule_sets`, added if new.
pub(super) fn rule_set_id(conn: &Connection, rules: &RuleSet, seen: i64) -> rusqlite::Result<i64> {
    let texts: String = rules
        .rules()
        .iter()
        .map(|compiled| crate::rules::to_toml(&compiled.rule))
        .collect();
    let fingerprint = format!("{:032x}", xxhash_rust::xxh3::xxh3_128(texts.as_bytes()));
    let ids: Vec<&str> = rules.rules().iter().map(|r| r.rule.id.as_str()).collect();
    conn.execute(
        "INSERT INTO rule_sets (fingerprint, rules, first_used) VALUES (?1, ?2, ?3) \
         ON CONFLICT (fingerprint) DO NOTHING",
        params![fingerprint, ids.join(" "), seen],
    )?;
    conn.query_row(
        "SELECT id FROM rule_sets WHERE fingerprint = ?1",
        [fingerprint],
        |r| r.get(0),
    )
}

/// Batched transactions: [`Batch::wrote`] after each row commits every [`BATCH_ROWS`]
/// rows or [`BATCH_TIME`], whichever comes first.
#[derive(Debug, Default)]
pub(super) struct Batch {
    open: Option<(Instant, usize)>,
}

impl Batch {
    /// Begins a transaction unless one is open.
    pub fn begin(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        if self.open.is_none() {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            self.open = Some((Instant::now(), 0));
        }
        Ok(())
    }

    /// Counts a row and commits when the batch is full or old.
    pub fn wrote(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        if let Some((started, rows)) = &mut self.open {
            *rows += 1;
            if *rows >= BATCH_ROWS || started.elapsed() >= BATCH_TIME {
                self.commit(conn)?;
            }
        }
        Ok(())
    }

    /// Commits the open transaction, if any.
    pub fn commit(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        if self.open.take().is_some() {
            conn.execute_batch("COMMIT")?;
        }
        Ok(())
    }
}

/// Writes a scan's reports into a [`Database`] and tells the scan, through
/// [`ScanStore::known`], which dumps it need not triage: those stored by this engine
/// version at the same path with the same size and modification time (not even opened),
/// and those whose content hash is stored (moved, renamed or copied; read to be hashed,
/// not triaged).
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use triage::db::{Database, ScanStore};
/// use triage::{scan, ScanOptions, Triage};
///
/// let triage = Triage::builder().build();
/// let mut store = ScanStore::begin(Database::open("crashes.db".as_ref())?, &triage)?;
/// let options = ScanOptions { known: store.known(), ..ScanOptions::default() };
/// let mut failed = None;
/// let summary = scan(Arc::new(triage), &["share".into()], &options, |_| {}, |report| {
///     if let Err(error) = store.store(report) {
///         failed.get_or_insert(error);
///     }
/// });
/// if let Some(error) = failed {
///     return Err(error.into());
/// }
/// store.finish()?;
/// println!("{} triaged, {} unchanged", summary.dumps, summary.resumed + summary.moved);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ScanStore {
    db: Database,
    stored: Arc<StoredDumps>,
    engine: String,
    seen: i64,
    rule_set: i64,
    batch: Batch,
}

impl ScanStore {
    /// Reads what `db` holds from this engine version and records `triage`'s rules.
    pub fn begin(db: Database, triage: &crate::Triage) -> Result<ScanStore, DbError> {
        let engine = engine_version();
        let seen = now();
        let rule_set = rule_set_id(&db.conn, triage.rules(), seen).map_err(|e| db.error(e))?;
        let stored = StoredDumps::load(&db.conn, &engine).map_err(|e| db.error(e))?;
        Ok(ScanStore {
            db,
            stored: Arc::new(stored),
            engine,
            seen,
            rule_set,
            batch: Batch::default(),
        })
    }

    /// What to put in [`crate::ScanOptions::known`].
    pub fn known(&self) -> Arc<dyn Known> {
        self.stored.clone()
    }

    /// Stores one report of the scan (committed with its batch).
    pub fn store(&mut self, report: &Report) -> Result<(), DbError> {
        self.write(report).map_err(|e| self.db.error(e))
    }

    /// Commits the last batch, with the dumps seen unchanged or moved since the last one.
    pub fn finish(mut self) -> Result<(), DbError> {
        let conn = &self.db.conn;
        self.batch
            .begin(conn)
            .and_then(|()| self.stored.write_sightings(conn, self.seen))
            .and_then(|()| self.batch.commit(conn))
            .map_err(|e| self.db.error(e))
    }

    fn write(&mut self, report: &Report) -> rusqlite::Result<()> {
        let conn = &self.db.conn;
        self.batch.begin(conn)?;
        self.stored.write_sightings(conn, self.seen)?;
        let hashed = self.stored.take_hashed(&report.path);
        let (stamp, hash) = match (retry_later(report), hashed) {
            (true, _) => (None, None),
            (false, Some((stamp, hash))) => (Some(stamp), Some(hash)),
            (false, None) => (Stamp::of(Path::new(&report.path)), None),
        };
        let row = Row {
            report,
            stamp,
            hash,
            engine: &self.engine,
            seen: self.seen,
            rule_set: Some(self.rule_set),
        };
        upsert(conn, &row)?;
        self.batch.wrote(conn)
    }
}

/// Error rows a later scan should try again (a timeout, a dead worker, a file that could not
/// be read): stored without a stamp, so they never count as unchanged.
fn retry_later(report: &Report) -> bool {
    report.status == Status::Error
        && report.error.as_ref().is_some_and(|e| {
            matches!(
                e.kind,
                ErrorKind::Timeout
                    | ErrorKind::WorkerCrashed
                    | ErrorKind::OutOfMemory
                    | ErrorKind::Io
            )
        })
}

/// A dump recognized by its content at `path`.
#[derive(Debug)]
struct Moved {
    id: i64,
    path: String,
    stamp: Stamp,
}

/// The dumps a database holds from this engine version, as a scan's [`Known`]; it collects
/// what the scan saw for [`ScanStore`] to write.
#[derive(Debug, Default)]
struct StoredDumps {
    by_path: HashMap<String, (i64, Stamp)>,
    by_hash: HashMap<String, (i64, String)>,
    /// Ids of dumps seen unchanged, whose `last_seen` is still to be written.
    unchanged: Mutex<Vec<i64>>,
    moved: Mutex<Vec<Moved>>,
    /// Stamp and hash of each dump handed to triage, by path, for its row.
    hashed: Mutex<HashMap<String, (Stamp, String)>>,
}

impl StoredDumps {
    fn load(conn: &Connection, engine: &str) -> rusqlite::Result<StoredDumps> {
        let mut stored = StoredDumps::default();
        let mut select =
            conn.prepare("SELECT id, path, size, mtime, hash FROM dumps WHERE engine = ?1")?;
        let mut rows = select.query([engine])?;
        while let Some(row) = rows.next()? {
            let (id, path): (i64, String) = (row.get(0)?, row.get(1)?);
            let (size, mtime): (Option<i64>, Option<i64>) = (row.get(2)?, row.get(3)?);
            if let Some(hash) = row.get::<_, Option<String>>(4)? {
                stored.by_hash.insert(hash, (id, path.clone()));
            }
            if let (Some(size), Some(mtime)) = (size, mtime) {
                stored.by_path.insert(path, (id, Stamp { size, mtime }));
            }
        }
        Ok(stored)
    }

    fn take_hashed(&self, path: &str) -> Option<(Stamp, String)> {
        lock(&self.hashed).remove(path)
    }

    /// Writes `last_seen` of the dumps seen unchanged and the new paths of the moved ones,
    /// in the open transaction.
    fn write_sightings(&self, conn: &Connection, seen: i64) -> rusqlite::Result<()> {
        let unchanged = std::mem::take(&mut *lock(&self.unchanged));
        if !unchanged.is_empty() {
            let ids = serde_json::to_string(&unchanged).expect("ids serialize");
            conn.prepare_cached(
                "UPDATE dumps SET last_seen = ?1 WHERE id IN (SELECT value FROM json_each(?2))",
            )?
            .execute(params![seen, ids])?;
        }
        for moved in std::mem::take(&mut *lock(&self.moved)) {
            // Whatever was stored at the new path is gone from there.
            conn.prepare_cached("DELETE FROM dumps WHERE path = ?1 AND id != ?2")?
                .execute(params![moved.path, moved.id])?;
            conn.prepare_cached(
                "UPDATE dumps SET path = ?2, size = ?3, mtime = ?4, last_seen = ?5 WHERE id = ?1",
            )?
            .execute(params![
                moved.id,
                moved.path,
                moved.stamp.size,
                moved.stamp.mtime,
                seen
            ])?;
        }
        Ok(())
    }
}

impl Known for StoredDumps {
    fn unchanged(&self, path: &Path) -> bool {
        let Some((id, stamp)) = self.by_path.get(path.to_string_lossy().as_ref()) else {
            return false;
        };
        let same = Stamp::of(path) == Some(*stamp);
        if same {
            lock(&self.unchanged).push(*id);
        }
        same
    }

    fn needs_triage(&self, path: &Path) -> bool {
        let (Some(stamp), Ok(hash)) = (Stamp::of(path), content_hash(path)) else {
            return true;
        };
        let name = path.display().to_string();
        match self.by_hash.get(&hash) {
            // A copy of a dump still stored at its own path: seen again, nothing to move.
            Some((id, old)) if *old != name && Path::new(old).exists() => {
                lock(&self.unchanged).push(*id);
                false
            }
            // Moved or renamed, or only touched: same content, new path or stamp.
            Some((id, _)) => {
                lock(&self.moved).push(Moved {
                    id: *id,
                    path: name,
                    stamp,
                });
                false
            }
            None => {
                lock(&self.hashed).insert(name, (stamp, hash));
                true
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database holding one report of the dump at `path`, stamped and hashed.
    fn stored(dir: &Path, path: &Path) -> Database {
        let db = Database::open(&dir.join("crashes.db")).unwrap();
        let report = Report {
            path: path.display().to_string(),
            ..Report::default()
        };
        let row = Row {
            report: &report,
            stamp: Stamp::of(path),
            hash: content_hash(path).ok(),
            engine: &engine_version(),
            seen: 1,
            rule_set: None,
        };
        upsert(&db.conn, &row).unwrap();
        db
    }

    #[test]
    fn a_stored_dump_is_unchanged_moved_or_copied_by_stamp_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a.dmp"),
            dir.path().join("b.dmp"),
            dir.path().join("c.dmp"),
        );
        std::fs::write(&a, b"MDMP first").unwrap();
        let db = stored(dir.path(), &a);
        let known = StoredDumps::load(&db.conn, &engine_version()).unwrap();
        assert!(known.unchanged(&a));
        assert!(!known.unchanged(&b), "never stored");

        // A copy while the original is still there: seen again, not triaged, not moved.
        std::fs::copy(&a, &c).unwrap();
        assert!(!known.needs_triage(&c));
        assert!(lock(&known.moved).is_empty());
        // The original renamed: moved, and written so.
        std::fs::rename(&a, &b).unwrap();
        assert!(!known.needs_triage(&b));
        assert_eq!(lock(&known.moved).len(), 1);
        known.write_sightings(&db.conn, 2).unwrap();
        let (path, last_seen): (String, i64) = db
            .conn
            .query_row("SELECT path, last_seen FROM dumps", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((path, last_seen), (b.display().to_string(), 2));
        // New content: triaged, with its stamp and hash kept for its row.
        std::fs::write(&c, b"MDMP second").unwrap();
        assert!(known.needs_triage(&c));
        let (stamp, hash) = known.take_hashed(&c.display().to_string()).unwrap();
        assert_eq!((stamp.size, hash), (11, content_hash(&c).unwrap()));
    }

    #[test]
    fn another_engine_version_knows_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.dmp");
        std::fs::write(&a, b"MDMP first").unwrap();
        let db = stored(dir.path(), &a);
        let known = StoredDumps::load(&db.conn, "triage 0.0.0 (report schema 1)").unwrap();
        assert!(!known.unchanged(&a));
        assert!(known.needs_triage(&a));
    }
}
