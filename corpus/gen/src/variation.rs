//! What makes one share dump differ from another of the same case: the crash happened in
//! another MTA process at another time. Thread ids, the process id, the times, where each
//! stack sits and which heap page faulted change; code addresses, modules and each stack's
//! contents relative to the stack stay, so every variation walks and matches as its case does.

use crate::dump::{Dump, Thread};
use crate::rng::Rng;
use std::collections::BTreeSet;
use std::ops::Range;

/// Windows reserves address space, stacks and heap segments alike, in 64 KiB units.
const ALLOCATION_GRANULARITY: u32 = 0x1_0000;
/// Stack bases are drawn from here: above emsmta.exe's image and the MTA's early heaps, below
/// the article's heap handle (0x04930000).
const STACK_BASES: Range<u32> = 0x0100_0000..0x0480_0000;
/// Faults below this read a field through NULL: the offset is the bug's own, so it stays.
const NULL_PAGE_END: u32 = 0x1_0000;
/// A heap fault moves to another allocation unit in the same 16 MiB region.
const HEAP_REGION_MASK: u32 = 0xff00_0000;
/// Windows 2000 hands out thread and process ids in steps of 4; these are typical a few days
/// after boot.
const THREAD_IDS: Range<u32> = 50..2_000;
const PROCESS_IDS: Range<u32> = 50..1_000;
/// Dumps are written up to half a year after the corpus's crash, never before it (the fixed
/// MAPI32 build is from January 2002).
const CRASH_TIME_SPREAD: u32 = 183 * 86_400;
/// The MTA had run between an hour and two weeks when it crashed.
const UPTIMES: Range<u32> = 3_600..14 * 86_400;

/// Varies `dump` in place with values drawn from `rng`.
pub fn vary(dump: &mut Dump, rng: &mut Rng) {
    let relocation = Relocation::draw(dump, rng);
    let ids = distinct(rng, dump.threads.len(), |rng| {
        4 * rng.within(THREAD_IDS.clone())
    });
    for (thread, id) in dump.threads.iter_mut().zip(ids) {
        if dump.exception.thread_id == thread.id {
            dump.exception.thread_id = id;
        }
        thread.id = id;
        relocation.apply(thread);
    }
    if let Some(fault_address) = dump.exception.information.get_mut(1) {
        *fault_address = relocation.map(*fault_address as u32).into();
    }
    dump.process_id = 4 * rng.within(PROCESS_IDS);
    dump.time += rng.below(CRASH_TIME_SPREAD);
    dump.process_create_time = dump.time - rng.within(UPTIMES);
}

/// `n` different values from `draw`.
fn distinct(rng: &mut Rng, n: usize, mut draw: impl FnMut(&mut Rng) -> u32) -> Vec<u32> {
    let mut seen = BTreeSet::new();
    let mut values = Vec::with_capacity(n);
    while values.len() < n {
        let value = draw(rng);
        if seen.insert(value) {
            values.push(value);
        }
    }
    values
}

/// Moves every stack, and the faulting heap page, to a new address. Applied to every stack
/// word and register, so saved frame pointers, pointers to locals and the fault argument keep
/// pointing where they did.
struct Relocation {
    /// Each stack's address range before the move, and how far it moves (mod 2^32).
    stacks: Vec<(Range<u32>, u32)>,
    /// The faulting heap address before and after, unless the fault is a NULL-based read.
    heap_fault: Option<(u32, u32)>,
}

impl Relocation {
    fn draw(dump: &Dump, rng: &mut Rng) -> Relocation {
        let slots = (STACK_BASES.end - STACK_BASES.start) / ALLOCATION_GRANULARITY;
        let bases = distinct(rng, dump.threads.len(), |rng| {
            STACK_BASES.start + rng.below(slots) * ALLOCATION_GRANULARITY
        });
        let stacks = dump
            .threads
            .iter()
            .zip(bases)
            .map(|(thread, base)| {
                let stack = &thread.stack;
                let end = stack.start + stack.bytes.len() as u32;
                (stack.start..end, base.wrapping_sub(end))
            })
            .collect();
        let fault = dump.exception.information.get(1).map(|&a| a as u32);
        let heap_fault = fault.filter(|&a| a >= NULL_PAGE_END).map(|old| {
            let page = rng.below(0x100) * ALLOCATION_GRANULARITY;
            (old, (old & HEAP_REGION_MASK) | page)
        });
        Relocation { stacks, heap_fault }
    }

    fn map(&self, value: u32) -> u32 {
        if let Some((_, delta)) = self.stacks.iter().find(|(old, _)| old.contains(&value)) {
            return value.wrapping_add(*delta);
        }
        match self.heap_fault {
            Some((old, new)) if value == old => new,
            _ => value,
        }
    }

    fn apply(&self, thread: &mut Thread) {
        for word in thread.stack.bytes.chunks_exact_mut(4) {
            let value = u32::from_le_bytes(word.try_into().expect("4 bytes"));
            word.copy_from_slice(&self.map(value).to_le_bytes());
        }
        thread.stack.start = self.map(thread.stack.start);
        let c = &mut thread.context;
        for register in [
            &mut c.eax, &mut c.ebx, &mut c.ecx, &mut c.edx, &mut c.esi, &mut c.edi, &mut c.ebp,
            &mut c.esp,
        ] {
            *register = self.map(*register);
        }
    }
}
