//! Shared helpers for the end-to-end tests: locating inputs and running the built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `../shared/corpus`, read in place and never copied.
pub fn shared_corpus() -> PathBuf {
    repo().join("../shared/corpus")
}

/// A path inside the shared corpus.
pub fn shared(relative: &str) -> PathBuf {
    shared_corpus().join(relative)
}

/// Runs `triage` with `args`, with `_NT_SYMBOL_PATH` cleared so the host cannot leak in.
pub fn triage(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(args)
        .env_remove("_NT_SYMBOL_PATH")
        .output()
        .expect("the triage binary runs")
}

/// Runs `triage dump DUMP [--symbols S]... EXTRA...`.
pub fn triage_dump(dump: &Path, symbols: &[&Path], extra: &[&str]) -> Output {
    let mut args = vec!["dump", dump.to_str().unwrap()];
    for root in symbols {
        args.extend(["--symbols", root.to_str().unwrap()]);
    }
    args.extend(extra);
    let output = triage(&args);
    assert_no_panic(&output);
    output
}

/// Runs `triage dump FILE --format json [--symbols S]...` and parses the report.
pub fn dump_json(dump: &Path, symbols: &[&Path]) -> (Value, Output) {
    dump_json_with(dump, symbols, &[])
}

/// Like [`dump_json`], with more arguments; the report is checked against the schema.
pub fn dump_json_with(dump: &Path, symbols: &[&Path], extra: &[&str]) -> (Value, Output) {
    let output = triage_dump(dump, symbols, &[extra, &["--format", "json"]].concat());
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout of triage dump {} is not JSON ({e}): {}",
            dump.display(),
            String::from_utf8_lossy(&output.stdout)
        )
    });
    assert_valid_report(&report);
    (report, output)
}

/// Fails unless `report` follows the committed JSON Schema of the report.
pub fn assert_valid_report(report: &Value) {
    static VALIDATOR: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let text = std::fs::read_to_string(repo().join("schema/report.schema.json")).unwrap();
        jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
    });
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "report breaks the schema: {errors:?}");
}

/// Fails when the process panicked or was killed by a signal.
pub fn assert_no_panic(output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(
        output.status.code().is_some(),
        "killed by a signal: {stderr}"
    );
}

/// Every file that claims to be a dump, by extension or by its `MDMP` signature.
pub fn shared_dumps() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![shared_corpus()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("shared corpus is readable") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if is_dump_candidate(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn is_dump_candidate(path: &Path) -> bool {
    let by_name = path
        .extension()
        .is_some_and(|ext| ext == "dmp" || ext == "mdmp");
    let by_signature = std::fs::read(path).is_ok_and(|bytes| bytes.starts_with(b"MDMP"));
    by_name || by_signature
}

/// The path of an external tool a test needs, found on PATH. When it is missing the test
/// is skipped loudly, unless `require_var` is set to `1` (CI sets it, having installed the
/// tool), in which case the test fails.
pub fn external_tool(name: &str, require_var: &str) -> Option<PathBuf> {
    use std::io::Write;
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var(require_var).as_deref() != Ok("1"),
            "{name} is required ({require_var}=1) but not installed"
        );
        // Straight to the stream, not eprintln!, so that the test harness does not swallow it.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: {name} not installed ({require_var}=1 makes this fail) ***\n"
        );
    }
    found
}

/// Runs `program` with `args`, writes `input` to its standard input and waits for it.
pub fn run_with_stdin(program: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = std::process::Command::new(program)
        .args(args)
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
    child.wait_with_output().unwrap()
}
