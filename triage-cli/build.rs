//! Finds the end-to-end tests: every `../tests/*.rs` (but `main.rs`) becomes a module of the
//! one `end_to_end` test binary, so a test file dropped into `tests/` is compiled and run
//! without being registered anywhere. The list goes to `$OUT_DIR/end_to_end_tests.rs`, which
//! `tests/main.rs` includes.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let tests = Path::new(&manifest_dir).join("../tests");
    // A file added, removed or renamed in tests/ changes its listing, so the list is redone.
    println!("cargo::rerun-if-changed={}", tests.display());

    let tests = tests
        .canonicalize()
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", tests.display()));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&tests)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", tests.display()))
        .map(|entry| entry.expect("tests/ is readable").path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "rs"))
        .filter(|path| path.file_name().is_some_and(|name| name != "main.rs"))
        .collect();
    files.sort();

    let mut modules = String::new();
    for path in &files {
        let stem = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or("");
        assert!(
            is_identifier(stem),
            "{}: the name of a test file becomes its module's name, so it must be a Rust \
             identifier (letters, digits and `_`, not starting with a digit)",
            path.display()
        );
        let path = path
            .to_str()
            .unwrap_or_else(|| panic!("{path:?} is not UTF-8"));
        writeln!(modules, "#[path = {path:?}]\nmod {stem};").unwrap();
    }
    let out_dir = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    let out = Path::new(&out_dir).join("end_to_end_tests.rs");
    std::fs::write(&out, modules).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first == '_' || first.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && name != "_"
}
