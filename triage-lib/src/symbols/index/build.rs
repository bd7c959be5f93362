//! Writing an index from a parsed [`SymbolFile`].
//!
//! Each record holds the values breakpad-symbols' parser *resolved* (overlapping records
//! dropped, STACK WIN lengths fixed up, duplicate ids settled), not the input's text, in
//! the binary layout that `excerpt.rs` reads back. Numbers are written as they are; turning
//! them into Breakpad text is left to the lookups, which need it for a few records only.

use std::io::{self, Seek, Write};

use breakpad_symbols::fuzzing_private_exports::WinStackThing;
use breakpad_symbols::SymbolFile;

use super::layout::{put_str, put_u32, put_u64, IndexWriter, SourceStamp, TableKind};
use super::INDEX_FORMAT;

/// Writes the index of `symbols` (parsed from a file with stamp `source`) to `out`.
pub(super) fn write_index<W: Write + Seek>(
    symbols: &SymbolFile,
    source: SourceStamp,
    out: W,
) -> io::Result<W> {
    let mut writer = IndexWriter::new(out)?;

    for (range, function) in symbols.functions.ranges_values() {
        let record = writer.record();
        put_u64(record, function.address);
        put_u32(record, function.size);
        put_u32(record, function.parameter_size);
        put_str(record, &function.name);
        put_u32(record, function.lines.ranges_values().len() as u32);
        for (_, line) in function.lines.ranges_values() {
            put_u64(record, line.address);
            put_u32(record, line.size);
            put_u32(record, line.line);
            put_u32(record, line.file);
        }
        put_u32(record, function.inlinees.len() as u32);
        for inlinee in &function.inlinees {
            put_u32(record, inlinee.depth);
            put_u32(record, inlinee.call_line);
            put_u32(record, inlinee.call_file);
            put_u32(record, inlinee.origin_id);
            put_u64(record, inlinee.address);
            put_u32(record, inlinee.size);
        }
        writer.finish_record(TableKind::Functions, &[range.start, range.end])?;
    }

    for public in &symbols.publics {
        let record = writer.record();
        put_u64(record, public.address);
        put_u32(record, public.parameter_size);
        put_str(record, &public.name);
        writer.finish_record(TableKind::Publics, &[public.address])?;
    }

    for (range, cfi) in symbols.cfi_stack_info.ranges_values() {
        let record = writer.record();
        put_u64(record, cfi.init.address);
        put_u32(record, cfi.size);
        put_str(record, &cfi.init.rules);
        put_u32(record, cfi.add_rules.len() as u32);
        for rule in &cfi.add_rules {
            put_u64(record, rule.address);
            put_str(record, &rule.rules);
        }
        writer.finish_record(TableKind::Cfi, &[range.start, range.end])?;
    }

    for (kind, table) in [
        (TableKind::WinFrameData, &symbols.win_stack_framedata_info),
        (TableKind::WinFpo, &symbols.win_stack_fpo_info),
    ] {
        for (range, win) in table.ranges_values() {
            let record = writer.record();
            put_u64(record, win.address);
            for value in [
                win.size,
                win.prologue_size,
                win.epilogue_size,
                win.parameter_size,
                win.saved_register_size,
                win.local_size,
                win.max_stack_size,
            ] {
                put_u32(record, value);
            }
            // The parser keeps a program string only on type 4 (frame data) and a
            // base-pointer flag only on type 0 (FPO); the table says which this is.
            match &win.program_string_or_base_pointer {
                WinStackThing::ProgramString(program) => put_str(record, program),
                WinStackThing::AllocatesBasePointer(allocates) => {
                    put_u32(record, u32::from(*allocates))
                }
            }
            writer.finish_record(kind, &[range.start, range.end])?;
        }
    }

    for (kind, names) in [
        (TableKind::Files, &symbols.files),
        (TableKind::InlineOrigins, &symbols.inline_origins),
    ] {
        let mut ids: Vec<(&u32, &String)> = names.iter().collect();
        ids.sort_unstable();
        for (id, name) in ids {
            put_str(writer.record(), name);
            writer.finish_record(kind, &[u64::from(*id)])?;
        }
    }

    writer.finish(source, INDEX_FORMAT)
}
