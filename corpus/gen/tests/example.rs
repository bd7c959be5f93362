//! The committed example must be exactly what the generator writes, and generation must be
//! deterministic, so nobody has to regenerate to trust `corpus/examples/`.

mod common;

use common::corpus_dir;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

const REFRESH: &str = "refresh with `cargo run -p triage-corpus -- --example corpus/examples`";

/// Every file under `root`, by path relative to it, with its bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                let rel = rel.to_string_lossy().replace('\\', "/");
                files.insert(rel, fs::read(&path).expect("readable file"));
            }
        }
    }
    files
}

#[test]
fn committed_example_is_what_the_generator_writes() {
    let fresh = tempfile::tempdir().unwrap();
    triage_corpus::generate_example(fresh.path()).unwrap();
    let committed = tree(&corpus_dir().join("examples"));
    let generated = tree(fresh.path());
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        generated.keys().collect::<Vec<_>>(),
        "file sets differ; {REFRESH}"
    );
    for (name, bytes) in &generated {
        assert!(committed[name] == *bytes, "{name} differs; {REFRESH}");
    }
}

#[test]
fn committed_example_is_small() {
    let total: usize = tree(&corpus_dir().join("examples"))
        .values()
        .map(Vec::len)
        .sum();
    assert!(total < 100 * 1024, "examples take {total} bytes");
}

#[test]
fn generation_is_deterministic() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    triage_corpus::generate(a.path()).unwrap();
    triage_corpus::generate(b.path()).unwrap();
    assert!(tree(a.path()) == tree(b.path()));
}

#[test]
fn example_is_the_main_case_of_the_full_corpus() {
    let (full, example) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    triage_corpus::generate(full.path()).unwrap();
    let case = triage_corpus::generate_example(example.path()).unwrap();
    assert_eq!(case.name, triage_corpus::EXAMPLE_CASE);
    let full = tree(full.path());
    for (name, bytes) in tree(example.path()) {
        assert!(full[&name] == bytes, "{name} differs from the full corpus");
    }
}
