//! Symbol index files from the cache directory, as arbitrary bytes: opening one and
//! looking up addresses must never panic or read out of bounds, however it is damaged.
#![no_main]

use breakpad_symbols::{SimpleFrame, SimpleModule};
use libfuzzer_sys::fuzz_target;
use triage::symbols::SymbolIndex;

fuzz_target!(|data: &[u8]| {
    let Ok(index) = SymbolIndex::from_bytes(data.to_vec()) else {
        return;
    };
    let module = SimpleModule::default();
    // Addresses around the start of a module, and some taken from the input itself.
    let taken = data
        .chunks_exact(4)
        .take(16)
        .map(|word| u64::from(u32::from_le_bytes(word.try_into().unwrap())));
    for address in (0..0x4000).step_by(0x101).chain(taken) {
        let mut frame = SimpleFrame::with_instruction(address);
        index.fill_symbol(&module, &mut frame);
    }
});
