//! The dumps, read back with the `minidump` crates the triage tool uses, must show the
//! article's stack exactly, and nothing a frame-pointer walk would not find.

mod common;

use common::{
    assert_articles_frames, assert_articles_frames_unwound, kb_rows, module_list, sym_path,
    Generated,
};
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

/// The crashing thread's saved stack: its address range and its words.
struct CrashStack {
    start: u32,
    end: u32,
    bytes: Vec<u8>,
}

impl CrashStack {
    fn word(&self, addr: u32) -> u32 {
        let at = (addr - self.start) as usize;
        u32::from_le_bytes(self.bytes[at..at + 4].try_into().unwrap())
    }
}

fn crash_stack(dump: &minidump::Minidump<'static, Vec<u8>>) -> CrashStack {
    let threads: MinidumpThreadList = dump.get_stream().unwrap();
    let memory: MinidumpMemoryList = dump.get_stream().unwrap();
    let thread = threads.get_thread(CRASH_THREAD).expect("thread 1240");
    let start = thread.raw.stack.start_of_memory_range;
    let stack = memory
        .memory_at_address(start)
        .expect("stack in memory list");
    let end = start + stack.size;
    assert!(start <= 0x0514_ef90 && end >= 0x0514_f180);
    CrashStack {
        start: start as u32,
        end: end as u32,
        bytes: stack.bytes.to_vec(),
    }
}

/// The rows of the article that ran without a frame pointer in `q269588_fpo`.
const FPO_ROWS: [usize; 3] = [4, 5, 6];

#[test]
fn fpo_build_walks_to_the_articles_eleven_frames_through_stack_win() {
    let corpus = Generated::new();
    let state = walk(&corpus, "q269588_fpo.dmp");
    let crashed = &state.threads[state.requesting_thread.expect("a crashing thread")];
    assert_eq!(crashed.thread_id, CRASH_THREAD);
    // Each FPO frame's caller is found with the FPO frame's STACK WIN record.
    let by_cfi: Vec<usize> = FPO_ROWS.iter().map(|row| row + 1).collect();
    assert_articles_frames_unwound(&crashed.frames, &by_cfi);
    // WinDbg's ChildEBP of a frame is 8 below its caller's ESP (the slot under the return
    // address), whether the frame has a frame pointer or not; the walk puts every caller's
    // ESP where the article's ChildEBP says, and leaves EBP alone through the FPO frames.
    let rows = kb_rows();
    for (i, pair) in crashed.frames.windows(2).enumerate() {
        let caller_esp = pair[1].context.get_register("esp").expect("caller ESP");
        assert_eq!(
            caller_esp - 8,
            u64::from(rows[i].ebp),
            "ChildEBP of row {i}"
        );
        let ebp = pair[0].context.get_register("ebp").expect("EBP");
        if FPO_ROWS.contains(&i) {
            assert_eq!(
                ebp, 0x0514_f138,
                "row {i} runs with MAPIAllocateBufferExt's EBP"
            );
        } else {
            assert_eq!(ebp, u64::from(rows[i].ebp), "EBP of row {i}");
        }
    }
}

#[test]
fn fpo_build_stack_holds_every_word_the_article_prints() {
    let corpus = Generated::new();
    let dump = corpus.read("q269588_fpo.dmp");
    let stack = crash_stack(&dump);
    let (start, end, word) = (stack.start, stack.end, |addr| stack.word(addr));
    let rows = kb_rows();
    let mut claimed = BTreeSet::new();
    let mut compared = 0;
    for (i, row) in rows.iter().enumerate().filter(|(_, r)| r.ebp >= start) {
        let slots = (row.ebp + 4..).step_by(4);
        for (slot, value) in slots.zip([row.ret].iter().chain(&row.args)) {
            assert_eq!(word(slot), *value, "row {i} at {slot:#x}");
            claimed.insert(slot);
            compared += 1;
        }
        if !FPO_ROWS.contains(&i) {
            // The saved EBP: the next frame-pointer frame's ChildEBP (FPO frames keep EBP).
            let caller = (i + 1..rows.len()).find(|j| !FPO_ROWS.contains(j)).unwrap();
            assert_eq!(word(row.ebp), rows[caller].ebp, "saved EBP of row {i}");
            claimed.insert(row.ebp);
        }
    }
    assert_eq!(
        compared,
        10 * 4,
        "RetAddr and args of every row but the last (EBP=1)"
    );
    for addr in (start..end).step_by(4) {
        if !claimed.contains(&addr) {
            assert_eq!(word(addr), 0, "unclaimed slot {addr:#x}");
        }
    }
}

#[test]
fn fpo_build_has_its_own_mapi32_and_exchmem_symbols_with_stack_win() {
    let corpus = Generated::new();
    let dump = corpus.read("q269588_fpo.dmp");
    let plain = module_list(&corpus.read("q269588.dmp"));
    for module in module_list(&dump).iter() {
        let name = module.code_file().rsplit('\\').next().unwrap().to_string();
        let sym = std::fs::read_to_string(sym_path(&corpus.symbols(), module)).unwrap();
        let records = sym
            .lines()
            .filter(|l| l.starts_with("STACK WIN 0 "))
            .count();
        let same_build = plain
            .iter()
            .any(|m| m.debug_identifier() == module.debug_identifier());
        match name.as_str() {
            "MAPI32.dll" => assert_eq!((records, same_build), (2, false)),
            "EXCHMEM.DLL" => assert_eq!((records, same_build), (1, false)),
            _ => assert_eq!((records, same_build), (0, true), "{name}"),
        }
    }
    assert_eq!(
        common::module_version(&dump, "MAPI32.dll").as_deref(),
        Some("5.5.2652.57")
    );
}

#[test]
fn stack_memory_is_the_articles_except_three_argument_slots() {
    let corpus = Generated::new();
    let dump = corpus.read("q269588.dmp");
    let stack = crash_stack(&dump);
    let (start, end, word) = (stack.start, stack.end, |addr| stack.word(addr));

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
    for addr in (start..end).step_by(4) {
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
