//! `triage db report`: known issues and the top buckets of unexplained crashes, with
//! counts, first and last seen, a per-day trend, a breakdown by the version of the module
//! that matters, and the evidence that a fix worked. Days are the days a scan first saw
//! each dump (`first_seen`, UTC); `--since` keeps the dumps first seen on or after a day,
//! for every number of the report alike.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection};

use super::{Database, DbError};
use crate::rules::compare_versions;

/// What [`crash_report`] covers.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Only dumps first seen on or after this day, `YYYY-MM-DD` (UTC).
    pub since: Option<String>,
    /// How many buckets of unexplained crashes to list.
    pub top: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            since: None,
            top: 20,
        }
    }
}

/// A label and how many dumps it has: a day, a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// `YYYY-MM-DD`, a version, ...
    pub label: String,
    /// Dumps.
    pub dumps: u64,
}

/// One known issue (a rule) or one bucket of unexplained crashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trend {
    /// The rule id, or the bucket's signature (else its bucket id).
    pub key: String,
    /// Dumps.
    pub dumps: u64,
    /// Day the first of them was first seen.
    pub first_seen: String,
    /// Day the newest of them was first seen: when this crash last came in.
    pub last_seen: String,
    /// Dumps by day first seen, oldest first; days without any are left out.
    pub per_day: Vec<Count>,
    /// The module that matters, as the database keys it (`mapi32`): the rule's `fixed_in`
    /// module, else the module of the top frame of the crashes' signature.
    pub module: Option<String>,
    /// Dumps by the version of [`module`](Trend::module) they loaded, lowest first
    /// (`unknown`: loaded without a version).
    pub versions: Vec<Count>,
    /// What the versions say.
    pub evidence: Option<Evidence>,
}

/// What the module versions say about a fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// A rule with `fixed_in`: its matching crashes below the fixed version and at or after
    /// it. Crashes at or after it are a different bug or a regression.
    Fix {
        /// The fixed version.
        fixed_in: String,
        /// Matching crashes on older versions.
        below: u64,
        /// Matching crashes on the fixed version or later.
        at_or_after: u64,
    },
    /// An unexplained bucket: the versions it occurs on, and how many crashes of any kind
    /// (in the same period) loaded a later version. Some such crashes and none of this
    /// bucket's: it stopped at `highest`, and `next` is the start of a `fixed_in`.
    Range {
        /// Lowest version the bucket occurs on.
        lowest: String,
        /// Highest version the bucket occurs on.
        highest: String,
        /// Crashes of any kind on versions after `highest`.
        later: u64,
        /// The lowest version after `highest` that any crash loaded.
        next: Option<String>,
    },
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Evidence::Fix {
                fixed_in,
                below,
                at_or_after,
            } => write!(
                f,
                "fixed in {fixed_in}: {below} crashes below it, {at_or_after} at or after it"
            ),
            Evidence::Range {
                lowest,
                highest,
                later,
                next,
            } => {
                if lowest == highest {
                    write!(f, "occurs on {highest} only")?;
                } else {
                    write!(f, "occurs on {lowest} to {highest}")?;
                }
                match next {
                    Some(next) if *later > 0 => write!(
                        f,
                        "; last seen on {highest}; 0 of {later} crashes on later versions \
                         (stopped: fixed_in {next}?)"
                    ),
                    _ => f.write_str("; no crash on a later version yet"),
                }
            }
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashReport {
    /// The `--since` day, if any.
    pub since: Option<String>,
    /// Dumps covered.
    pub dumps: u64,
    /// All covered dumps by day first seen.
    pub per_day: Vec<Count>,
    /// Known issues, most dumps first.
    pub known_issues: Vec<Trend>,
    /// The top buckets of crashes no rule explains, most dumps first.
    pub buckets: Vec<Trend>,
}

/// Builds the report from the database alone.
pub fn crash_report(db: &Database, options: &ReportOptions) -> Result<CrashReport, DbError> {
    let since = match &options.since {
        Some(text) => Some(parse_day(text).ok_or_else(|| DbError::BadDate(text.clone()))?),
        None => None,
    };
    build(&db.conn, since, options).map_err(|e| db.error(e))
}

fn build(
    conn: &Connection,
    since: Option<i64>,
    options: &ReportOptions,
) -> rusqlite::Result<CrashReport> {
    let from = since.unwrap_or(i64::MIN);
    let mut versions = Versions::new(conn, from);
    let per_day = query_counts(
        conn,
        "SELECT first_day, count(*) FROM dumps WHERE first_day >= ?1 GROUP BY 1",
        params![from],
        |day: i64| day_text(day),
    )?;
    let mut known_issues = trends(
        conn,
        "SELECT rule, first_day, count(*), max(fixed_module), max(fixed_version) \
         FROM findings WHERE first_day >= ?1 GROUP BY 1, 2",
        from,
    )?;
    for (trend, fixed) in &mut known_issues {
        let (module, counts) = match fixed {
            Some((module, _)) => (
                Some(module.clone()),
                query_counts(
                    conn,
                    "SELECT installed_version, count(*) FROM findings \
                     WHERE rule = ?1 AND first_day >= ?2 GROUP BY 1",
                    params![trend.key, from],
                    version_text,
                )?,
            ),
            None => top_module_versions(
                conn,
                "SELECT d.top_module, d.top_version, count(*) FROM findings f \
                 JOIN dumps d ON d.id = f.dump WHERE f.rule = ?1 AND f.first_day >= ?2 \
                 AND d.top_module IS NOT NULL GROUP BY 1, 2",
                &trend.key,
                from,
            )?,
        };
        trend.module = module;
        trend.versions = sorted_versions(counts);
        trend.evidence = fixed
            .as_ref()
            .map(|(_, fixed_in)| fix_evidence(&trend.versions, fixed_in));
    }
    let mut buckets = trends(
        conn,
        "SELECT unknown_key, first_day, count(*), NULL, NULL FROM dumps \
         WHERE unknown_key IS NOT NULL AND first_day >= ?1 GROUP BY 1, 2",
        from,
    )?;
    buckets.truncate(options.top);
    for (trend, _) in &mut buckets {
        (trend.module, trend.versions, trend.evidence) =
            bucket_versions(conn, &trend.key, &mut versions)?;
    }
    Ok(CrashReport {
        since: since.map(day_text),
        dumps: per_day.iter().map(|c| c.dumps).sum(),
        per_day,
        known_issues: known_issues.into_iter().map(|(t, _)| t).collect(),
        buckets: buckets.into_iter().map(|(t, _)| t).collect(),
    })
}

/// The top-frame module of the unexplained crashes of bucket `key`, their counts by its
/// version, and the range evidence against every crash of the period.
fn bucket_versions(
    conn: &Connection,
    key: &str,
    versions: &mut Versions,
) -> rusqlite::Result<(Option<String>, Vec<Count>, Option<Evidence>)> {
    let (module, counts) = top_module_versions(
        conn,
        "SELECT top_module, top_version, count(*) FROM dumps \
         WHERE unknown_key = ?1 AND first_day >= ?2 AND top_module IS NOT NULL GROUP BY 1, 2",
        key,
        versions.from,
    )?;
    let counts = sorted_versions(counts);
    let evidence = match &module {
        Some(module) => range_evidence(&counts, versions.of(module)?),
        None => None,
    };
    Ok((module, counts, evidence))
}

/// [`bucket_versions`] over the whole database, for `rules draft`.
pub(super) fn bucket_evidence(
    conn: &Connection,
    key: &str,
) -> rusqlite::Result<(Option<String>, Vec<Count>, Option<Evidence>)> {
    bucket_versions(conn, key, &mut Versions::new(conn, i64::MIN))
}

/// A rule's `fixed_in`, as the findings table keeps it: module key and version.
type Fixed = Option<(String, String)>;

/// `(trend, fixed_in module and version)` per key of `sql`, which selects key, day, count,
/// fixed module and fixed version grouped by key and day; most dumps first, ties by key.
fn trends(conn: &Connection, sql: &str, from: i64) -> rusqlite::Result<Vec<(Trend, Fixed)>> {
    struct Acc {
        dumps: u64,
        first: i64,
        last: i64,
        per_day: Vec<Count>,
        fixed: Fixed,
    }
    let mut by_key: BTreeMap<String, Acc> = BTreeMap::new();
    let mut select = conn.prepare_cached(sql)?;
    let mut rows = select.query([from])?;
    while let Some(row) = rows.next()? {
        let key: String = row.get(0)?;
        let (day, dumps): (i64, i64) = (row.get(1)?, row.get(2)?);
        let fixed: Fixed = match (row.get(3)?, row.get(4)?) {
            (Some(module), Some(version)) => Some((module, version)),
            _ => None,
        };
        let acc = by_key.entry(key).or_insert(Acc {
            dumps: 0,
            first: i64::MAX,
            last: i64::MIN,
            per_day: Vec::new(),
            fixed: None,
        });
        acc.dumps += dumps as u64;
        acc.first = acc.first.min(day);
        acc.last = acc.last.max(day);
        acc.per_day.push(Count {
            label: day_text(day),
            dumps: dumps as u64,
        });
        if fixed.is_some() {
            acc.fixed = fixed;
        }
    }
    let mut trends: Vec<_> = by_key
        .into_iter()
        .map(|(key, mut acc)| {
            acc.per_day.sort_by(|a, b| a.label.cmp(&b.label));
            let trend = Trend {
                key,
                dumps: acc.dumps,
                first_seen: day_text(acc.first),
                last_seen: day_text(acc.last),
                per_day: acc.per_day,
                module: None,
                versions: Vec::new(),
                evidence: None,
            };
            (trend, acc.fixed)
        })
        .collect();
    trends.sort_by(|a, b| {
        b.0.dumps
            .cmp(&a.0.dumps)
            .then_with(|| a.0.key.cmp(&b.0.key))
    });
    Ok(trends)
}

/// The most common top-frame module of the dumps `sql` counts by module and version (with
/// `?1` the key and `?2` the first day), and the dumps by its version.
fn top_module_versions(
    conn: &Connection,
    sql: &str,
    key: &str,
    from: i64,
) -> rusqlite::Result<(Option<String>, Vec<Count>)> {
    let mut by_module: BTreeMap<String, Vec<Count>> = BTreeMap::new();
    let mut select = conn.prepare_cached(sql)?;
    let mut rows = select.query(params![key, from])?;
    while let Some(row) = rows.next()? {
        let module: String = row.get(0)?;
        let version: Option<String> = row.get(1)?;
        let dumps: i64 = row.get(2)?;
        by_module.entry(module).or_default().push(Count {
            label: version_text(version),
            dumps: dumps as u64,
        });
    }
    let total = |counts: &Vec<Count>| counts.iter().map(|c| c.dumps).sum::<u64>();
    let top = by_module
        .into_iter()
        .max_by(|a, b| total(&a.1).cmp(&total(&b.1)).then_with(|| b.0.cmp(&a.0)));
    Ok(top.map_or((None, Vec::new()), |(module, counts)| {
        (Some(module), counts)
    }))
}

/// Every crash of the period by version, per module, asked once per module.
struct Versions<'a> {
    conn: &'a Connection,
    from: i64,
    cache: HashMap<String, Vec<Count>>,
}

impl<'a> Versions<'a> {
    fn new(conn: &'a Connection, from: i64) -> Self {
        Versions {
            conn,
            from,
            cache: HashMap::new(),
        }
    }

    fn of(&mut self, module: &str) -> rusqlite::Result<&[Count]> {
        if !self.cache.contains_key(module) {
            let counts = query_counts(
                self.conn,
                "SELECT version, count(*) FROM modules WHERE key = ?1 AND first_day >= ?2 \
                 GROUP BY 1",
                params![module, self.from],
                version_text,
            )?;
            self.cache.insert(module.to_string(), counts);
        }
        Ok(&self.cache[module])
    }
}

fn query_counts<T: rusqlite::types::FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    label: impl Fn(T) -> String,
) -> rusqlite::Result<Vec<Count>> {
    let mut select = conn.prepare_cached(sql)?;
    let rows = select.query_map(params, |row| {
        Ok((row.get::<_, T>(0)?, row.get::<_, i64>(1)?))
    })?;
    rows.map(|row| {
        row.map(|(value, dumps)| Count {
            label: label(value),
            dumps: dumps as u64,
        })
    })
    .collect()
}

const UNKNOWN_VERSION: &str = "unknown";

fn version_text(version: Option<String>) -> String {
    version.unwrap_or_else(|| UNKNOWN_VERSION.to_string())
}

/// Lowest version first; versions that are not numeric after them, by text.
fn sorted_versions(mut counts: Vec<Count>) -> Vec<Count> {
    counts.sort_by(|a, b| version_order(&a.label, &b.label));
    counts
}

fn version_order(a: &str, b: &str) -> Ordering {
    match compare_versions(a, b) {
        Some(order) => order,
        None => {
            let numeric = |v: &str| compare_versions(v, v).is_some();
            numeric(b).cmp(&numeric(a)).then_with(|| a.cmp(b))
        }
    }
}

fn fix_evidence(versions: &[Count], fixed_in: &str) -> Evidence {
    let (mut below, mut at_or_after) = (0, 0);
    for count in versions {
        match compare_versions(&count.label, fixed_in) {
            Some(Ordering::Less) => below += count.dumps,
            Some(_) => at_or_after += count.dumps,
            None => {}
        }
    }
    Evidence::Fix {
        fixed_in: fixed_in.to_string(),
        below,
        at_or_after,
    }
}

/// The version range of a bucket (`versions`) against every crash's (`all`).
fn range_evidence(versions: &[Count], all: &[Count]) -> Option<Evidence> {
    let numeric: Vec<&Count> = versions
        .iter()
        .filter(|c| compare_versions(&c.label, &c.label).is_some())
        .collect();
    let (lowest, highest) = (numeric.first()?, numeric.last()?);
    let later: Vec<&Count> = all
        .iter()
        .filter(|c| compare_versions(&c.label, &highest.label) == Some(Ordering::Greater))
        .collect();
    let next = later
        .iter()
        .min_by(|a, b| version_order(&a.label, &b.label))
        .map(|c| c.label.clone());
    Some(Evidence::Range {
        lowest: lowest.label.clone(),
        highest: highest.label.clone(),
        later: later.iter().map(|c| c.dumps).sum(),
        next,
    })
}

/// Days since the Unix epoch of a `YYYY-MM-DD` date, or `None` when it is not one.
fn parse_day(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm); a day past the month's end is
    // refused by the round trip.
    let year = if m <= 2 { y - 1 } else { y };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let day = era * 146_097 + doe - 719_468;
    (day_text(day) == text.trim()).then_some(day)
}

/// `YYYY-MM-DD` of a day since the Unix epoch.
fn day_text(day: i64) -> String {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_and_bad_dates_are_refused() {
        assert_eq!(day_text(0), "1970-01-01");
        assert_eq!(parse_day("2026-12-02"), Some(20_789));
        assert_eq!(day_text(20_789), "2026-12-02");
        assert_eq!(
            parse_day("2024-02-29").map(day_text).as_deref(),
            Some("2024-02-29")
        );
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "26-12-02",
            "yesterday",
            "2026-1-02",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    fn counts(pairs: &[(&str, u64)]) -> Vec<Count> {
        pairs
            .iter()
            .map(|(label, dumps)| Count {
                label: label.to_string(),
                dumps: *dumps,
            })
            .collect()
    }

    #[test]
    fn versions_sort_numerically_and_give_the_evidence() {
        let sorted = sorted_versions(counts(&[
            ("5.5.2652.85", 1),
            ("unknown", 4),
            ("5.5.2652.9", 2),
            ("5.5.2652.57", 3),
        ]));
        let labels: Vec<&str> = sorted.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(
            labels,
            ["5.5.2652.9", "5.5.2652.57", "5.5.2652.85", "unknown"]
        );
        assert_eq!(
            fix_evidence(&sorted, "5.5.2652.57"),
            Evidence::Fix {
                fixed_in: "5.5.2652.57".into(),
                below: 2,
                at_or_after: 4
            }
        );
        let bucket = counts(&[("5.5.2652.9", 2), ("5.5.2652.57", 3)]);
        let all = counts(&[
            ("5.5.2652.9", 20),
            ("5.5.2652.57", 30),
            ("5.5.2652.90", 500),
            ("5.5.2652.60", 340),
        ]);
        let evidence = range_evidence(&bucket, &all).unwrap();
        assert_eq!(
            evidence.to_string(),
            "occurs on 5.5.2652.9 to 5.5.2652.57; last seen on 5.5.2652.57; \
             0 of 840 crashes on later versions (stopped: fixed_in 5.5.2652.60?)"
        );
    }
}
