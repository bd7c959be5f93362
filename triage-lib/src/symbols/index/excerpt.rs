//! Reading records back as Breakpad text, the input of an excerpt's parse. Each function
//! here reads what `build.rs` wrote for one record kind and writes the line(s) that parse
//! to the same value; `None` means the record is damaged.

use std::fmt::Write as _;

use super::layout::Cursor;

/// A `FUNC` record with its line records and `INLINE` records; the ids of the `FILE` and
/// `INLINE_ORIGIN` names they use are added to `files` and `origins`. With `whole` false,
/// only the `FUNC` line.
pub(super) fn function(
    record: &mut Cursor,
    whole: bool,
    text: &mut String,
    files: &mut Vec<u32>,
    origins: &mut Vec<u32>,
) -> Option<()> {
    let (address, size, parameter_size) = (record.u64()?, record.u32()?, record.u32()?);
    let name = record.str()?;
    let _ = writeln!(text, "FUNC {address:x} {size:x} {parameter_size:x} {name}");
    if !whole {
        return Some(());
    }
    for _ in 0..record.count(8 + 4 + 4 + 4)? {
        let (address, size, line, file) =
            (record.u64()?, record.u32()?, record.u32()?, record.u32()?);
        let _ = writeln!(text, "{address:x} {size:x} {line} {file}");
        files.push(file);
    }
    for _ in 0..record.count(4 * 4 + 8 + 4)? {
        let (depth, call_line, call_file, origin) =
            (record.u32()?, record.u32()?, record.u32()?, record.u32()?);
        let (address, size) = (record.u64()?, record.u32()?);
        let _ = writeln!(
            text,
            "INLINE {depth} {call_line} {call_file} {origin} {address:x} {size:x}"
        );
        files.push(call_file);
        origins.push(origin);
    }
    Some(())
}

/// A `PUBLIC` record.
pub(super) fn public(record: &mut Cursor, text: &mut String) -> Option<()> {
    let (address, parameter_size) = (record.u64()?, record.u32()?);
    let name = record.str()?;
    let _ = writeln!(text, "PUBLIC {address:x} {parameter_size:x} {name}");
    Some(())
}

/// A `STACK CFI INIT` record with its `STACK CFI` delta records.
pub(super) fn cfi(record: &mut Cursor, text: &mut String) -> Option<()> {
    let (address, size) = (record.u64()?, record.u32()?);
    let rules = record.str()?;
    let _ = writeln!(text, "STACK CFI INIT {address:x} {size:x} {rules}");
    for _ in 0..record.count(8 + 4)? {
        let address = record.u64()?;
        let rules = record.str()?;
        let _ = writeln!(text, "STACK CFI {address:x} {rules}");
    }
    Some(())
}

/// A `STACK WIN` record: type 4 (frame data, with a program string) when `frame_data`,
/// else type 0 (FPO, with a base-pointer flag).
pub(super) fn win(record: &mut Cursor, frame_data: bool, text: &mut String) -> Option<()> {
    let address = record.u64()?;
    let mut sizes = [0u32; 7];
    for size in &mut sizes {
        *size = record.u32()?;
    }
    let [size, prologue, epilogue, parameters, saved_registers, locals, max_stack] = sizes;
    let kind = if frame_data { 4 } else { 0 };
    let _ = write!(
        text,
        "STACK WIN {kind} {address:x} {size:x} {prologue:x} {epilogue:x} {parameters:x} \
         {saved_registers:x} {locals:x} {max_stack:x} "
    );
    if frame_data {
        let program = record.str()?;
        let _ = writeln!(text, "1 {program}");
    } else {
        let allocates_base_pointer = record.u32()?;
        let _ = writeln!(text, "0 {}", u32::from(allocates_base_pointer != 0));
    }
    Some(())
}

/// A `FILE` or `INLINE_ORIGIN` record (`keyword`) for `id`.
pub(super) fn name(record: &mut Cursor, keyword: &str, id: u32, text: &mut String) -> Option<()> {
    let name = record.str()?;
    let _ = writeln!(text, "{keyword} {id} {name}");
    Some(())
}
