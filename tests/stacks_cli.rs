//! End-to-end tests of `triage stacks` and of KB import through the CLI.

use std::path::Path;

use crate::common::{self, dump_json, dump_json_with, repo, triage};
use serde_json::Value;

fn seed() -> std::path::PathBuf {
    repo().join("../shared/kb/Q269588.txt")
}

fn stacks_json(input: &str) -> (Value, std::process::Output) {
    let triage = Path::new(env!("CARGO_BIN_EXE_triage"));
    let output = common::run_with_stdin(triage, &["stacks", "-", "--format", "json"], input);
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

/// The article's stack as WinDbg's `kb` prints it, with `{MAPI}` for the sixth frame.
const KB_STACK: &str = "\
ChildEBP RetAddr  Args to Child
0514efcc 77f640fc 04930000 40530000 0514eff8 NTDLL!RtlpFindAndCommitPages+0xde
0514f008 77f64830 04930000 000000b0 048b0588 NTDLL!RtlpExtendHeap+0x56
0514f0d0 6fff1921 04930000 00000001 000000a8 NTDLL!RtlAllocateHeap+0x1ae
0514f0f4 6fff1383 00000015 00000000 0000009e EXCHMEM!MpHeapAlloc+0x101
0514f104 6facfa8b 0000009e 6facfb25 048b0588 EXCHMEM!ExchMHeapAlloc+0x13
0514f10c 6facfb25 048b0588 00000000 0000009e {MAPI}
0514f11c 6fa960bf 048b0588 00000000 0000009e MAPI32!LH_ExtHeapAlloc+0x15
0514f138 6fa96118 00000001 048b0588 0514f16c MAPI32!MAPIAllocateBufferExt+0x2f
0514f14c 00593ce1 00000096 0514f16c 00000001 MAPI32!MAPIAllocateBuffer+0x28
0514f16c 00593ae3 063c7428 405904fc 00000000 EMSMTA!HrStrAToStrW+0x67
00000001 00000000 00000000 00000000 00000000 EMSMTA!HrTrackWriteLogA+0x187
";

#[test]
fn an_unnamed_frame_in_a_text_stack_gives_no_finding() {
    // Named, the stack is Q269588 confirmed.
    let named = KB_STACK.replace("{MAPI}", "MAPI32!LH_IntHeapAlloc+0xb");
    let (report, _) = stacks_json(&named);
    assert_eq!(report["findings"][0]["rule"], "Q269588");
    assert_eq!(report["findings"][0]["confidence"], "confirmed");

    // One frame without a function name: a text stack's module alone is no evidence, so
    // there is no finding at all, not a probable one.
    let unnamed = KB_STACK.replace("{MAPI}", "MAPI32+0x3fa8b");
    let (report, output) = stacks_json(&unnamed);
    assert_eq!(output.status.code(), Some(0));
    let frame = &report["threads"][0]["frames"][5];
    assert_eq!(frame["module"], "MAPI32");
    assert_eq!(frame["function"], Value::Null);
    assert_eq!(frame["trust"], "text");
    assert_eq!(report["findings"], serde_json::json!([]));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("unnamed.txt");
    std::fs::write(&file, &unnamed).unwrap();
    let text = String::from_utf8(triage(&["stacks", file.to_str().unwrap()]).stdout).unwrap();
    assert!(text.contains("  verdict: not a known issue"), "{text}");
    assert!(text.contains("  known issues: none\n"), "{text}");
}
