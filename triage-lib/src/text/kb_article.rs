//! Stacks in text whose line breaks were lost, as in KB articles flattened into one line:
//! `... similar to the following: 0514efcc 77f640fc 04930000 40530000 0514eff8
//! NTDLL!RtlpFindAndCommitPages+0xde 0514f008 77f64830 ... CAUSE ===== ...`.
//!
//! A frame is recognized only as a run of five 8-digit hex words (ChildEBP, RetAddr and
//! three arguments) followed by a call site, so the prose around it cannot become frames.

use super::collect::Collector;
use super::symbol::stack_word;
use super::{windbg, Read};

const FORMAT: &str = "kb_flattened";
/// ChildEBP, RetAddr and the three arguments of an x86 `kb` row.
const COLUMNS: usize = 5;

/// Scans a line no other reader understood for `kb` rows run together. Consecutive rows
/// form one stack; prose between rows ends it.
pub(super) fn scan(line: &str, stacks: &mut Collector) -> Read {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let mut found = false;
    let mut follows_row = false;
    let mut at = 0;
    while at + COLUMNS < tokens.len() {
        let row = &tokens[at..=at + COLUMNS];
        let columns = &row[..COLUMNS];
        let parsed = columns
            .iter()
            .all(|token| token.len() == 8 && stack_word(token).is_some())
            .then(|| windbg::parse_row(&row.join(" "), windbg::Layout::default()))
            .flatten();
        match parsed {
            Some((frame, returns_to)) => {
                if !follows_row {
                    stacks.end_stack();
                }
                stacks.push(frame, returns_to);
                found = true;
                follows_row = true;
                at += COLUMNS + 1;
            }
            None => {
                follows_row = false;
                at += 1;
            }
        }
    }
    if found {
        stacks.end_stack();
        Read::Stack(FORMAT)
    } else {
        Read::NotMine
    }
}
