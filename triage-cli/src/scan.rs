//! `triage scan`: arguments, output files and the progress bar around `triage::scan`.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use triage::model::Report;
use triage::scan::{completed_paths, scan, FrameDetail, ScanOptions, ScanProgress, Shard};
use triage::{print, Triage};

use crate::Fatal;

/// Arguments of `triage scan`.
#[derive(Args)]
pub struct ScanArgs {
    /// Directories (searched recursively) or files. Any file starting with `MDMP` is a dump.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Per-dump output, or the totals only.
    #[arg(long, value_enum, default_value_t = ScanFormat::Summary)]
    format: ScanFormat,
    /// Write the output here instead of standard output. Must lie outside the scanned paths.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write a self-contained HTML report here.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Skip dumps already in the --output JSON Lines file and append the rest.
    #[arg(long, requires = "output")]
    resume: bool,
    /// Only shard I of N (0-based), by a hash of each dump's path relative to its root.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Seconds allowed per dump before it becomes a `timeout` error row.
    #[arg(long, default_value_t = triage::scan::DEFAULT_TIMEOUT.as_secs_f64())]
    timeout: f64,
    /// Frames kept in each JSON line.
    #[arg(long, value_enum, default_value_t = Frames::Crashing)]
    frames: Frames,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScanFormat {
    /// One JSON report per line, as `triage dump --format json` prints it.
    Jsonl,
    /// path, status, crash code, signature, findings, fix_installed, error.
    Csv,
    /// Counts by rule, top unknown crashes, errors by kind.
    Summary,
}

#[derive(Clone, Copy, ValueEnum)]
enum Frames {
    None,
    Crashing,
    All,
}

/// Runs the scan; `engine` carries symbols, rules and limits.
pub fn run(args: ScanArgs, engine: Triage) -> Result<ExitCode, Fatal> {
    if let Some(missing) = args.paths.iter().find(|path| !path.exists()) {
        return Err(Fatal(format!(
            "{}: no such file or directory",
            missing.display()
        )));
    }
    for output in args.output.iter().chain(&args.html) {
        refuse_inside_scanned_tree(output, &args.paths)?;
    }
    if args.resume && args.format != ScanFormat::Jsonl {
        return Err(Fatal("--resume needs --format jsonl".into()));
    }
    let mut options = ScanOptions {
        timeout: Duration::try_from_secs_f64(args.timeout).map_err(|_| {
            Fatal(format!(
                "--timeout {} is not a number of seconds",
                args.timeout
            ))
        })?,
        shard: args.shard,
        frames: match args.frames {
            Frames::None => FrameDetail::None,
            Frames::Crashing => FrameDetail::Crashing,
            Frames::All => FrameDetail::All,
        },
        ..ScanOptions::default()
    };
    if let Some(jobs) = args.jobs {
        options.jobs = jobs.max(1);
    }
    let out: Box<dyn Write> = match &args.output {
        Some(path) if args.resume => {
            let (file, done) = open_for_resume(path)?;
            options.done = done;
            Box::new(file)
        }
        Some(path) => Box::new(File::create(path).map_err(|e| unwritable(path, e))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sink = match args.format {
        ScanFormat::Csv => Sink::Csv(Box::new(print::CsvWriter::new(out).map_err(cannot_write)?)),
        ScanFormat::Jsonl => Sink::Jsonl(out),
        ScanFormat::Summary => Sink::Summary(out),
    };
    let bar = std::io::stderr().is_terminal().then(progress_bar);
    let mut kept_for_html: Vec<Report> = Vec::new();
    let mut known = 0u64;
    let mut write_error = None;
    let summary = scan(
        Arc::new(engine),
        &args.paths,
        &options,
        |event| progress(bar.as_ref(), event, &mut known),
        |report| {
            if let Err(error) = sink.write(report) {
                write_error.get_or_insert(error);
            }
            if args.html.is_some() {
                kept_for_html.push(report.clone());
            }
        },
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if let Some(error) = write_error {
        return Err(cannot_write(error));
    }
    let mut out = sink.into_inner().map_err(cannot_write)?;
    let text = print::summary_text(&summary);
    if args.format == ScanFormat::Summary {
        out.write_all(text.as_bytes()).map_err(cannot_write)?;
    } else if std::io::stderr().is_terminal() {
        eprint!("{text}");
    }
    if let Some(path) = &args.html {
        std::fs::write(path, print::html(&summary, &kept_for_html))
            .map_err(|e| unwritable(path, e))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Where each report goes: a JSON line, a CSV line, or nowhere (the summary comes at the
/// end).
enum Sink {
    Jsonl(Box<dyn Write>),
    Csv(Box<print::CsvWriter<Box<dyn Write>>>),
    Summary(Box<dyn Write>),
}

impl Sink {
    /// Writes and flushes the report's line, if the format has one.
    fn write(&mut self, report: &Report) -> std::io::Result<()> {
        match self {
            Sink::Jsonl(out) => {
                let line = serde_json::to_string(report)? + "\n";
                out.write_all(line.as_bytes())?;
                out.flush()
            }
            Sink::Csv(csv) => csv.write(report),
            Sink::Summary(_) => Ok(()),
        }
    }

    fn into_inner(self) -> std::io::Result<Box<dyn Write>> {
        match self {
            Sink::Jsonl(out) | Sink::Summary(out) => Ok(out),
            Sink::Csv(csv) => csv.into_inner(),
        }
    }
}

fn cannot_write(error: std::io::Error) -> Fatal {
    Fatal(format!("cannot write the output: {error}"))
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} dumps  {per_sec}  ETA {eta}  known issues: {msg}",
        )
        .expect("the template is valid"),
    );
    bar.set_message("0");
    bar
}

fn progress(bar: Option<&ProgressBar>, event: ScanProgress, known: &mut u64) {
    let Some(bar) = bar else { return };
    match event {
        ScanProgress::Found { dumps } => bar.set_length(dumps as u64),
        ScanProgress::Triaged { known_issue } => {
            *known += u64::from(known_issue);
            bar.set_message(known.to_string());
            bar.inc(1);
        }
    }
}

/// Opens `path` for appending after dropping a last line an interruption cut short, and
/// returns the paths it already holds.
fn open_for_resume(path: &Path) -> Result<(File, std::collections::HashSet<String>), Fatal> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| unwritable(path, e))?;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| Fatal(format!("cannot read {}: {e}", path.display())))?;
    let complete = text.rfind('\n').map_or(0, |end| end + 1);
    if complete < text.len() {
        file.set_len(complete as u64)
            .map_err(|e| unwritable(path, e))?;
        file.seek(SeekFrom::End(0))
            .map_err(|e| unwritable(path, e))?;
    }
    Ok((file, completed_paths(&text[..complete])))
}

/// A scan never writes into the tree it reads: output inside a scanned directory is refused.
fn refuse_inside_scanned_tree(output: &Path, roots: &[PathBuf]) -> Result<(), Fatal> {
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(parent) = parent.canonicalize() else {
        return Err(Fatal(format!(
            "cannot write {}: its directory does not exist",
            output.display()
        )));
    };
    for root in roots {
        if let Ok(root) = root.canonicalize() {
            if root.is_dir() && parent.starts_with(&root) {
                return Err(Fatal(format!(
                    "refusing to write {} inside the scanned tree {}",
                    output.display(),
                    root.display()
                )));
            }
        }
    }
    Ok(())
}

fn unwritable(path: &Path, error: std::io::Error) -> Fatal {
    Fatal(format!("cannot write {}: {error}", path.display()))
}
