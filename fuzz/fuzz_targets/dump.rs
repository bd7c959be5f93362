//! Whole-dump triage from raw bytes, with the bundled example's symbols so symbolized
//! paths (rules, blame) are reached too.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use triage::Triage;

fn engine() -> &'static Triage {
    static ENGINE: OnceLock<Triage> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let symbols = concat!(env!("CARGO_MANIFEST_DIR"), "/../corpus/examples/symbols");
        // Small limits keep each run fast; the caps themselves are under test.
        Triage::builder()
            .symbol_path(symbols)
            .limits(triage::Limits {
                max_frames_per_thread: 256,
                max_walk_work: 20_000,
                ..triage::Limits::default()
            })
            .build()
    })
}

fuzz_target!(|data: &[u8]| {
    let report = engine().dump_bytes("fuzz", data.to_vec());
    // The engine catches panics and reports them; for the fuzzer a caught panic is a bug.
    if let Some(error) = &report.error {
        assert_ne!(error.kind, "panic", "{}", error.message);
    }
});
