//! `triage db rejudge`: the rules and the classifier again, over the stored reports. No
//! dump is opened, so it works when the share is gone.

use rayon::prelude::*;
use rusqlite::params;

use super::store::{rule_set_id, write_verdict, Batch};
use super::{now, Database, DbError};
use crate::model::Report;
use crate::Triage;

/// Reports judged per round: read, judged in parallel, written.
const CHUNK: usize = 1024;

/// What judging decided about one dump, as the database keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `rule:confidence:fix_status` of each finding, in rank order.
    pub findings: Vec<String>,
    /// Crash class.
    pub class: Option<String>,
    /// Crash signature.
    pub signature: Option<String>,
    /// Bucket id.
    pub bucket: Option<String>,
}

impl Verdict {
    fn of(report: &Report) -> Verdict {
        Verdict {
            findings: report
                .findings
                .iter()
                .map(|f| format!("{}:{}:{}", f.rule, f.confidence, f.fix_installed))
                .collect(),
            class: report.class.map(|c| c.to_string()),
            signature: report.signature.clone(),
            bucket: report.bucket.clone(),
        }
    }
}

impl std::fmt::Display for Verdict {
    /// The findings, or `unknown SIGNATURE` when there are none.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.findings.is_empty() {
            let key = self.signature.as_deref().or(self.bucket.as_deref());
            write!(f, "unknown {}", key.unwrap_or("(no frames)"))
        } else {
            f.write_str(&self.findings.join(" "))
        }
    }
}

/// One dump whose verdict changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The dump's path.
    pub path: String,
    /// The stored verdict.
    pub before: Verdict,
    /// The new one.
    pub after: Verdict,
}

/// What [`rejudge`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejudged {
    /// Stored reports judged again.
    pub judged: usize,
    /// The dumps whose verdict changed, by path.
    pub changed: Vec<Change>,
    /// Stored reports that could not be read back (path and why); left as they were.
    pub unreadable: Vec<(String, String)>,
}

/// Judges every stored report again with `triage`'s rules and lists, and stores the
/// verdicts that changed, in batched transactions.
pub fn rejudge(db: &Database, triage: &Triage) -> Result<Rejudged, DbError> {
    rejudge_all(db, triage).map_err(|e| db.error(e))
}

fn rejudge_all(db: &Database, triage: &Triage) -> rusqlite::Result<Rejudged> {
    let conn = &db.conn;
    let rule_set = rule_set_id(conn, triage.rules(), now())?;
    let mut done = Rejudged::default();
    let mut batch = Batch::default();
    let mut after = 0i64;
    loop {
        let chunk = read_chunk(db, after)?;
        let Some(last) = chunk.last() else { break };
        after = last.0;
        let judged: Vec<_> = chunk
            .into_par_iter()
            .map(|(id, path, json, before)| {
                let judged = serde_json::from_str::<Report>(&json)
                    .map(|report| triage.judge_report(report))
                    .map_err(|e| e.to_string());
                (id, path, before, judged)
            })
            .collect();
        for (id, path, before, judged) in judged {
            done.judged += 1;
            let report = match judged {
                Ok(report) => report,
                Err(why) => {
                    done.unreadable.push((path, why));
                    continue;
                }
            };
            let after = Verdict::of(&report);
            if after != before {
                batch.begin(conn)?;
                write_verdict(conn, id, &report, Some(rule_set))?;
                batch.wrote(conn)?;
                done.changed.push(Change {
                    path,
                    before,
                    after,
                });
            }
        }
    }
    batch.begin(conn)?;
    conn.execute("UPDATE dumps SET rule_set = ?1", params![rule_set])?;
    batch.commit(conn)?;
    done.changed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(done)
}

type Stored = (i64, String, String, Verdict);

/// The next [`CHUNK`] stored reports after dump id `after`, with their stored verdicts.
fn read_chunk(db: &Database, after: i64) -> rusqlite::Result<Vec<Stored>> {
    let conn = &db.conn;
    let mut select = conn.prepare_cached(
        "SELECT d.id, d.path, r.json, d.class, d.signature, d.bucket FROM dumps d \
         JOIN reports r ON r.dump = d.id WHERE d.id > ?1 ORDER BY d.id LIMIT ?2",
    )?;
    let mut findings = conn.prepare_cached(
        "SELECT rule || ':' || confidence || ':' || fix_status FROM findings \
         WHERE dump = ?1 ORDER BY rowid",
    )?;
    let mut rows = select.query(params![after, CHUNK as i64])?;
    let mut chunk = Vec::with_capacity(CHUNK);
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let verdict = Verdict {
            findings: findings
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?,
            class: row.get(3)?,
            signature: row.get(4)?,
            bucket: row.get(5)?,
        };
        chunk.push((id, row.get(1)?, row.get(2)?, verdict));
    }
    Ok(chunk)
}
