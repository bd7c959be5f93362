//! Streams that must be blanked out before `minidump` reads them.
//!
//! `minidump` 0.27 sizes the handle-data list from the file's descriptor count and checks
//! it against the stream length using the file's descriptor size; a descriptor size of 0
//! passes that check for any count, and the reader then reserves memory for billions of
//! descriptors and the process aborts (found by fuzzing, see RELIABILITY.md). An abort
//! cannot be caught, so such a stream is renamed to `UnusedStream` in a private copy of
//! the bytes before anything reads it, and the damage is reported.

use crate::error::TriageError;

/// `MINIDUMP_STREAM_TYPE::HandleDataStream`.
const HANDLE_DATA_STREAM: u32 = 12;
/// Size of `MINIDUMP_HANDLE_DESCRIPTOR`, the smallest real descriptor.
const MIN_HANDLE_DESCRIPTOR: u32 = 32;
/// Offset of the stream count and directory RVA in `MINIDUMP_HEADER`.
const HEADER_STREAM_COUNT: usize = 8;
const HEADER_DIRECTORY_RVA: usize = 12;
/// Size of one `MINIDUMP_DIRECTORY` entry.
const DIRECTORY_ENTRY: usize = 12;

/// Directory positions of streams that would make the reader allocate without bound.
pub(super) fn hazardous_entries(bytes: &[u8]) -> Vec<usize> {
    let (Some(count), Some(directory)) = (
        read_u32(bytes, HEADER_STREAM_COUNT),
        read_u32(bytes, HEADER_DIRECTORY_RVA),
    ) else {
        return Vec::new();
    };
    (0..count as usize)
        .map_while(|index| {
            let entry = (directory as usize).checked_add(index.checked_mul(DIRECTORY_ENTRY)?)?;
            Some((entry, read_u32(bytes, entry)?, read_u32(bytes, entry + 8)?))
        })
        .filter(|&(_, stream_type, rva)| {
            stream_type == HANDLE_DATA_STREAM && handle_list_is_hazardous(bytes, rva as usize)
        })
        .map(|(entry, _, _)| entry)
        .collect()
}

/// A handle list claiming descriptors smaller than any real one.
fn handle_list_is_hazardous(bytes: &[u8], rva: usize) -> bool {
    let descriptor_size = read_u32(bytes, rva + 4);
    let descriptors = read_u32(bytes, rva + 8);
    matches!((descriptor_size, descriptors), (Some(size), Some(n)) if n > 0 && size < MIN_HANDLE_DESCRIPTOR)
}

/// Renames the streams at `entries` to `UnusedStream` (type 0) in `bytes`.
pub(super) fn blank_out(bytes: &mut [u8], entries: &[usize]) {
    for &entry in entries {
        bytes[entry..entry + 4].copy_from_slice(&0u32.to_le_bytes());
    }
}

/// How blanked-out streams are reported.
pub(super) fn damage() -> TriageError {
    TriageError::Malformed(
        "handle data stream with descriptors of impossible size (ignored)".into(),
    )
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let word = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(word.try_into().ok()?))
}
