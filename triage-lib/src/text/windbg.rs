//! WinDbg's `k` family (`k`, `kb`, `kv`, `kn`, `kp`, `kP`, x86 and x64) and the thread
//! headers of `~*kb`. The row parser is shared: `!analyze`'s `STACK_TEXT`, Dr. Watson's
//! back trace and flattened KB articles print the same rows.

use super::collect::{Collector, Marker};
use super::symbol::{stack_word, CallSite};
use super::Read;
use crate::model::{Addr, Frame, Trust};

const FORMAT: &str = "windbg";

/// Reads WinDbg stacks line by line.
#[derive(Default)]
pub(super) struct Windbg {
    /// A `kP` row whose parameter list continues on the following lines.
    wrapped_call: Option<WrappedCall>,
}

struct WrappedCall {
    /// The row up to its opening parenthesis.
    row: String,
    /// The parameter lines so far, joined with spaces.
    parameters: String,
    /// Parentheses still open: the call's own and any a parameter type opened.
    unclosed: usize,
}

impl Windbg {
    /// Takes the parameter lines `kP` indents under `module!function(`. The last one closes
    /// the list and carries the offset and source; any other line ends the call first.
    pub fn read_parameters(&mut self, line: &str, stacks: &mut Collector) -> Read {
        let Some(call) = &mut self.wrapped_call else {
            return Read::NotMine;
        };
        if !line.starts_with(char::is_whitespace) || line.trim().is_empty() {
            self.finish(stacks);
            return Read::NotMine;
        }
        if !call.parameters.is_empty() {
            call.parameters.push(' ');
        }
        call.parameters.push_str(line.trim());
        for c in line.chars() {
            match c {
                '(' => call.unclosed += 1,
                ')' => call.unclosed = call.unclosed.saturating_sub(1),
                _ => {}
            }
        }
        if call.unclosed == 0 {
            let row = format!("{}({}", call.row, call.parameters);
            self.wrapped_call = None;
            if let Some((frame, returns_to)) = parse_row(&row) {
                stacks.push(frame, returns_to);
            }
        }
        Read::Stack(FORMAT)
    }

    /// Pushes a wrapped call whose parameter list never closed, named without it.
    pub fn finish(&mut self, stacks: &mut Collector) {
        if let Some(call) = self.wrapped_call.take() {
            if let Some((frame, returns_to)) = parse_row(&call.row) {
                stacks.push(frame, returns_to);
            }
        }
    }

    /// Reads a `~` thread header or a stack row.
    pub fn read(&mut self, line: &str, stacks: &mut Collector) -> Read {
        if let Some((id, marker, name)) = thread_header(line) {
            stacks.start_thread(Some(id), name, marker);
            return Read::Stack(FORMAT);
        }
        if let Some(row) = line.trim_end().strip_suffix('(') {
            if parse_row(row).is_some() {
                self.wrapped_call = Some(WrappedCall {
                    row: row.to_string(),
                    parameters: String::new(),
                    unclosed: 1,
                });
                return Read::Stack(FORMAT);
            }
        }
        match parse_row(line) {
            Some((frame, returns_to)) => {
                stacks.push(frame, returns_to);
                Read::Stack(FORMAT)
            }
            None => Read::NotMine,
        }
    }
}

/// `.  0  Id: 2a18.2184 Suspend: 1 Teb: 0000004a`f435e000 Unfrozen "Main"`: the thread id
/// after the dot, the `.` (current) or `#` (exception) marker, and the name if quoted.
fn thread_header(line: &str) -> Option<(u32, Marker, Option<String>)> {
    let mut tokens = line.split_whitespace().peekable();
    let marker = match tokens.peek() {
        Some(&".") => Marker::Current,
        Some(&"#") => Marker::Exception,
        _ => Marker::Unmarked,
    };
    if marker != Marker::Unmarked {
        tokens.next();
    }
    let ordinal = tokens.next()?;
    if !ordinal.bytes().all(|b| b.is_ascii_digit()) || tokens.next()? != "Id:" {
        return None;
    }
    let (_process, thread) = tokens.next()?.split_once('.')?;
    let id = u32::from_str_radix(thread, 16).ok()?;
    let name = line
        .trim_end()
        .strip_suffix('"')
        .and_then(|rest| rest.rsplit_once('"'))
        .map(|(_, name)| name.to_string());
    Some((id, marker, name))
}

/// One stack row, as `k` and its relatives print it:
///
/// ```text
/// [frame#] ChildEBP RetAddr [Args to Child x3] call-site [(FPO: ..)] [(CONV: ..)] [[file @ line]]
/// [frame#] Child-SP RetAddr [: Args to Child x4 :] call-site [[file @ line]]
/// [frame#] (Inline Function) --------`-------- call-site
/// [frame#] module!function                                          (kc, no columns)
/// ```
///
/// Returns the frame and its `RetAddr` column, the address of the frame below it.
pub(super) fn parse_row(line: &str) -> Option<(Frame, Option<u64>)> {
    let mut rest = line.trim();
    if let Some((token, after)) = next_token(rest) {
        if is_frame_number(token) && !after.trim().is_empty() {
            rest = after;
        }
    }
    if let Some(inline) = rest.trim_start().strip_prefix("(Inline") {
        let (_, after) = inline.split_once(')')?;
        let call = after.trim_start_matches(['-', '`', ':', ' ', '\t']);
        let (call, source) = split_suffixes(call);
        let mut frame = CallSite::parse(call)?.into_frame(Trust::Inline);
        frame.source = source;
        return Some((frame, None));
    }

    let mut columns = Vec::new();
    let mut x86 = false;
    let mut in_arguments = false;
    while let Some((token, after)) = next_token(rest) {
        if token == ":" {
            // x64 `kb` and `!analyze` put the four home-space arguments between colons.
            in_arguments = !in_arguments;
        } else if let Some(word) = stack_word(token) {
            if !in_arguments {
                x86 |= columns.is_empty() && token.len() == 8;
                columns.push(word);
            }
        } else {
            break;
        }
        rest = after;
    }
    let (call, source) = split_suffixes(rest);
    let plausible = match columns.len() {
        0 => call.contains('!'),
        1 => false,
        // A column word inside the call site means several rows run together on one line.
        _ => !call.split_whitespace().any(|t| stack_word(t).is_some()),
    };
    if !plausible {
        return None;
    }
    let mut frame = CallSite::parse(call)?.into_frame(Trust::Text);
    frame.source = source;
    frame.frame_base = columns.first().copied().map(Addr);
    if x86 && columns.len() > 2 {
        let args = columns[2..].iter().take(3).map(|&word| Some(Addr(word)));
        frame.args = Some(args.collect());
    }
    Some((frame, columns.get(1).copied()))
}

/// `kn` numbers frames in hex (`00`, `0a`, `1f3`); stack columns are never this short.
fn is_frame_number(token: &str) -> bool {
    (1..=4).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_hexdigit())
}

fn next_token(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    if text.is_empty() {
        return None;
    }
    Some(text.split_once(char::is_whitespace).unwrap_or((text, "")))
}

/// Separates the call site from what `kv` and private symbols append after it:
/// ` (FPO: [Non-Fpo])`, ` (CONV: stdcall)`, ` [d:\src\file.c @ 123]` (the source location).
fn split_suffixes(text: &str) -> (&str, Option<String>) {
    let mut call = text.trim();
    let mut source = None;
    if let Some(at) = call.rfind(" @ ") {
        let open = call[..at].rfind(" [");
        let close = call[at..].find(']').map(|end| at + end);
        if let (Some(open), Some(close)) = (open, close) {
            let file = call[open + 2..at].trim();
            let line = call[at + 3..close].trim();
            source = Some(format!("{file}:{line}"));
            call = &call[..open];
        }
    }
    for marker in [" (FPO:", " (CONV:", " (TRAP @"] {
        if let Some(at) = call.find(marker) {
            call = &call[..at];
        }
    }
    (call.trim_end(), source)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: &str) -> (Frame, Option<u64>) {
        parse_row(line).unwrap_or_else(|| panic!("{line:?} is a row"))
    }

    #[test]
    fn x86_kb_row_fills_frame_base_and_args() {
        let (frame, returns_to) =
            row("0514efcc 77f640fc 04930000 40530000 0514eff8 NTDLL!RtlpFindAndCommitPages+0xde");
        assert_eq!(returns_to, Some(0x77f6_40fc));
        assert_eq!(frame.frame_base, Some(Addr(0x514efcc)));
        let args = frame.args.unwrap();
        assert_eq!(args[0], Some(Addr(0x4930000)));
        assert_eq!(args[2], Some(Addr(0x514eff8)));
        assert_eq!(frame.function.as_deref(), Some("RtlpFindAndCommitPages"));
        assert_eq!(frame.offset, Some(Addr(0xde)));
    }

    #[test]
    fn x64_row_with_argument_section() {
        let (frame, returns_to) = row(
            "00000000`0012f8a8 00000000`77b3c30a : 00000000`00000000 00000000`00000000 \
             00000000`00000000 00000000`00000000 : ntdll!NtWaitForSingleObject+0xa",
        );
        assert_eq!(returns_to, Some(0x77b3_c30a));
        assert_eq!(frame.frame_base, Some(Addr(0x12f8a8)));
        assert_eq!(frame.args, None);
        assert_eq!(frame.function.as_deref(), Some("NtWaitForSingleObject"));
    }

    #[test]
    fn suffixes_are_stripped_and_source_kept() {
        let (frame, _) = row(
            "0012ff70 004053ec 00000001 00332a48 00332a98 app!main+0x4f \
             (FPO: [Non-Fpo]) (CONV: cdecl) [c:\\src\\app.c @ 65]",
        );
        assert_eq!(frame.function.as_deref(), Some("main"));
        assert_eq!(frame.source.as_deref(), Some("c:\\src\\app.c:65"));
    }

    #[test]
    fn inline_rows() {
        let (frame, returns_to) =
            row("01 (Inline Function) --------`-------- app!Helper [c:\\a.cpp @ 7]");
        assert_eq!(frame.trust, Trust::Inline);
        assert_eq!(returns_to, None);
        assert_eq!(frame.function.as_deref(), Some("Helper"));
        assert_eq!(frame.source.as_deref(), Some("c:\\a.cpp:7"));
        let (frame, _) = row("(Inline) -------- -------- -------- -------- app!Helper");
        assert_eq!(frame.trust, Trust::Inline);
    }

    #[test]
    fn rows_run_together_are_not_one_frame() {
        assert!(parse_row(
            "0514efcc 77f640fc 04930000 40530000 0514eff8 NTDLL!A+0xde \
             0514f008 77f64830 04930000 000000b0 048b0588 NTDLL!B+0x56"
        )
        .is_none());
    }

    #[test]
    fn prose_is_not_a_row() {
        for prose in [
            "The MTA may stop responding (crash) with a call stack",
            "Mapi32.dll 5.5.2652.85",
            "12345678 Mapi32.dll",
        ] {
            assert!(parse_row(prose).is_none(), "{prose}");
        }
    }

    #[test]
    fn thread_headers() {
        assert_eq!(
            thread_header(".  0  Id: 2a18.2184 Suspend: 1 Teb: 0000004a`f435e000 Unfrozen"),
            Some((0x2184, Marker::Current, None))
        );
        assert_eq!(
            thread_header("#  1  Id: 4d0.4d8 Suspend: 1 Teb: 7ffde000 Unfrozen \"worker\""),
            Some((0x4d8, Marker::Exception, Some("worker".to_string())))
        );
        assert_eq!(
            thread_header("   2  Id: 4d0.4dc Suspend: 1 Teb: 7ffdd000 Unfrozen"),
            Some((0x4dc, Marker::Unmarked, None))
        );
    }
}
