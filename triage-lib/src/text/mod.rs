//! Call stacks pasted as text, read into the neutral [`model`](crate::model).
//!
//! People triage from whatever they have: WinDbg `k`/`~*kb`/`!analyze -v` output, a
//! Dr. Watson log, an LLDB backtrace, minidump-stackwalk output, or a KB article whose
//! line breaks were lost. [`parse_stacks`] reads any mix of these, one line at a time:
//! each format's reader gets the line in turn, sections that own whole stretches of text
//! (`!analyze`, Dr. Watson logs) first, and a token scan for flattened articles last.
//!
//! Frames follow the model's WinDbg convention: a caller frame's `address` is its return
//! address. WinDbg-style rows print that only in the callee's `RetAddr` column, so the
//! innermost frame of such a stack has an empty `address`: the text does not give it.
//!
//! A stack ends at a blank line or a thread header; frames after that start a new thread.
//! A line that no reader understands is counted but does not end the stack, so one odd
//! row does not split a thread in two.

mod analyze;
mod clean;
mod collect;
mod drwatson;
mod kb_article;
mod lldb;
mod stackwalk;
mod stackwalk_human;
mod symbol;
mod windbg;

use crate::model::Thread;
use collect::Collector;

/// What a text input held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedStacks {
    /// Every stack found, in input order, frames innermost first.
    pub threads: Vec<Thread>,
    /// Lines that no reader understood. Known noise (warnings, column headers, prompts,
    /// blank lines, the rest of an `!analyze` or Dr. Watson log) is not counted.
    pub unparsed_lines: usize,
    /// The formats recognized, in order of first appearance, e.g. `windbg` or `lldb`.
    pub formats: Vec<&'static str>,
    /// Lines read as frames. A thread printed twice (`STACK_TEXT` and a later `kb`) is one
    /// thread in `threads` but its lines count here each time.
    pub frame_lines: usize,
    /// 1-based numbers of the lines that were not read but look like they hold a frame (a
    /// `module!function` token, or stack columns): what a user should look at when a stack
    /// was not found.
    pub suspect_lines: Vec<usize>,
}

/// Parses every stack in `input` (any mix of the supported formats). Never panics, never
/// fails: lines it does not understand are counted in `unparsed_lines`; known noise lines
/// are skipped without counting.
pub fn parse_stacks(input: &str) -> ParsedStacks {
    if let Some(threads) = stackwalk::parse_json(input) {
        let frame_lines = threads.iter().map(|t| t.frames.len()).sum();
        return ParsedStacks {
            threads,
            formats: vec![stackwalk::JSON],
            frame_lines,
            ..ParsedStacks::default()
        };
    }
    let html = clean::html_to_text(input);
    let text = html.as_deref().unwrap_or(input);
    let mut readers = Readers::default();
    let mut stacks = Collector::default();
    let mut parsed = ParsedStacks::default();
    for (number, raw) in text.lines().enumerate() {
        let line = clean::clean_line(raw);
        match readers.read(&line, &mut stacks) {
            Read::Stack(format) => {
                if !parsed.formats.contains(&format) {
                    parsed.formats.push(format);
                }
            }
            Read::Noise => {}
            Read::NotMine => {
                parsed.unparsed_lines += 1;
                if looks_like_a_frame(&line) {
                    parsed.suspect_lines.push(number + 1);
                }
            }
        }
    }
    readers.windbg.finish(&mut stacks);
    parsed.frame_lines = stacks.frame_lines;
    parsed.threads = stacks.finish_pasted();
    parsed
}

/// The title an article gives itself: Markdown front matter's `title:`, an HTML page's
/// `<title>`, or a first `# Heading`. Never a separator line such as `---`.
pub fn article_title(input: &str) -> Option<String> {
    if let Some(title) = clean::html_title(input) {
        return Some(title);
    }
    let mut lines = input.lines().map(str::trim);
    if input.trim_start().starts_with("---") {
        let _opening = lines.next();
        for line in lines.by_ref() {
            if line == "---" {
                break;
            }
            if let Some(title) = line.strip_prefix("title:") {
                let title = title.trim().trim_matches(['"', '\'']).trim();
                if !title.is_empty() {
                    return Some(title.to_string());
                }
            }
        }
    }
    input
        .lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix("# "))
        .map(|title| title.trim().to_string())
        .filter(|title| !title.is_empty())
}

/// A `module!function` token, or a line that opens with two stack columns.
fn looks_like_a_frame(line: &str) -> bool {
    let named = line.split_whitespace().any(|token| {
        token.split_once('!').is_some_and(|(module, function)| {
            let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            ends(module.chars().last()) && ends(function.chars().next())
        })
    });
    let mut tokens = line.split_whitespace();
    let columns = tokens.next().and_then(symbol::stack_word).is_some()
        && tokens.next().and_then(symbol::stack_word).is_some();
    named || columns
}

/// How a reader took a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// The line held a frame or thread header of the named format.
    Stack(&'static str),
    /// The line belongs to a known format but holds no frame.
    Noise,
    /// The reader does not understand the line.
    NotMine,
}

/// One reader per format, with the state each keeps between lines.
#[derive(Default)]
struct Readers {
    windbg: windbg::Windbg,
    analyze: analyze::Analyze,
    drwatson: drwatson::DrWatson,
    machine_readable: stackwalk::MachineReadable,
    human: stackwalk_human::Human,
}

impl Readers {
    /// Offers `line` to each reader in turn until one takes it. Sections that own whole
    /// stretches of text go first, the token scan for flattened articles last.
    fn read(&mut self, line: &str, stacks: &mut Collector) -> Read {
        let section = self
            .windbg
            .read_parameters(line, stacks)
            .or_else(|| self.analyze.read(line, stacks, &mut self.windbg))
            .or_else(|| self.drwatson.read(line, stacks, &mut self.windbg))
            .or_else(|| self.human.read(line, stacks));
        if section != Read::NotMine {
            return section;
        }
        if is_noise(line) {
            if line.trim().is_empty() {
                stacks.end_stack();
            }
            return Read::Noise;
        }
        self.machine_readable
            .read(line, stacks)
            .or_else(|| lldb::read(line, stacks))
            .or_else(|| self.windbg.read(line, stacks))
            .or_else(|| kb_article::scan(line, stacks))
    }
}

impl Read {
    /// This reading, or the next reader's when this one did not take the line.
    fn or_else(self, next_reader: impl FnOnce() -> Read) -> Read {
        match self {
            Read::NotMine => next_reader(),
            taken => taken,
        }
    }
}

/// Lines debuggers print around stacks that never hold a frame.
fn is_noise(line: &str) -> bool {
    const PREFIXES: [&str; 4] = ["WARNING:", "***", "DBGHELP:", "Unable to load image"];
    let text = line.trim();
    text.is_empty()
        || is_debugger_prompt(text)
        || PREFIXES.iter().any(|prefix| text.starts_with(prefix))
}

/// `0:000> ~*kb`, `0:000:x86> kb`, `kd> k`, `1: kd> kb`, `(lldb) bt all`.
fn is_debugger_prompt(text: &str) -> bool {
    if text.starts_with("(lldb)") {
        return true;
    }
    let Some((prompt, _command)) = text.split_once('>') else {
        return false;
    };
    let number = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = prompt.split(':').map(str::trim).collect();
    match parts.as_slice() {
        ["kd"] => true,
        [processor, "kd"] => number(processor),
        [process, thread] | [process, thread, _] => number(process) && number(thread),
        _ => false,
    }
}
