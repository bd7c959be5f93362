//! LLDB `bt` and `bt all`:
//!
//! ```text
//! * thread #1, name = 'emsmta', stop reason = Exception 0xc0000005 encountered at ...
//!   * frame #0: 0x77f6f9d8 ntdll.dll`RtlpFindAndCommitPages + 222
//!     frame #1: 0x00401a2c app.exe`main(argc=1, argv=0x00332a48) at main.c:12:5
//!     frame #2: 0x00401b00 app.exe`main [inlined] helper at util.h:3
//! ```
//!
//! LLDB separates module and function with a backtick and writes offsets in decimal.
//! Caller frames show the return address, as the model expects.

use super::collect::{Collector, Marker};
use super::symbol::{parse_hex, split_parameter_list};
use super::Read;
use crate::model::{Addr, Frame, Trust};

const FORMAT: &str = "lldb";

/// Reads a `thread #` header or a `frame #` line.
pub(super) fn read(line: &str, stacks: &mut Collector) -> Read {
    let text = line.trim_start();
    let (selected, text) = match text.strip_prefix('*') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    if let Some(header) = text.strip_prefix("thread #") {
        let Some(ordinal_end) = header.find([',', ':']) else {
            return Read::NotMine;
        };
        if !is_decimal(&header[..ordinal_end]) {
            return Read::NotMine;
        }
        let marker = if selected {
            Marker::Current
        } else {
            Marker::Unmarked
        };
        stacks.start_thread(thread_id(header), quoted_name(header), marker);
        return Read::Stack(FORMAT);
    }
    match text.strip_prefix("frame #").and_then(frame) {
        Some(frame) => {
            stacks.push(frame, None);
            Read::Stack(FORMAT)
        }
        None => Read::NotMine,
    }
}

/// `tid = 0x1c03`, which `thread list` and some `bt` headers print.
fn thread_id(header: &str) -> Option<u32> {
    let (_, rest) = header.split_once("tid = ")?;
    let token = rest.split([',', ' ']).next()?;
    let id = match token.strip_prefix("0x") {
        Some(_) => parse_hex(token)?,
        None => token.parse().ok()?,
    };
    u32::try_from(id).ok()
}

/// `name = 'worker'`.
fn quoted_name(header: &str) -> Option<String> {
    let (_, rest) = header.split_once("name = '")?;
    let (name, _) = rest.split_once('\'')?;
    Some(name.to_string())
}

/// `3: 0x00593ae3 emsmta.exe`HrStrAToStrW + 103 at file.c:12:5 [opt]`, after `frame #`.
fn frame(text: &str) -> Option<Frame> {
    let (ordinal, rest) = text.split_once(':')?;
    if !is_decimal(ordinal) {
        return None;
    }
    let rest = rest.trim();
    let (address, location) = rest.split_once(' ').unwrap_or((rest, ""));
    if !address.starts_with("0x") {
        return None;
    }
    let mut frame = Frame {
        address: Some(Addr(parse_hex(address)?)),
        trust: Trust::Text,
        ..Frame::default()
    };
    let mut location = location.trim();
    for tag in [" [artificial]", " [opt]"] {
        location = location.strip_suffix(tag).unwrap_or(location);
    }
    if let Some((before, source)) = location.rsplit_once(" at ") {
        frame.source = Some(without_column(source));
        location = before;
    }
    let (location, offset) = match location.rsplit_once(" + ") {
        Some((before, offset)) => (before, Some(offset.trim().parse::<u64>().ok()?)),
        None => (location, None),
    };
    let Some((module, function)) = location.split_once('`') else {
        if !location.is_empty() {
            frame.module = Some(location.to_string());
            frame.module_offset = offset.map(Addr);
        }
        return Some(frame);
    };
    frame.module = Some(module.to_string());
    let function = match function.split_once(" [inlined] ") {
        Some((_caller, inlined)) => {
            frame.trust = Trust::Inline;
            inlined
        }
        None => function,
    };
    // `___lldb_unnamed_symbol123` is LLDB's placeholder for code without a symbol.
    if !function.starts_with("___lldb_unnamed_symbol") && !function.is_empty() {
        frame.function = Some(without_signature(function.trim()).to_string());
        frame.offset = offset.map(Addr);
    }
    Some(frame)
}

/// LLDB prints C++ functions with their signature and functions with debug info with their
/// argument values; the model names functions the way WinDbg does, without either.
fn without_signature(function: &str) -> &str {
    match split_parameter_list(function.strip_suffix(" const").unwrap_or(function)) {
        Some((name, _)) if !name.is_empty() && !name.ends_with("operator") => name,
        _ => function,
    }
}

/// `main.c:12:5` becomes `main.c:12`, the file and line form the model uses.
fn without_column(source: &str) -> String {
    match source.rsplit_once(':') {
        Some((file_and_line, column))
            if is_decimal(column)
                && file_and_line
                    .rsplit_once(':')
                    .is_some_and(|(_, line)| is_decimal(line)) =>
        {
            file_and_line.to_string()
        }
        _ => source.to_string(),
    }
}

fn is_decimal(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Frame {
        frame(text).unwrap_or_else(|| panic!("{text:?} is a frame"))
    }

    #[test]
    fn decimal_offset_becomes_hex() {
        let frame = parse("1: 0x77f640fc ntdll.dll`RtlpExtendHeap + 86");
        assert_eq!(frame.module.as_deref(), Some("ntdll.dll"));
        assert_eq!(frame.function.as_deref(), Some("RtlpExtendHeap"));
        assert_eq!(frame.offset, Some(Addr(0x56)));
        assert_eq!(frame.address, Some(Addr(0x77f640fc)));
    }

    #[test]
    fn signatures_and_arguments_are_dropped() {
        assert_eq!(
            parse("0: 0x1000 a.out`main(argc=1, argv=0x7ffe) at main.c:12:5").function,
            Some("main".to_string())
        );
        assert_eq!(
            parse("0: 0x1000 a.out`Functor::operator()(int) const + 4").function,
            Some("Functor::operator()".to_string())
        );
    }

    #[test]
    fn source_loses_its_column() {
        assert_eq!(
            parse("0: 0x1000 a.out`main at main.c:12:5 [opt]").source,
            Some("main.c:12".to_string())
        );
    }

    #[test]
    fn inlined_frames() {
        let frame = parse("0: 0x1000 a.out`main [inlined] helper at util.h:3");
        assert_eq!(frame.trust, Trust::Inline);
        assert_eq!(frame.function.as_deref(), Some("helper"));
    }

    #[test]
    fn frames_without_symbols() {
        let unnamed = parse("2: 0x00593ae3 emsmta.exe`___lldb_unnamed_symbol123 + 45");
        assert_eq!(unnamed.module.as_deref(), Some("emsmta.exe"));
        assert_eq!((unnamed.function, unnamed.offset), (None, None));
        let module_only = parse("3: 0x00401000 emsmta.exe + 4096");
        assert_eq!(module_only.module_offset, Some(Addr(0x1000)));
        let bare = parse("4: 0x0000000000401000");
        assert_eq!((bare.address, bare.module), (Some(Addr(0x401000)), None));
    }

    #[test]
    fn thread_header_parts() {
        assert_eq!(
            thread_id("1: tid = 0x1c03, 0x1000 a.out`main"),
            Some(0x1c03)
        );
        assert_eq!(thread_id("1, name = 'x'"), None);
        assert_eq!(
            quoted_name("1, name = 'worker', stop reason = signal SIGSEGV"),
            Some("worker".into())
        );
    }
}
