//! Gathers frames into threads as the readers go through the text, so that numbering,
//! thread ids, the crashed flag and WinDbg's return-address columns are handled once for
//! every format.

use crate::model::{Addr, Frame, Thread, Trust};
use crate::module_name;

/// What a thread header says about the thread, weakest first.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Marker {
    /// Nothing.
    #[default]
    Unmarked,
    /// The debugger's current thread (WinDbg `.`, LLDB `*`): the crashed one only when no
    /// thread is marked as raising the exception.
    Current,
    /// The thread that raised the exception (WinDbg `#`, a crash record's thread index).
    Exception,
}

struct PendingThread {
    id: Option<u32>,
    name: Option<String>,
    marker: Marker,
    frames: Vec<Frame>,
}

/// Threads read so far.
#[derive(Default)]
pub(super) struct Collector {
    threads: Vec<PendingThread>,
    /// Whether frames still go to the last thread. A blank line closes a stack; frames after
    /// it start a new thread even without a header.
    open: bool,
    /// The `RetAddr` column of the last physical row: WinDbg names each frame's address only
    /// there, on the row of its callee.
    caller_address: Option<u64>,
    /// The `caller_address` before the last push, so that push can be redone.
    caller_address_before_last: Option<u64>,
    /// Input lines read as frames, counting a stack printed twice twice.
    pub frame_lines: usize,
}

impl Collector {
    /// Starts a thread that a header announced.
    pub fn start_thread(&mut self, id: Option<u32>, name: Option<String>, marker: Marker) {
        self.threads.push(PendingThread {
            id,
            name,
            marker,
            frames: Vec::new(),
        });
        self.open = true;
        self.caller_address = None;
    }

    /// Ends the current stack, unless it has no frames yet (a header followed by a blank).
    pub fn end_stack(&mut self) {
        if self.threads.last().is_some_and(|t| !t.frames.is_empty()) {
            self.open = false;
        }
    }

    /// Marks the current thread as the one that raised the exception.
    pub fn mark_crashed(&mut self) {
        if let Some(thread) = self.threads.last_mut() {
            thread.marker = Marker::Exception;
        }
    }

    /// Appends a frame to the current stack. `returns_to` is the row's `RetAddr` column,
    /// which becomes the address of the next physical frame; a frame with an empty address
    /// takes the one the previous row gave.
    pub fn push(&mut self, mut frame: Frame, returns_to: Option<u64>) {
        if !self.open && self.continues_last_stack(&frame) {
            self.open = true;
        }
        if !self.open {
            self.start_thread(None, None, Marker::Unmarked);
        }
        self.caller_address_before_last = self.caller_address;
        let Some(thread) = self.threads.last_mut() else {
            return;
        };
        if frame.address.is_none() {
            frame.address = self.caller_address.map(Addr);
        }
        // An inline row shares its address with the physical frame after it.
        if frame.trust != Trust::Inline {
            self.caller_address = returns_to;
        }
        frame.index = thread.frames.len();
        thread.frames.push(frame);
        self.frame_lines += 1;
    }

    /// A blank line inside one stack (a web page's paragraph break in a `<pre>` block) does
    /// not start a new thread when the next row's frame base goes on up the same stack: a
    /// little above the last row's, which returned somewhere.
    fn continues_last_stack(&self, frame: &Frame) -> bool {
        const SAME_STACK: u64 = 0x1_0000;
        let last_base = self
            .threads
            .last()
            .and_then(|thread| thread.frames.last())
            .and_then(|last| last.frame_base);
        match (last_base, frame.frame_base, self.caller_address) {
            (Some(last), Some(next), Some(returns)) => {
                returns != 0 && next.0 > last.0 && next.0 - last.0 < SAME_STACK
            }
            _ => false,
        }
    }

    /// Replaces the last frame pushed, when the next line showed that its row went on
    /// (a name cut by a line wrap). Counts as the same frame line.
    pub fn replace_last(&mut self, mut frame: Frame, returns_to: Option<u64>) {
        let Some(thread) = self.threads.last_mut() else {
            return;
        };
        let Some(last) = thread.frames.last_mut() else {
            return;
        };
        frame.index = last.index;
        if frame.address.is_none() {
            frame.address = last.address;
        }
        *last = frame;
        if last.trust != Trust::Inline {
            self.caller_address = returns_to;
        }
        if last.index == 0 {
            last.address = self.caller_address_before_last.map(Addr).or(last.address);
        }
    }

    /// Takes back the last frame pushed: the line after it showed it was no frame.
    pub fn pop_last(&mut self) {
        if let Some(thread) = self.threads.last_mut() {
            if thread.frames.pop().is_some() {
                self.frame_lines -= 1;
                self.caller_address = self.caller_address_before_last;
            }
        }
    }

    /// Sets the trust of the last frame, for formats that say how a frame was found on a
    /// line after the frame's own (minidump-stackwalk's `Found by:`).
    pub fn set_last_trust(&mut self, trust: Trust) {
        if let Some(frame) = self.threads.last_mut().and_then(|t| t.frames.last_mut()) {
            frame.trust = trust;
        }
    }

    /// The threads in input order, each read once ([`merge_repeated_listings`]). A thread
    /// without an id in the text gets its position; the crashed one is the most strongly
    /// marked, or the only thread when none is marked.
    pub fn finish(self) -> Vec<Thread> {
        self.finish_listings(true)
    }

    /// Like [`Collector::finish`], but a pasted listing whose frames were cut off (a thread
    /// header and nothing under it) tells nothing about a stack and is left out.
    pub fn finish_pasted(self) -> Vec<Thread> {
        self.finish_listings(false)
    }

    fn finish_listings(self, keep_empty: bool) -> Vec<Thread> {
        let listed = self
            .threads
            .into_iter()
            .filter(|t| keep_empty || !t.frames.is_empty())
            .collect();
        let threads = merge_repeated_listings(listed);
        let strongest = threads.iter().map(|t| t.marker).max();
        let alone = threads.len() == 1;
        threads
            .into_iter()
            .enumerate()
            .map(|(position, thread)| Thread {
                thread_id: thread
                    .id
                    .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX)),
                name: thread.name,
                crashed: match strongest {
                    Some(Marker::Unmarked) | None => alone,
                    Some(marker) => thread.marker == marker,
                },
                frames: thread.frames,
                truncated: false,
            })
            .collect()
    }
}

/// Pastes often show one thread twice: `!analyze -v` prints the faulting stack in
/// `STACK_TEXT` (sometimes only a one-frame "pseudo context") and the user ran `kb` after
/// it, or an article prints a stack and later the same stack again. Listings of the same
/// thread (the same id, or no id on one side) whose frames one contains as a contiguous run
/// of the other's are one thread: the most complete listing is kept, with the strongest
/// marker and the id either gave. Distinct threads with equal stacks keep their own ids.
fn merge_repeated_listings(threads: Vec<PendingThread>) -> Vec<PendingThread> {
    let mut kept: Vec<PendingThread> = Vec::new();
    for thread in threads {
        let same = kept.iter().position(|earlier| {
            let ids_agree = match (earlier.id, thread.id) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            let same_id = earlier.id.is_some() && earlier.id == thread.id;
            ids_agree
                && (same_id
                    || contains_run(&earlier.frames, &thread.frames)
                    || contains_run(&thread.frames, &earlier.frames))
        });
        let Some(at) = same else {
            kept.push(thread);
            continue;
        };
        let earlier = &mut kept[at];
        earlier.marker = earlier.marker.max(thread.marker);
        earlier.id = earlier.id.or(thread.id);
        earlier.name = earlier.name.take().or(thread.name);
        if completeness(&thread.frames) > completeness(&earlier.frames) {
            earlier.frames = thread.frames;
        }
    }
    kept
}

/// How much a listing tells: its frames, then how many name a source line or arguments.
fn completeness(frames: &[Frame]) -> (usize, usize, usize) {
    let with_source = frames.iter().filter(|f| f.source.is_some()).count();
    let with_args = frames.iter().filter(|f| f.args.is_some()).count();
    (frames.len(), with_source, with_args)
}

/// Whether `part` (non-empty) occurs in `whole` as a contiguous run of the same calls.
fn contains_run(whole: &[Frame], part: &[Frame]) -> bool {
    let same_call = |a: &Frame, b: &Frame| {
        let same_module = match (&a.module, &b.module) {
            (Some(x), Some(y)) => module_name::same_module(x, y),
            (x, y) => x == y,
        };
        same_module && a.function == b.function && a.offset == b.offset
    };
    let names_something = part
        .iter()
        .any(|f| f.function.is_some() || f.module.is_some());
    names_something
        && part.len() <= whole.len()
        && whole
            .windows(part.len())
            .any(|window| window.iter().zip(part).all(|(a, b)| same_call(a, b)))
}
