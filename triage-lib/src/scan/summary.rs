//! Counting a scan: known issues by fix status, buckets of unknown crashes, errors by kind.
//! Built from the reports alone, so it is the same whatever order workers finish in.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{FixStatus, Rating, Report, Status};

/// How many unknown-crash buckets the summary lists.
const TOP_BUCKETS: usize = 20;

/// Totals of a scan.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Dumps triaged.
    pub dumps: usize,
    /// Dumps read completely.
    pub ok: usize,
    /// Dumps read in part.
    pub partial: usize,
    /// Dumps that could not be read (including timeouts and panics).
    pub errors: usize,
    /// Files skipped because they are not minidumps.
    pub not_dumps: usize,
    /// Dumps skipped without being opened: already done by an interrupted run (`--resume`),
    /// or unchanged in a crash database ([`super::Known::unchanged`]).
    pub resumed: usize,
    /// Dumps read but not triaged: [`super::Known::needs_triage`] found them done, e.g.
    /// moved or renamed since a crash database stored them.
    pub moved: usize,
    /// Per rule id: how many dumps show it, by fix status.
    pub known_issues: BTreeMap<String, RuleTally>,
    /// Crashes no rule explains, grouped by bucket, most frequent first (after
    /// [`Summary::finish`]).
    pub unknown_buckets: Vec<Bucket>,
    /// Error rows by `error.kind`.
    pub errors_by_kind: BTreeMap<String, usize>,
    /// Dumps with a crash by exploitability rating (`high`, `medium`, ...).
    pub exploitability: BTreeMap<Rating, usize>,
    #[serde(skip)]
    bucket_counts: BTreeMap<String, usize>,
}

/// One rule's dumps.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct RuleTally {
    /// The rule's title.
    pub title: String,
    /// Dumps with a finding.
    pub dumps: usize,
    /// Of those, how many already have the fixed version (a different bug or a regression).
    pub fix_installed: usize,
    /// How many lack the fix.
    pub fix_missing: usize,
    /// How many have no version information.
    pub fix_unknown: usize,
    /// How many findings are only probable.
    pub probable: usize,
}

/// A group of unexplained crashes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Bucket {
    /// The grouping key.
    pub key: String,
    /// Dumps in the group.
    pub dumps: usize,
}

impl Summary {
    /// Counts one report.
    pub fn add(&mut self, report: &Report) {
        self.dumps += 1;
        match report.status {
            Status::Ok => self.ok += 1,
            Status::Partial => self.partial += 1,
            Status::Error => self.errors += 1,
        }
        if let Some(error) = &report.error {
            *self
                .errors_by_kind
                .entry(error.kind.to_string())
                .or_default() += 1;
        }
        if let Some(rated) = &report.exploitability {
            *self.exploitability.entry(rated.rating).or_default() += 1;
        }
        for finding in &report.findings {
            let tally = self.known_issues.entry(finding.rule.clone()).or_default();
            tally.title.clone_from(&finding.title);
            tally.dumps += 1;
            match finding.fix_installed {
                FixStatus::Installed => tally.fix_installed += 1,
                FixStatus::NotInstalled => tally.fix_missing += 1,
                FixStatus::Unknown => tally.fix_unknown += 1,
            }
            if finding.confidence == crate::model::Confidence::Probable {
                tally.probable += 1;
            }
        }
        if let Some(key) = unknown_bucket(report) {
            *self.bucket_counts.entry(key.to_string()).or_default() += 1;
        }
    }

    /// Ranks the unknown buckets; call once when every report has been added.
    pub fn finish(&mut self) {
        self.unknown_buckets = top_buckets(&self.bucket_counts);
    }
}

fn top_buckets(counts: &BTreeMap<String, usize>) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = counts
        .iter()
        .map(|(key, &dumps)| Bucket {
            key: key.clone(),
            dumps,
        })
        .collect();
    // Ties broken by key, so the list never depends on arrival order.
    buckets.sort_by(|a, b| b.dumps.cmp(&a.dumps).then_with(|| a.key.cmp(&b.key)));
    buckets.truncate(TOP_BUCKETS);
    buckets
}

/// The grouping key of a crash no rule explains: its signature (stable across builds and
/// addresses), else its bucket id; `None` for an explained crash or an error row.
pub(crate) fn unknown_bucket(report: &Report) -> Option<&str> {
    if !report.findings.is_empty() || report.status == Status::Error {
        return None;
    }
    report.signature.as_deref().or(report.bucket.as_deref())
}
