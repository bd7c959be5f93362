//! Pasted call stacks: every golden sample parses to its hand-checked expectation, and no
//! input, however mangled, makes the parser panic or misnumber frames.
//!
//! A golden is `tests/golden/text/NAME.json` beside its input `NAME.txt`, or with an
//! `"input"` key naming a file of the shared corpus, read in place. Frames in a golden
//! list `address` and whatever else is set: a missing `module`, `function`, `offset` or
//! `module_offset` means `null`, a missing `trust` means `text`.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use triage::text::{parse_stacks, ParsedStacks};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn golden_dir() -> PathBuf {
    repo().join("tests/golden/text")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn golden(name: &str) -> (String, Value) {
    let expected: Value = serde_json::from_str(&read(&golden_dir().join(format!("{name}.json"))))
        .unwrap_or_else(|e| panic!("{name}.json: {e}"));
    let input = match expected.get("input").and_then(Value::as_str) {
        Some(shared) => repo().join(shared),
        None => golden_dir().join(format!("{name}.txt")),
    };
    (read(&input), expected)
}

/// The parse in the goldens' shape: frames without their index, which is checked apart.
fn actual(parsed: &ParsedStacks) -> Value {
    let threads: Vec<Value> = parsed
        .threads
        .iter()
        .map(|thread| {
            let mut thread = serde_json::to_value(thread).unwrap();
            for frame in thread["frames"].as_array_mut().unwrap() {
                frame.as_object_mut().unwrap().remove("index");
            }
            thread
        })
        .collect();
    json!({
        "formats": parsed.formats,
        "unparsed_lines": parsed.unparsed_lines,
        "threads": threads,
    })
}

/// The golden with the defaults its frames leave out filled in, and its `input` key dropped.
fn expected(mut golden: Value) -> Value {
    golden.as_object_mut().unwrap().remove("input");
    for thread in golden["threads"].as_array_mut().unwrap() {
        for frame in thread["frames"].as_array_mut().unwrap() {
            let frame: &mut Map<String, Value> = frame.as_object_mut().unwrap();
            for key in ["module", "function", "offset", "module_offset"] {
                frame.entry(key).or_insert(Value::Null);
            }
            frame.entry("trust").or_insert(json!("text"));
        }
    }
    golden
}

fn assert_frames_numbered(parsed: &ParsedStacks) {
    for thread in &parsed.threads {
        for (position, frame) in thread.frames.iter().enumerate() {
            assert_eq!(frame.index, position, "thread {}", thread.thread_id);
        }
    }
}

fn check_golden(name: &str) {
    let (input, golden) = golden(name);
    let parsed = parse_stacks(&input);
    assert_frames_numbered(&parsed);
    let mut found = Vec::new();
    differences(
        &actual(&parsed),
        &expected(golden),
        String::new(),
        &mut found,
    );
    assert!(
        found.is_empty(),
        "{name} differs from its golden:\n{}",
        found.join("\n")
    );
}

/// Where two JSON values differ, as `path: actual != expected` lines.
fn differences(actual: &Value, expected: &Value, path: String, found: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for key in a.keys().chain(e.keys().filter(|key| !a.contains_key(*key))) {
                let (a, e) = (a.get(key), e.get(key));
                let (a, e) = (a.unwrap_or(&Value::Null), e.unwrap_or(&Value::Null));
                differences(a, e, format!("{path}/{key}"), found);
            }
        }
        (Value::Array(a), Value::Array(e)) if a.len() == e.len() => {
            for (index, (a, e)) in a.iter().zip(e).enumerate() {
                differences(a, e, format!("{path}/{index}"), found);
            }
        }
        _ if actual != expected => found.push(format!("{path}: {actual} != {expected}")),
        _ => {}
    }
}

macro_rules! goldens {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_golden(stringify!($name));
            }
        )*
        const GOLDENS: &[&str] = &[$(stringify!($name)),*];
    };
}

goldens!(
    windbg_kb_x86,
    windbg_k_x64,
    windbg_kp,
    windbg_threads_x86,
    windbg_threads_x64,
    windbg_analyze_x86,
    windbg_analyze_x64,
    drwatson,
    lldb,
    stackwalk_machine,
    stackwalk_json,
    kb_q269588,
    kb_article_lines,
);

#[test]
fn every_golden_is_tested() {
    let mut on_disk: Vec<String> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut tested: Vec<&str> = GOLDENS.to_vec();
    tested.sort();
    assert_eq!(on_disk, tested);
}

#[test]
fn flattened_article_prose_gives_no_frames() {
    let (input, _) = golden("kb_q269588");
    let parsed = parse_stacks(&input);
    let names: Vec<&str> = parsed.threads[0]
        .frames
        .iter()
        .filter_map(|frame| frame.module.as_deref())
        .collect();
    assert!(!names
        .iter()
        .any(|name| name.eq_ignore_ascii_case("mapi32.dll")));
    assert!(!names.iter().any(|name| name.contains("2652")));
}

#[test]
fn empty_and_noise_only_inputs_have_no_threads() {
    for input in ["", "\n\n", "0:000> kb\nChildEBP RetAddr  Args to Child\n"] {
        assert_eq!(parse_stacks(input), ParsedStacks::default(), "{input:?}");
    }
}

/// Every golden input, for the property test to mangle; read once.
static SAMPLES: LazyLock<Vec<String>> =
    LazyLock::new(|| GOLDENS.iter().map(|name| golden(name).0).collect());

/// One random edit of a sample, at a position taken modulo its length.
#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, String),
    Delete(usize, usize),
    FlipByte(usize, u8),
    SwapLines(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), ".{0,12}").prop_map(|(at, text)| Mutation::Insert(at, text)),
        (any::<usize>(), 0usize..64).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, bit)| Mutation::FlipByte(at, bit)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut bytes = text.as_bytes().to_vec();
    match mutation {
        Mutation::Insert(at, inserted) => {
            let at = at % (bytes.len() + 1);
            bytes.splice(at..at, inserted.bytes());
        }
        Mutation::Delete(at, count) => {
            let at = at % (bytes.len() + 1);
            let end = at.saturating_add(*count).min(bytes.len());
            bytes.drain(at..end);
        }
        Mutation::FlipByte(at, mask) => {
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] ^= mask;
            }
        }
        Mutation::SwapLines(a, b) => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let count = lines.len();
                lines.swap(a % count, b % count);
            }
            return lines.join("\n");
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_text_never_panics(
        // Any text, and text made of the characters stacks are written with.
        input in prop_oneof!["(?s).{0,400}", "[0-9a-fA-F`!+:|#.*()<>@ \t\n\\[\\]x-]{0,400}"],
    ) {
        assert_frames_numbered(&parse_stacks(&input));
    }

    #[test]
    fn mangled_samples_never_panic(
        sample in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let mut text = SAMPLES[sample.index(SAMPLES.len())].clone();
        for mutation in &mutations {
            text = apply(&text, mutation);
        }
        assert_frames_numbered(&parse_stacks(&text));
    }
}
