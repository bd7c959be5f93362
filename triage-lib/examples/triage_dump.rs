//! Triages one minidump: prints a one-line verdict, then the JSON report.
//!
//! ```sh
//! cargo run -p triage-lib --example triage_dump -- \
//!     corpus/examples/q269588.dmp corpus/examples/symbols
//! ```

use std::path::Path;
use std::process::ExitCode;

use triage::model::Status;
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
    println!("{}: {}", report.path, triage::print::verdict(&report));
    println!("{}", triage::print::json(&report));
    if report.status == Status::Error {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
