//! Scan outputs: CSV rows and the plain-text summary.

use std::fmt::Write;

use crate::model::{FixStatus, Report};
use crate::scan::Summary;

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 7] = [
    "path",
    "status",
    "crash_code",
    "signature",
    "findings",
    "fix_installed",
    "error",
];

/// One CSV record for a report, matching [`CSV_HEADER`].
pub fn csv_record(report: &Report) -> [String; 7] {
    let findings: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{}:{}", f.rule, f.confidence))
        .collect();
    let fix: Vec<&str> = report
        .findings
        .iter()
        .map(|f| match f.fix_installed {
            FixStatus::Installed => "true",
            FixStatus::NotInstalled => "false",
            FixStatus::Unknown => "unknown",
        })
        .collect();
    [
        report.path.clone(),
        report.status.to_string(),
        report
            .crash
            .as_ref()
            .map(|c| c.code.to_string())
            .unwrap_or_default(),
        report.signature.clone().unwrap_or_default(),
        findings.join(" "),
        fix.join(" "),
        report
            .error
            .as_ref()
            .map(|e| format!("{}: {}", e.kind, e.message))
            .unwrap_or_default(),
    ]
}

/// The summary for a terminal.
pub fn summary_text(summary: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} dumps: {} ok, {} partial, {} unreadable; {} other files skipped{}",
        summary.dumps,
        summary.ok,
        summary.partial,
        summary.errors,
        summary.not_dumps,
        match summary.resumed {
            0 => String::new(),
            n => format!("; {n} already done (resumed)"),
        }
    );
    out.push_str("\nknown issues:\n");
    if summary.known_issues.is_empty() {
        out.push_str("  none\n");
    }
    for (rule, tally) in &summary.known_issues {
        let _ = writeln!(
            out,
            "  {rule:<12} {:>6} dumps  (fix missing {}, fix installed {}, version unknown {}; probable {})  {}",
            tally.dumps, tally.fix_missing, tally.fix_installed, tally.fix_unknown, tally.probable, tally.title
        );
    }
    out.push_str("\nexploitability (Breakpad's rating):\n");
    if summary.exploitability.is_empty() {
        out.push_str("  no crashes\n");
    }
    for (rating, count) in &summary.exploitability {
        let _ = writeln!(out, "  {count:>6}  {rating}");
    }
    out.push_str("\ntop unknown crashes:\n");
    if summary.unknown_buckets.is_empty() {
        out.push_str("  none\n");
    }
    for bucket in &summary.unknown_buckets {
        let _ = writeln!(out, "  {:>6}  {}", bucket.dumps, bucket.key);
    }
    out.push_str("\nproblems by kind (unreadable and partial dumps):\n");
    if summary.errors_by_kind.is_empty() {
        out.push_str("  none\n");
    }
    for (kind, count) in &summary.errors_by_kind {
        let _ = writeln!(out, "  {count:>6}  {kind}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Crash, Exploitability, Rating};

    fn crashed(rating: Rating) -> Report {
        Report {
            crash: Some(Crash::default()),
            exploitability: Some(Exploitability {
                rating,
                ..Exploitability::default()
            }),
            ..Report::default()
        }
    }

    #[test]
    fn the_summary_counts_dumps_by_exploitability_most_serious_first() {
        let mut summary = Summary::default();
        for rating in [
            Rating::None,
            Rating::High,
            Rating::High,
            Rating::Interesting,
        ] {
            summary.add(&crashed(rating));
        }
        summary.add(&Report::default());
        summary.finish();
        let text = summary_text(&summary);
        let section = text
            .split("exploitability (Breakpad's rating):\n")
            .nth(1)
            .unwrap();
        let lines: Vec<&str> = section.lines().take(3).collect();
        assert_eq!(
            lines,
            ["       2  high", "       1  interesting", "       1  none"]
        );
        assert!(summary_text(&Summary::default()).contains("rating):\n  no crashes\n"));
    }
}
