//! A hostile but valid dump: many threads whose whole stacks are pointers into the modules'
//! code, with frame pointers smashed, and no symbols. A walker cannot follow EBP, so it scans;
//! without symbols a scanner accepts any word pointing into a module as a return address, so
//! every stack word becomes a frame. Tools must bound their work on such input.

use crate::cases::mta_dump;
use crate::dump::{self, Thread};
use crate::modules::{mta_modules_without_symbols, FIRST_CODE_RVA};
use crate::rng::Rng;
use crate::stack::Stack;
use crate::threads::{x86_context, Registers};
use std::ops::Range;

/// The first stack's lowest address: above emsmta.exe's image (which ends at 0x005ca000).
const FIRST_STACK: u32 = 0x0100_0000;
/// Stacks must end below this, where MAPI32.dll's image and the system DLLs begin.
const STACK_LIMIT: u32 = 0x6f00_0000;
/// Each stack sits in its own reservation, rounded to the 64 KiB allocation unit, with a
/// 64 KiB gap so no stack runs into the next.
const RESERVATION_UNIT: u32 = 0x1_0000;
/// Saved EBP and the fault address: "AAAA", as a string overrunning its stack buffer leaves
/// it, pointing at nothing the dump holds.
const SMASHED: u32 = 0x4141_4141;
/// Thread ids go up in steps of 4 from here; TEBs go down a page at a time from the top one.
const FIRST_THREAD_ID: u32 = 0x200;
const FIRST_TEB: u32 = 0x7ffd_e000;
/// Seed of the code pointers: one fixed hostile dump per size, not a family.
const SEED: u64 = 0x4141_4141;

/// `threads` threads, each with `stack_kib` KiB of stack holding nothing but code addresses,
/// EBP = 0x41414141, modules whose debug ids no `.sym` file has; the first thread faults.
pub fn adversarial_dump(threads: usize, stack_kib: usize) -> Vec<u8> {
    assert!(threads > 0, "a dump needs a thread to fault");
    let modules = mta_modules_without_symbols();
    let code: Vec<Range<u32>> = modules
        .iter()
        .map(|m| m.base + FIRST_CODE_RVA..m.base + m.size)
        .collect();
    let stack_bytes = u32::try_from(stack_kib * 1024).expect("stack fits in 32 bits");
    let reservation = stack_bytes.next_multiple_of(RESERVATION_UNIT) + RESERVATION_UNIT;
    let mut rng = Rng::new(SEED);
    let mut code_pointer = move || {
        let module = rng.pick(&code).clone();
        rng.within(module)
    };
    let threads: Vec<Thread> = (0..threads as u32)
        .map(|k| {
            let start = FIRST_STACK + k * reservation;
            assert!(
                start + stack_bytes <= STACK_LIMIT,
                "{threads} stacks of {stack_kib} KiB do not fit below the DLLs"
            );
            let bytes = (0..stack_bytes / 4)
                .flat_map(|_| code_pointer().to_le_bytes())
                .collect();
            Thread {
                id: FIRST_THREAD_ID + 4 * k,
                teb: FIRST_TEB - 0x1000 * k,
                context: x86_context(code_pointer(), start, SMASHED, Registers::default()),
                stack: Stack {
                    start,
                    bytes,
                    overwritten_args: Vec::new(),
                },
            }
        })
        .collect();
    let crashing = threads[0].id;
    dump::write(&mta_dump(modules, threads, crashing, SMASHED))
}
