//! The text-stack parser on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let parsed = triage::text::parse_stacks(text);
    for thread in &parsed.threads {
        for (index, frame) in thread.frames.iter().enumerate() {
            assert_eq!(frame.index, index);
        }
    }
});
