//! `adversarial_dump`: a valid dump whose every stack word a scanning walker takes for a
//! return address, and that no symbols can tame.

mod common;

use common::{module_list, sym_path, Generated};
use minidump::{Minidump, MinidumpMemoryList, MinidumpThreadList};
use minidump_unwind::FrameTrust;

fn read(bytes: Vec<u8>) -> Minidump<'static, Vec<u8>> {
    Minidump::read(bytes).expect("adversarial dump parses")
}

#[test]
fn default_size_has_200_threads_of_64_kib_stacks_of_code_pointers() {
    let dump = read(triage_corpus::adversarial_dump(200, 64));
    let threads: MinidumpThreadList = dump.get_stream().unwrap();
    let memory: MinidumpMemoryList = dump.get_stream().unwrap();
    let modules = module_list(&dump);
    assert_eq!(threads.threads.len(), 200);
    for thread in &threads.threads {
        let id = thread.raw.thread_id;
        let start = thread.raw.stack.start_of_memory_range;
        let stack = memory
            .memory_at_address(start)
            .expect("stack in memory list");
        assert_eq!(stack.size, 64 * 1024, "thread {id}");
        for word in stack.bytes.chunks_exact(4) {
            let address = u32::from_le_bytes(word.try_into().unwrap());
            assert!(
                modules.module_at_address(address.into()).is_some(),
                "thread {id}: {address:#x} points into no module"
            );
        }
        let context = thread.context(&dump.get_stream().unwrap(), None).unwrap();
        let ebp = context.get_register("ebp").unwrap();
        assert!(
            memory.memory_at_address(ebp).is_none(),
            "thread {id}: EBP {ebp:#x} readable"
        );
    }
}

#[test]
fn no_symbols_exist_for_its_modules() {
    let corpus = Generated::new();
    let dump = read(triage_corpus::adversarial_dump(1, 4));
    for module in module_list(&dump).iter() {
        assert!(!sym_path(&corpus.symbols(), module).exists());
    }
}

#[test]
fn a_walker_makes_every_stack_word_a_scanned_frame() {
    let (threads, stack_kib) = (3, 2);
    let dump = read(triage_corpus::adversarial_dump(threads, stack_kib));
    let no_symbols = tempfile::tempdir().unwrap();
    let state = common::walk(&dump, no_symbols.path().to_path_buf());
    assert_eq!(state.threads.len(), threads);
    for thread in &state.threads {
        let words = stack_kib * 1024 / 4;
        assert_eq!(
            thread.frames.len(),
            1 + words,
            "thread {}",
            thread.thread_id
        );
        assert!(thread.frames[1..]
            .iter()
            .all(|f| f.trust == FrameTrust::Scan));
    }
}
