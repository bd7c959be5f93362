//! `triage`: argument parsing and printing over `triage-lib`. All the work is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use triage::model::Status;
use triage::{print, Triage};

/// Triage Windows minidumps: walk every thread, symbolize, and name known issues.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Triage one minidump.
    Dump {
        /// The .dmp file.
        file: PathBuf,
        /// Symbol directory (Breakpad layout or flat .sym files), or a `;`-separated list.
        /// Repeatable. Directories in `_NT_SYMBOL_PATH` are searched after these.
        #[arg(long = "symbols", value_name = "PATH")]
        symbols: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Most frames kept per thread.
        #[arg(long, default_value_t = triage::Limits::default().max_frames_per_thread)]
        max_frames: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// The stable JSON report documented in the README.
    Json,
    /// A readable summary, crashing thread first.
    Text,
    /// Every thread as WinDbg `~*kb` prints it.
    Kb,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Dump {
            file,
            symbols,
            format,
            max_frames,
        } => {
            let triage = symbols
                .into_iter()
                .fold(Triage::builder(), |builder, entry| {
                    builder.symbol_path(entry)
                })
                .nt_symbol_path_from_env()
                .limits(triage::Limits {
                    max_frames_per_thread: max_frames,
                })
                .build();
            for entry in triage.unsupported_symbol_entries() {
                eprintln!("triage: ignoring symbol path entry {entry:?}: symbol servers and caches are not supported yet");
            }
            let report = triage.dump_path(&file);
            let rendered = match format {
                Format::Json => print::json(&report),
                Format::Text => print::text(&report),
                Format::Kb => print::kb(&report),
            };
            println!("{}", rendered.trim_end());
            if let Some(error) = &report.error {
                eprintln!(
                    "triage: {}: {} ({})",
                    file.display(),
                    error.message,
                    error.kind
                );
            }
            if report.status == Status::Error {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
