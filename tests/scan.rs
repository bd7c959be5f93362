//! End-to-end tests of `triage scan` over a generated dump share.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::{self, assert_no_panic, triage};
use serde_json::Value;

/// A share: the generated corpus, a dump without extension in a subfolder, a text file, and
/// a symlink loop. Symbols live outside the share.
struct Share {
    _dir: tempfile::TempDir,
    root: PathBuf,
    symbols: PathBuf,
}

fn share() -> Share {
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("generated");
    triage_corpus::generate(&generated).unwrap();
    let root = dir.path().join("share");
    std::fs::create_dir_all(root.join("server1/deep")).unwrap();
    for entry in std::fs::read_dir(&generated).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, root.join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(
        root.join("q269588.dmp"),
        root.join("server1/deep/crash-without-extension"),
    )
    .unwrap();
    std::fs::write(root.join("server1/notes.txt"), "not a dump").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&root, root.join("server1/loop")).unwrap();
    Share {
        symbols: generated.join("symbols"),
        root,
        _dir: dir,
    }
}

/// Dumps in a [`share`]: the 12 generated cases (the two that do not start with MDMP are
/// named `.dmp`, so they get rows too), plus the copy without extension.
const SHARE_DUMPS: usize = 13;

fn scan(share: &Share, extra: &[&str]) -> (String, std::process::Output) {
    let mut args = vec![
        "scan",
        share.root.to_str().unwrap(),
        "--symbols",
        share.symbols.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = triage(&args);
    assert_no_panic(&output);
    (String::from_utf8(output.stdout.clone()).unwrap(), output)
}

fn lines(jsonl: &str) -> BTreeSet<String> {
    jsonl.lines().map(str::to_string).collect()
}

fn reports(jsonl: &str) -> Vec<Value> {
    let reports: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    reports.iter().for_each(common::assert_valid_report);
    reports
}

#[test]
fn finds_dumps_by_signature_and_gives_one_line_each() {
    let share = share();
    let (jsonl, output) = scan(&share, &["--format", "jsonl"]);
    assert_eq!(output.status.code(), Some(0));
    let reports = reports(&jsonl);
    let paths: BTreeSet<&str> = reports
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), reports.len(), "each dump once");
    assert!(paths.iter().any(|p| p.ends_with("crash-without-extension")));
    assert_eq!(reports.len(), SHARE_DUMPS);
    let q = reports
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("share/q269588.dmp"))
        .unwrap();
    assert_eq!(q["findings"][0]["rule"], "Q269588");
    // --frames crashing (the default) keeps only the crashing thread's frames.
    for thread in q["threads"].as_array().unwrap() {
        assert_eq!(
            thread["crashed"] == true,
            !thread["frames"].as_array().unwrap().is_empty()
        );
    }
}

#[test]
fn output_is_the_same_set_whatever_the_number_of_jobs() {
    let share = share();
    let (one, _) = scan(&share, &["--format", "jsonl", "--jobs", "1"]);
    let (four, _) = scan(&share, &["--format", "jsonl", "--jobs", "4"]);
    assert_eq!(lines(&one), lines(&four));
    let (summary_one, _) = scan(&share, &["--jobs", "1"]);
    let (summary_four, _) = scan(&share, &["--jobs", "4"]);
    assert_eq!(summary_one, summary_four);
    assert!(summary_one.contains("Q269588"), "{summary_one}");
}

#[test]
fn shards_partition_the_share() {
    let share = share();
    let (all, _) = scan(&share, &["--format", "jsonl"]);
    let mut union = BTreeSet::new();
    let mut total = 0;
    for shard in ["0/3", "1/3", "2/3"] {
        let (part, _) = scan(&share, &["--format", "jsonl", "--shard", shard]);
        total += part.lines().count();
        union.extend(lines(&part));
    }
    assert_eq!(total, all.lines().count(), "no dump in two shards");
    assert_eq!(union, lines(&all));
}

#[test]
fn resume_finishes_an_interrupted_scan_without_repeats() {
    let share = share();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("scan.jsonl");
    let out_arg = out.to_str().unwrap();
    // An interrupted run: one shard done, then half a line written.
    scan(
        &share,
        &["--format", "jsonl", "--shard", "0/2", "--output", out_arg],
    );
    let first = std::fs::read_to_string(&out).unwrap();
    std::fs::write(&out, format!("{first}{{\"path\": \"cut of")).unwrap();
    let (_, output) = scan(
        &share,
        &["--format", "jsonl", "--resume", "--output", out_arg],
    );
    assert_eq!(output.status.code(), Some(0));
    let resumed = std::fs::read_to_string(&out).unwrap();
    let (all, _) = scan(&share, &["--format", "jsonl"]);
    let paths = |text: &str| -> Vec<String> {
        let mut p: Vec<String> = reports(text)
            .iter()
            .map(|r| r["path"].as_str().unwrap().to_string())
            .collect();
        p.sort();
        p
    };
    assert_eq!(paths(&resumed), paths(&all));
}

#[test]
fn a_slow_dump_becomes_a_timeout_row_and_the_scan_completes() {
    let share = share();
    let (jsonl, output) = scan(&share, &["--format", "jsonl", "--timeout", "0.000001"]);
    assert_eq!(output.status.code(), Some(0));
    let timed = reports(&jsonl);
    assert_eq!(timed.len(), SHARE_DUMPS);
    // A dump may beat a one-microsecond deadline only by failing instantly; every other
    // row must be a timeout, and there must be some.
    let (untimed, _) = scan(&share, &["--format", "jsonl"]);
    let untimed = reports(&untimed);
    let mut timeouts = 0;
    for report in &timed {
        if report["error"]["kind"] == "timeout" {
            timeouts += 1;
            continue;
        }
        let same = untimed
            .iter()
            .find(|u| u["path"] == report["path"])
            .unwrap();
        assert_eq!(
            report, same,
            "a non-timeout row must be the dump's normal result"
        );
    }
    assert!(timeouts >= 5, "{timeouts} timeouts: {jsonl}");
}

#[test]
fn csv_has_a_header_and_a_row_per_dump() {
    let share = share();
    let (csv, _) = scan(&share, &["--format", "csv"]);
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some("path,status,crash_code,signature,findings,fix_installed,error,exploitability")
    );
    let q = rows
        .clone()
        .find(|r| r.contains("share/q269588.dmp"))
        .unwrap();
    assert!(q.contains("Q269588:confirmed,false"), "{q}");
    assert_eq!(rows.count(), SHARE_DUMPS);
}

/// Every file's path, size and modification time.
fn snapshot(root: &Path) -> BTreeSet<(PathBuf, u64, std::time::SystemTime)> {
    let mut seen = BTreeSet::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                pending.push(path.clone());
            }
            seen.insert((path, meta.len(), meta.modified().unwrap()));
        }
    }
    seen
}

#[test]
fn the_scanned_tree_is_never_written() {
    let share = share();
    // Read-only, as a dump share mounted for support engineers is. (Root may still write,
    // so the snapshot comparison below is what proves nothing was written.)
    set_read_only(&share.root, true);
    let before = snapshot(&share.root);
    let inside = share.root.join("server1/report.jsonl");
    let (_, refused) = scan(
        &share,
        &["--format", "jsonl", "--output", inside.to_str().unwrap()],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("inside the scanned tree"));
    let html = share.root.join("report.html");
    let (_, refused) = scan(&share, &["--html", html.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    let (jsonl, output) = scan(&share, &["--format", "jsonl"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        jsonl.lines().count(),
        SHARE_DUMPS,
        "a read-only share scans like any other"
    );
    assert_eq!(snapshot(&share.root), before);
    set_read_only(&share.root, false); // so the temporary directory can be removed
}

/// Sets or clears write permission on every directory and file under `root`.
fn set_read_only(root: &Path, read_only: bool) {
    for (path, _, _) in snapshot(root) {
        set_one(&path, read_only);
    }
    set_one(root, read_only);
}

fn set_one(path: &Path, read_only: bool) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.file_type().is_symlink() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode();
    let mode = if read_only {
        mode & !0o222
    } else {
        mode | 0o200
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn html_report_is_self_contained_and_links_each_row() {
    let share = share();
    let out = tempfile::tempdir().unwrap();
    let html_path = out.path().join("report.html");
    let (_, output) = scan(&share, &["--html", html_path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.contains("<svg"), "has an inline chart");
    for forbidden in ["http://", "https://", "<script", "<link", "src="] {
        let allowed = forbidden == "http://"
            && html.matches(forbidden).count()
                == html.matches("http://www.w3.org/2000/svg").count();
        assert!(allowed || !html.contains(forbidden), "loads {forbidden}");
    }
    let rows = html.matches("<a href=\"#d").count();
    let sections = html.matches("<section id=\"d").count();
    assert_eq!(rows, SHARE_DUMPS);
    assert_eq!(sections, SHARE_DUMPS);
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(chromium) = common::external_tool("chromium", "TRIAGE_REQUIRE_CHROMIUM") else {
        return;
    };
    let share = share();
    let out = tempfile::tempdir().unwrap();
    let html = out.path().join("report.html");
    scan(&share, &["--html", html.to_str().unwrap()]);
    let url = format!("file://{}", html.display());
    let chrome = |extra: &[&str]| {
        let profile = out.path().join("profile");
        std::process::Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                &format!("--user-data-dir={}", profile.display()),
            ])
            .args(extra)
            .arg(&url)
            .output()
            .expect("chromium runs")
    };
    let dom = String::from_utf8(chrome(&["--dump-dom"]).stdout).unwrap();
    assert!(dom.contains("<svg"), "the chart is in the rendered DOM");
    assert_eq!(
        dom.matches("<section id=\"d").count(),
        SHARE_DUMPS,
        "a detail section per dump"
    );
    let png = out.path().join("report.png");
    chrome(&[
        "--window-size=1200,900",
        &format!("--screenshot={}", png.display()),
    ]);
    let bytes = std::fs::read(&png).expect("a screenshot was written");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "{} bytes",
        bytes.len()
    );
}
