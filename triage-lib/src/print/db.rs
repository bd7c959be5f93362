//! Printing what the crash database ([`crate::db`]) answers: the report as text or as
//! self-contained HTML (the scan report's style and charts), query results as an aligned
//! table or CSV, and the totals of `rejudge`, `import` and `scan --db`.

use std::fmt::Write;

use super::html::{bar_chart, escape, page_start};
use crate::db::{Count, CrashReport, ImportTotals, QueryResult, Rejudged, Trend};
use crate::scan::Summary;

/// Days listed per trend in the text report (the most recent ones).
const TEXT_DAYS: usize = 14;

/// `N triaged, M unchanged (K moved)`: what a `scan --db` did.
pub fn scan_db_line(summary: &Summary) -> String {
    format!(
        "{} triaged, {} unchanged ({} moved)",
        summary.dumps,
        summary.resumed + summary.moved,
        summary.moved
    )
}

/// The report for a terminal.
pub fn crash_report_text(report: &CrashReport) -> String {
    let mut out = String::new();
    let since = report
        .since
        .as_ref()
        .map_or(String::new(), |day| format!(" first seen since {day}"));
    let _ = writeln!(out, "{} dumps{since}", report.dumps);
    let _ = writeln!(out, "per day: {}", days_text(&report.per_day));
    out.push_str("\nknown issues:\n");
    trends_text(&mut out, &report.known_issues);
    out.push_str("\ntop buckets of unexplained crashes:\n");
    trends_text(&mut out, &report.buckets);
    out
}

fn trends_text(out: &mut String, trends: &[Trend]) {
    if trends.is_empty() {
        out.push_str("  none\n");
    }
    for trend in trends {
        let _ = writeln!(
            out,
            "  {:>7}  {}  (first seen {}, last seen {})",
            trend.dumps, trend.key, trend.first_seen, trend.last_seen
        );
        let _ = writeln!(out, "           per day: {}", days_text(&trend.per_day));
        if let Some(module) = &trend.module {
            let versions: Vec<String> = trend
                .versions
                .iter()
                .map(|c| format!("{} {}", c.label, c.dumps))
                .collect();
            let _ = writeln!(out, "           {module}: {}", versions.join(", "));
        }
        if let Some(evidence) = &trend.evidence {
            let _ = writeln!(out, "           evidence: {evidence}");
        }
    }
}

/// The last [`TEXT_DAYS`] days as `DAY N`, after a count of the older ones.
fn days_text(days: &[Count]) -> String {
    let skip = days.len().saturating_sub(TEXT_DAYS);
    let mut parts: Vec<String> = days[skip..]
        .iter()
        .map(|c| format!("{} {}", c.label, c.dumps))
        .collect();
    if skip > 0 {
        parts.insert(0, format!("({skip} earlier days)"));
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

/// The report as one self-contained HTML page: tables and inline-SVG charts, nothing
/// loaded from anywhere.
pub fn crash_report_html(report: &CrashReport) -> String {
    let mut out = page_start("triage crash database");
    let since = report.since.as_ref().map_or(String::new(), |day| {
        format!(" first seen since {}", escape(day))
    });
    let _ = write!(
        out,
        "<h1>Crash database</h1><p>{} dumps{since}.</p><h2>Dumps per day</h2>{}",
        report.dumps,
        bar_chart(&bars(&report.per_day))
    );
    let mut overview: Vec<(String, usize)> = report
        .known_issues
        .iter()
        .map(|t| (format!("{} (known)", t.key), t.dumps as usize))
        .collect();
    overview.extend(
        report
            .buckets
            .iter()
            .take(10)
            .map(|t| (t.key.clone(), t.dumps as usize)),
    );
    let _ = write!(
        out,
        "<h2>Known issues and top buckets</h2>{}",
        bar_chart(&overview)
    );
    out.push_str("<h2>Known issues</h2>");
    trends_html(&mut out, &report.known_issues);
    out.push_str("<h2>Top buckets of unexplained crashes</h2>");
    trends_html(&mut out, &report.buckets);
    out.push_str("</body></html>\n");
    out
}

fn trends_html(out: &mut String, trends: &[Trend]) {
    if trends.is_empty() {
        out.push_str("<p>None.</p>");
    }
    for trend in trends {
        let _ = write!(
            out,
            "<section><h3>{}</h3><p>{} dumps, first seen {}, last seen {}.</p>",
            escape(&trend.key),
            trend.dumps,
            trend.first_seen,
            trend.last_seen
        );
        if let Some(evidence) = &trend.evidence {
            let _ = write!(
                out,
                "<p class=\"known\">{}</p>",
                escape(&evidence.to_string())
            );
        }
        out.push_str("<table><tr><th>per day</th>");
        if let Some(module) = &trend.module {
            let _ = write!(out, "<th>by version of {}</th>", escape(module));
        }
        let _ = write!(
            out,
            "</tr><tr><td>{}</td>",
            bar_chart(&bars(&trend.per_day))
        );
        if trend.module.is_some() {
            let _ = write!(out, "<td>{}</td>", bar_chart(&bars(&trend.versions)));
        }
        out.push_str("</tr></table></section>");
    }
}

fn bars(counts: &[Count]) -> Vec<(String, usize)> {
    counts
        .iter()
        .map(|c| (c.label.clone(), c.dumps as usize))
        .collect()
}

/// A query result as an aligned text table, header first.
pub fn query_table(result: &QueryResult) -> String {
    let cells: Vec<Vec<String>> = std::iter::once(result.columns.clone())
        .chain(
            result
                .rows
                .iter()
                .map(|row| row.iter().map(ToString::to_string).collect()),
        )
        .collect();
    let mut widths = vec![0; result.columns.len()];
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (n, row) in cells.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(out, "{}", rule.join("  "));
        }
    }
    out
}

/// A query result as CSV, header first.
pub fn query_csv(result: &QueryResult) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let rows = std::iter::once(result.columns.clone()).chain(
        result
            .rows
            .iter()
            .map(|row| row.iter().map(ToString::to_string).collect()),
    );
    for row in rows {
        writer.write_record(&row).expect("CSV into memory");
    }
    String::from_utf8(writer.into_inner().expect("CSV into memory")).expect("CSV of strings")
}

/// How many verdicts `rejudge` changed, then each change as `PATH: BEFORE -> AFTER`.
pub fn rejudged_text(rejudged: &Rejudged) -> String {
    let mut out = format!(
        "{} reports judged again, {} verdicts changed\n",
        rejudged.judged,
        rejudged.changed.len()
    );
    for change in &rejudged.changed {
        let _ = writeln!(
            out,
            "{}: {} -> {}",
            change.path, change.before, change.after
        );
    }
    for (path, why) in &rejudged.unreadable {
        let _ = writeln!(
            out,
            "{path}: stored report unreadable, left as it was: {why}"
        );
    }
    out
}

/// What `db import` did, then each malformed line as `FILE:LINE: why`.
pub fn import_text(totals: &ImportTotals) -> String {
    let mut out = format!(
        "{} added, {} duplicates skipped, {} malformed lines skipped\n",
        totals.added,
        totals.duplicates,
        totals.malformed.len()
    );
    for (file, line, why) in &totals.malformed {
        let _ = writeln!(out, "{}:{line}: {why}", file.display());
    }
    out
}
