//! WinDbg's `k` family (`k`, `kb`, `kv`, `kn`, `kp`, `kP`, x86 and x64) and the thread
//! headers of `~*kb`. The row parser is shared: `!analyze`'s `STACK_TEXT`, Dr. Watson's
//! back trace and flattened KB articles print the same rows.

use super::collect::{Collector, Marker};
use super::symbol::{parse_hex, stack_word, CallSite};
use super::Read;
use crate::model::{Addr, Frame, Trust};

const FORMAT: &str = "windbg";

/// Which stack columns a listing's header announced. The rows alone cannot tell a
/// one-column `RetAddr` layout from the kernel's `Callee-SP` one.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// `ChildEBP RetAddr ...`, `Child-SP RetAddr ...`, `FramePtr RetAddr ...` (and rows
    /// without a header).
    #[default]
    FrameBaseFirst,
    /// `RetAddr : Args to Child : Call Site` (`kb` on x64 without the Child-SP column).
    ReturnAddressOnly,
    /// `Callee-SP Arguments to Callee Call Site` (kernel debugger): `SP : args : site`.
    CalleeSp,
}

/// Reads WinDbg stacks line by line.
#[derive(Default)]
pub(super) struct Windbg {
    /// A `kP` row whose parameter list continues on the following lines.
    wrapped_call: Option<WrappedCall>,
    /// The stack columns of a row whose call site a line wrap moved to the next line.
    pending_columns: Option<String>,
    /// The row read from the previous line, in case the next line continues its call site.
    last_row: Option<String>,
    /// The columns the last header announced.
    layout: Layout,
    /// Inside an SOS `!clrstack` listing (`Child SP IP Call Site`).
    managed: bool,
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
        call.unclosed = unclosed_after(call.unclosed, line);
        if call.unclosed == 0 {
            let row = format!("{}({}", call.row, call.parameters);
            self.wrapped_call = None;
            if let Some((frame, returns_to)) = parse_row(&row, self.layout) {
                stacks.push(frame, returns_to);
            }
        }
        Read::Stack(FORMAT)
    }

    /// Pushes a wrapped call whose parameter list never closed, named without it.
    pub fn finish(&mut self, stacks: &mut Collector) {
        if let Some(call) = self.wrapped_call.take() {
            if let Some((frame, returns_to)) = parse_row(&call.row, self.layout) {
                stacks.push(frame, returns_to);
            }
        }
    }

    /// Reads a `~` thread header, a column header or a stack row.
    pub fn read(&mut self, line: &str, stacks: &mut Collector) -> Read {
        // `!deadlock 1` opens each lock's acquisition stack with `Stack:`.
        if let Some(first_row) = line.trim_start().strip_prefix("Stack:") {
            stacks.end_stack();
            return self.read(first_row, stacks);
        }
        let pending = self.pending_columns.take();
        let last_row = self.last_row.take();
        if let Some((id, marker, name)) = thread_header(line).or_else(|| managed_thread(line)) {
            stacks.start_thread(Some(id), name, marker);
            return Read::Stack(FORMAT);
        }
        if let Some((layout, managed)) = column_header(line) {
            (self.layout, self.managed) = (layout, managed);
            return Read::Noise;
        }
        if let Some(columns) = pending {
            let joined = format!("{columns} {}", line.trim());
            if let Some((frame, returns_to)) = parse_row(&joined, self.layout) {
                stacks.push(frame, returns_to);
                self.last_row = Some(joined);
                return Read::Stack(FORMAT);
            }
        }
        if is_disassembly_line(line) {
            // `u` and `!analyze`'s FAULTING_IP print a bare `module!function+0xoff` label
            // before the instructions; that label was not a frame.
            if last_row
                .as_deref()
                .is_some_and(|row| parse_columns(row).is_empty())
            {
                stacks.pop_last();
            }
            return Read::Noise;
        }
        if let Some(row) = last_row {
            if let Some((frame, returns_to)) = continued_call_site(&row, line, self.layout) {
                stacks.replace_last(frame, returns_to);
                return Read::Stack(FORMAT);
            }
        }
        if let Some((row, unclosed)) = opened_parameter_list(line) {
            if parse_row(row, self.layout).is_some() {
                self.wrapped_call = Some(WrappedCall {
                    row: row.to_string(),
                    parameters: String::new(),
                    unclosed,
                });
                return Read::Stack(FORMAT);
            }
        }
        if let Some((frame, returns_to)) = parse_row(line, self.layout) {
            stacks.push(frame, returns_to);
            self.last_row = Some(line.trim().to_string());
            return Read::Stack(FORMAT);
        }
        if self.managed {
            if let Some(frame) = managed_row(line) {
                stacks.push(frame, None);
                return Read::Stack(FORMAT);
            }
        }
        if is_columns_only(line) {
            self.pending_columns = Some(line.trim().to_string());
            return Read::Noise;
        }
        Read::NotMine
    }
}

/// Open parentheses after reading `line`, starting from `open`.
fn unclosed_after(open: usize, line: &str) -> usize {
    line.chars().fold(open, |open, c| match c {
        '(' => open + 1,
        ')' => open.saturating_sub(1),
        _ => open,
    })
}

/// A row whose parameter list opens and does not close on this line (`kP`, or a `kb`
/// variant that prints argument values): the row up to the list, and how many
/// parentheses stay open.
fn opened_parameter_list(line: &str) -> Option<(&str, usize)> {
    let trimmed = line.trim_end();
    let unclosed = unclosed_after(0, trimmed);
    if unclosed == 0 {
        return None;
    }
    let open = trimmed.rfind('(')?;
    if let Some(row) = trimmed.strip_suffix('(') {
        return Some((row, 1));
    }
    let row = &trimmed[..open];
    let list = &trimmed[open..];
    (!row.trim().is_empty() && !list.contains(')')).then_some((row, unclosed))
}

/// Column headers, and which layout each announces; `true` for SOS's managed listing.
fn column_header(line: &str) -> Option<(Layout, bool)> {
    let text = line.trim().trim_start_matches(['#', ' ']);
    let text = text.strip_prefix("Memory").map_or(text, str::trim_start);
    let starts = |prefix: &str| text.starts_with(prefix);
    if starts("Child SP") && text.contains("Call Site") {
        Some((Layout::FrameBaseFirst, true))
    } else if starts("ChildEBP") || starts("Child-SP") || starts("FramePtr") {
        Some((Layout::FrameBaseFirst, false))
    } else if starts("RetAddr") {
        Some((Layout::ReturnAddressOnly, false))
    } else if starts("Callee-SP") {
        Some((Layout::CalleeSp, false))
    } else {
        None
    }
}

/// SOS's `OS Thread Id: 0x1dc82 (20)` before each managed stack.
fn managed_thread(line: &str) -> Option<(u32, Marker, Option<String>)> {
    let id = line.trim().strip_prefix("OS Thread Id: ")?;
    let id = parse_hex(id.split_whitespace().next()?)?;
    Some((u32::try_from(id).ok()?, Marker::Unmarked, None))
}

/// An SOS `!clrstack` row: `Child SP`, `IP`, then a managed method
/// (`Ns.Type.Method(Args) [file @ line]`) or a runtime transition frame
/// (`[GCFrame: 00007f2ae37b5680]`). Managed frames name no module.
fn managed_row(line: &str) -> Option<Frame> {
    let (sp, rest) = next_token(line)?;
    let (ip, call) = next_token(rest)?;
    let (sp, ip) = (stack_word(sp)?, stack_word(ip)?);
    let (call, source) = split_suffixes(call);
    if call.is_empty()
        || call.contains('!')
        || stack_word(call.split_whitespace().next()?).is_some()
    {
        return None;
    }
    // A transition frame's own name holds an address; only the method after it is a call.
    let function = match call.strip_prefix('[') {
        Some(transition) => transition.split_once(']').map(|(_, method)| method.trim()),
        None => Some(call),
    };
    Some(Frame {
        address: Some(Addr(ip)),
        function: function.filter(|f| !f.is_empty()).map(str::to_string),
        trust: Trust::Text,
        source,
        frame_base: Some(Addr(sp)),
        ..Frame::default()
    })
}

/// A line of stack columns only (`011ab158 02004e97 011ab178 011ab1c4 000004b0`): a mail
/// client or an 80-column console moved the call site to the next line.
fn is_columns_only(line: &str) -> bool {
    let mut words = 0;
    for token in line.split_whitespace() {
        match token {
            ":" => {}
            _ if stack_word(token).is_some() => words += 1,
            _ if words == 0 && is_frame_number(token) => {}
            _ => return false,
        }
    }
    words >= 2
}

/// The previous row again, when `line` is the rest of its call site that a wrap cut off:
/// `app!SomeLong` + `FunctionName+0x4f`, or `app!Foo+0x4` + `f`. Only a single token that
/// gives the row an offset it lacked (or lengthens a cut one) counts, so prose after a
/// stack never joins it.
fn continued_call_site(row: &str, line: &str, layout: Layout) -> Option<(Frame, Option<u64>)> {
    let token = line.trim();
    let single = !token.is_empty() && !token.contains(char::is_whitespace);
    if !single || token.contains('!') || stack_word(token).is_some() {
        return None;
    }
    let (before, _) = parse_row(row, layout)?;
    let cut_offset = row.ends_with('+') || row.ends_with("+0x");
    let hex_tail = token.bytes().all(|b| b.is_ascii_hexdigit());
    if before.offset.is_some() && !hex_tail {
        return None;
    }
    if before.offset.is_none() && !cut_offset && !token.contains('+') {
        return None;
    }
    let (after, returns_to) = parse_row(&format!("{row}{token}"), layout)?;
    (after.offset.is_some() && after.function.is_some()).then_some((after, returns_to))
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
/// [frame#] [Memory] ChildEBP RetAddr [Args to Child x3] call-site [(FPO: ..)] [[file @ line]]
/// [frame#] [Memory] Child-SP RetAddr [: Args to Child x4 :] call-site [[file @ line]]
/// [frame#] RetAddr : Args to Child x4 : call-site              (layout ReturnAddressOnly)
/// Callee-SP : Arguments to Callee : call-site                  (layout CalleeSp)
/// [frame#] (Inline Function) --------`-------- call-site
/// [frame#] module!function                                          (kc, no columns)
/// ```
///
/// Returns the frame and its `RetAddr` column, the address of the frame below it.
/// Disassembly (`77f6f9d8 8b4604 mov eax,[esi+4]`, `call nwlnknb!_NbiReceive+0xca
/// (fcd976ba)`) and address labels (`MSHTML!Foo::Bar+0x46:`) are not rows.
pub(super) fn parse_row(line: &str, layout: Layout) -> Option<(Frame, Option<u64>)> {
    let mut rest = line.trim();
    if rest.ends_with(':') {
        return None;
    }
    if let Some((token, after)) = next_token(rest) {
        if is_frame_number(token) && !after.trim().is_empty() {
            rest = after;
        }
    }
    // `kf` prints the frame's stack use between the number and the columns.
    if let Some((token, after)) = next_token(rest) {
        let follows = next_token(after).map(|(next, _)| next);
        let column_follows =
            follows.is_some_and(|next| stack_word(next).is_some() || next.starts_with("(Inline"));
        if token.len() <= 6 && token.bytes().all(|b| b.is_ascii_hexdigit()) && column_follows {
            rest = after;
        }
    }
    if let Some(inline) = rest.trim_start().strip_prefix("(Inline") {
        let (_, after) = inline.split_once(')')?;
        let call = after.trim_start_matches(['-', '`', ':', ' ', '\t']);
        let (call, source) = split_suffixes(call);
        if is_disassembly(call) {
            return None;
        }
        let mut frame = CallSite::parse(call)?.into_frame(Trust::Inline);
        frame.source = source;
        return Some((frame, None));
    }

    let mut columns = Vec::new();
    let mut x86 = false;
    let mut in_arguments = false;
    let mut had_arguments = false;
    while let Some((token, after)) = next_token(rest) {
        if token == ":" {
            // x64 `kb` and `!analyze` put the four home-space arguments between colons.
            in_arguments = !in_arguments;
            had_arguments = true;
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
        1 => had_arguments,
        // A column word inside the call site means several rows run together on one line.
        _ => !call.split_whitespace().any(|t| stack_word(t).is_some()),
    };
    if !plausible || is_disassembly(call) {
        return None;
    }
    let mut frame = CallSite::parse(call)?.into_frame(Trust::Text);
    frame.source = source;
    let (frame_base, returns_to) = match (layout, columns.len()) {
        (Layout::ReturnAddressOnly, 1) => (None, columns.first().copied()),
        (Layout::CalleeSp, 1) => (columns.first().copied(), None),
        (_, 1) => (None, None),
        _ => (columns.first().copied(), columns.get(1).copied()),
    };
    frame.frame_base = frame_base.map(Addr);
    if x86 && columns.len() > 2 {
        let args = columns[2..].iter().take(3).map(|&word| Some(Addr(word)));
        frame.args = Some(args.collect());
    }
    Some((frame, returns_to))
}

/// `77f6f9d8 8b4604  mov eax,dword ptr [esi+4]`: an address, the instruction's bytes and
/// the instruction, as `u` prints it.
fn is_disassembly_line(line: &str) -> bool {
    let mut tokens = line.split_whitespace();
    let (Some(address), Some(bytes), Some(_)) =
        (tokens.next(), tokens.next(), tokens.clone().next())
    else {
        return false;
    };
    let rest: String = tokens.collect::<Vec<_>>().join(" ");
    parse_hex(address).is_some()
        && address.len() >= 8
        && bytes.len().is_multiple_of(2)
        && bytes.bytes().all(|b| b.is_ascii_hexdigit())
        && is_disassembly(&rest)
}

/// The leading stack columns of a row.
fn parse_columns(row: &str) -> Vec<u64> {
    let mut rest = row.trim();
    if let Some((token, after)) = next_token(rest) {
        if is_frame_number(token) {
            rest = after;
        }
    }
    rest.split_whitespace().map_while(stack_word).collect()
}

/// Instructions as `u`, `ub` and fault listings print them: a mnemonic, then operands. A
/// call site never starts with one, and an address label ends with `:`.
fn is_disassembly(call: &str) -> bool {
    const MNEMONICS: &[&str] = &[
        "mov", "movzx", "movsx", "movsxd", "lea", "push", "pop", "call", "jmp", "je", "jne", "jz",
        "jnz", "ja", "jae", "jb", "jbe", "jg", "jge", "jl", "jle", "js", "jns", "jo", "jno", "jp",
        "jnp", "cmp", "test", "add", "sub", "xor", "and", "or", "not", "neg", "inc", "dec", "ret",
        "retn", "int", "int3", "nop", "shl", "shr", "sar", "sal", "rol", "ror", "imul", "mul",
        "div", "idiv", "cdq", "cqo", "leave", "enter", "xchg", "lock", "rep", "repe", "repne",
        "stos", "movs", "lods", "cmps", "scas", "sete", "setne", "cmove", "cmovne", "bt", "bts",
        "btr", "cmpxchg", "fld", "fstp", "movaps", "movups", "movdqa", "movdqu", "movss", "movsd",
        "xorps", "pxor", "ud2", "hlt", "sbb", "adc", "ldr", "str", "ldp", "stp", "bl", "blr", "br",
        "cbz", "cbnz", "b", "ldq_u", "ldl", "stl", "bsr", "jsr",
    ];
    let text = call.trim();
    if text.ends_with(':') {
        return true;
    }
    let mut tokens = text.split_whitespace();
    let first = tokens.next().unwrap_or("");
    let mnemonic = first.split_once('.').map_or(first, |(m, _)| m);
    tokens.next().is_some() && MNEMONICS.contains(&mnemonic)
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
    for marker in [" (FPO:", " (CONV:", " (TRAP @", " //"] {
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
        parse_row(line, Layout::default()).unwrap_or_else(|| panic!("{line:?} is a row"))
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
             0514f008 77f64830 04930000 000000b0 048b0588 NTDLL!B+0x56",
            Layout::default()
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
            assert!(parse_row(prose, Layout::default()).is_none(), "{prose}");
        }
    }

    /// Runs the reader over `text` as `parse_stacks` would, line by line.
    fn read_all(text: &str) -> Vec<crate::model::Thread> {
        let mut reader = Windbg::default();
        let mut stacks = Collector::default();
        for line in text.lines() {
            if reader.read_parameters(line, &mut stacks) == Read::NotMine {
                reader.read(line, &mut stacks);
            }
        }
        reader.finish(&mut stacks);
        stacks.finish_pasted()
    }

    #[test]
    fn a_64_bit_row_split_over_two_lines_is_one_frame() {
        let threads = read_all(
            "ffffd001`528e3fb0 fffff802`cfbc2c33 : ffffc001`5b81f188 00000000`00000000\n\
             ffffc001`5b81f1a0 ffffc001`5b81f1a0 : nt!KiExceptionDispatch+0xf\n\
             ffffd001`528e4190 fffff801`63fb99c4 : fffff801`63fc8230 00000000`00000008 \
             00000000`00000065 00000000`00000001 : nt!KiBreakpointTrap+0xf3\n",
        );
        let frames = &threads[0].frames;
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].function.as_deref(), Some("KiExceptionDispatch"));
        assert_eq!(frames[0].frame_base, Some(Addr(0xffff_d001_528e_3fb0)));
        assert_eq!(frames[1].address, Some(Addr(0xffff_f802_cfbc_2c33)));
    }

    #[test]
    fn a_name_cut_by_a_wrap_is_joined_and_prose_is_not() {
        let threads = read_all(
            "0012ff70 004053ec 00000001 00332a48 00332a98 app!SomeLong\n\
             FunctionName+0x4f\n0012ffc0 7c816fd7 00000000 00000000 7ffdf000 app!Start+0x1\n\
             Thanks\n",
        );
        let names: Vec<_> = threads[0]
            .frames
            .iter()
            .map(|f| f.function.clone())
            .collect();
        assert_eq!(
            names,
            [
                Some("SomeLongFunctionName".to_string()),
                Some("Start".to_string())
            ]
        );
        assert_eq!(threads[0].frames[0].offset, Some(Addr(0x4f)));
    }

    #[test]
    fn disassembly_and_labels_are_not_frames() {
        let threads = read_all(
            "0:000> u lark!uv_winsock_init+0x1a1\n\
             lark!uv_winsock_init+0x1a1 [d:\\src\\winsock.c @ 64]:\n\
             044c2b55 6a00            push    0\n\
             fcd975fd 0f85b7000000    jne     nwlnknb!_NbiReceive+0xca (fcd976ba)\n\
             MSHTML!Foo::Bar+0x46:\n\
             dokan1!DiskDeviceControl+e62 [e:\\dokan\\device.c @ 390]\n\
             fffff801`63fb4192 0fb709          movzx   ecx,word ptr [rcx]\n",
        );
        assert!(threads.is_empty(), "{threads:?}");
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
