//! Scans that nothing can stop (`--isolate process`, the default): a dump whose triage
//! aborts, overflows the stack, allocates without bound, hangs, or whose worker is killed
//! from outside becomes one error row, and every other dump gets its right row. Faults are
//! injected with the documented test hook `TRIAGE_TEST_FAULT` (tests/README.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, repo};
use serde_json::Value;

/// A share of copies of the bundled example, named so the faults can pick them out; the
/// last one in path order is `zz_*`, so `--jobs 1` reaches it last.
struct FaultShare {
    dir: tempfile::TempDir,
}

impl FaultShare {
    fn new(names: &[&str]) -> FaultShare {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("share")).unwrap();
        let example = repo().join("corpus/examples/q269588.dmp");
        for name in names {
            std::fs::copy(&example, dir.path().join("share").join(name)).unwrap();
        }
        FaultShare { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("share")
    }

    fn output(&self) -> PathBuf {
        self.dir.path().join("out.jsonl")
    }

    /// A one-worker scan into [`FaultShare::output`] that hangs on `zz_hang*` (last in
    /// path order) until it is killed.
    #[cfg(target_os = "linux")]
    fn spawn_hanging_scan(&self) -> Child {
        self.command("hang:zz_hang", &["--jobs", "1", "--timeout", "120"])
            .args(["--output", self.output().to_str().unwrap()])
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn command(&self, faults: &str, extra: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_triage"));
        command
            .args(["scan", self.root().to_str().unwrap(), "--format", "jsonl"])
            .args(["--symbols", repo().join("corpus/examples/symbols").to_str().unwrap()])
            .args(extra)
            .env("TRIAGE_TEST_FAULT", faults)
            .env("_NT_SYMBOL_PATH", "");
        command
    }
}

/// Error kind (or `ok` with the rule ids) by file name.
fn rows(jsonl: &str) -> BTreeMap<String, String> {
    jsonl
        .lines()
        .map(|line| {
            let report: Value = serde_json::from_str(line).unwrap();
            common::assert_valid_report(&report);
            let name = Path::new(report["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let outcome = match report["error"]["kind"].as_str() {
                Some(kind) => kind.to_string(),
                None => format!("ok {}", report["findings"][0]["rule"].as_str().unwrap_or("-")),
            };
            (name, outcome)
        })
        .collect()
}

#[test]
fn abort_stack_overflow_runaway_allocation_and_hang_each_lose_one_dump() {
    let share = FaultShare::new(&[
        "a.dmp",
        "abort.dmp",
        "b.dmp",
        "hang.dmp",
        "oom.dmp",
        "overflow.dmp",
        "z.dmp",
    ]);
    let faults = "abort:abort,stack_overflow:overflow,oom:oom,hang:hang";
    let output = share
        .command(faults, &["--timeout", "5", "--max-memory", "512", "--jobs", "2"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let found = rows(&String::from_utf8(output.stdout).unwrap());
    let expected: BTreeMap<String, String> = [
        ("a.dmp", "ok Q269588"),
        ("abort.dmp", "worker_crashed"),
        ("b.dmp", "ok Q269588"),
        ("hang.dmp", "timeout"),
        ("oom.dmp", "out_of_memory"),
        ("overflow.dmp", "worker_crashed"),
        ("z.dmp", "ok Q269588"),
    ]
    .into_iter()
    .map(|(name, outcome)| (name.to_string(), outcome.to_string()))
    .collect();
    assert_eq!(found, expected);
}

#[test]
fn the_same_rows_whatever_the_isolation_and_jobs() {
    let share = FaultShare::new(&["a.dmp", "b.dmp", "c.dmp", "d.dmp"]);
    let run = |extra: &[&str]| {
        let output = share.command("", extra).output().unwrap();
        let mut lines: Vec<String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    let threads = run(&["--isolate", "thread", "--jobs", "2"]);
    assert_eq!(threads.len(), 4);
    assert_eq!(run(&["--jobs", "1"]), threads);
    assert_eq!(run(&["--jobs", "3"]), threads);
}

/// Waits until `file` holds `lines` complete lines.
fn wait_for_lines(file: &Path, lines: usize) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.matches('\n').count() >= lines {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never reached {lines} lines", file.display());
}

/// The worker processes of a scan: its children, from /proc.
#[cfg(target_os = "linux")]
fn children(scan: &Child) -> Vec<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{}/task", scan.id())).unwrap();
    tasks
        .filter_map(|task| {
            std::fs::read_to_string(task.ok()?.path().join("children")).ok()
        })
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

#[cfg(target_os = "linux")]
fn kill(pid: u32) {
    let status = Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
    assert!(status.success());
}

#[cfg(target_os = "linux")]
#[test]
fn a_worker_killed_from_outside_loses_only_its_dump() {
    let share = FaultShare::new(&["a.dmp", "b.dmp", "c.dmp", "zz_hang.dmp"]);
    let out = share.output();
    let mut scan = share.spawn_hanging_scan();
    // The three others are done, so the one worker now holds the hanging dump.
    wait_for_lines(&out, 3);
    let workers = children(&scan);
    assert_eq!(workers.len(), 1, "{workers:?}");
    kill(workers[0]);
    assert!(scan.wait().unwrap().success());
    let found = rows(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(found.len(), 4, "{found:?}");
    assert_eq!(found["zz_hang.dmp"], "worker_crashed");
    assert!(found.iter().filter(|(n, _)| *n != "zz_hang.dmp").all(|(_, o)| o == "ok Q269588"));
}

#[cfg(target_os = "linux")]
#[test]
fn a_scan_killed_and_resumed_loses_nothing_and_doubles_nothing() {
    let share = FaultShare::new(&["a.dmp", "b.dmp", "c.dmp", "d.dmp", "zz_hang.dmp"]);
    let out = share.output();
    let mut scan = share.spawn_hanging_scan();
    wait_for_lines(&out, 4);
    let workers = children(&scan);
    scan.kill().unwrap();
    scan.wait().unwrap();
    // The orphaned worker would hang on; a real share has no injected hang.
    workers.into_iter().for_each(kill);
    let resumed = share
        .command("", &["--resume"])
        .args(["--output", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 5, "{text}");
    let found = rows(&text);
    assert_eq!(found.len(), 5);
    assert!(found.values().all(|o| o == "ok Q269588"), "{found:?}");
}

#[test]
fn a_damaged_dmp_is_a_row_not_a_skipped_file() {
    let share = FaultShare::new(&["good.dmp"]);
    std::fs::write(share.root().join("BROKEN.DMP"), [b'X'; 64]).unwrap();
    std::fs::write(share.root().join("empty.mdmp"), b"").unwrap();
    std::fs::write(share.root().join("notes.txt"), b"XXXX").unwrap();
    let output = share.command("", &[]).output().unwrap();
    let found = rows(&String::from_utf8(output.stdout).unwrap());
    let names: Vec<&str> = found.keys().map(String::as_str).collect();
    assert_eq!(names, ["BROKEN.DMP", "empty.mdmp", "good.dmp"]);
    assert_eq!(found["BROKEN.DMP"], "not_a_minidump");
    assert_eq!(found["empty.mdmp"], "empty_file");
}
