//! End-to-end tests of `triage stacks` and of KB import through the CLI.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{self, dump_json, dump_json_with, repo, triage};
use serde_json::Value;

fn seed() -> std::path::PathBuf {
    repo().join("../shared/kb/Q269588.txt")
}

fn stacks_json(input: &str) -> (Value, std::process::Output) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["stacks", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    common::assert_no_panic(&output);
    let report = serde_json::from_slice(&output.stdout).unwrap();
    common::assert_valid_report(&report);
    (report, output)
}

#[test]
fn the_seed_article_is_q269588_confirmed_with_unknown_fix_status() {
    let output = triage(&["stacks", seed().to_str().unwrap(), "--format", "json"]);
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    common::assert_valid_report(&report);
    let finding = &report["findings"][0];
    assert_eq!(finding["rule"], "Q269588");
    assert_eq!(finding["confidence"], "confirmed");
    assert_eq!(finding["fix_installed"], Value::Null);
    assert_eq!(report["threads"][0]["frames"].as_array().unwrap().len(), 11);
}

#[test]
fn standard_input_works_like_a_file() {
    let text = std::fs::read_to_string(seed()).unwrap();
    let (report, output) = stacks_json(&text);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(report["path"], "-");
    assert_eq!(report["findings"][0]["rule"], "Q269588");
}

#[test]
fn text_without_a_stack_is_an_error_report() {
    let (report, output) = stacks_json("hello, this is not a stack\n");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(report["error"]["kind"], "no_stack_found");
    assert_eq!(report["unparsed_lines"], 1);
}

#[test]
fn an_imported_rule_behaves_exactly_like_the_builtin_one() {
    let dir = tempfile::tempdir().unwrap();
    let imported = dir.path().join("imported.toml");
    let output = triage(&["rules", "import-kb", seed().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    std::fs::write(&imported, &output.stdout).unwrap();

    let corpus = dir.path().join("corpus");
    triage_corpus::generate(&corpus).unwrap();
    let symbols = corpus.join("symbols");
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let dump = entry.unwrap().path();
        if dump.extension().is_none_or(|ext| ext != "dmp") {
            continue;
        }
        let (builtin, _) = dump_json(&dump, &[&symbols]);
        // Same id: the imported rule replaces the built-in one.
        let (with_imported, _) =
            dump_json_with(&dump, &[&symbols], &["--rules", imported.to_str().unwrap()]);
        assert_eq!(
            builtin["findings"],
            with_imported["findings"],
            "{}",
            dump.display()
        );
    }
}
