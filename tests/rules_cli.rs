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
fn check_warns_about_rules_too_generic_to_trust_without_failing() {
    let dir = tempfile::tempdir().unwrap();
    let generic = dir.path().join("generic.toml");
    std::fs::write(
        &generic,
        "[[rule]]\nid = \"SHORT\"\ntitle = \"t\"\nframes = [\"mapi32!A\", \"emsmta!B\"]\n\n\
         [[rule]]\nid = \"SYSTEM\"\ntitle = \"t\"\nframes = [\n  \"ntdll!RtlAllocateHeap\",\n  \
         \"KERNEL32.dll!HeapAlloc\",\n  \"msvcrt!malloc\",\n]\n\n\
         [[rule]]\nid = \"SPECIFIC\"\ntitle = \"t\"\nframes = [\"ntdll!A\", \"mapi32!B\", \"emsmta!C\"]\n",
    )
    .unwrap();
    let check = triage(&["rules", "check", generic.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(0), "warnings do not fail: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let at = |line: usize| format!("{}:{line}: warning: rule ", generic.display());
    assert_eq!(
        lines,
        [
            format!(
                "{}SHORT is too generic to trust: 2 frame(s), fewer than 3; \
                 a stack this short recurs in unrelated crashes",
                at(4)
            ),
            format!(
                "{}SYSTEM is too generic to trust: its frames are only in system modules \
                 (ntdll, kernel32, msvcrt), which are on most stacks; add a frame of the \
                 product's own code",
                at(10)
            ),
        ]
    );
    assert!(
        stdout(&check).ends_with("generic.toml: 3 rule(s) ok, 2 warning(s)\n"),
        "{}",
        stdout(&check)
    );

    // An error still fails the check, next to a file that only has warnings.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[rule]]\nid = \"X\"\ntitle = \"t\"\nframes = [\"no-bang\"]\n").unwrap();
    let check = triage(&[
        "rules",
        "check",
        generic.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(check.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(stderr.contains("bad.toml:4: \"no-bang\" is not MODULE!FUNCTION"), "{stderr}");
    assert!(stderr.contains("generic.toml:4: warning: rule SHORT"), "{stderr}");
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
