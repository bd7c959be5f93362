//! End-to-end crash classes, signatures and buckets: real Windows dumps whose file names
//! state what went wrong, the KB Q269588 reconstruction, and generated variants of one crash.

use std::path::Path;

use crate::common::{dump_json, dump_json_with, repo, shared, triage_dump};
use serde_json::Value;

/// Breakpad's test dumps, named after the crash each one holds.
const BREAKPAD_TESTDATA: &str = "breakpad/src/processor/testdata";

/// Dumps whose name describes the instruction, not what the exception record can show:
/// x64 raises a general-protection fault for a non-canonical address, which Windows
/// reports as a *read* of 0xffffffffffffffff whatever the instruction did.
const RECORD_CANNOT_TELL: &[&str] = &["write_av_non_canonical"];

/// The class a Breakpad test dump's file name states, if it states one:
/// `null_read_av` → null dereference, `ascii_write_av_arg_to_call` → write violation.
fn class_stated_by(stem: &str) -> Option<&'static str> {
    if stem.starts_with("null_") && stem.contains("_av") {
        return Some("null_dereference");
    }
    if stem.contains("stack_exhaustion") {
        return Some("stack_exhaustion");
    }
    if stem.contains("fastfail") {
        return Some("fast_fail");
    }
    [
        ("read_av", "read_access_violation"),
        ("write_av", "write_access_violation"),
        ("exec_av", "execute_access_violation"),
    ]
    .into_iter()
    .filter_map(|(word, class)| stem.find(word).map(|at| (at, class)))
    .min()
    .map(|(_, class)| class)
}

#[test]
fn windows_test_dumps_get_the_class_their_names_state() {
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(shared(BREAKPAD_TESTDATA)).expect("Breakpad testdata") {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let Some(stated) = class_stated_by(&stem) else {
            continue;
        };
        if path.extension().is_none_or(|ext| ext != "dmp") || RECORD_CANNOT_TELL.contains(&&*stem) {
            continue;
        }
        let (report, _) = dump_json(&path, &[]);
        if report["system"]["os"] != "Windows NT" {
            continue;
        }
        assert_eq!(report["class"], stated, "{stem}: crash {}", report["crash"]);
        assert!(report["signature"].is_string(), "{stem}: no signature");
        checked.push(stated);
    }
    for class in [
        "null_dereference",
        "read_access_violation",
        "write_access_violation",
        "execute_access_violation",
        "stack_exhaustion",
    ] {
        assert!(checked.contains(&class), "no Windows dump named as {class}");
    }
}

fn example_report() -> Value {
    let example = repo().join("corpus/examples");
    dump_json(&example.join("q269588.dmp"), &[&example.join("symbols")]).0
}

#[test]
fn the_kb_reconstruction_is_heap_corruption_blamed_on_its_victim() {
    let report = example_report();
    assert_eq!(report["class"], "heap_corruption");
    let blame = &report["blame"];
    assert_eq!(blame["function"], "HrStrAToStrW");
    assert_eq!(blame["module"], "emsmta.exe");
    let crashed = report["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["crashed"] == true)
        .unwrap();
    let frame = blame["frame"].as_u64().unwrap() as usize;
    assert_eq!(crashed["frames"][frame]["function"], "HrStrAToStrW");
    assert_eq!(blame["thread_id"], crashed["thread_id"]);
    assert!(
        blame["note"]
            .as_str()
            .unwrap()
            .contains("gflags /p /enable emsmta.exe /full"),
        "{}",
        blame["note"]
    );
    let signature = report["signature"].as_str().unwrap();
    assert!(signature.starts_with("HrStrAToStrW"), "{signature}");
    assert_eq!(
        report["bucket"],
        "HEAP_CORRUPTION_c0000005_emsmta.exe!HrStrAToStrW"
    );
}

#[test]
fn the_text_summary_names_class_signature_and_page_heap() {
    let example = repo().join("corpus/examples");
    let dump = example.join("q269588.dmp");
    let symbols = example.join("symbols");
    let output = triage_dump(&dump, &[&symbols], &[]);
    let text = String::from_utf8(output.stdout).unwrap();
    let report = example_report();
    let line = format!(
        "  class: {}  signature: {}",
        report["class"].as_str().unwrap(),
        report["signature"].as_str().unwrap()
    );
    assert!(text.contains(&line), "{text}");
    assert!(text.contains("gflags /p /enable"), "{text}");
}

/// Class, signature and bucket of a generated case.
fn classification(dir: &Path, case: &str) -> (Value, Value, Value) {
    let (report, _) = dump_json(&dir.join(format!("{case}.dmp")), &[&dir.join("symbols")]);
    (
        report["class"].clone(),
        report["signature"].clone(),
        report["bucket"].clone(),
    )
}

#[test]
fn one_crash_gets_one_signature_across_threads_and_builds() {
    let dir = tempfile::tempdir().unwrap();
    triage_corpus::generate(dir.path()).unwrap();
    let dir = dir.path();
    // The same heap corruption with another MAPI32.dll build (own base, own debug id).
    let heap = classification(dir, "q269588");
    assert_eq!(classification(dir, "q269588_fixed"), heap);
    // The same NULL read in HrLoadRoutingEntry, raised on thread 1240 and on thread 1308.
    let null_read = classification(dir, "plain_av");
    assert_eq!(classification(dir, "q269588_other_thread"), null_read);
    assert_eq!(null_read.0, "null_dereference");
    // Different crashes stay apart.
    assert_ne!(heap.1, null_read.1);
    assert_ne!(classification(dir, "heap_other_callers").1, heap.1);
}

#[test]
fn user_signature_lists_extend_the_builtin_ones() {
    let dir = tempfile::tempdir().unwrap();
    triage_corpus::generate(dir.path()).unwrap();
    let dump = dir.path().join("plain_av.dmp");
    let symbols = dir.path().join("symbols");
    let (before, _) = dump_json(&dump, &[&symbols]);
    assert!(before["signature"]
        .as_str()
        .unwrap()
        .starts_with("HrLoadRoutingEntry"));
    let lists = dir.path().join("skip.toml");
    std::fs::write(&lists, "skip = [\"emsmta!HrLoadRoutingEntry\"]\n").unwrap();
    let (after, _) = dump_json_with(
        &dump,
        &[&symbols],
        &["--signature-lists", lists.to_str().unwrap()],
    );
    assert!(after["signature"]
        .as_str()
        .unwrap()
        .starts_with("MtaRoutingThread"));
    assert_eq!(after["class"], before["class"]);
}
