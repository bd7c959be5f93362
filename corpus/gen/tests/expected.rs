//! `corpus/expected.json` is hand-maintained (the triage tests own its verdict fields); these
//! checks keep its facts about the dumps themselves true.

mod common;

use common::{corpus_dir, module_list, module_version, sym_path, thread_ids, Generated};
use minidump::{Minidump, MinidumpException};
use serde_json::Value;

fn expected_cases() -> Vec<Value> {
    let text = std::fs::read_to_string(corpus_dir().join("expected.json")).unwrap();
    let json: Value = serde_json::from_str(&text).expect("expected.json is JSON");
    json["cases"].as_array().expect("cases array").clone()
}

/// The dump of `case`, when the `minidump` crate can open it at all.
fn open(corpus: &Generated, case: &Value) -> Option<Minidump<'static, Vec<u8>>> {
    let bytes = std::fs::read(corpus.path(case["file"].as_str().unwrap())).unwrap();
    Minidump::read(bytes).ok()
}

#[test]
fn lists_every_generated_case_in_order() {
    let corpus = Generated::new();
    let names: Vec<_> = expected_cases()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["file"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let generated: Vec<_> = corpus
        .cases
        .iter()
        .map(|c| (c.name.to_string(), c.file_name.clone()))
        .collect();
    assert_eq!(names, generated);
}

#[test]
fn crash_records_match_the_exception_streams() {
    let corpus = Generated::new();
    for case in expected_cases() {
        let name = &case["name"];
        if case["crash"].is_null() {
            assert_eq!(
                case["status"], "error",
                "{name}: only unreadable dumps lack a crash"
            );
            continue;
        }
        let dump = open(&corpus, &case).expect("readable dump");
        let exception: MinidumpException = dump.get_stream().expect("exception stream");
        let record = &exception.raw.exception_record;
        let crash = &case["crash"];
        assert_eq!(crash["thread_id"], exception.thread_id, "{name}");
        assert_eq!(
            crash["code"],
            format!("{:#x}", record.exception_code),
            "{name}"
        );
        let fault_address = record.exception_information[1];
        assert_eq!(crash["address"], format!("{fault_address:#x}"), "{name}");
    }
}

#[test]
fn findings_name_listed_threads_and_the_loaded_mapi32_fix_state() {
    let corpus = Generated::new();
    for case in expected_cases() {
        let name = &case["name"];
        for finding in case["findings"].as_array().unwrap() {
            let dump = open(&corpus, &case).expect("readable dump");
            let thread_id = finding["thread_id"].as_u64().unwrap() as u32;
            assert!(thread_ids(&dump).contains(&thread_id), "{name}");
            let version = module_version(&dump, "MAPI32.dll").expect("MAPI32 loaded");
            let fixed = version == "5.5.2652.85";
            assert!(fixed || version == "5.5.2652.57", "{name}: {version}");
            assert_eq!(finding["fix_installed"], fixed, "{name}");
        }
    }
}

#[test]
fn symbols_flag_says_whether_every_module_has_a_sym_file() {
    let corpus = Generated::new();
    for case in expected_cases() {
        let resolves = open(&corpus, &case).is_some_and(|dump| {
            dump.get_stream::<minidump::MinidumpModuleList>().is_ok()
                && module_list(&dump)
                    .iter()
                    .all(|m| sym_path(&corpus.symbols(), m).is_file())
        });
        assert_eq!(case["symbols"], resolves, "{}", case["name"]);
    }
}
