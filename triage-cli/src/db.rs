//! `triage db ...` and `triage rules draft`: arguments and printing around `triage::db`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use triage::db::{self, Database, ReportOptions};
use triage::print;

use crate::{build, engine, say, Fatal, Judging};

#[derive(Subcommand)]
pub enum DbAction {
    /// Run the rules and the classifier again over the stored reports; no dump is opened.
    ///
    /// Prints how many verdicts changed, then each change as `PATH: BEFORE -> AFTER`.
    Rejudge {
        /// The database (`triage scan --db FILE`).
        file: PathBuf,
        #[command(flatten)]
        judging: Judging,
    },
    /// Known issues and top buckets: counts, first and last seen, per-day trend, module
    /// versions, and the evidence that a fix worked.
    Report {
        /// The database.
        file: PathBuf,
        /// Only dumps first seen on or after this day (YYYY-MM-DD, UTC).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Also write the report as self-contained HTML, with charts, here.
        #[arg(long, value_name = "OUT")]
        html: Option<PathBuf>,
        /// Buckets of unexplained crashes listed.
        #[arg(long, default_value_t = ReportOptions::default().top)]
        top: usize,
    },
    /// Merge JSON Lines of `triage scan --format jsonl` (say the shards of a distributed
    /// scan) into the database; dumps already stored are skipped.
    Import {
        /// The database (created if missing).
        file: PathBuf,
        /// JSON Lines files.
        #[arg(required = true, value_name = "FILE.jsonl")]
        jsonl: Vec<PathBuf>,
    },
    /// Run one read-only SQL statement (see docs/db-schema.md) and print what it selects.
    Query {
        /// The database, opened read-only.
        file: PathBuf,
        /// The statement, e.g. "SELECT signature, count(*) FROM dumps GROUP BY 1".
        sql: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
        format: QueryFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum QueryFormat {
    /// Aligned columns under a header.
    Table,
    /// CSV with a header line.
    Csv,
}

pub fn run(action: DbAction) -> Result<ExitCode, Fatal> {
    match action {
        DbAction::Rejudge { file, judging } => {
            let triage = build(engine(&judging))?;
            let db = open(&file)?;
            let rejudged = db::rejudge(&db, &triage).map_err(fatal)?;
            say(print::rejudged_text(&rejudged).trim_end());
        }
        DbAction::Report {
            file,
            since,
            html,
            top,
        } => {
            let db = open_read_only(&file)?;
            let report = db::crash_report(&db, &ReportOptions { since, top }).map_err(fatal)?;
            say(print::crash_report_text(&report).trim_end());
            if let Some(out) = html {
                std::fs::write(&out, print::crash_report_html(&report))
                    .map_err(|e| Fatal(format!("cannot write {}: {e}", out.display())))?;
            }
        }
        DbAction::Import { file, jsonl } => {
            let db = open(&file)?;
            let totals = db::import_jsonl(&db, &jsonl).map_err(fatal)?;
            say(print::import_text(&totals).trim_end());
        }
        DbAction::Query { file, sql, format } => {
            let db = open_read_only(&file)?;
            let result = db.query(&sql).map_err(fatal)?;
            let text = match format {
                QueryFormat::Table => print::query_table(&result),
                QueryFormat::Csv => print::query_csv(&result),
            };
            say(text.trim_end());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `triage rules draft --db FILE --bucket SIGNATURE`.
pub fn draft(file: &Path, bucket: &str) -> Result<ExitCode, Fatal> {
    let db = open_read_only(file)?;
    let draft = db::draft_rule(&db, bucket).map_err(fatal)?;
    say(draft.toml().trim_end());
    Ok(ExitCode::SUCCESS)
}

/// Opens (or creates) a database for writing.
pub fn open(file: &Path) -> Result<Database, Fatal> {
    Database::open(file).map_err(fatal)
}

fn open_read_only(file: &Path) -> Result<Database, Fatal> {
    if !file.exists() {
        return Err(Fatal(format!("{}: no such file", file.display())));
    }
    Database::open_read_only(file).map_err(fatal)
}

pub fn fatal(error: db::DbError) -> Fatal {
    Fatal(error.to_string())
}
