//! Scans a dump share into a crash database, then prints the database's report: what
//! `triage scan SHARE --db FILE` followed by `triage db report FILE` does, from Rust.
//! Run it twice: the second scan triages nothing that is unchanged.
//!
//! ```sh
//! cargo run -p triage-lib --example fill_crash_db -- \
//!     corpus/examples /tmp/crashes.db corpus/examples/symbols
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use triage::db::{crash_report, Database, ReportOptions, ScanStore};
use triage::{print, scan, ScanOptions, Triage};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [share, db, symbols @ ..] = args.as_slice() else {
        eprintln!("usage: fill_crash_db SHARE DATABASE [SYMBOL_DIR]...");
        return ExitCode::from(2);
    };
    match fill(share, db, symbols) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fill_crash_db: {error}");
            ExitCode::from(2)
        }
    }
}

fn fill(share: &str, db: &str, symbols: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let triage = symbols
        .iter()
        .fold(Triage::builder(), |builder, dir| builder.symbol_path(dir))
        .build();
    // The store tells the scan which dumps it already holds, and takes every new report.
    let mut store = ScanStore::begin(Database::open(db.as_ref())?, &triage)?;
    let options = ScanOptions {
        known: store.known(),
        ..ScanOptions::default()
    };
    let mut failed = None;
    let summary = scan(
        Arc::new(triage),
        &[PathBuf::from(share)],
        &options,
        |_progress| {},
        |report| {
            if let Err(error) = store.store(report) {
                failed.get_or_insert(error);
            }
        },
    );
    if let Some(error) = failed {
        return Err(error.into());
    }
    store.finish()?;
    println!("{}", print::scan_db_line(&summary));
    // Reading needs no rules or symbols: the database holds the verdicts.
    let report = crash_report(
        &Database::open_read_only(db.as_ref())?,
        &ReportOptions::default(),
    )?;
    print!("{}", print::crash_report_text(&report));
    Ok(())
}
