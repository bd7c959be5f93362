//! End-to-end tests of `triage dump` on the shared corpus of real minidumps.

use std::path::Path;

use crate::common::{self, dump_json, dump_json_with, shared, shared_dumps, triage, triage_dump};
use serde_json::Value;

#[test]
fn every_shared_corpus_dump_gives_a_report_or_a_clear_error() {
    let dumps = shared_dumps();
    assert!(dumps.len() >= 80, "only {} dumps found", dumps.len());
    for dump in &dumps {
        let (report, output) = dump_json(dump, &[]);
        let status = report["status"].as_str().unwrap();
        match output.status.code() {
            Some(0) => assert!(status == "ok" || status == "partial", "{dump:?}: {status}"),
            Some(2) => assert_eq!(status, "error", "{dump:?}"),
            other => panic!("{dump:?}: exit code {other:?}"),
        }
        if status != "ok" {
            let kind = report["error"]["kind"].as_str().unwrap_or("");
            assert!(!kind.is_empty(), "{dump:?}: {status} without an error kind");
        }
    }
}

#[test]
fn malformed_shared_dumps_name_what_is_wrong() {
    let cases = [
        (
            "tast/src/go.chromium.org/tast/core/cmd/tast/internal/symbolize/breakpad/testdata/chrome_crash_report.dmp",
            "error",
            "not_a_minidump",
        ),
        ("rust-minidump/testdata/invalid-range.dmp", "partial", "missing_system_info"),
        ("rust-minidump/testdata/invalid-record-count.dmp", "partial", "missing_system_info"),
        ("lldb/unittests/Process/minidump/Inputs/regions-memlist64.dmp", "partial", "missing_module_list"),
    ];
    for (file, status, kind) in cases {
        let (report, _) = dump_json(&shared(file), &[]);
        assert_eq!(report["status"], status, "{file}");
        assert_eq!(report["error"]["kind"], kind, "{file}: {}", report["error"]);
    }
}

#[test]
fn a_missing_file_exits_2_with_an_io_error() {
    let (report, output) = dump_json(Path::new("/nonexistent/crash.dmp"), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(report["status"], "error");
    assert_eq!(report["error"]["kind"], "io");
}

/// Compares our walk with the reference walker's, saved by
/// `scripts/refresh-stackwalk-goldens.sh`. Frames must agree on module, function and trust.
/// Module offsets differ by design: minidump-stackwalk measures a caller frame from its
/// return address − 1, we (like WinDbg and the KB articles) from the return address.
fn assert_walk_matches_reference(golden: &str, dump: &str, symbols: &[&Path]) {
    let golden: Value = serde_json::from_slice(
        &std::fs::read(common::repo().join("tests/golden/stackwalk").join(golden)).unwrap(),
    )
    .unwrap();
    let (report, _) = dump_json(&shared(dump), symbols);
    let ours = report["threads"].as_array().unwrap();
    let theirs = golden["threads"].as_array().unwrap();
    assert_eq!(ours.len(), theirs.len(), "thread count");
    for (our_thread, their_thread) in ours.iter().zip(theirs) {
        let tid = &their_thread["thread_id"];
        assert_eq!(&our_thread["thread_id"], tid);
        let our_frames = our_thread["frames"].as_array().unwrap();
        let their_frames = their_thread["frames"].as_array().unwrap();
        assert_eq!(
            our_frames.len(),
            their_frames.len(),
            "frame count, thread {tid}"
        );
        for (ours, theirs) in our_frames.iter().zip(their_frames) {
            let at = format!("thread {tid} frame {}", ours["index"]);
            assert_eq!(ours["module"], theirs["module"], "module, {at}");
            assert_eq!(ours["function"], theirs["function"], "function, {at}");
            assert_eq!(ours["trust"], theirs["trust"], "trust, {at}");
            let adjust = if ours["trust"] == "context" { 0 } else { 1 };
            assert_eq!(
                hex(&ours["module_offset"]).map(|o| o - adjust),
                hex(&theirs["module_offset"]),
                "module offset (ours is the return address), {at}"
            );
        }
    }
}

fn hex(value: &Value) -> Option<u64> {
    u64::from_str_radix(value.as_str()?.trim_start_matches("0x"), 16).ok()
}

#[test]
fn breakpad_minidump2_walks_like_minidump_stackwalk() {
    let symbols = shared("breakpad/src/processor/testdata/symbols");
    assert_walk_matches_reference(
        "minidump2.json",
        "breakpad/src/processor/testdata/minidump2.dmp",
        &[&symbols],
    );
}

#[test]
fn symbolic_mini_walks_like_minidump_stackwalk_with_a_flat_symbol_dir() {
    // crash.sym lies flat beside the dump; the flat lookup checks its MODULE id.
    let symbols = shared("symbolic/symbolic-testutils/fixtures/windows");
    assert_walk_matches_reference(
        "symbolic-mini.json",
        "symbolic/symbolic-testutils/fixtures/windows/mini.dmp",
        &[&symbols],
    );
}

#[test]
fn firefox_windows_x86_walks_like_minidump_stackwalk_from_xz_symbols() {
    // The reference read decompressed copies; we read Mozilla's .sym.xz files in place.
    let symbols = shared("minidump-stackwalk/pgo_data/symbols");
    assert_walk_matches_reference(
        "windows-x86.json",
        "minidump-stackwalk/pgo_data/minidumps/windows-x86.dmp",
        &[&symbols],
    );
}

#[test]
fn module_versions_and_debug_ids_come_from_the_dump() {
    let dump = shared("breakpad/src/processor/testdata/minidump2.dmp");
    let symbols = shared("breakpad/src/processor/testdata/symbols");
    let (report, _) = dump_json(&dump, &[&symbols]);
    let module = |name: &str| {
        report["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no module {name}"))
            .clone()
    };
    let kernel32 = module("kernel32.dll");
    assert_eq!(kernel32["version"], "5.1.2600.2945");
    assert_eq!(kernel32["debug_file"], "kernel32.pdb");
    assert_eq!(kernel32["debug_id"], "BCE8785C57B44245A669896B6A19B9542");
    assert_eq!(kernel32["symbols"], "loaded");
    assert_eq!(module("test_app.exe")["symbols"], "loaded");
    assert_eq!(module("ntdll.dll")["symbols"], "unused");
    assert_eq!(report["system"]["cpu"], "x86");
    assert_eq!(
        report["crash"]["reason"],
        "EXCEPTION_ACCESS_VIOLATION_WRITE"
    );
    assert_eq!(report["crash"]["address"], "0x45");
}

#[test]
fn symbols_in_nt_symbol_path_are_used() {
    let dump = shared("breakpad/src/processor/testdata/minidump2.dmp");
    let symbols = shared("breakpad/src/processor/testdata/symbols");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["dump", dump.to_str().unwrap(), "--format", "json"])
        .env(
            "_NT_SYMBOL_PATH",
            format!("/nonexistent;{}", symbols.display()),
        )
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["threads"][0]["frames"][1]["function"], "main");
}

#[test]
fn kb_format_lists_every_thread_with_windbg_columns() {
    let dump = shared("breakpad/src/processor/testdata/minidump2.dmp");
    let symbols = shared("breakpad/src/processor/testdata/symbols");
    let output = triage_dump(&dump, &[&symbols], &["--format", "kb"]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text.matches("ChildEBP RetAddr  Args to Child").count(), 2);
    assert!(
        text.contains("0012ff70 004053ec 00000001 00873930 00873950 test_app!main+0x50"),
        "{text}"
    );
}

#[test]
fn the_work_limit_cuts_a_walk_short_and_says_so() {
    let dump = shared("minidump-stackwalk/pgo_data/minidumps/windows-x86.dmp");
    let (report, output) =
        dump_json_with(&dump, &[], &["--max-walk-work", "300", "--max-frames", "5"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(report["status"], "partial");
    assert_eq!(report["error"]["kind"], "work_limit");
    let threads = report["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 95, "every thread is still listed");
    assert!(threads
        .iter()
        .all(|t| t["frames"].as_array().unwrap().len() <= 5));
    assert!(threads.iter().any(|t| t["truncated"] == true));
}

#[test]
fn the_thread_limit_keeps_the_crashing_thread_and_lists_the_rest() {
    let dump = shared("minidump-stackwalk/pgo_data/minidumps/windows-x86.dmp");
    let (report, _) = dump_json_with(&dump, &[], &["--max-threads", "3"]);
    assert_eq!(report["error"]["kind"], "thread_limit");
    let threads = report["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 95);
    let with_frames = threads
        .iter()
        .filter(|t| !t["frames"].as_array().unwrap().is_empty());
    assert_eq!(with_frames.count(), 3);
    let crashed = threads.iter().find(|t| t["crashed"] == true).unwrap();
    assert!(!crashed["frames"].as_array().unwrap().is_empty());
}

#[test]
fn kb_format_uses_the_x64_layout_for_x64_dumps() {
    let dump = shared("lldb/test/Shell/Minidump/Windows/Sigsegv/Inputs/sigsegv.dmp");
    let (report, _) = dump_json(&dump, &[]);
    assert_eq!(report["system"]["cpu"], "amd64");
    let output = triage(&["dump", dump.to_str().unwrap(), "--format", "kb"]);
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines().skip_while(|l| !l.starts_with('#'));
    lines.next();
    assert_eq!(
        lines.next(),
        Some("Child-SP          RetAddr           Call Site")
    );
    // Each row: Child-SP and RetAddr as WinDbg prints 64-bit values, then the symbol.
    let frames = &report["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["crashed"] == true)
        .unwrap()["frames"];
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let backtick = |hex: &str| {
        let value = u64::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap();
        format!("{:08x}`{:08x}", value >> 32, value & 0xffff_ffff)
    };
    assert_eq!(row[0], backtick(frames[0]["frame_base"].as_str().unwrap()));
    assert_eq!(row[1], backtick(frames[1]["address"].as_str().unwrap()));
}
