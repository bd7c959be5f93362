//! Triages a stream of dumps against the built-in rules plus one written inline, printing
//! one line per dump. Dump paths come on standard input, one per line; the arguments are
//! symbol directories.
//!
//! ```sh
//! find corpus -name '*.dmp' | cargo run -p triage-lib --example stream_with_custom_rule -- \
//!     corpus/examples/symbols
//! ```

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use triage::model::{Report, Status};
use triage::rules::RuleSet;
use triage::Triage;

/// A site-specific rule: message tracking failing inside a MAPI allocation, with at most
/// one frame between the two.
const TRACKING_ALLOC_RULE: &str = r#"
[[rule]]
id = "SITE-TRACKING-ALLOC"
title = "Message tracking crashed allocating through MAPI"
frames = ["MAPI32!MAPIAllocateBuffer", "EMSMTA!HrTrackWriteLogA"]
max_gap = 1
threads = "crashing"
workaround = "Disable message tracking on this server until MAPI is updated."
"#;

fn main() -> ExitCode {
    let mut rules = RuleSet::builtin();
    if let Err(error) = rules.add_toml(TRACKING_ALLOC_RULE, "inline:site-rules") {
        eprintln!("{error}");
        return ExitCode::FAILURE;
    }
    // One engine for the whole stream, so each symbol file is parsed only once.
    let triage = std::env::args()
        .skip(1)
        .fold(Triage::builder(), |builder, dir| builder.symbol_path(dir))
        .rules(rules)
        .build();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else {
            eprintln!("cannot read standard input");
            return ExitCode::FAILURE;
        };
        let path = line.trim();
        if !path.is_empty() {
            println!("{}", summary_line(&triage.dump_path(Path::new(path))));
        }
    }
    ExitCode::SUCCESS
}

/// `PATH: RULE (Confidence), ...`, or why there is no verdict.
fn summary_line(report: &Report) -> String {
    if let (Status::Error, Some(error)) = (report.status, &report.error) {
        return format!("{}: unreadable ({})", report.path, error.kind);
    }
    let findings: Vec<String> = report
        .findings
        .iter()
        .map(|finding| format!("{} ({:?})", finding.rule, finding.confidence))
        .collect();
    if findings.is_empty() {
        format!("{}: no known issue", report.path)
    } else {
        format!("{}: {}", report.path, findings.join(", "))
    }
}
