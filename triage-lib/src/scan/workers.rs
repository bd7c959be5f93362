//! Scans that nothing can stop: each dump is triaged in a worker process, so a dependency
//! that aborts, overflows its stack or runs out of memory takes down one worker, never the
//! scan. Socorro runs its stack walker as a subprocess for the same reason.
//!
//! The embedder says how to start a worker ([`WorkerCommand`]); the `triage` CLI starts
//! itself. A worker reads one JSON string (a dump path) per line on standard input and
//! answers each with one line holding the JSON report ([`serve`] is that loop). A worker
//! that misses the deadline is killed; one that dies is replaced. Either way the dump it
//! held becomes an error row (`timeout`, `out_of_memory` or `worker_crashed`) and the scan
//! goes on.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use crate::model::Report;
use crate::{error_report, Triage, TriageError};

/// How to start one worker process: a command whose process runs [`serve`] with an engine
/// configured like the scan's own.
#[derive(Clone)]
pub struct WorkerCommand(Arc<dyn Fn() -> Command + Send + Sync>);

impl WorkerCommand {
    /// A worker started by `make` (called once per worker, and again for a replacement).
    pub fn new(make: impl Fn() -> Command + Send + Sync + 'static) -> Self {
        WorkerCommand(Arc::new(make))
    }
}

impl std::fmt::Debug for WorkerCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", (self.0)())
    }
}

/// The worker side: triages every path read from `input` with `triage`, one report line
/// each, flushed at once so the scan sees it before the next dump starts. `before` runs
/// before each dump (the CLI's test hook for injected faults).
pub fn serve(
    triage: &Triage,
    input: impl BufRead,
    mut output: impl Write,
    mut before: impl FnMut(&Path),
) -> std::io::Result<()> {
    for line in input.lines() {
        let line = line?;
        let Ok(path) = serde_json::from_str::<String>(&line) else {
            continue;
        };
        before(Path::new(&path));
        let report = triage.dump_path(Path::new(&path));
        let text = serde_json::to_string(&report).map_err(std::io::Error::other)?;
        writeln!(output, "{text}")?;
        output.flush()?;
    }
    Ok(())
}

/// One running worker.
pub(super) struct Worker {
    child: Child,
    stdin: ChildStdin,
    replies: mpsc::Receiver<String>,
    /// The end of what the worker wrote to standard error, to tell why it died.
    stderr: Arc<Mutex<String>>,
}

/// What is kept of a worker's standard error.
const STDERR_KEPT: usize = 4096;

impl Worker {
    pub(super) fn start(command: &WorkerCommand) -> std::io::Result<Worker> {
        let mut child = (command.0)()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let mut stderr_pipe = child
            .stderr
            .take()
            .ok_or_else(|| std::io::Error::other("no stderr"))?;
        let (sender, replies) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let kept = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 1024];
            while let Ok(n) = stderr_pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let mut text = kept.lock().unwrap_or_else(|e| e.into_inner());
                text.push_str(&String::from_utf8_lossy(&chunk[..n]));
                if text.len() > STDERR_KEPT {
                    let cut = text.len() - STDERR_KEPT;
                    let cut = (cut..text.len())
                        .find(|&i| text.is_char_boundary(i))
                        .unwrap_or(0);
                    text.drain(..cut);
                }
            }
        });
        Ok(Worker {
            child,
            stdin,
            replies,
            stderr,
        })
    }

    /// Triages `path` in this worker: the report, and whether the worker is still alive.
    /// When it missed the deadline or died, the report is the dump's error row and the
    /// worker is finished: it must be replaced.
    pub(super) fn triage(&mut self, path: &Path, timeout: Duration) -> (Report, bool) {
        let name = path.display().to_string();
        let request = serde_json::to_string(&name).unwrap_or_default();
        let sent = writeln!(self.stdin, "{request}").and_then(|()| self.stdin.flush());
        let reply = match sent {
            Ok(()) => self.replies.recv_timeout(timeout),
            Err(_) => Err(mpsc::RecvTimeoutError::Disconnected),
        };
        let why = match reply {
            Ok(line) => match serde_json::from_str::<Report>(&line) {
                Ok(report) => return (report, true),
                Err(e) => TriageError::WorkerCrashed(format!("unreadable reply: {e}")),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => TriageError::Timeout(timeout),
            Err(mpsc::RecvTimeoutError::Disconnected) => self.death(),
        };
        (self.failed(&name, why), false)
    }

    /// Why the worker died: out of memory when the Rust runtime said an allocation failed,
    /// else how it ended.
    fn death(&mut self) -> TriageError {
        let status = self.child.wait();
        let stderr = self.stderr.lock().map(|t| t.clone()).unwrap_or_default();
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        let ended = match status {
            Ok(status) => describe(status),
            Err(e) => format!("could not be waited for: {e}"),
        };
        let allocation = stderr.lines().find(|l| l.contains("memory allocation of"));
        if let Some(allocation) = allocation {
            TriageError::OutOfMemory(format!("the worker {ended}: {}", allocation.trim()))
        } else if last.is_empty() {
            TriageError::WorkerCrashed(format!("the worker {ended}"))
        } else {
            TriageError::WorkerCrashed(format!("the worker {ended}: {last}"))
        }
    }

    /// Ends the worker and makes the error row for the dump it held.
    fn failed(&mut self, name: &str, why: TriageError) -> Report {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut report = error_report(&why);
        report.path = name.to_string();
        report
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(unix)]
fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        _ => format!("ended ({status})"),
    }
}

#[cfg(not(unix))]
fn describe(status: std::process::ExitStatus) -> String {
    format!("ended ({status})")
}
