//! End-to-end verdicts on our own generated corpus: every case of `corpus/expected.json`,
//! and the KB reconstruction printed as the article prints it.

use crate::common::{self, dump_json, dump_json_with, repo, triage_dump};
use serde_json::Value;

/// Generates the corpus into a fresh temporary directory (never into the repository).
fn generated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    triage_corpus::generate(dir.path()).expect("corpus generates");
    dir
}

fn expected_cases() -> Vec<Value> {
    let text = std::fs::read(repo().join("corpus/expected.json")).unwrap();
    let expected: Value = serde_json::from_slice(&text).unwrap();
    expected["cases"].as_array().unwrap().clone()
}

#[test]
fn every_generated_case_gets_its_expected_verdict() {
    let dir = generated();
    let symbols = dir.path().join("symbols");
    let cases = expected_cases();
    assert!(
        cases.len() >= 11,
        "expected.json lists {} cases",
        cases.len()
    );
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let dump = dir.path().join(case["file"].as_str().unwrap());
        let (report, output) = dump_json(&dump, &[&symbols]);
        assert_eq!(
            report["status"], case["status"],
            "{name}: {}",
            report["error"]
        );
        let expected_exit = if case["status"] == "error" { 2 } else { 0 };
        assert_eq!(output.status.code(), Some(expected_exit), "{name}");
        if let Some(kind) = case["error_kind"].as_str() {
            assert_eq!(report["error"]["kind"], kind, "{name}");
        }
        if case["crash"].is_object() {
            for key in ["thread_id", "code", "address"] {
                assert_eq!(
                    report["crash"][key], case["crash"][key],
                    "{name}: crash {key}"
                );
            }
        }
        let findings: Vec<Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                serde_json::json!({
                    "rule": f["rule"], "confidence": f["confidence"],
                    "thread_id": f["thread_id"], "fix_installed": f["fix_installed"],
                })
            })
            .collect();
        assert_eq!(Value::from(findings), case["findings"], "{name}: findings");
    }
}

#[test]
fn the_reconstruction_walks_to_the_articles_eleven_frames() {
    let example = repo().join("corpus/examples");
    let (report, _) = dump_json(&example.join("q269588.dmp"), &[&example.join("symbols")]);
    let crashed = report["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["crashed"] == true)
        .expect("a crashing thread");
    let names: Vec<String> = crashed["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let module = f["module"].as_str().unwrap_or("?").to_lowercase();
            let stem = module
                .rsplit_once('.')
                .map_or(module.clone(), |(s, _)| s.to_string());
            format!(
                "{stem}!{}+{}",
                f["function"].as_str().unwrap_or("?"),
                f["offset"].as_str().unwrap_or("?")
            )
        })
        .collect();
    let article: Vec<String> = article_rows()
        .iter()
        .map(|row| row[5].to_lowercase())
        .collect();
    let ours: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    assert_eq!(ours, article);
    let finding = &report["findings"][0];
    assert_eq!(finding["rule"], "Q269588");
    assert_eq!(
        finding["matched_frames"],
        serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    );
}

/// The article's stack rows as `[ChildEBP, RetAddr, Arg1, Arg2, Arg3, Symbol]`, read with a
/// plain pattern so this test does not depend on the parser under test.
fn article_rows() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(repo().join("../shared/kb/Q269588.txt")).unwrap();
    let words: Vec<&str> = text.split_whitespace().collect();
    let is_hex8 = |w: &str| w.len() == 8 && w.chars().all(|c| c.is_ascii_hexdigit());
    words
        .windows(6)
        .filter(|w| w[..5].iter().all(|x| is_hex8(x)) && w[5].contains('!'))
        .map(|w| w.iter().map(|s| s.to_string()).collect())
        .collect()
}

/// The three argument slots whose stack word is the saved-EBP chain in the example
/// (`q269588`): the article's frames 4–6 were frame-pointer-omitted, so WinDbg showed the
/// argument 0x9e where a frame-pointer walk needs the saved EBP (see corpus/README.md).
/// `q269588_fpo` has no such slots.
const FPO_SLOTS: [(usize, usize, &str); 3] =
    [(3, 4, "0514f10c"), (4, 2, "0514f11c"), (5, 4, "0514f138")];

/// The crashing thread's rows in `triage dump --format kb` of `dump`, split into words, and
/// the thread's whole block for messages.
fn kb_crashed_rows(dump: &std::path::Path, symbols: &std::path::Path) -> (Vec<Vec<String>>, String) {
    let output = triage_dump(dump, &[symbols], &["--format", "kb"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    let crashed_block = text
        .split("\n\n")
        .find(|block| block.starts_with('#'))
        .expect("the crashing thread is marked with #")
        .to_string();
    let rows = crashed_block
        .lines()
        .skip(2)
        .map(|line| line.split_whitespace().map(str::to_lowercase).collect())
        .collect();
    (rows, crashed_block)
}

#[test]
fn kb_format_prints_the_articles_lines() {
    let example = repo().join("corpus/examples");
    let (ours, crashed_block) =
        kb_crashed_rows(&example.join("q269588.dmp"), &example.join("symbols"));
    let mut article = article_rows();
    assert_eq!(ours.len(), article.len(), "{crashed_block}");
    for (row, column, ours_there) in FPO_SLOTS {
        assert_eq!(article[row][column], "0000009e");
        article[row][column] = ours_there.to_string();
    }
    for (line, (ours, theirs)) in ours.iter().zip(&article).enumerate() {
        let theirs: Vec<String> = theirs.iter().map(|w| w.to_lowercase()).collect();
        assert_eq!(ours, &theirs, "line {line}");
    }
}

/// Issue 13: with the frames the article had without a frame pointer walked by their `STACK
/// WIN` records, `kb` must print every number of the article's 11 lines, read from the article
/// itself: each `ChildEBP`, `RetAddr` and argument, and the call site.
#[test]
fn kb_format_prints_every_value_of_the_articles_lines_for_the_fpo_build() {
    let dir = generated();
    let (ours, crashed_block) = kb_crashed_rows(
        &dir.path().join("q269588_fpo.dmp"),
        &dir.path().join("symbols"),
    );
    let article = article_rows();
    assert_eq!(article.len(), 11, "the article prints 11 lines");
    assert_eq!(ours.len(), article.len(), "{crashed_block}");
    let number = |word: &str| u32::from_str_radix(word, 16).ok();
    const COLUMNS: [&str; 5] = ["ChildEBP", "RetAddr", "Arg1", "Arg2", "Arg3"];
    let (mut compared, mut args, mut differing) = (0, 0, Vec::new());
    for (line, (ours, theirs)) in ours.iter().zip(&article).enumerate() {
        assert_eq!(ours.len(), 6, "line {line}: {crashed_block}");
        for (column, name) in COLUMNS.iter().enumerate() {
            let theirs = number(&theirs[column]).expect("the article prints hex");
            compared += 1;
            args += usize::from(column >= 2);
            if number(&ours[column]) != Some(theirs) {
                differing.push(format!(
                    "line {line} {name}: article {theirs:08x}, ours {}",
                    ours[column]
                ));
            }
        }
        assert_eq!(ours[5], theirs[5].to_lowercase(), "line {line} call site");
    }
    assert_eq!((compared, args), (55, 33), "11 ChildEBPs, 11 RetAddrs, 33 args");
    assert!(
        differing.is_empty(),
        "{} of {compared} values differ:\n{}\n{crashed_block}",
        differing.len(),
        differing.join("\n")
    );
}

#[test]
fn no_shared_corpus_dump_is_a_known_issue() {
    // None of the public test dumps is an Exchange crash, so no rule may fire.
    for dump in common::shared_dumps() {
        let (report, _) = dump_json(&dump, &[]);
        assert_eq!(
            report["findings"],
            serde_json::json!([]),
            "{}",
            dump.display()
        );
    }
}

#[test]
fn explain_names_the_missing_frame_of_a_near_miss() {
    let dir = generated();
    let symbols = dir.path().join("symbols");
    let dump = dir.path().join("heap_other_callers.dmp");
    let (report, _) = dump_json_with(&dump, &[&symbols], &["--explain"]);
    let miss = &report["near_misses"][0];
    assert_eq!(miss["rule"], "Q269588", "{report}");
    assert!(miss["matched"].as_u64().unwrap() >= 3);
    assert!(miss["missing"][0].as_str().unwrap().starts_with("missing "));
}

#[test]
fn the_text_output_opens_with_a_one_line_verdict() {
    let dir = generated();
    let symbols = dir.path().join("symbols");
    for case in expected_cases() {
        let dump = dir.path().join(case["file"].as_str().unwrap());
        let output = triage_dump(&dump, &[&symbols], &[]);
        let text = String::from_utf8(output.stdout).unwrap();
        let verdict = text.lines().nth(1).unwrap();
        let expected = match (&case["findings"][0], case["status"].as_str()) {
            (_, Some("error")) => "verdict: unreadable: ".to_string(),
            (Value::Null, _) => "verdict: not a known issue".to_string(),
            (finding, _) => format!(
                "verdict: KNOWN ISSUE Q269588 ({}) on thread {}; fix {}",
                finding["confidence"].as_str().unwrap(),
                finding["thread_id"],
                if finding["fix_installed"] == true {
                    "Mapi32.dll 5.5.2652.85 IS installed"
                } else {
                    "NOT installed"
                },
            ),
        };
        assert!(
            verdict.trim_start().starts_with(&expected),
            "{}: {verdict}",
            case["name"]
        );
    }
}
