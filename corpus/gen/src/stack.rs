//! Lays out x86 stack memory from WinDbg-style frames so that a frame-pointer walk
//! (`EIP' = [EBP+4]`, `EBP' = [EBP]`) reproduces them exactly, and frames without a frame
//! pointer keep their return address where WinDbg's `ChildEBP + 4` says.

use std::collections::BTreeMap;

/// One frame as `kb` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// WinDbg's `ChildEBP`: the frame's EBP, or for a frame-pointer-omitted frame the slot
    /// below its return address.
    pub ebp: u32,
    /// EIP for the innermost frame; for the others, the return address into this frame's
    /// function (the previous frame's `RetAddr`).
    pub pc: u32,
    pub args: [u32; 3],
    /// Frame-pointer-omitted (`/Oy`): the function leaves EBP as its caller had it and saves
    /// nothing at `ebp`; only `[ebp+4]`, the return address, belongs to the frame.
    pub fpo: bool,
}

/// The EBP register while `frames[0]` runs: its own `ebp`, or, through frame-pointer-omitted
/// frames, which leave EBP alone, that of the innermost frame that has a frame pointer (0 when
/// none has).
pub fn ebp_register(frames: &[Frame]) -> u32 {
    frames.iter().find(|f| !f.fpo).map_or(0, |f| f.ebp)
}

/// A captured stack: the bytes from `start` (the innermost ESP) to the stack base.
#[derive(Debug, Clone)]
pub struct Stack {
    pub start: u32,
    pub bytes: Vec<u8>,
    /// Addresses where a frame's argument had to give way to the saved-EBP chain.
    pub overwritten_args: Vec<u32>,
}

/// Space between consecutive frame pointers in invented stacks: room for the saved EBP, the
/// return address, three arguments and a few locals.
const FRAME_SPACING: u32 = 0x40;
/// Locals below the innermost frame pointer in invented stacks.
const INNER_LOCALS: u32 = 0x20;

/// A call site for an invented stack: where the frame's code is and what it was passed.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    pub pc: u32,
    pub args: [u32; 3],
}

/// Places `calls` (innermost first) in a fresh stack ending at `base`; returns the innermost
/// ESP and the frames. The outermost frame gets saved EBP 0 and return address 0, as
/// `kernel32!BaseThreadStart` has, so walkers stop there.
pub fn invent_frames(base: u32, calls: &[Call]) -> (u32, Vec<Frame>) {
    let outermost_ebp = base - INNER_LOCALS;
    let outermost = calls.len() as u32 - 1;
    let frames: Vec<Frame> = calls
        .iter()
        .zip(0u32..)
        .map(|(call, i)| Frame {
            ebp: outermost_ebp - (outermost - i) * FRAME_SPACING,
            pc: call.pc,
            args: call.args,
            fpo: false,
        })
        .collect();
    let esp = frames[0].ebp - INNER_LOCALS;
    (esp, frames)
}

/// Stack memory in `[esp, base)` holding `frames`: at each frame's EBP the caller's EBP (the
/// EBP register the caller ran with, see [`ebp_register`]) and return address, then the three
/// arguments; a frame-pointer-omitted frame has only its return address at `ebp + 4`. Frames whose EBP lies outside the range (the
/// article's last frame has EBP=1) leave nothing in memory; everything not written is zero so
/// stack scanning past the last frame finds no extra frames.
///
/// Where an argument and the saved-EBP chain claim the same slot, the chain wins and the slot
/// is reported in [`Stack::overwritten_args`]. Two arguments disagreeing is a table error.
pub fn build_stack(esp: u32, base: u32, frames: &[Frame]) -> Stack {
    let in_range = |addr: u32| (esp..base).contains(&addr) && base - addr >= 4;
    let mut slots: BTreeMap<u32, u32> = BTreeMap::new();
    for frame in frames.iter().filter(|f| in_range(f.ebp)) {
        for (addr, &value) in (frame.ebp + 8..).step_by(4).zip(&frame.args) {
            assert!(in_range(addr), "argument slot {addr:#x} outside the stack");
            let previous = slots.insert(addr, value);
            assert!(
                previous.is_none_or(|p| p == value),
                "arguments disagree at {addr:#x}"
            );
        }
    }
    let mut overwritten_args = Vec::new();
    for (i, frame) in frames.iter().enumerate().filter(|(_, f)| in_range(f.ebp)) {
        let ret = frames.get(i + 1).map_or(0, |c| c.pc);
        let saved_ebp = (!frame.fpo).then(|| (frame.ebp, ebp_register(&frames[i + 1..])));
        for (addr, value) in saved_ebp.into_iter().chain([(frame.ebp + 4, ret)]) {
            if slots.insert(addr, value).is_some_and(|arg| arg != value) {
                overwritten_args.push(addr);
            }
        }
    }
    let mut bytes = vec![0u8; (base - esp) as usize];
    for (addr, value) in slots {
        let at = (addr - esp) as usize;
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }
    Stack {
        start: esp,
        bytes,
        overwritten_args,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(stack: &Stack, addr: u32) -> u32 {
        let at = (addr - stack.start) as usize;
        u32::from_le_bytes(stack.bytes[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn invented_frames_chain_and_terminate() {
        let calls = [
            Call {
                pc: 0x1000,
                args: [1, 2, 3],
            },
            Call {
                pc: 0x2000,
                args: [4, 5, 6],
            },
        ];
        let (esp, frames) = invent_frames(0x10000, &calls);
        let stack = build_stack(esp, 0x10000, &frames);
        assert!(stack.overwritten_args.is_empty());
        assert_eq!(word(&stack, frames[0].ebp), frames[1].ebp);
        assert_eq!(word(&stack, frames[0].ebp + 4), 0x2000);
        assert_eq!(word(&stack, frames[0].ebp + 8), 1);
        assert_eq!(word(&stack, frames[1].ebp), 0);
        assert_eq!(word(&stack, frames[1].ebp + 4), 0);
    }

    /// main (EBP frame) -> helper (FPO) -> leaf (EBP frame): the leaf's saved EBP is main's,
    /// and helper's slot below its return address keeps what the leaf shows as an argument.
    #[test]
    fn frame_pointer_omitted_frames_keep_the_callers_ebp() {
        let frames = [
            Frame {
                ebp: 0xff00,
                pc: 0x1000,
                args: [7, 0x55, 0x3000],
                fpo: false,
            },
            Frame {
                ebp: 0xff0c,
                pc: 0x2000,
                args: [4, 5, 6],
                fpo: true,
            },
            Frame {
                ebp: 0xff20,
                pc: 0x3000,
                args: [1, 2, 3],
                fpo: false,
            },
        ];
        assert_eq!(ebp_register(&frames[1..]), 0xff20);
        let stack = build_stack(0xfe00, 0x10000, &frames);
        assert!(stack.overwritten_args.is_empty());
        assert_eq!(word(&stack, 0xff00), 0xff20, "leaf saved main's EBP");
        assert_eq!(word(&stack, 0xff04), 0x2000);
        assert_eq!(word(&stack, 0xff0c), 0x55, "helper saved no EBP there");
        assert_eq!(word(&stack, 0xff10), 0x3000);
        assert_eq!(word(&stack, 0xff20), 0);
    }
}
