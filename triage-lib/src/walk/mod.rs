//! Stack walking: `minidump-processor` over every thread, turned into the neutral model.

mod budget;

use minidump::{MinidumpModuleList, MinidumpThreadList, UnifiedMemoryList};
use minidump_processor::{ProcessError, ProcessorOptions};
use minidump_unwind::{FrameTrust, StackFrame, SymbolProvider};

use crate::dump::{file_name, Dump};
use crate::error::{Stream, TriageError};
use crate::model::{Addr, Frame, Thread, Trust};
use crate::symbols::{SymbolIdentity, Symbols};

/// Bounds on the work done for one dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Frames kept per thread (inline frames included); the rest is cut and the thread is
    /// marked `truncated`.
    pub max_frames_per_thread: usize,
    /// Candidate frames the walker may examine in one dump, over all threads. Real dumps
    /// need a few thousand; a hostile one could need millions.
    pub max_walk_work: usize,
    /// Threads whose frames are reported; later ones (never the crashing thread) are listed
    /// without frames. With `max_frames_per_thread` this bounds the size of a report.
    pub max_threads: usize,
}

impl Limits {
    /// Default of [`Limits::max_frames_per_thread`] (`triage --max-frames`). The WinDbg
    /// extension asks the engine for as many frames of a live thread.
    pub const DEFAULT_MAX_FRAMES_PER_THREAD: usize = 1024;
    /// Default of [`Limits::max_walk_work`] (`triage --max-walk-work`).
    pub const DEFAULT_MAX_WALK_WORK: usize = 200_000;
    /// Default of [`Limits::max_threads`] (`triage --max-threads`).
    pub const DEFAULT_MAX_THREADS: usize = 4096;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frames_per_thread: Limits::DEFAULT_MAX_FRAMES_PER_THREAD,
            max_walk_work: Limits::DEFAULT_MAX_WALK_WORK,
            max_threads: Limits::DEFAULT_MAX_THREADS,
        }
    }
}

/// The walked threads, and whether a limit cut the walk short.
pub struct Walked {
    /// Every thread, innermost frame first.
    pub threads: Vec<Thread>,
    /// Set when [`Limits::max_walk_work`] stopped the walk early.
    pub cut_short: Option<TriageError>,
}

/// Walks every thread of `dump` with `symbols`, innermost frame first.
pub fn walk_threads(
    dump: &Dump,
    symbols: &Symbols,
    limits: &Limits,
) -> Result<Walked, TriageError> {
    if let Ok(modules) = dump.minidump.get_stream::<MinidumpModuleList>() {
        symbols.expect_modules(
            modules
                .iter()
                .filter_map(|module| SymbolIdentity::of(module)),
        );
    }
    walk_threads_with(dump, symbols, limits)
}

/// [`walk_threads`] with any symbol provider; tests compare providers with it.
pub(crate) fn walk_threads_with<P: SymbolProvider + Sync>(
    dump: &Dump,
    symbols: &P,
    limits: &Limits,
) -> Result<Walked, TriageError> {
    // Checked first so a damaged thread list is reported as damage, not as absence.
    dump.stream::<MinidumpThreadList>(Stream::ThreadList)?;
    let provider = budget::Budgeted::new(symbols, limits.max_walk_work);
    let state = futures_executor::block_on(minidump_processor::process_minidump_with_options(
        &dump.minidump,
        &provider,
        ProcessorOptions::default(),
    ))
    .map_err(|error| match error {
        ProcessError::MissingThreadList => TriageError::MissingStream(Stream::ThreadList),
        ProcessError::MissingSystemInfo => TriageError::MissingStream(Stream::SystemInfo),
        other => TriageError::Malformed(other.to_string()),
    })?;

    let memory = StackMemory::of(dump);
    let x86 = state.system_info.cpu == minidump::system_info::Cpu::X86;
    let crashed_index = state.exception_info.as_ref().and(state.requesting_thread);
    let mut reported = 0;
    let threads: Vec<Thread> = state
        .threads
        .iter()
        .enumerate()
        .map(|(index, stack)| {
            let crashed = crashed_index == Some(index);
            let mut frames = Vec::new();
            if crashed || reported < limits.max_threads {
                reported += 1;
                for (i, frame) in stack.frames.iter().enumerate() {
                    let caller = stack.frames.get(i + 1);
                    push_frame(&mut frames, frame, caller, x86.then_some(&memory));
                }
            }
            let truncated =
                frames.len() > limits.max_frames_per_thread || frames.len() < stack.frames.len();
            frames.truncate(limits.max_frames_per_thread);
            Thread {
                thread_id: stack.thread_id,
                name: stack.thread_name.clone(),
                crashed,
                frames,
                truncated,
            }
        })
        .collect();
    let cut_short = if provider.exhausted() {
        Some(TriageError::WorkLimit(limits.max_walk_work))
    } else if reported < threads.len() {
        Some(TriageError::ThreadLimit(limits.max_threads))
    } else {
        None
    };
    Ok(Walked { threads, cut_short })
}

/// Appends `frame`'s inlined calls (innermost first) and then `frame` itself; `caller` is the
/// next frame out, if the walk found one.
fn push_frame(
    frames: &mut Vec<Frame>,
    frame: &StackFrame,
    caller: Option<&StackFrame>,
    x86_memory: Option<&StackMemory>,
) {
    // WinDbg convention: a caller frame is named by its return address, the context frame
    // by its instruction pointer.
    let address = match frame.trust {
        FrameTrust::Context => frame.instruction,
        _ => frame.resume_address,
    };
    let module = frame.module.as_ref();
    let module_name = module.map(|m| file_name(&m.name).to_string());
    for inline in &frame.inlines {
        frames.push(Frame {
            index: frames.len(),
            address: Some(Addr(address)),
            module: module_name.clone(),
            function: Some(inline.function_name.clone()),
            trust: Trust::Inline,
            source: source_location(inline.source_file_name.as_deref(), inline.source_line),
            ..Frame::default()
        });
    }
    let frame_base = match x86_memory {
        Some(_) => child_ebp(frame, caller),
        None => Some(frame.context.get_stack_pointer()),
    };
    let args = x86_memory.zip(frame_base).map(|(memory, base)| {
        (0..3)
            .map(|i| memory.read_u32(base.wrapping_add(8 + 4 * i)))
            .collect()
    });
    frames.push(Frame {
        index: frames.len(),
        address: Some(Addr(address)),
        module: module_name,
        function: frame.function_name.clone(),
        offset: frame
            .function_base
            .map(|base| Addr(address.wrapping_sub(base))),
        module_offset: module.map(|m| Addr(address.wrapping_sub(m.raw.base_of_image))),
        trust: trust_of(frame.trust),
        frame_base: frame_base.map(Addr),
        args,
        source: source_location(frame.source_file_name.as_deref(), frame.source_line),
    });
}

/// WinDbg's x86 `ChildEBP` of `frame`: the address 4 below the slot its return address was
/// read from, so that `RetAddr` is at `ChildEBP+4` and the arguments `kb` prints at
/// `ChildEBP+8`. The caller resumes with ESP just above that slot, so this is the caller's
/// unwound ESP − 8, for frames walked by frame pointer (where it equals EBP) and by `STACK
/// WIN`/CFI alike; for a frame-pointer-omitted function EBP still holds an outer frame's value
/// and would give that frame's base and arguments. The outermost frame has no caller to
/// tell: it keeps its EBP, as WinDbg shows it.
fn child_ebp(frame: &StackFrame, caller: Option<&StackFrame>) -> Option<u64> {
    caller
        .and_then(|caller| caller.context.get_register("esp"))
        .and_then(|esp| esp.checked_sub(8))
        .or_else(|| frame.context.get_register("ebp"))
}

fn source_location(file: Option<&str>, line: Option<u32>) -> Option<String> {
    match (file, line) {
        (Some(file), Some(line)) => Some(format!("{file}:{line}")),
        (Some(file), None) => Some(file.to_string()),
        _ => None,
    }
}

fn trust_of(trust: FrameTrust) -> Trust {
    match trust {
        FrameTrust::Context => Trust::Context,
        FrameTrust::CallFrameInfo | FrameTrust::PreWalked => Trust::Cfi,
        FrameTrust::FramePointer => Trust::FramePointer,
        FrameTrust::CfiScan => Trust::CfiScan,
        FrameTrust::Scan => Trust::Scan,
        FrameTrust::None => Trust::None,
    }
}

/// Reads stack words for `kb`'s argument columns from the dump's memory.
struct StackMemory<'a> {
    regions: UnifiedMemoryList<'a>,
    thread_stacks: Option<MinidumpThreadList<'a>>,
}

impl<'a> StackMemory<'a> {
    fn of(dump: &'a Dump) -> Self {
        StackMemory {
            regions: dump.minidump.get_memory().unwrap_or_default(),
            thread_stacks: dump.minidump.get_stream::<MinidumpThreadList>().ok(),
        }
    }

    /// The 32-bit word at `address`, or `None` when the dump did not save it.
    fn read_u32(&self, address: u64) -> Option<Addr> {
        let from_regions = self
            .regions
            .memory_at_address(address)
            .and_then(|region| region.get_memory_at_address::<u32>(address));
        let from_stacks = || {
            self.thread_stacks
                .as_ref()?
                .threads
                .iter()
                .find_map(|thread| {
                    thread
                        .stack_memory(&self.regions)?
                        .get_memory_at_address::<u32>(address)
                })
        };
        from_regions
            .or_else(from_stacks)
            .map(|word| Addr(word.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minidump::{MinidumpContext, MinidumpContextValidity, MinidumpRawContext};
    use minidump_common::format::CONTEXT_X86;

    fn x86_frame(esp: u32, ebp: u32, valid: MinidumpContextValidity) -> StackFrame {
        let raw = MinidumpRawContext::X86(CONTEXT_X86 {
            esp,
            ebp,
            ..CONTEXT_X86::default()
        });
        let context = MinidumpContext { raw, valid };
        StackFrame::from_context(context, FrameTrust::CallFrameInfo)
    }

    fn frame(esp: u32, ebp: u32) -> StackFrame {
        x86_frame(esp, ebp, MinidumpContextValidity::All)
    }

    #[test]
    fn child_ebp_is_the_slot_below_the_return_address() {
        // An FPO frame runs with an outer frame's EBP; its return address was at the caller's
        // ESP - 4, so WinDbg's ChildEBP is the caller's ESP - 8.
        let fpo = frame(0x0514_f10c, 0x0514_f138);
        let caller = frame(0x0514_f114, 0x0514_f138);
        assert_eq!(child_ebp(&fpo, Some(&caller)), Some(0x0514_f10c));
        // An EBP frame's caller resumes at EBP + 8: ChildEBP is its EBP, as before.
        let framed = frame(0x0514_f0d8, 0x0514_f0f4);
        let caller = frame(0x0514_f0fc, 0x0514_f138);
        assert_eq!(child_ebp(&framed, Some(&caller)), Some(0x0514_f0f4));
    }

    #[test]
    fn child_ebp_falls_back_to_ebp_without_a_caller_esp() {
        let outermost = frame(0x0514_f174, 1);
        assert_eq!(child_ebp(&outermost, None), Some(1));
        let ebp_only = MinidumpContextValidity::Some(["eip", "ebp"].into_iter().collect());
        let caller = x86_frame(0x0514_f114, 0x0514_f138, ebp_only);
        assert_eq!(child_ebp(&outermost, Some(&caller)), Some(1));
    }
}
