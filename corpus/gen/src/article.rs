//! The call stack printed in Microsoft KB Q269588 ("XADM: Heap Corruption in MAPI Causes MTA to
//! Stop Responding"), verbatim. Every number here is from the article.

/// One row of WinDbg `kb` output: `ChildEBP RetAddr Arg1 Arg2 Arg3 Module!Function+Offset`.
#[derive(Debug, Clone, Copy)]
pub struct KbRow {
    /// The frame's EBP.
    pub child_ebp: u32,
    /// Return address into the next row's function, stored at `[ChildEBP+4]`.
    pub ret_addr: u32,
    /// The three dwords at `[ChildEBP+8]`, `+0xc`, `+0x10`.
    pub args: [u32; 3],
    pub module: &'static str,
    pub function: &'static str,
    pub offset: u32,
}

const fn row(
    child_ebp: u32,
    ret_addr: u32,
    args: [u32; 3],
    module: &'static str,
    function: &'static str,
    offset: u32,
) -> KbRow {
    KbRow {
        child_ebp,
        ret_addr,
        args,
        module,
        function,
        offset,
    }
}

/// The crashing thread's stack, innermost frame first.
#[rustfmt::skip]
pub const STACK: [KbRow; 11] = [
    row(0x0514efcc, 0x77f640fc, [0x04930000, 0x40530000, 0x0514eff8], "NTDLL", "RtlpFindAndCommitPages", 0xde),
    row(0x0514f008, 0x77f64830, [0x04930000, 0x000000b0, 0x048b0588], "NTDLL", "RtlpExtendHeap", 0x56),
    row(0x0514f0d0, 0x6fff1921, [0x04930000, 0x00000001, 0x000000a8], "NTDLL", "RtlAllocateHeap", 0x1ae),
    row(0x0514f0f4, 0x6fff1383, [0x00000015, 0x00000000, 0x0000009e], "EXCHMEM", "MpHeapAlloc", 0x101),
    row(0x0514f104, 0x6facfa8b, [0x0000009e, 0x6facfb25, 0x048b0588], "EXCHMEM", "ExchMHeapAlloc", 0x13),
    row(0x0514f10c, 0x6facfb25, [0x048b0588, 0x00000000, 0x0000009e], "MAPI32", "LH_IntHeapAlloc", 0xb),
    row(0x0514f11c, 0x6fa960bf, [0x048b0588, 0x00000000, 0x0000009e], "MAPI32", "LH_ExtHeapAlloc", 0x15),
    row(0x0514f138, 0x6fa96118, [0x00000001, 0x048b0588, 0x0514f16c], "MAPI32", "MAPIAllocateBufferExt", 0x2f),
    row(0x0514f14c, 0x00593ce1, [0x00000096, 0x0514f16c, 0x00000001], "MAPI32", "MAPIAllocateBuffer", 0x28),
    row(0x0514f16c, 0x00593ae3, [0x063c7428, 0x405904fc, 0x00000000], "EMSMTA", "HrStrAToStrW", 0x67),
    row(0x00000001, 0x00000000, [0x00000000, 0x00000000, 0x00000000], "EMSMTA", "HrTrackWriteLogA", 0x187),
];

/// The heap handle the article's RtlAllocateHeap was called on (EXCHMEM's heap).
pub const HEAP: u32 = 0x0493_0000;

/// Address RtlpFindAndCommitPages faulted on: its second argument in the article.
pub const FAULT_ADDRESS: u32 = 0x4053_0000;

/// The article's stack slots whose argument value differs from the saved EBP stored there (the
/// callers were frame-pointer-omitted); the dump keeps the saved EBP so the `ChildEBP` column
/// is reproducible by a frame-pointer walk.
pub const OVERWRITTEN_ARG_SLOTS: [u32; 3] = [0x0514_f104, 0x0514_f10c, 0x0514_f11c];

/// Rows (0 = innermost) whose function ran without a frame pointer when the article's dump was
/// taken: `ExchMHeapAlloc`, `LH_IntHeapAlloc` and `LH_ExtHeapAlloc`. In an EBP frame the word
/// at `ChildEBP` is the saved EBP, i.e. the next row's `ChildEBP`; for these three rows the
/// article itself shows another value there (0x9e, as an argument of the row below), so their
/// `ChildEBP` is not a saved frame pointer but the slot below the return address, which is
/// where WinDbg puts an FPO frame's base. Their `ChildEBP`s are [`OVERWRITTEN_ARG_SLOTS`].
pub const FRAME_POINTER_OMITTED: [usize; 3] = [4, 5, 6];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::{find, mta_modules, MAPI32};
    use std::collections::BTreeMap;

    /// The word the article shows at each stack address, as some row's `RetAddr` or argument.
    fn shown_words() -> BTreeMap<u32, u32> {
        let mut words = BTreeMap::new();
        for row in &STACK[..STACK.len() - 1] {
            let slots = (row.child_ebp + 4..).step_by(4);
            for (addr, value) in slots.zip([row.ret_addr].iter().chain(&row.args)) {
                let previous = words.insert(addr, *value);
                assert!(
                    previous.is_none_or(|p| p == *value),
                    "{addr:#x} shown twice"
                );
            }
        }
        words
    }

    /// A row is frame-pointer-omitted when the article shows, at its `ChildEBP`, a word that
    /// is not the next row's `ChildEBP` (the saved EBP an EBP frame keeps there).
    #[test]
    fn frame_pointer_omitted_rows_follow_from_the_articles_numbers() {
        let words = shown_words();
        let omitted: Vec<usize> = STACK
            .windows(2)
            .enumerate()
            .filter(|(_, pair)| {
                words
                    .get(&pair[0].child_ebp)
                    .is_some_and(|&word| word != pair[1].child_ebp)
            })
            .map(|(i, _)| i)
            .collect();
        assert_eq!(omitted, FRAME_POINTER_OMITTED);
        let bases: Vec<u32> = omitted.iter().map(|&i| STACK[i].child_ebp).collect();
        assert_eq!(bases, OVERWRITTEN_ARG_SLOTS);
    }

    /// Each caller's symbol offset in the article is the callee row's return address minus the
    /// caller's start, so the module table must place every function accordingly.
    #[test]
    fn module_table_reproduces_every_article_offset() {
        let modules = mta_modules(MAPI32);
        for pair in STACK.windows(2) {
            let (callee, caller) = (pair[0], pair[1]);
            let module = find(&modules, caller.module);
            assert_eq!(
                module.address(caller.function, caller.offset),
                callee.ret_addr,
                "{}!{}",
                caller.module,
                caller.function
            );
        }
    }
}
