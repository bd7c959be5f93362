//! The bytes of an index file, and their reading and writing.
//!
//! ```text
//! header   176 bytes: magic, format, lengths, the source's stamp, 7 table places, the
//!          blob's place, and an FNV-1a checksum of the header itself
//! blob     variable-length records: Breakpad text re-emitted from the parsed records
//! tables   fixed-size rows sorted by address or id, each pointing into the blob
//! footer   8 bytes of magic, so a truncated file is told from a whole one
//! ```
//!
//! All numbers are little-endian. Every read is bounds-checked: a damaged file yields
//! `None`, never a panic or an out-of-range read.

use std::io::{self, Seek, SeekFrom, Write};

pub(super) const MAGIC: &[u8; 8] = b"TRIAGEIX";
pub(super) const FOOTER: &[u8; 8] = b"IXFOOTER";
pub(super) const HEADER_LEN: usize = 176;
const CHECKSUM_AT: usize = HEADER_LEN - 8;

/// The tables of an index, in header order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TableKind {
    /// `FUNC` ranges as breakpad-symbols resolved them.
    Functions,
    /// `PUBLIC` addresses, in breakpad-symbols' sort order.
    Publics,
    /// `STACK CFI INIT` ranges with their delta rules.
    Cfi,
    /// `STACK WIN 4` (frame data) ranges.
    WinFrameData,
    /// `STACK WIN 0` (FPO) ranges.
    WinFpo,
    /// `FILE` ids.
    Files,
    /// `INLINE_ORIGIN` ids.
    InlineOrigins,
}

impl TableKind {
    pub(super) const ALL: [TableKind; 7] = [
        TableKind::Functions,
        TableKind::Publics,
        TableKind::Cfi,
        TableKind::WinFrameData,
        TableKind::WinFpo,
        TableKind::Files,
        TableKind::InlineOrigins,
    ];

    /// Bytes per row: `start, end, blob offset` for ranges, `key, blob offset` otherwise.
    pub(super) fn row_len(self) -> usize {
        match self {
            TableKind::Publics | TableKind::Files | TableKind::InlineOrigins => 16,
            _ => 24,
        }
    }
}

/// Size and modification time of the file an index was built from: a changed source makes
/// the index stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceStamp {
    /// Length in bytes.
    pub len: u64,
    /// Modification time, nanoseconds since the Unix epoch (0 when unknown).
    pub modified_ns: u64,
}

impl SourceStamp {
    /// The stamp of a file from its metadata.
    pub fn of(metadata: &std::fs::Metadata) -> SourceStamp {
        let modified_ns = metadata
            .modified()
            .ok()
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |age| age.as_nanos() as u64);
        SourceStamp {
            len: metadata.len(),
            modified_ns,
        }
    }
}

/// Where one table lies in the file.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TablePlace {
    pub(super) offset: usize,
    pub(super) rows: usize,
}

/// The parsed, checked header.
#[derive(Debug, Clone)]
pub(super) struct Header {
    pub(super) source: SourceStamp,
    pub(super) tables: [TablePlace; 7],
    pub(super) blob: std::ops::Range<usize>,
}

/// 64-bit FNV-1a: enough to tell a damaged header from a written one, and stable across
/// runs and builds, so the cache also names files by it.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Why bytes are not a usable index.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LayoutError {
    /// No index magic: some other file.
    #[error("not a symbol index")]
    Foreign,
    /// Written by another version of triage.
    #[error("index format {0}, this triage reads {1}")]
    Format(u32, u32),
    /// Shorter than its header says, or without its footer: a torn or truncated write.
    #[error("truncated index")]
    Truncated,
    /// The header's checksum or a table's place does not add up.
    #[error("damaged index header")]
    Damaged,
}

/// Reads and checks the header of `bytes`, which must be a whole index of `format`.
pub(super) fn read_header(bytes: &[u8], format: u32) -> Result<Header, LayoutError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(LayoutError::Foreign);
    }
    let mut cursor = Cursor::at(bytes, MAGIC.len());
    let found_format = cursor.u32().ok_or(LayoutError::Truncated)?;
    if found_format != format {
        return Err(LayoutError::Format(found_format, format));
    }
    if bytes.len() < HEADER_LEN + FOOTER.len() {
        return Err(LayoutError::Truncated);
    }
    let header = &bytes[..HEADER_LEN];
    let stored_checksum = Cursor::at(header, CHECKSUM_AT).u64();
    if stored_checksum != Some(fnv1a(&header[..CHECKSUM_AT])) {
        return Err(LayoutError::Damaged);
    }
    cursor.u32(); // reserved
    let file_len = cursor.u64().ok_or(LayoutError::Damaged)?;
    if file_len != bytes.len() as u64 || &bytes[bytes.len() - FOOTER.len()..] != FOOTER {
        return Err(LayoutError::Truncated);
    }
    let body = HEADER_LEN..bytes.len() - FOOTER.len();
    let source = SourceStamp {
        len: cursor.u64().ok_or(LayoutError::Damaged)?,
        modified_ns: cursor.u64().ok_or(LayoutError::Damaged)?,
    };
    let mut tables = [TablePlace::default(); 7];
    for (place, kind) in tables.iter_mut().zip(TableKind::ALL) {
        let offset = cursor.usize().ok_or(LayoutError::Damaged)?;
        let rows = cursor.usize().ok_or(LayoutError::Damaged)?;
        let end = rows
            .checked_mul(kind.row_len())
            .and_then(|len| offset.checked_add(len))
            .ok_or(LayoutError::Damaged)?;
        if offset < body.start || end > body.end {
            return Err(LayoutError::Damaged);
        }
        *place = TablePlace { offset, rows };
    }
    let blob_start = cursor.usize().ok_or(LayoutError::Damaged)?;
    let blob_len = cursor.usize().ok_or(LayoutError::Damaged)?;
    let blob_end = blob_start
        .checked_add(blob_len)
        .ok_or(LayoutError::Damaged)?;
    if blob_start < body.start || blob_end > body.end {
        return Err(LayoutError::Damaged);
    }
    Ok(Header {
        source,
        tables,
        blob: blob_start..blob_end,
    })
}

/// Bounds-checked little-endian reading from a position in a byte slice.
pub(super) struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn at(bytes: &'a [u8], position: usize) -> Cursor<'a> {
        Cursor { bytes, position }
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.position.checked_add(len)?;
        let taken = self.bytes.get(self.position..end)?;
        self.position = end;
        Some(taken)
    }

    pub(super) fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|bytes| u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    pub(super) fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|bytes| u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    pub(super) fn usize(&mut self) -> Option<usize> {
        self.u64().and_then(|value| usize::try_from(value).ok())
    }

    pub(super) fn str(&mut self) -> Option<&'a str> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).ok()
    }

    /// A count of rows of at least `row_len` bytes each, refused when the rest of the slice
    /// could not hold them (so a damaged count never asks for a huge allocation).
    pub(super) fn count(&mut self, row_len: usize) -> Option<usize> {
        let count = self.u32()? as usize;
        let left = self.bytes.len().saturating_sub(self.position);
        (count.checked_mul(row_len)? <= left).then_some(count)
    }
}

/// Writes an index: the blob as records come, then the tables, the footer and, last, the
/// header, so that an interrupted write never has a valid checksum.
pub(super) struct IndexWriter<W: Write + Seek> {
    out: W,
    position: usize,
    rows: [Vec<u8>; 7],
    record: Vec<u8>,
}

impl<W: Write + Seek> IndexWriter<W> {
    pub(super) fn new(mut out: W) -> io::Result<IndexWriter<W>> {
        out.write_all(&[0; HEADER_LEN])?;
        Ok(IndexWriter {
            out,
            position: HEADER_LEN,
            rows: Default::default(),
            record: Vec::new(),
        })
    }

    /// The record being built; [`IndexWriter::finish_record`] files it.
    pub(super) fn record(&mut self) -> &mut Vec<u8> {
        self.record.clear();
        &mut self.record
    }

    /// Writes the record built since [`IndexWriter::record`] and adds a row for it to
    /// `table`, keyed by `keys` (start and end for ranges, one key otherwise).
    pub(super) fn finish_record(&mut self, table: TableKind, keys: &[u64]) -> io::Result<()> {
        let rows = &mut self.rows[table as usize];
        for key in keys {
            rows.extend_from_slice(&key.to_le_bytes());
        }
        rows.extend_from_slice(&(self.position as u64).to_le_bytes());
        self.out.write_all(&self.record)?;
        self.position += self.record.len();
        Ok(())
    }

    /// Writes the tables, footer and header; returns the writer, positioned at the end.
    pub(super) fn finish(mut self, source: SourceStamp, format: u32) -> io::Result<W> {
        let blob = HEADER_LEN..self.position;
        let mut places = Vec::new();
        for (rows, kind) in self.rows.iter().zip(TableKind::ALL) {
            places.push((self.position, rows.len() / kind.row_len()));
            self.out.write_all(rows)?;
            self.position += rows.len();
        }
        self.out.write_all(FOOTER)?;
        let file_len = self.position + FOOTER.len();

        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        put_u32(&mut header, format);
        put_u32(&mut header, 0);
        for value in [file_len as u64, source.len, source.modified_ns] {
            put_u64(&mut header, value);
        }
        for (offset, rows) in places {
            put_u64(&mut header, offset as u64);
            put_u64(&mut header, rows as u64);
        }
        put_u64(&mut header, blob.start as u64);
        put_u64(&mut header, blob.len() as u64);
        let checksum = fnv1a(&header);
        put_u64(&mut header, checksum);
        debug_assert_eq!(header.len(), HEADER_LEN);
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&header)?;
        self.out.seek(SeekFrom::End(0))?;
        Ok(self.out)
    }
}

pub(super) fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

pub(super) fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// A string as its `u32` length and UTF-8 bytes; longer strings are cut at a character
/// boundary (no symbol name comes near 4 GiB).
pub(super) fn put_str(out: &mut Vec<u8>, text: &str) {
    let mut len = text.len().min(u32::MAX as usize);
    while !text.is_char_boundary(len) {
        len -= 1;
    }
    put_u32(out, len as u32);
    out.extend_from_slice(&text.as_bytes()[..len]);
}
