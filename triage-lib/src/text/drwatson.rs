//! Dr. Watson's `drwtsn32.log`. Each `State Dump for Thread Id 0x4d8` holds registers,
//! disassembly (with `FAULT ->` on the faulting thread) and a `Stack Back Trace` table:
//!
//! ```text
//! FramePtr ReturnAd Param#1  Param#2  Param#3  Param#4  Function Name
//! 0514efcc 77f640fc 04930000 40530000 0514eff8 00000000 ntdll!RtlpFindAndCommitPages
//! ```
//!
//! The rows are WinDbg rows with one more argument. Everything else in the log is noise
//! that must not reach the other readers (disassembly looks like stack rows).

use super::collect::{Collector, Marker};
use super::symbol::parse_hex;
use super::{is_debugger_prompt, windbg, Read};

const FORMAT: &str = "drwatson";

/// Where the reader is in a Dr. Watson log.
#[derive(Default)]
pub(super) struct DrWatson {
    /// Inside a log, which lasts until a debugger prompt.
    active: bool,
    /// Inside a `Stack Back Trace` table.
    in_back_trace: bool,
}

impl DrWatson {
    /// Reads one line; claims everything while inside a log.
    pub fn read(&mut self, line: &str, stacks: &mut Collector) -> Read {
        let text = line.trim();
        if is_debugger_prompt(text) {
            *self = DrWatson::default();
            return Read::NotMine;
        }
        // Windows 2000 writes `State Dump for Thread Id 0x4d8`, XP frames it in `*----> <----*`.
        if let Some((_, id)) = text.split_once("State Dump for Thread Id ") {
            self.active = true;
            self.in_back_trace = false;
            let id = id.split_whitespace().next().and_then(parse_hex);
            let id = id.and_then(|id| u32::try_from(id).ok());
            stacks.start_thread(id, None, Marker::Unmarked);
            return Read::Stack(FORMAT);
        }
        if text.starts_with("FramePtr ReturnAd") {
            self.active = true;
            self.in_back_trace = true;
            return Read::Noise;
        }
        if text.contains("DrWtsn32") || text.starts_with("Application exception occurred") {
            self.active = true;
        }
        if !self.active {
            return Read::NotMine;
        }
        if text.starts_with("FAULT ->") {
            stacks.mark_crashed();
        } else if self.in_back_trace {
            if text.is_empty() || text.starts_with("*---->") {
                self.in_back_trace = false;
                stacks.end_stack();
            } else if let Some((frame, returns_to)) = windbg::parse_row(text) {
                stacks.push(frame, returns_to);
                return Read::Stack(FORMAT);
            } else {
                return Read::NotMine;
            }
        }
        Read::Noise
    }
}
