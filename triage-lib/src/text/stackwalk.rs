//! Breakpad's `minidump_stackwalk -m` (pipe-delimited) and rust-minidump's
//! `minidump-stackwalk --json`.

use serde_json::Value;

use super::collect::{Collector, Marker};
use super::symbol::parse_hex;
use super::Read;
use crate::model::{Addr, Frame, Thread, Trust};

const MACHINE_READABLE: &str = "minidump_stackwalk_m";
/// The format name of `minidump-stackwalk --json` input.
pub(super) const JSON: &str = "minidump_stackwalk_json";

/// Reads `minidump_stackwalk -m` lines:
///
/// ```text
/// Crash|EXCEPTION_ACCESS_VIOLATION_WRITE|0x45|0
/// Module|test_app.exe||test_app.pdb|5A9832E5287241C1838ED98914E9B7FF1|0x00400000|0x0042cfff|1
/// 0|3|kernel32.dll|BaseProcessStart|||0x23
/// ```
///
/// Frame lines are thread|frame|module|function|source file|line|offset. Breakpad measures
/// the offset from the source line when there is one, else from the function, else from
/// the module, else it is the absolute address; only the last three fit the model.
#[derive(Default)]
pub(super) struct MachineReadable {
    /// The crashed thread's index from the `Crash` line.
    crashed_thread: Option<u32>,
    /// Index of the thread whose frames are being read.
    thread: Option<u32>,
}

impl MachineReadable {
    /// Reads one line if it is of this format.
    pub fn read(&mut self, line: &str, stacks: &mut Collector) -> Read {
        let fields: Vec<&str> = line.trim_end().split('|').collect();
        match fields.as_slice() {
            ["OS" | "CPU" | "GPU" | "Module", _, ..] => Read::Noise,
            ["Crash", _reason, _address, thread] => {
                self.crashed_thread = thread.parse().ok();
                Read::Noise
            }
            [thread, frame, module, function, file, line, offset] => {
                if !is_decimal(thread) || !is_decimal(frame) {
                    return Read::NotMine;
                }
                let Ok(thread) = thread.parse::<u32>() else {
                    return Read::NotMine;
                };
                if self.thread != Some(thread) {
                    self.thread = Some(thread);
                    let marker = if self.crashed_thread == Some(thread) {
                        Marker::Exception
                    } else {
                        Marker::Unmarked
                    };
                    // Breakpad's thread index is the only id this format has.
                    stacks.start_thread(Some(thread), None, marker);
                }
                let frame = machine_frame(module, function, file, line, parse_hex(offset));
                stacks.push(frame, None);
                Read::Stack(MACHINE_READABLE)
            }
            _ => Read::NotMine,
        }
    }
}

fn machine_frame(
    module: &str,
    function: &str,
    file: &str,
    line: &str,
    offset: Option<u64>,
) -> Frame {
    let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_string());
    let mut frame = Frame {
        module: non_empty(module),
        function: non_empty(function),
        source: non_empty(file).map(|file| format!("{file}:{line}")),
        trust: Trust::Text,
        ..Frame::default()
    };
    let offset = offset.map(Addr);
    match (&frame.module, &frame.function, &frame.source) {
        (None, _, _) => frame.address = offset,
        (Some(_), None, _) => frame.module_offset = offset,
        (Some(_), Some(_), None) => frame.offset = offset,
        (Some(_), Some(_), Some(_)) => {} // measured from the source line
    }
    frame
}

fn is_decimal(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Reads a whole `minidump-stackwalk --json` document; `None` when `input` is not one.
///
/// Its `offset`s are instruction addresses, which for caller frames rust-minidump puts
/// inside the call instruction (return address minus 1 on x86); the model, like WinDbg,
/// names callers by their return address, so those are moved back.
pub(super) fn parse_json(input: &str) -> Option<Vec<Thread>> {
    if !input.trim_start().starts_with('{') {
        return None;
    }
    let document: Value = serde_json::from_str(input).ok()?;
    // `crash_info` tells this schema from other JSON with threads, such as triage's own.
    document.get("crash_info")?;
    let threads = document.get("threads")?.as_array()?;
    let crashed = document
        .pointer("/crash_info/crashing_thread")
        .and_then(Value::as_u64);
    let call_length = return_address_distance(
        document
            .pointer("/system_info/cpu_arch")
            .and_then(Value::as_str),
    );
    let mut stacks = Collector::default();
    for (index, thread) in threads.iter().enumerate() {
        let marker = if crashed == u64::try_from(index).ok() {
            Marker::Exception
        } else {
            Marker::Unmarked
        };
        let id = thread
            .get("thread_id")
            .and_then(Value::as_u64)
            .and_then(|id| u32::try_from(id).ok());
        let name = thread
            .get("thread_name")
            .and_then(Value::as_str)
            .map(str::to_string);
        stacks.start_thread(id, name, marker);
        let frames = thread.get("frames").and_then(Value::as_array);
        for frame in frames.into_iter().flatten() {
            push_json_frame(frame, call_length, &mut stacks);
        }
    }
    Some(stacks.finish())
}

/// How far rust-minidump moves a caller's instruction back from its return address.
pub(super) fn return_address_distance(cpu_arch: Option<&str>) -> u64 {
    match cpu_arch {
        Some("arm") => 2,
        Some("arm64") => 4,
        Some("mips" | "mips64") => 8,
        _ => 1,
    }
}

/// Pushes a frame's inlined calls (innermost first), then the frame itself.
fn push_json_frame(frame: &Value, call_length: u64, stacks: &mut Collector) {
    let text = |key: &str| frame.get(key).and_then(Value::as_str);
    let trust = match text("trust") {
        Some("context") => Trust::Context,
        Some("cfi" | "prewalked") => Trust::Cfi,
        Some("frame_pointer") => Trust::FramePointer,
        Some("cfi_scan") => Trust::CfiScan,
        Some("scan") => Trust::Scan,
        Some("none") => Trust::None,
        _ => Trust::Text,
    };
    let distance = if trust == Trust::Context {
        0
    } else {
        call_length
    };
    let moved = |key: &str| {
        text(key)
            .and_then(parse_hex)
            .map(|value| Addr(value.wrapping_add(distance)))
    };
    let address = moved("offset");
    let module = text("module").map(str::to_string);
    let inlines = frame.get("inlines").and_then(Value::as_array);
    for inline in inlines.into_iter().flatten() {
        let frame = Frame {
            address,
            module: module.clone(),
            function: inline
                .get("function")
                .and_then(Value::as_str)
                .map(str::to_string),
            trust: Trust::Inline,
            source: json_source(inline),
            ..Frame::default()
        };
        stacks.push(frame, None);
    }
    let frame = Frame {
        address,
        module,
        function: text("function").map(str::to_string),
        offset: moved("function_offset"),
        module_offset: moved("module_offset"),
        trust,
        source: json_source(frame),
        ..Frame::default()
    };
    stacks.push(frame, None);
}

/// `file:line` from a frame's `file` and `line`, as the walker writes it.
fn json_source(frame: &Value) -> Option<String> {
    let file = frame.get("file").and_then(Value::as_str)?;
    Some(match frame.get("line").and_then(Value::as_u64) {
        Some(line) => format!("{file}:{line}"),
        None => file.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_readable_offset_follows_what_the_frame_has() {
        let with_source = machine_frame("app.exe", "main", "c:\\app.cc", "65", Some(5));
        assert_eq!(
            (with_source.offset, with_source.source.as_deref()),
            (None, Some("c:\\app.cc:65"))
        );
        let with_function = machine_frame("kernel32.dll", "BaseProcessStart", "", "", Some(0x23));
        assert_eq!(with_function.offset, Some(Addr(0x23)));
        let module_only = machine_frame("kernel32.dll", "", "", "", Some(0x16fd7));
        assert_eq!(module_only.module_offset, Some(Addr(0x16fd7)));
        let bare = machine_frame("", "", "", "", Some(0x7c816fd7));
        assert_eq!((bare.address, bare.module), (Some(Addr(0x7c816fd7)), None));
    }

    #[test]
    fn json_without_the_stackwalk_schema_is_not_read() {
        assert!(parse_json(r#"{"threads": [{"thread_id": 1, "frames": []}]}"#).is_none());
        assert!(parse_json("{ not json").is_none());
    }

    #[test]
    fn caller_addresses_move_back_by_the_call_length() {
        let document = r#"{"crash_info": {"crashing_thread": 0},
            "system_info": {"cpu_arch": "arm64"},
            "threads": [{"thread_id": 7, "frames": [
                {"offset": "0x1000", "trust": "context"},
                {"offset": "0x2003", "function_offset": "0x13", "trust": "cfi"}]}]}"#;
        let threads = parse_json(document).unwrap();
        let frames = &threads[0].frames;
        assert_eq!(
            (frames[0].address, frames[1].address),
            (Some(Addr(0x1000)), Some(Addr(0x2007)))
        );
        assert_eq!(frames[1].offset, Some(Addr(0x17)));
        assert!(threads[0].crashed);
    }
}
