//! Gathers frames into threads as the readers go through the text, so that numbering,
//! thread ids, the crashed flag and WinDbg's return-address columns are handled once for
//! every format.

use crate::model::{Addr, Frame, Thread, Trust};

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
        if !self.open {
            self.start_thread(None, None, Marker::Unmarked);
        }
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
    }

    /// The threads in input order. A thread without an id in the text gets its position;
    /// the crashed one is the most strongly marked, or the only thread when none is marked.
    pub fn finish(self) -> Vec<Thread> {
        let strongest = self.threads.iter().map(|t| t.marker).max();
        let alone = self.threads.len() == 1;
        self.threads
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
