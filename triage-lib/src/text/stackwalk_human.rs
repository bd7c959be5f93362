//! The human-readable output of Breakpad's `minidump_stackwalk` and rust-minidump's
//! `minidump-stackwalk`, as pasted into crash reports:
//!
//! ```text
//! Thread 0 (crashed)
//!  0  KERNELBASE.dll + 0x114402
//!     eip = 0x75714402   esp = 0x09cfb4d8   ebp = 0x09cfb534
//!     Found by: given as instruction pointer in context
//!  1  atom.exe!uv_spawn [process.c : 902 + 0xd]
//!     Found by: call frame info
//! ```
//!
//! Like its JSON, it names a caller by an address inside the call instruction (return
//! address minus 1 on x86); the model names callers by their return address, so caller
//! offsets are moved back by the CPU's distance.

use super::collect::{Collector, Marker};
use super::stackwalk::return_address_distance;
use super::symbol::{parse_hex, CallSite};
use super::Read;
use crate::model::{Addr, Trust};

const FORMAT: &str = "minidump_stackwalk_text";

/// Reads the human-readable output line by line.
#[derive(Default)]
pub(super) struct Human {
    /// Inside a `Thread N` section.
    in_thread: bool,
    /// How far this CPU's callers were moved back (`CPU: arm64` says 4).
    distance: u64,
}

impl Human {
    /// Reads one line of this format, if it is one.
    pub fn read(&mut self, line: &str, stacks: &mut Collector) -> Read {
        let text = line.trim();
        if let Some(cpu) = text.strip_prefix("CPU: ") {
            self.distance = return_address_distance(cpu.split_whitespace().next());
            return Read::Noise;
        }
        if let Some((index, crashed)) = thread_header(text) {
            self.in_thread = true;
            let marker = if crashed {
                Marker::Exception
            } else {
                Marker::Unmarked
            };
            stacks.start_thread(Some(index), None, marker);
            return Read::Stack(FORMAT);
        }
        if !self.in_thread && !is_spelled_like_breakpad(text) {
            return Read::NotMine;
        }
        if let Some(how) = text.strip_prefix("Found by: ") {
            stacks.set_last_trust(found_by(how));
            return Read::Noise;
        }
        if is_register_line(text)
            || is_memory_line(text)
            || text.starts_with("Stack contents:")
            || text.starts_with("Possible instruction pointers:")
        {
            return Read::Noise;
        }
        match frame_line(line, self.distance.max(1)) {
            Some(frame) => {
                stacks.push(frame, None);
                self.in_thread = true;
                Read::Stack(FORMAT)
            }
            None => Read::NotMine,
        }
    }
}

/// `Thread 3` or `Thread 0 (crashed)`, optionally with a name after it.
fn thread_header(text: &str) -> Option<(u32, bool)> {
    let rest = text.strip_prefix("Thread ")?;
    let (index, after) = rest.split_once(' ').unwrap_or((rest, ""));
    let index = index.parse().ok()?;
    let after = after.trim();
    let shape = after.is_empty() || after.starts_with('(') || after.starts_with("tid:");
    shape.then_some((index, after.contains("(crashed)")))
}

/// A frame line only this format writes, recognized even before a `Thread` header (a paste
/// that starts mid-thread): the spaced ` + 0x` offset or the `[file : line + 0x..]` source.
fn is_spelled_like_breakpad(text: &str) -> bool {
    let numbered = text.split_once("  ").is_some_and(|(number, _)| {
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
    });
    numbered && (text.contains(" + 0x") || (text.contains(" : ") && text.ends_with(']')))
}

/// `0b32fd4c 90 80 5f 08 10 fa cf 76  .._....v`: a line of `Stack contents:`.
fn is_memory_line(text: &str) -> bool {
    let mut tokens = text.split_whitespace();
    let address = tokens
        .next()
        .is_some_and(|t| t.len() >= 8 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    let bytes = tokens
        .take(4)
        .all(|t| t.len() == 2 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    address && bytes
}

/// `eip = 0x75714402   esp = 0x09cfb4d8`: pairs of register and value.
fn is_register_line(text: &str) -> bool {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    !tokens.is_empty()
        && tokens.len().is_multiple_of(3)
        && tokens
            .chunks(3)
            .all(|pair| pair[1] == "=" && pair[2].starts_with("0x"))
}

fn found_by(how: &str) -> Trust {
    match how.trim() {
        "given as instruction pointer in context" => Trust::Context,
        "call frame info" => Trust::Cfi,
        "call frame info with scanning" => Trust::CfiScan,
        "previous frame's frame pointer" => Trust::FramePointer,
        "stack scanning" => Trust::Scan,
        "inlined" => Trust::Inline,
        _ => Trust::Text,
    }
}

/// ` 1  atom.exe!uv_spawn [process.c : 902 + 0xd]`, ` 0  libc.so + 0x1694a`,
/// ` 2  atom.exe!Foo + 0x12`, ` 3  0x7c816fd7`. Frame 0 is where the thread stopped; later
/// frames are callers, whose addresses are moved back to the return address.
fn frame_line(line: &str, distance: u64) -> Option<crate::model::Frame> {
    let text = line.trim_start();
    let (number, rest) = text.split_once("  ")?;
    let number: usize = number.trim().parse().ok()?;
    let mut call = rest.trim();
    let mut source = None;
    if let Some(open) = call.rfind(" [") {
        if let Some(inner) = call[open + 2..].strip_suffix(']') {
            if let Some((file, line_and_offset)) = inner.rsplit_once(" : ") {
                let line_number = line_and_offset.split_whitespace().next().unwrap_or("");
                source = Some(format!("{file}:{line_number}"));
                call = call[..open].trim_end();
            }
        }
    }
    let spaced = call.replace(" + ", "+");
    // Module names may hold spaces here (`Electron Framework!<name omitted>`).
    let site = match spaced.split_once('!') {
        Some((module, rest)) if module.contains(' ') => {
            let mut site = CallSite::parse(&format!("m!{rest}"))?;
            site.module = Some(module.to_string());
            site
        }
        _ => CallSite::parse(&spaced)?,
    };
    let moved = |value: u64| {
        if number == 0 {
            value
        } else {
            value.wrapping_add(distance)
        }
    };
    let mut frame = site.into_frame(Trust::Text);
    frame.source = source.clone();
    if source.is_some() {
        // The offset in brackets is from the source line, which the model has no field for.
        frame.offset = None;
    }
    frame.offset = frame.offset.map(|o| Addr(moved(o.0)));
    frame.module_offset = frame.module_offset.map(|o| Addr(moved(o.0)));
    frame.address = frame.address.map(|a| Addr(moved(a.0)));
    if frame.module.is_none() && frame.address.is_none() {
        frame.address = parse_hex(call).map(|a| Addr(moved(a)));
    }
    Some(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<crate::model::Thread> {
        let mut reader = Human::default();
        let mut stacks = Collector::default();
        for line in text.lines() {
            reader.read(line, &mut stacks);
        }
        stacks.finish()
    }

    #[test]
    fn frames_sources_trust_and_return_addresses() {
        let threads = read(
            "CPU: x86\nThread 0 (crashed)\n 0  KERNELBASE.dll + 0x114402\n    eip = 0x75714402   \
             esp = 0x09cfb4d8\n    Found by: given as instruction pointer in context\n \
             1  atom.exe!uv_spawn [process.c : 902 + 0xd]\n    Found by: call frame info\n \
             2  atom.exe + 0x1174e6c\n    Found by: stack scanning\nThread 1\n 0  0x7c816fd7\n",
        );
        assert_eq!(threads.len(), 2);
        let frames = &threads[0].frames;
        assert!(threads[0].crashed);
        assert_eq!(frames[0].module_offset, Some(Addr(0x114402)));
        assert_eq!(frames[0].trust, Trust::Context);
        assert_eq!(frames[1].function.as_deref(), Some("uv_spawn"));
        assert_eq!(frames[1].source.as_deref(), Some("process.c:902"));
        assert_eq!(frames[1].trust, Trust::Cfi);
        assert_eq!(frames[2].module_offset, Some(Addr(0x1174e6d)));
        assert_eq!(frames[2].trust, Trust::Scan);
        assert_eq!(threads[1].frames[0].address, Some(Addr(0x7c81_6fd7)));
    }

    #[test]
    fn module_list_and_prose_are_not_frames() {
        let threads = read(
            "Thread 0\n 0  a.dll + 0x10\n\nLoaded modules:\n0x00400000 - 0x0040ffff  a.exe  ???\n",
        );
        assert_eq!(threads[0].frames.len(), 1);
    }
}
