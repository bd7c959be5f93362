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
    pub fn read(&mut self, line: &str, stacks: &mut Collector, rows: &mut windbg::Windbg) -> Read {
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
        if text.starts_with("FramePtr ") {
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
            } else {
                return match rows.read(line, stacks) {
                    Read::Stack(_) => Read::Stack(FORMAT),
                    other => other,
                };
            }
        }
        Read::Noise
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xp_thread_header_and_fault_marker() {
        let log = "*----> State Dump for Thread Id 0xbf4 <----*\n\
                   FAULT ->77f6f9d8 8b4604           mov     eax,[esi+0x4]\n\
                   FramePtr ReturnAd Param#1  Param#2  Param#3  Param#4  Function Name\n\
                   0514efcc 77f640fc 04930000 40530000 0514eff8 00000000 ntdll!RtlpFindAndCommitPages\n";
        let mut reader = DrWatson::default();
        let mut rows = windbg::Windbg::default();
        let mut stacks = Collector::default();
        for line in log.lines() {
            assert_ne!(
                reader.read(line, &mut stacks, &mut rows),
                Read::NotMine,
                "{line}"
            );
        }
        let threads = stacks.finish();
        assert_eq!((threads[0].thread_id, threads[0].crashed), (0xbf4, true));
        assert_eq!(threads[0].frames.len(), 1);
    }
}
