//! Bulk triage of a dump share: find dumps, triage them in parallel with per-dump
//! isolation, and count the results.
//!
//! With [`Isolation::Processes`] each dump is triaged in a worker process ([`workers`]):
//! a dependency that aborts or runs out of memory loses that one dump, as an error row,
//! and a dump past its deadline is killed. With [`Isolation::Threads`] each dump runs on
//! its own thread under a deadline, inside the engine's panic guard: cheaper, but an abort
//! ends the scan and an overrun thread keeps running. Symbol files are parsed once per
//! worker process, or once per scan with threads.

mod discover;
mod known;
mod shard;
mod summary;
pub mod workers;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use rayon::prelude::*;

pub use discover::{discover, Discovery, DumpFile};
pub use known::Known;
pub use shard::{Shard, SHARD_INDEX_VARIABLES};
pub(crate) use summary::unknown_bucket;
pub use summary::{Bucket, RuleTally, Summary};
pub use workers::WorkerCommand;

use crate::model::Report;
use crate::{error_report, Triage, TriageError};

/// Which frames a scan keeps in each report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FrameDetail {
    /// No frames: verdicts only.
    None,
    /// Only the crashing thread's frames (the default: small lines, enough to read).
    #[default]
    Crashing,
    /// Every thread's frames.
    All,
}

/// Where each dump is triaged.
#[derive(Debug, Clone, Default)]
pub enum Isolation {
    /// On a thread of this process, under a deadline and a panic guard.
    #[default]
    Threads,
    /// In worker processes started by the command, one per job, replaced when they die.
    Processes(WorkerCommand),
}

/// Default wall-clock limit per dump ([`ScanOptions::timeout`], `triage scan --timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How a scan runs.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Worker threads.
    pub jobs: usize,
    /// Wall-clock limit per dump (default [`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
    /// Only this shard of the dumps.
    pub shard: Option<Shard>,
    /// Frames kept per report.
    pub frames: FrameDetail,
    /// What earlier runs did, so that their dumps are not triaged again: the paths of an
    /// interrupted run's reports (a `HashSet<String>`, the default being empty), or a crash
    /// database (`triage::db`).
    pub known: Arc<dyn Known>,
    /// Threads or worker processes.
    pub isolation: Isolation,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            timeout: DEFAULT_TIMEOUT,
            shard: None,
            frames: FrameDetail::default(),
            known: Arc::new(HashSet::<String>::new()),
            isolation: Isolation::default(),
        }
    }
}

/// What a scan reports while it runs, for progress displays.
#[derive(Debug, Clone, Copy)]
pub enum ScanProgress {
    /// The walk is over: this many dumps will be triaged.
    Found {
        /// Dumps to triage in this run.
        dumps: usize,
    },
    /// One more dump is done.
    Triaged {
        /// Whether it showed a known issue.
        known_issue: bool,
    },
    /// One more dump needed no triage after all ([`Known::needs_triage`]).
    Unchanged,
}

/// Scans `roots`, handing every report to `sink` on the calling thread as it completes,
/// and returns the totals. Which reports are produced does not depend on `jobs`; only the
/// order in which they arrive does.
pub fn scan(
    triage: Arc<Triage>,
    roots: &[PathBuf],
    options: &ScanOptions,
    mut progress: impl FnMut(ScanProgress),
    mut sink: impl FnMut(&Report),
) -> Summary {
    let discovery = discover(roots, options.jobs, &*options.known);
    let mut summary = Summary::default();
    summary.not_dumps = discovery.not_dumps;
    let in_shard = |file: &DumpFile| options.shard.is_none_or(|shard| shard.owns(&file.relative));
    let mut inputs: Vec<Input> = discovery
        .dumps
        .into_iter()
        .filter(in_shard)
        .map(|dump| Input::Dump(dump.path))
        .chain(
            discovery
                .unreadable
                .into_iter()
                .filter(|(file, _)| in_shard(file))
                .map(|(file, why)| Input::Unreadable(file.path, why)),
        )
        .collect();
    let before = inputs.len();
    inputs.retain(|input| match input {
        Input::Unreadable(path, _) => !options.known.unchanged(path),
        Input::Dump(_) => true,
    });
    summary.resumed = discovery.unchanged + before - inputs.len();
    progress(ScanProgress::Found {
        dumps: inputs.len(),
    });

    let (sender, outcomes) = mpsc::channel::<Outcome>();
    let queue = Mutex::new(inputs.iter());
    std::thread::scope(|scope| {
        match &options.isolation {
            Isolation::Threads => {
                scope.spawn(|| on_threads(&triage, &inputs, options, sender));
            }
            Isolation::Processes(command) => {
                for _ in 0..options.jobs.max(1) {
                    let (queue, sender) = (&queue, sender.clone());
                    scope.spawn(move || in_a_worker(command, queue, options, &sender));
                }
                drop(sender);
            }
        }
        for outcome in outcomes {
            match outcome {
                Outcome::Triaged(report) => {
                    summary.add(&report);
                    progress(ScanProgress::Triaged {
                        known_issue: !report.findings.is_empty(),
                    });
                    sink(&report);
                }
                Outcome::Unchanged => {
                    summary.moved += 1;
                    progress(ScanProgress::Unchanged);
                }
            }
        }
    });
    summary.finish();
    summary
}

/// What became of one input.
enum Outcome {
    Triaged(Box<Report>),
    /// [`Known::needs_triage`] said no.
    Unchanged,
}

/// Triages every input on a pool of threads.
fn on_threads(
    triage: &Arc<Triage>,
    inputs: &[Input],
    options: &ScanOptions,
    sender: mpsc::Sender<Outcome>,
) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs.max(1))
        .thread_name(|i| format!("triage-scan-{i}"))
        .build()
        .expect("a thread pool can be built");
    pool.install(|| {
        inputs.par_iter().for_each_with(sender, |sender, input| {
            let outcome = if input.needs_triage(options) {
                let mut report = input.triage(triage, options.timeout);
                keep_frames(&mut report, options.frames);
                Outcome::Triaged(Box::new(report))
            } else {
                Outcome::Unchanged
            };
            // The receiver lives until every sender is gone.
            let _ = sender.send(outcome);
        });
    });
}

/// One job's loop with process isolation: takes inputs until none are left, each in this
/// job's worker process, starting a new worker whenever the last one died or was killed.
fn in_a_worker<'a>(
    command: &WorkerCommand,
    queue: &Mutex<std::slice::Iter<'a, Input>>,
    options: &ScanOptions,
    sender: &mpsc::Sender<Outcome>,
) {
    let mut worker: Option<workers::Worker> = None;
    loop {
        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
        let Some(input) = next else { break };
        if !input.needs_triage(options) {
            if sender.send(Outcome::Unchanged).is_err() {
                break;
            }
            continue;
        }
        let mut report = match input {
            Input::Dump(path) => {
                if worker.is_none() {
                    worker = workers::Worker::start(command).ok();
                }
                match worker.as_mut() {
                    Some(running) => {
                        let (report, alive) = running.triage(path, options.timeout);
                        if !alive {
                            worker = None;
                        }
                        report
                    }
                    None => {
                        let why =
                            TriageError::WorkerCrashed("the worker could not be started".into());
                        let mut report = error_report(&why);
                        report.path = input.name();
                        report
                    }
                }
            }
            Input::Unreadable(..) => input.triage_unreadable(),
        };
        keep_frames(&mut report, options.frames);
        if sender.send(Outcome::Triaged(Box::new(report))).is_err() {
            break;
        }
    }
}

/// A unit of scan work.
enum Input {
    Dump(PathBuf),
    /// Found by the walk but not even its first bytes could be read.
    Unreadable(PathBuf, String),
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::Dump(path) | Input::Unreadable(path, _) => path.display().to_string(),
        }
    }

    /// Whether the scan's [`Known`] wants this input triaged; a file the walk could not read
    /// always gets its error row.
    fn needs_triage(&self, options: &ScanOptions) -> bool {
        match self {
            Input::Dump(path) => options.known.needs_triage(path),
            Input::Unreadable(..) => true,
        }
    }

    fn triage(&self, triage: &Arc<Triage>, timeout: Duration) -> Report {
        match self {
            Input::Dump(path) => triage_with_deadline(triage, path, timeout),
            Input::Unreadable(..) => self.triage_unreadable(),
        }
    }

    /// The error row of a file the walk could not read.
    fn triage_unreadable(&self) -> Report {
        let (Input::Dump(path) | Input::Unreadable(path, _)) = self;
        let why = match self {
            Input::Unreadable(_, why) => why.clone(),
            Input::Dump(_) => String::new(),
        };
        let mut report = error_report(&TriageError::Io {
            path: path.clone(),
            source: std::io::Error::other(why),
        });
        report.path = self.name();
        report
    }
}

/// Triages `path` on its own thread and gives up waiting after `timeout`. A dump that
/// overruns is reported as a `timeout` error; its thread is left to finish on its own,
/// bounded by the engine's work limits.
fn triage_with_deadline(triage: &Arc<Triage>, path: &Path, timeout: Duration) -> Report {
    let (sender, receiver) = mpsc::channel();
    let engine = Arc::clone(triage);
    let owned = path.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("triage-dump".into())
        .spawn(move || {
            let _ = sender.send(engine.dump_path(&owned));
        });
    if spawned.is_err() {
        // Out of threads: run here, without a deadline, rather than drop the dump.
        return triage.dump_path(path);
    }
    receiver.recv_timeout(timeout).unwrap_or_else(|_| {
        let mut report = error_report(&TriageError::Timeout(timeout));
        report.path = path.display().to_string();
        report
    })
}

fn keep_frames(report: &mut Report, detail: FrameDetail) {
    for thread in &mut report.threads {
        let keep = match detail {
            FrameDetail::All => true,
            FrameDetail::Crashing => thread.crashed,
            FrameDetail::None => false,
        };
        if !keep {
            thread.frames.clear();
        }
    }
}

/// The `path` of every complete report line in a JSON Lines file, for `--resume`.
/// A final line cut off by an interruption is ignored (and will be redone).
pub fn completed_paths(jsonl: &str) -> HashSet<String> {
    jsonl
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|report| report.get("status").and_then(|s| s.as_str()).is_some())
        .filter_map(|report| report.get("path")?.as_str().map(str::to_string))
        .collect()
}
