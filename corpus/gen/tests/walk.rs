//! The dumps, read back with the `minidump` crates the triage tool uses, must show the
//! article's stack exactly, and nothing a frame-pointer walk would not find.

mod common;

use common::{assert_articles_frames, kb_rows, module_list, sym_path, Generated};
use minidump::{MinidumpMemoryList, MinidumpThreadList, Module};
use minidump_processor::ProcessState;
use minidump_unwind::FrameTrust;
use std::collections::BTreeSet;

const CRASH_THREAD: u32 = 1240;

fn walk(corpus: &Generated, file: &str) -> ProcessState {
    common::walk(&corpus.read(file), corpus.symbols())
}

#[test]
fn crashing_thread_walks_to_the_articles_eleven_frames() {
    let corpus = Generated::new();
    let state = walk(&corpus, "q269588.dmp");
    let crashed = &state.threads[state.requesting_thread.expect("a crashing thread")];
    assert_eq!(crashed.thread_id, CRASH_THREAD);
    assert_articles_frames(&crashed.frames);
}

#[test]
fn stack_memory_is_the_articles_except_three_argument_slots() {
    let corpus = Generated::new();
    let dump = corpus.read("q269588.dmp");
    let threads: MinidumpThreadList = dump.get_stream().unwrap();
    let memory: MinidumpMemoryList = dump.get_stream().unwrap();
    let thread = threads.get_thread(CRASH_THREAD).expect("thread 1240");
    let start = thread.raw.stack.start_of_memory_range;
    let stack = memory
        .memory_at_address(start)
        .expect("stack in memory list");
    let end = start + stack.size;
    assert!(start <= 0x0514_ef90 && end >= 0x0514_f180);
    let word = |addr: u32| stack.get_memory_at_address::<u32>(addr.into()).unwrap();

    let rows = kb_rows();
    let mut claimed = BTreeSet::new();
    let mut differing_args = Vec::new();
    for (row, caller) in rows.iter().zip(rows.iter().skip(1)) {
        assert_eq!(word(row.ebp), caller.ebp, "saved EBP at {:#x}", row.ebp);
        assert_eq!(word(row.ebp + 4), row.ret, "RetAddr at {:#x}", row.ebp + 4);
        claimed.extend([row.ebp, row.ebp + 4]);
        for (slot, arg) in (row.ebp + 8..).step_by(4).zip(row.args) {
            claimed.insert(slot);
            if word(slot) != arg {
                differing_args.push(slot);
            }
        }
    }
    differing_args.sort();
    differing_args.dedup();
    assert_eq!(differing_args, [0x0514_f104, 0x0514_f10c, 0x0514_f11c]);
    for addr in (start as u32..end as u32).step_by(4) {
        if !claimed.contains(&addr) {
            assert_eq!(word(addr), 0, "unclaimed slot {addr:#x}");
        }
    }
}

#[test]
fn symbolized_cases_walk_by_frame_pointer_with_every_frame_named() {
    let corpus = Generated::new();
    let cases = [
        "q269588",
        "q269588_fixed",
        "q269588_other_thread",
        "heap_other_callers",
        "plain_av",
    ];
    for case in cases {
        let state = walk(&corpus, &format!("{case}.dmp"));
        for thread in &state.threads {
            for (i, frame) in thread.frames.iter().enumerate() {
                let what = format!("{case} thread {} frame {i}", thread.thread_id);
                assert!(frame.function_name.is_some(), "{what} unnamed");
                assert!(
                    matches!(frame.trust, FrameTrust::Context | FrameTrust::FramePointer),
                    "{what} found by {:?}",
                    frame.trust
                );
            }
        }
    }
}

#[test]
fn nosyms_walks_the_same_frames_without_names() {
    let corpus = Generated::new();
    let plain = walk(&corpus, "q269588.dmp");
    let nosyms = walk(&corpus, "q269588_nosyms.dmp");
    let pcs = |s: &ProcessState| -> Vec<Vec<u64>> {
        s.threads
            .iter()
            .map(|t| t.frames.iter().map(|f| f.instruction).collect())
            .collect()
    };
    assert_eq!(pcs(&plain), pcs(&nosyms));
    let frames = nosyms.threads.iter().flat_map(|t| &t.frames);
    assert!(frames.clone().all(|f| f.function_name.is_none()));
    assert!(frames.clone().all(|f| f.module.is_some()));
}

#[test]
fn every_symbolized_module_has_a_sym_file_named_after_its_nb10_debug_id() {
    let corpus = Generated::new();
    let dump = corpus.read("q269588.dmp");
    let modules = module_list(&dump);
    for module in modules.iter() {
        let id = module.debug_identifier().unwrap();
        let expected = format!("{:08X}1", module.raw.time_date_stamp);
        assert!(id.is_pdb20(), "{} is NB10", module.code_file());
        assert_eq!(id.breakpad().to_string(), expected);
        assert!(sym_path(&corpus.symbols(), module).is_file());
    }
    let mapi32 = modules
        .iter()
        .find(|m| m.code_file().ends_with("MAPI32.dll"))
        .unwrap();
    assert_eq!(
        mapi32.debug_identifier().unwrap().breakpad().to_string(),
        "3A2D8E211"
    );
    assert_eq!(mapi32.debug_file().unwrap(), "mapi32.pdb");
}
