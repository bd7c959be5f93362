//! Triages one minidump: prints a one-line verdict, then the JSON report.
//!
//! ```sh
//! cargo run -p triage-lib --example triage_dump -- \
//!     corpus/examples/q269588.dmp corpus/examples/symbols
//! ```

use std::path::Path;
use std::process::ExitCode;

use triage::model::{Report, Status};
use triage::Triage;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dump) = args.next() else {
        eprintln!("usage: triage_dump DUMP [SYMBOL_DIR]...");
        return ExitCode::from(2);
    };
    // Symbol directories are searched in the order given; the built-in rules apply.
    let triage = args
        .fold(Triage::builder(), |builder, dir| builder.symbol_path(dir))
        .build();
    let report = triage.dump_path(Path::new(&dump));
    println!("{}", verdict(&report));
    println!("{}", triage::print::json(&report));
    if report.status == Status::Error {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// The answer first: which known issue, on which thread, and whether its fix is installed.
fn verdict(report: &Report) -> String {
    if let (Status::Error, Some(error)) = (report.status, &report.error) {
        return format!(
            "{}: unreadable: {} ({})",
            report.path, error.message, error.kind
        );
    }
    let Some(finding) = report.findings.first() else {
        return format!("{}: no known issue", report.path);
    };
    let fix = match finding.fix_installed {
        Some(true) => "fix installed",
        Some(false) => "fix not installed",
        None => "fix unknown",
    };
    format!(
        "{}: known issue {} ({:?}) on thread {}, {fix}",
        report.path, finding.rule, finding.confidence, finding.thread_id
    )
}
