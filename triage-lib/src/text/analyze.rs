//! WinDbg `!analyze -v` output. Only its `STACK_TEXT:` block is a stack; every other line
//! (`FAULTING_IP:` with its disassembly, `EXCEPTION_RECORD:`, ...) is analysis that would
//! look like frames to the other readers, so this reader claims it as noise.

use super::collect::{Collector, Marker};
use super::symbol::parse_hex;
use super::{is_debugger_prompt, is_noise, windbg, Read};

const FORMAT: &str = "windbg_analyze";

/// Where the reader is in an `!analyze` output.
#[derive(Default)]
pub(super) struct Analyze {
    /// Inside an `!analyze` output, which lasts until the next debugger prompt.
    active: bool,
    /// Inside its `STACK_TEXT:` block.
    in_stack_text: bool,
    /// The `FAULTING_THREAD:` key, the id of the thread `STACK_TEXT` belongs to.
    faulting_thread: Option<u32>,
}

impl Analyze {
    /// Reads one line; claims everything while inside an `!analyze` output.
    pub fn read(&mut self, line: &str, stacks: &mut Collector, rows: &mut windbg::Windbg) -> Read {
        let text = line.trim();
        if is_debugger_prompt(text) {
            self.active = text.contains("!analyze");
            self.in_stack_text = false;
            return if self.active {
                Read::Noise
            } else {
                Read::NotMine
            };
        }
        let key = heading(text);
        if key == Some(("STACK_TEXT", "")) {
            self.active = true;
            self.in_stack_text = true;
            // STACK_TEXT is the stack of the exception context.
            stacks.start_thread(self.faulting_thread, None, Marker::Exception);
            return Read::Stack(FORMAT);
        }
        if text.contains("Exception Analysis") || text.contains("Bugcheck Analysis") {
            self.active = true;
        }
        if !self.active {
            return Read::NotMine;
        }
        if self.in_stack_text {
            if text.is_empty() || (key.is_some() && !is_noise(text)) {
                self.in_stack_text = false;
                stacks.end_stack();
            } else if is_noise(text) {
                return Read::Noise;
            } else {
                return match rows.read(line, stacks) {
                    Read::Stack(_) => Read::Stack(FORMAT),
                    other => other,
                };
            }
        }
        if let Some(("FAULTING_THREAD", id)) = key {
            self.faulting_thread = parse_hex(id).and_then(|id| u32::try_from(id).ok());
        }
        Read::Noise
    }
}

/// `KEY:  value`, the analysis headings: an upper-case key and what follows it.
fn heading(text: &str) -> Option<(&str, &str)> {
    let (key, value) = text.split_once(':')?;
    let is_key = key.len() >= 2
        && key.starts_with(|c: char| c.is_ascii_uppercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    is_key.then_some((key, value.trim()))
}
