//! The calls `examples/triage_dump.rs` and `examples/stream_with_custom_rule.rs` make, on
//! the bundled Q269588 dump. Every `cargo test` compiles the examples; this checks that
//! what they show works.

use std::path::{Path, PathBuf};

use triage::model::{Confidence, ErrorKind, FixStatus, Status};
use triage::rules::RuleSet;
use triage::Triage;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/examples")
}

fn builder_with_symbols() -> triage::TriageBuilder {
    Triage::builder().symbol_path(examples_dir().join("symbols").display().to_string())
}

#[test]
fn triage_dump_confirms_q269588_without_its_fix() {
    let report = builder_with_symbols()
        .build()
        .dump_path(&examples_dir().join("q269588.dmp"));

    assert_eq!(report.status, Status::Ok);
    let finding = &report.findings[0];
    assert_eq!(finding.rule, "Q269588");
    assert_eq!(finding.confidence, Confidence::Confirmed);
    assert_eq!(finding.thread_id, 1240);
    assert_eq!(finding.fix_installed, FixStatus::NotInstalled);

    let json: serde_json::Value = serde_json::from_str(&triage::print::json(&report)).unwrap();
    assert_eq!(json["findings"][0]["rule"], "Q269588");
}

#[test]
fn an_inline_rule_judges_every_dump_of_a_stream_with_the_builtin_ones() {
    let mut rules = RuleSet::builtin();
    rules
        .add_toml(
            r#"
[[rule]]
id = "SITE-TRACKING-ALLOC"
title = "Message tracking crashed allocating through MAPI"
frames = ["MAPI32!MAPIAllocateBuffer", "EMSMTA!HrTrackWriteLogA"]
max_gap = 1
threads = "crashing"
"#,
            "inline:site-rules",
        )
        .unwrap();
    let triage = builder_with_symbols().rules(rules).build();

    let example = triage.dump_path(&examples_dir().join("q269588.dmp"));
    let found: Vec<(&str, Confidence)> = example
        .findings
        .iter()
        .map(|finding| (finding.rule.as_str(), finding.confidence))
        .collect();
    assert_eq!(
        found,
        [
            ("Q269588", Confidence::Confirmed),
            ("SITE-TRACKING-ALLOC", Confidence::Confirmed)
        ]
    );

    let missing = triage.dump_path(&examples_dir().join("no-such.dmp"));
    assert_eq!(missing.status, Status::Error);
    assert_eq!(missing.error.unwrap().kind, ErrorKind::Io);
}
