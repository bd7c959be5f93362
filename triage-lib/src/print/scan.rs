//! Scan outputs: CSV rows and the plain-text summary.

use std::fmt::Write;
use std::io;

use crate::model::{FixStatus, Report};
use crate::scan::Summary;

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 8] = [
    "path",
    "status",
    "crash_code",
    "signature",
    "findings",
    "fix_installed",
    "error",
    // Last, so that readers of the first seven columns by position are not broken.
    "exploitability",
];

/// One CSV record for a report, matching [`CSV_HEADER`].
pub fn csv_record(report: &Report) -> [String; 8] {
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
        report
            .exploitability
            .as_ref()
            .map(|e| e.rating.to_string())
            .unwrap_or_default(),
    ]
}

/// Writes a scan's CSV (`triage scan --format csv`) to any [`io::Write`]: the header
/// ([`CSV_HEADER`]) when created, then one record ([`csv_record`]) per report, quoted as
/// needed. Each line is flushed to the output as it is written, so a reader following the
/// file, or a scan cut short, sees whole lines only.
pub struct CsvWriter<W: io::Write> {
    writer: csv::Writer<W>,
}

impl<W: io::Write> CsvWriter<W> {
    /// Writes the header line to `out`.
    pub fn new(out: W) -> io::Result<CsvWriter<W>> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(CSV_HEADER)?;
        writer.flush()?;
        Ok(CsvWriter { writer })
    }

    /// Writes the line of one report.
    pub fn write(&mut self, report: &Report) -> io::Result<()> {
        self.writer.write_record(csv_record(report))?;
        self.writer.flush()
    }

    /// The output back, everything written.
    pub fn into_inner(self) -> io::Result<W> {
        self.writer.into_inner().map_err(|e| e.into_error())
    }
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
            n => format!("; {n} already done"),
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
    use crate::model::{Crash, ErrorInfo, ErrorKind, Exploitability, Rating, Status};

    #[test]
    fn csv_has_the_header_then_one_quoted_line_per_report() {
        let plain = Report {
            path: "a.dmp".to_string(),
            signature: Some("f | g".to_string()),
            ..Report::default()
        };
        let awkward = Report {
            path: "dir, with \"quotes\"\\b.dmp".to_string(),
            status: Status::Error,
            error: Some(ErrorInfo::new(ErrorKind::Io, "cannot\nread".to_string())),
            ..Report::default()
        };
        let mut csv = CsvWriter::new(Vec::new()).unwrap();
        csv.write(&plain).unwrap();
        csv.write(&awkward).unwrap();
        let text = String::from_utf8(csv.into_inner().unwrap()).unwrap();
        assert_eq!(
            text,
            "path,status,crash_code,signature,findings,fix_installed,error,exploitability\n\
             a.dmp,ok,,f | g,,,,\n\
             \"dir, with \"\"quotes\"\"\\b.dmp\",error,,,,,\"io: cannot\nread\",\n"
        );
    }

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
