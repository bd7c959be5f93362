//! `triage db import`: JSON Lines written by `triage scan --format jsonl` elsewhere (a
//! shard of a distributed scan), merged into one database.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use rusqlite::OptionalExtension;

use super::stamp::{content_hash, Stamp};
use super::store::{upsert, Batch, Row};
use super::{now, Database, DbError};
use crate::model::Report;

/// What [`import_jsonl`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportTotals {
    /// Reports added.
    pub added: usize,
    /// Reports of dumps already stored (same content hash, or the same path when the dump
    /// cannot be read here to be hashed): skipped.
    pub duplicates: usize,
    /// Lines that are not a report, as `(file, line number, why)`: skipped.
    pub malformed: Vec<(PathBuf, usize, String)>,
}

/// Adds the reports of each JSON Lines file to `db`. A report whose dump can be read here
/// is stored with the dump's size, modification time and content hash, so a later
/// `triage scan --db` recognizes it; its engine is recorded as the JSON Lines' report
/// schema, so that scan triages it again with this engine.
pub fn import_jsonl(db: &Database, files: &[PathBuf]) -> Result<ImportTotals, DbError> {
    let mut totals = ImportTotals::default();
    let mut batch = Batch::default();
    let seen = now();
    for file in files {
        let reader = std::fs::File::open(file).map_err(|source| DbError::Io {
            path: file.clone(),
            source,
        })?;
        for (number, line) in std::io::BufReader::new(reader).lines().enumerate() {
            let line = line.map_err(|source| DbError::Io {
                path: file.clone(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let report = match serde_json::from_str::<Report>(&line) {
                Ok(report) => report,
                Err(why) => {
                    totals
                        .malformed
                        .push((file.clone(), number + 1, why.to_string()));
                    continue;
                }
            };
            batch.begin(&db.conn).map_err(|e| db.error(e))?;
            let added = import_one(db, &report, seen).map_err(|e| db.error(e))?;
            batch.wrote(&db.conn).map_err(|e| db.error(e))?;
            if added {
                totals.added += 1;
            } else {
                totals.duplicates += 1;
            }
        }
    }
    batch.commit(&db.conn).map_err(|e| db.error(e))?;
    Ok(totals)
}

/// Stores `report` unless its dump is stored already; whether it was added.
fn import_one(db: &Database, report: &Report, seen: i64) -> rusqlite::Result<bool> {
    let path = Path::new(&report.path);
    let hash = content_hash(path).ok();
    let stored: Option<i64> = db
        .conn
        .prepare_cached("SELECT id FROM dumps WHERE hash = ?1 OR path = ?2 LIMIT 1")?
        .query_row(rusqlite::params![hash, report.path], |r| r.get(0))
        .optional()?;
    if stored.is_some() {
        return Ok(false);
    }
    let engine = format!("jsonl (report schema {})", report.schema_version);
    let row = Row {
        report,
        stamp: hash.as_ref().and_then(|_| Stamp::of(path)),
        hash,
        engine: &engine,
        seen,
        rule_set: None,
    };
    upsert(&db.conn, &row)?;
    Ok(true)
}
