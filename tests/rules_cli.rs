//! End-to-end tests of `triage rules ...`, `--rules` and `--explain`.

use crate::common::{self, repo, triage};

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn list_and_show_the_builtin_rule() {
    let list = triage(&["rules", "list"]);
    assert!(stdout(&list).starts_with("Q269588\tMicrosoft Exchange 5.5\t"));
    let show = triage(&["rules", "show", "q269588"]);
    let text = stdout(&show);
    assert!(text.contains("\"MAPI32!LH_IntHeapAlloc\""), "{text}");
    assert!(text.contains("version = \"5.5.2652.85\""), "{text}");
    let missing = triage(&["rules", "show", "Q1"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn show_prints_a_rule_file_that_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shown.toml");
    std::fs::write(&file, triage(&["rules", "show", "Q269588"]).stdout).unwrap();
    let check = triage(&["rules", "check", file.to_str().unwrap()]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn check_reports_file_and_line_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[rule]]\nid = \"X1\"\ntitle = \"t\"\nframes = [\"a!b\"]\n\n[rule.fixed_in]\nmodule = \"a.dll\"\nversion = \"one.two\"\n",
    )
    .unwrap();
    let check = triage(&["rules", "check", file.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(stderr.contains("bad.toml:6: fixed_in.version"), "{stderr}");
}

#[test]
fn user_rules_join_the_builtin_pack_on_every_thread() {
    // A rule for the idle threads of the reconstruction, which no built-in rule covers.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("idle.toml"),
        "[[rule]]\nid = \"IDLE-TIMER\"\ntitle = \"timer thread waiting\"\nframes = [\"ntdll!Zw*\", \"kernel32!WaitForSingleObjectEx\", \"emsmta!MtaTimerThread\"]\n",
    )
    .unwrap();
    let example = repo().join("corpus/examples");
    let (report, _) = common::dump_json_with(
        &example.join("q269588.dmp"),
        &[&example.join("symbols")],
        &["--rules", dir.path().to_str().unwrap()],
    );
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["Q269588", "IDLE-TIMER"]);
}

#[test]
fn a_broken_rules_argument_is_a_usage_error() {
    let output = triage(&["rules", "list", "--rules", "/nonexistent/rules.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("/nonexistent/rules.toml: cannot read")
    );
}
