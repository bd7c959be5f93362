//! The end-to-end tests of the built `triage` binary, as one test binary (`end_to_end`).
//!
//! Every other `tests/*.rs` is one of its modules, found by `triage-cli/build.rs`: a new
//! file needs no registration. Run one file's tests with
//! `cargo test -p triage-cli --test end_to_end lldb::`.

mod common;

include!(concat!(env!("OUT_DIR"), "/end_to_end_tests.rs"));
