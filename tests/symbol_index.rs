//! The symbol index cache, end to end through the `triage` binary: `triage symbols index`
//! builds what `triage dump` then uses without rebuilding, runs sharing a cold cache agree
//! and leave it whole, a torn or foreign index is rebuilt rather than trusted, and
//! `triage symbols prune` empties it.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{assert_no_panic, shared};

const DUMP: &str = "breakpad/src/processor/testdata/minidump2.dmp";
const SYMBOLS: &str = "breakpad/src/processor/testdata/symbols";

fn triage_with_cache(args: &[&str], cache: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_triage"));
    command
        .args(args)
        .args(["--cache-dir", cache.to_str().unwrap()])
        .env_remove("_NT_SYMBOL_PATH");
    command
}

fn dump_args() -> Vec<String> {
    let text = |path: PathBuf| path.to_str().unwrap().to_string();
    vec![
        "dump".into(),
        text(shared(DUMP)),
        "--symbols".into(),
        text(shared(SYMBOLS)),
        "--format".into(),
        "json".into(),
    ]
}

/// The JSON report of the dump with its symbols, through the cache at `cache`.
fn dump_report(cache: &Path, extra: &[&str]) -> Vec<u8> {
    let args = dump_args();
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend_from_slice(extra);
    let output = triage_with_cache(&args, cache).output().unwrap();
    assert_no_panic(&output);
    assert!(output.status.success(), "{output:?}");
    output.stdout
}

/// Every file under `dir` whose name ends with `ending`, sorted.
fn files_ending(dir: &Path, ending: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(ending) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn indexes_built_ahead_are_used_and_not_rebuilt() {
    let cache = tempfile::tempdir().unwrap();
    let output = triage_with_cache(
        &["symbols", "index", shared(SYMBOLS).to_str().unwrap()],
        cache.path(),
    )
    .output()
    .unwrap();
    assert_no_panic(&output);
    // Two of breakpad's test files are deliberately broken: named, and exit status 1.
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        stdout(&output).trim(),
        "9 symbol files: 7 indexed, 0 already indexed, 2 failed"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("cannot index").count(), 2, "{stderr}");
    assert!(stderr.contains("linux_inline"), "{stderr}");

    let indexes = files_ending(cache.path(), ".index");
    assert_eq!(indexes.len(), 7);
    let before: Vec<(u64, i64)> = indexes
        .iter()
        .map(|path| {
            let metadata = std::fs::metadata(path).unwrap();
            (metadata.ino(), metadata.mtime_nsec() + metadata.mtime() * 1_000_000_000)
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));

    let uncached = tempfile::tempdir().unwrap();
    assert_eq!(
        dump_report(cache.path(), &[]),
        dump_report(uncached.path(), &["--no-cache"])
    );
    let mut used = 0;
    for (path, (inode, modified)) in indexes.iter().zip(before) {
        let metadata = std::fs::metadata(path).unwrap();
        assert_eq!(metadata.ino(), inode, "{} was rebuilt", path.display());
        used += usize::from(metadata.mtime_nsec() + metadata.mtime() * 1_000_000_000 > modified);
    }
    // kernel32 and test_app are the dump's modules with symbols: their indexes were
    // opened (and touched, for the cache's LRU order), the others not.
    assert_eq!(used, 2);
    // A second index run finds them all fresh.
    let again = triage_with_cache(
        &["symbols", "index", shared(SYMBOLS).to_str().unwrap()],
        cache.path(),
    )
    .output()
    .unwrap();
    assert_eq!(
        stdout(&again).trim(),
        "9 symbol files: 0 indexed, 7 already indexed, 2 failed"
    );
}

#[test]
fn runs_sharing_a_cold_cache_agree_and_leave_it_whole() {
    let cache = tempfile::tempdir().unwrap();
    let args = dump_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            triage_with_cache(&args, cache.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let uncached = tempfile::tempdir().unwrap();
    let expected = dump_report(uncached.path(), &["--no-cache"]);
    for run in runs {
        let output = run.wait_with_output().unwrap();
        assert_no_panic(&output);
        assert_eq!(output.stdout, expected);
    }
    assert_eq!(files_ending(cache.path(), ".index").len(), 2);
    assert_eq!(files_ending(cache.path(), ".tmp"), Vec::<PathBuf>::new());
}

#[test]
fn a_torn_or_foreign_index_is_rebuilt_not_trusted() {
    let cache = tempfile::tempdir().unwrap();
    let expected = dump_report(cache.path(), &[]);
    let indexes = files_ending(cache.path(), ".index");
    assert_eq!(indexes.len(), 2);
    let whole_len = std::fs::metadata(&indexes[0]).unwrap().len();
    let torn = std::fs::read(&indexes[0]).unwrap();
    std::fs::write(&indexes[0], &torn[..torn.len() / 2]).unwrap();
    std::fs::write(&indexes[1], b"MODULE windows x86 0 not an index\n").unwrap();

    assert_eq!(dump_report(cache.path(), &[]), expected);
    assert_eq!(std::fs::metadata(&indexes[0]).unwrap().len(), whole_len);
    assert!(std::fs::read(&indexes[1]).unwrap().starts_with(b"TRIAGEIX"));
}

#[test]
fn prune_to_zero_removes_every_index() {
    let cache = tempfile::tempdir().unwrap();
    dump_report(cache.path(), &[]);
    assert_eq!(files_ending(cache.path(), ".index").len(), 2);
    let output = triage_with_cache(&["symbols", "prune", "--max-size", "0"], cache.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout(&output).starts_with("removed 2 indexes, 0 downloads, 0 remembered misses"),
        "{}",
        stdout(&output)
    );
    assert_eq!(files_ending(cache.path(), ".index"), Vec::<PathBuf>::new());
}
