//! Damaged copies of a well-formed dump, each broken in one way a triage tool must survive.

use minidump_common::format::{MINIDUMP_DIRECTORY, MINIDUMP_HEADER, MINIDUMP_STREAM_TYPE};
use scroll::ctx::SizeWith;
use scroll::LE;

const STREAM_COUNT_OFFSET: usize = 8;

fn header_size() -> usize {
    MINIDUMP_HEADER::size_with(&LE)
}

fn entry_size() -> usize {
    MINIDUMP_DIRECTORY::size_with(&LE)
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn write_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// Offset of the directory entry for `stream` (the writer puts the directory after the header).
fn entry_offset(dump: &[u8], stream: MINIDUMP_STREAM_TYPE) -> usize {
    let count = read_u32(dump, STREAM_COUNT_OFFSET) as usize;
    (0..count)
        .map(|i| header_size() + i * entry_size())
        .find(|&at| read_u32(dump, at) == stream as u32)
        .expect("stream is in the directory")
}

/// Cut in the middle of the third directory entry, as an interrupted copy would leave it.
pub fn truncated(dump: &[u8]) -> Vec<u8> {
    dump[..header_size() + 2 * entry_size() + entry_size() / 2].to_vec()
}

/// A kernel crash dump's "PAGEDUMP" signature where "MDMP" and the version should be.
pub fn bad_signature(dump: &[u8]) -> Vec<u8> {
    let mut bytes = dump.to_vec();
    bytes[..8].copy_from_slice(b"PAGEDUMP");
    bytes
}

/// The thread list's directory entry points 4 KiB past the end of the file.
pub fn stream_out_of_range(dump: &[u8]) -> Vec<u8> {
    let mut bytes = dump.to_vec();
    let rva_at = entry_offset(dump, MINIDUMP_STREAM_TYPE::ThreadListStream) + 8;
    write_u32(&mut bytes, rva_at, dump.len() as u32 + 0x1000);
    bytes
}

/// A well-formed dump whose directory simply lacks the thread list: the entry is removed and
/// the others close up; the orphaned thread data stays in the file, unreferenced.
pub fn without_thread_list(dump: &[u8]) -> Vec<u8> {
    let mut bytes = dump.to_vec();
    let count = read_u32(dump, STREAM_COUNT_OFFSET) as usize;
    let removed = entry_offset(dump, MINIDUMP_STREAM_TYPE::ThreadListStream);
    let directory_end = header_size() + count * entry_size();
    bytes.copy_within(removed + entry_size()..directory_end, removed);
    bytes[directory_end - entry_size()..directory_end].fill(0);
    write_u32(&mut bytes, STREAM_COUNT_OFFSET, count as u32 - 1);
    bytes
}
