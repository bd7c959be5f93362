//! Writing an index from a parsed [`SymbolFile`].
//!
//! Each record is stored as the Breakpad text of what breakpad-symbols' parser *resolved*
//! (overlapping records dropped, STACK WIN lengths fixed up, duplicate ids settled), not
//! as the input had it, so that parsing a record again gives the same value. A function's
//! record also lists the `FILE` and `INLINE_ORIGIN` ids it uses, so that a lookup can
//! fetch just those.

use std::fmt::Write as _;
use std::io::{self, Seek, Write};

use breakpad_symbols::fuzzing_private_exports::WinStackThing;
use breakpad_symbols::SymbolFile;

use super::layout::{put_str, put_u32, IndexWriter, SourceStamp, TableKind};
use super::INDEX_FORMAT;

/// Writes the index of `symbols` (parsed from a file with stamp `source`) to `out`.
pub(super) fn write_index<W: Write + Seek>(
    symbols: &SymbolFile,
    source: SourceStamp,
    out: W,
) -> io::Result<W> {
    let mut writer = IndexWriter::new(out)?;
    let mut text = String::new();

    for (range, function) in symbols.functions.ranges_values() {
        text.clear();
        let _ = writeln!(
            text,
            "FUNC {:x} {:x} {:x} {}",
            function.address, function.size, function.parameter_size, function.name
        );
        let header_len = text.len();
        for (_, line) in function.lines.ranges_values() {
            let _ = writeln!(
                text,
                "{:x} {:x} {} {}",
                line.address, line.size, line.line, line.file
            );
        }
        for inlinee in &function.inlinees {
            let _ = writeln!(
                text,
                "INLINE {} {} {} {} {:x} {:x}",
                inlinee.depth,
                inlinee.call_line,
                inlinee.call_file,
                inlinee.origin_id,
                inlinee.address,
                inlinee.size
            );
        }
        let files = function
            .lines
            .ranges_values()
            .map(|(_, line)| line.file)
            .chain(function.inlinees.iter().map(|inlinee| inlinee.call_file));
        let origins = function.inlinees.iter().map(|inlinee| inlinee.origin_id);
        let record = writer.record();
        put_ids(record, files);
        put_ids(record, origins);
        put_u32(record, header_len as u32);
        put_str(record, &text);
        writer.finish_record(TableKind::Functions, &[range.start, range.end])?;
    }

    for public in &symbols.publics {
        text.clear();
        let _ = writeln!(
            text,
            "PUBLIC {:x} {:x} {}",
            public.address, public.parameter_size, public.name
        );
        put_str(writer.record(), &text);
        writer.finish_record(TableKind::Publics, &[public.address])?;
    }

    for (range, cfi) in symbols.cfi_stack_info.ranges_values() {
        text.clear();
        let _ = writeln!(
            text,
            "STACK CFI INIT {:x} {:x} {}",
            cfi.init.address, cfi.size, cfi.init.rules
        );
        for rule in &cfi.add_rules {
            let _ = writeln!(text, "STACK CFI {:x} {}", rule.address, rule.rules);
        }
        put_str(writer.record(), &text);
        writer.finish_record(TableKind::Cfi, &[range.start, range.end])?;
    }

    for (kind, type_digit, table) in [
        (
            TableKind::WinFrameData,
            4,
            &symbols.win_stack_framedata_info,
        ),
        (TableKind::WinFpo, 0, &symbols.win_stack_fpo_info),
    ] {
        for (range, win) in table.ranges_values() {
            text.clear();
            let _ = write!(
                text,
                "STACK WIN {type_digit} {:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x} ",
                win.address,
                win.size,
                win.prologue_size,
                win.epilogue_size,
                win.parameter_size,
                win.saved_register_size,
                win.local_size,
                win.max_stack_size
            );
            // The parser keeps a program string only on type 4 and a base-pointer flag
            // only on type 0, so the record's type says which one this is.
            let _ = match &win.program_string_or_base_pointer {
                WinStackThing::ProgramString(program) => {
                    writeln!(text, "1 {program}")
                }
                WinStackThing::AllocatesBasePointer(allocates) => {
                    writeln!(text, "0 {}", u8::from(*allocates))
                }
            };
            put_str(writer.record(), &text);
            writer.finish_record(kind, &[range.start, range.end])?;
        }
    }

    for (kind, keyword, names) in [
        (TableKind::Files, "FILE", &symbols.files),
        (
            TableKind::InlineOrigins,
            "INLINE_ORIGIN",
            &symbols.inline_origins,
        ),
    ] {
        let mut ids: Vec<(&u32, &String)> = names.iter().collect();
        ids.sort_unstable();
        for (id, name) in ids {
            text.clear();
            let _ = writeln!(text, "{keyword} {id} {name}");
            put_str(writer.record(), &text);
            writer.finish_record(kind, &[u64::from(*id)])?;
        }
    }

    writer.finish(source, INDEX_FORMAT)
}

/// A sorted, deduplicated id list: its count, then the ids.
fn put_ids(out: &mut Vec<u8>, ids: impl Iterator<Item = u32>) {
    let mut ids: Vec<u32> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    put_u32(out, ids.len() as u32);
    for id in ids {
        put_u32(out, id);
    }
}
