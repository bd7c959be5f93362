//! `triage scan`: arguments, output files and the progress bar around `triage::scan`.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use triage::db::ScanStore;
use triage::model::Report;
use triage::scan::{
    completed_paths, scan, workers, FrameDetail, Isolation, ScanOptions, ScanProgress, Shard,
    WorkerCommand,
};
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
    /// Also store every report in this crash database (SQLite, created if missing). Dumps
    /// it holds unchanged, or moved (same content), are not triaged again.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    db: Option<PathBuf>,
    /// Only shard I of N (0-based), by a hash of each dump's path relative to its root.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Seconds allowed per dump before it becomes a `timeout` error row.
    #[arg(long, default_value_t = triage::scan::DEFAULT_TIMEOUT.as_secs_f64())]
    timeout: f64,
    /// Frames kept in each JSON line and in the --db database.
    /// [default: crashing; all with --db, so that `db rejudge` sees every thread]
    #[arg(long, value_enum)]
    frames: Option<Frames>,
    /// Where each dump is triaged: in worker processes (a dump that aborts, overflows its
    /// stack or runs out of memory loses only itself, and one past --timeout is killed) or
    /// on threads of this process.
    #[arg(long, value_enum, default_value_t = Isolate::Process)]
    isolate: Isolate,
    /// Memory limit of each worker process in MiB (address space, setrlimit); a dump that
    /// needs more becomes an `out_of_memory` row. Only with --isolate process.
    #[arg(long, value_name = "MB")]
    max_memory: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Isolate {
    /// Worker processes, replaced when they die.
    Process,
    /// Threads of this process (cheaper; an abort in a dependency ends the scan).
    Thread,
}

/// Set in a worker's environment: the process serves dump paths on standard input
/// instead of scanning (see `triage::scan::workers`).
const WORKER_ENV: &str = "TRIAGE_SCAN_WORKER";

/// Test hook, documented in tests/README.md: `KIND:NAME[,KIND:NAME...]` makes a worker
/// abort, overflow its stack, allocate without bound or hang (`abort`, `stack_overflow`,
/// `oom`, `hang`) when it is handed a dump whose file name contains NAME.
const FAULT_ENV: &str = "TRIAGE_TEST_FAULT";

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScanFormat {
    /// One JSON report per line, as `triage dump --format json` prints it.
    Jsonl,
    /// path, status, crash code, signature, findings, fix_installed, error, exploitability.
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
    if std::env::var_os(WORKER_ENV).is_some() {
        return serve_as_worker(&args, &engine);
    }
    if let Some(missing) = args.paths.iter().find(|path| !path.exists()) {
        return Err(Fatal(format!(
            "{}: no such file or directory",
            missing.display()
        )));
    }
    for output in args.output.iter().chain(&args.html).chain(&args.db) {
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
        frames: match args.frames.unwrap_or(if args.db.is_some() {
            Frames::All
        } else {
            Frames::Crashing
        }) {
            Frames::None => FrameDetail::None,
            Frames::Crashing => FrameDetail::Crashing,
            Frames::All => FrameDetail::All,
        },
        ..ScanOptions::default()
    };
    if let Some(jobs) = args.jobs {
        options.jobs = jobs.max(1);
    }
    if args.isolate == Isolate::Process {
        let program = std::env::current_exe()
            .map_err(|e| Fatal(format!("cannot find this program to start workers: {e}")))?;
        // A worker is this program with the same arguments, so its engine is this one's.
        let arguments: Vec<_> = std::env::args_os().skip(1).collect();
        options.isolation = Isolation::Processes(WorkerCommand::new(move || {
            let mut command = std::process::Command::new(&program);
            command.args(&arguments).env(WORKER_ENV, "1");
            command
        }));
    } else if args.max_memory.is_some() {
        return Err(Fatal("--max-memory needs --isolate process".into()));
    }
    let mut store = match &args.db {
        Some(path) => {
            let store =
                ScanStore::begin(crate::db::open(path)?, &engine).map_err(crate::db::fatal)?;
            options.known = store.known();
            Some(store)
        }
        None => None,
    };
    let out: Box<dyn Write> = match &args.output {
        Some(path) if args.resume => {
            let (file, done) = open_for_resume(path)?;
            options.known = Arc::new(done);
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
                write_error.get_or_insert(error.to_string());
            }
            if let Some(Err(error)) = store.as_mut().map(|store| store.store(report)) {
                write_error.get_or_insert(error.to_string());
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
        return Err(Fatal(format!("cannot write the output: {error}")));
    }
    let stored = store
        .map(|store| store.finish().map_err(crate::db::fatal))
        .transpose()?;
    let mut out = sink.into_inner().map_err(cannot_write)?;
    let mut text = print::summary_text(&summary);
    if stored.is_some() {
        text = format!("{}\n{text}", print::scan_db_line(&summary));
    }
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

/// The worker side of `--isolate process`: under the memory limit, triage each path read
/// on standard input and answer with its report.
fn serve_as_worker(args: &ScanArgs, engine: &Triage) -> Result<ExitCode, Fatal> {
    if let Some(megabytes) = args.max_memory {
        limit_memory(megabytes.saturating_mul(1 << 20))?;
    }
    let faults = std::env::var(FAULT_ENV).unwrap_or_default();
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    workers::serve(engine, stdin, stdout, |path| inject_fault(&faults, path))
        .map_err(|e| Fatal(format!("worker: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(unix)]
fn limit_memory(bytes: u64) -> Result<(), Fatal> {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct it is given and changes only this process.
    let status = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    if status == 0 {
        Ok(())
    } else {
        Err(Fatal(format!(
            "--max-memory: setrlimit failed: {}",
            std::io::Error::last_os_error()
        )))
    }
}

#[cfg(not(unix))]
fn limit_memory(_bytes: u64) -> Result<(), Fatal> {
    Err(Fatal(
        "--max-memory is not supported on this platform".into(),
    ))
}

/// The test hook of [`FAULT_ENV`].
fn inject_fault(faults: &str, path: &Path) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for fault in faults.split(',') {
        let Some((kind, needle)) = fault.split_once(':') else {
            continue;
        };
        if needle.is_empty() || !name.contains(needle) {
            continue;
        }
        match kind {
            "abort" => std::process::abort(),
            "stack_overflow" => {
                std::hint::black_box(overflow_the_stack(std::hint::black_box(0)));
            }
            "oom" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 64 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "hang" => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
            _ => {}
        }
    }
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

/// Recurses until the stack is gone; the Rust runtime then aborts the process. The depth
/// check is never false in practice; it keeps the recursion a function that can return.
fn overflow_the_stack(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 512]);
    if depth == u64::MAX {
        return frame[0];
    }
    overflow_the_stack(depth + 1) + frame[(depth % 512) as usize]
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
        ScanProgress::Unchanged => bar.inc(1),
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
