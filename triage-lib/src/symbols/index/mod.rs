//! A persistent, memory-mapped index of one Breakpad symbol file.
//!
//! Parsing a 165 MB `.sym` takes seconds and most of a gigabyte, on every run. An index is
//! built once from what breakpad-symbols' own parser made of the file, kept in the cache
//! directory, and mapped: a lookup binary-searches a few fixed-size tables and reads the
//! handful of records covering one address, so it touches a few pages, not the file.
//!
//! A lookup does not reimplement symbolization or unwinding. It gathers the records that
//! breakpad-symbols would consult for that address (the function covering it, or else the
//! nearest public symbol and the function before it; the STACK WIN and STACK CFI records
//! covering it; the file and inline-origin names the function uses) into an *excerpt*, a
//! small `SymbolFile` of its own, and runs breakpad-symbols' `fill_symbol` and `walk_frame`
//! on it. Names, lines, inline frames, parameter sizes and unwinding are therefore the
//! text path's, by construction; `tests.rs` checks it record by record on real files.

mod build;
mod excerpt;
mod layout;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{self, Cursor as IoCursor};
use std::path::Path;
use std::sync::Mutex;

use breakpad_symbols::{FrameSymbolizer, FrameWalker, SymbolFile};
use memmap2::Mmap;

use crate::file_bytes::FileBytes;
use minidump::Module;

pub(crate) use layout::fnv1a;
use layout::{read_header, Cursor, Header, TableKind};
pub use layout::{LayoutError, SourceStamp};

/// Version of the index layout; an index of another version is rebuilt, never read.
pub const INDEX_FORMAT: u32 = 2;

/// Why an index could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The file could not be read or mapped.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The bytes are not a whole index of this format.
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

/// One symbol file's index, ready for lookups.
pub struct SymbolIndex {
    /// Mapped from the cache directory, or built in memory when there is no cache.
    bytes: FileBytes,
    header: Header,
    /// The walker asks for a frame's symbol and then for its unwind rules at the same
    /// address; the excerpt is kept for the second question.
    last_excerpt: Mutex<Option<(u64, std::sync::Arc<SymbolFile>)>>,
}

impl std::fmt::Debug for SymbolIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymbolIndex")
            .field("len", &self.len())
            .field("source", &self.header.source)
            .finish()
    }
}

impl SymbolIndex {
    /// Maps the index file at `path` and checks its header, length and footer.
    ///
    /// The cache only ever replaces index files by renaming a new file over them, so a
    /// mapping stays valid while the index is in use.
    pub fn open(path: &Path) -> Result<SymbolIndex, IndexError> {
        let file = File::open(path)?;
        // SAFETY: index files are written to a temporary name and renamed into place,
        // never modified in place, so the mapped bytes do not change under us.
        let map = unsafe { Mmap::map(&file)? };
        SymbolIndex::from_index_bytes(FileBytes::Mapped(map))
    }

    /// An index held in memory, e.g. one just built by [`SymbolIndex::build`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<SymbolIndex, IndexError> {
        SymbolIndex::from_index_bytes(FileBytes::Owned(bytes))
    }

    fn from_index_bytes(bytes: FileBytes) -> Result<SymbolIndex, IndexError> {
        let header = read_header(&bytes, INDEX_FORMAT)?;
        Ok(SymbolIndex {
            bytes,
            header,
            last_excerpt: Mutex::new(None),
        })
    }

    /// The index of `symbols`, parsed from a file with stamp `source`, as bytes.
    pub fn build(symbols: &SymbolFile, source: SourceStamp) -> Vec<u8> {
        build::write_index(symbols, source, IoCursor::new(Vec::new()))
            .expect("writing to memory cannot fail")
            .into_inner()
    }

    /// Writes the index of `symbols` to `out`.
    pub fn write(symbols: &SymbolFile, source: SourceStamp, out: &mut File) -> io::Result<()> {
        build::write_index(symbols, source, io::BufWriter::new(out))?;
        Ok(())
    }

    /// The stamp of the file this index was built from.
    pub fn source(&self) -> SourceStamp {
        self.header.source
    }

    /// Size of the index in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the index has no bytes (never true of an opened index).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Fills `frame` with the function, source line and inline frames at its address, as
    /// `SymbolFile::fill_symbol` would with the whole file.
    pub fn fill_symbol(&self, module: &dyn Module, frame: &mut dyn FrameSymbolizer) {
        if let Some(excerpt) = self.excerpt_at(module, frame.get_instruction()) {
            excerpt.fill_symbol(module, frame);
        }
    }

    /// Unwinds one frame with the STACK WIN or STACK CFI rules at its address, as
    /// `SymbolFile::walk_frame` would with the whole file.
    pub fn walk_frame(&self, module: &dyn Module, walker: &mut dyn FrameWalker) -> Option<()> {
        self.excerpt_at(module, walker.get_instruction())?
            .walk_frame(module, walker)
    }

    fn excerpt_at(
        &self,
        module: &dyn Module,
        instruction: u64,
    ) -> Option<std::sync::Arc<SymbolFile>> {
        let address = instruction.checked_sub(module.base_address())?;
        let mut last = self.last_excerpt.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached, excerpt)) = last.as_ref() {
            if *cached == address {
                return Some(std::sync::Arc::clone(excerpt));
            }
        }
        let excerpt = std::sync::Arc::new(self.excerpt(address)?);
        *last = Some((address, std::sync::Arc::clone(&excerpt)));
        Some(excerpt)
    }

    /// The records breakpad-symbols consults for the module-relative `address`, parsed
    /// as a symbol file of their own. `None` only when the index is damaged there.
    pub(crate) fn excerpt(&self, address: u64) -> Option<SymbolFile> {
        SymbolFile::from_bytes(self.excerpt_text(address)?.as_bytes()).ok()
    }

    fn excerpt_text(&self, address: u64) -> Option<String> {
        // A parse needs at least one line; an address with no records gets just this one.
        let mut text = String::from("INFO excerpt of a triage symbol index\n");
        let (mut files, mut origins) = (Vec::new(), Vec::new());
        match self.covering(TableKind::Functions, address) {
            Some(offset) => {
                let mut record = self.record(offset);
                excerpt::function(&mut record, true, &mut text, &mut files, &mut origins)?;
            }
            None => {
                // `fill_symbol` settles for the nearest PUBLIC at or below the address,
                // unless a FUNC starts between the two; it reads only that FUNC's address.
                if let Some(offset) = self.at_or_below(TableKind::Publics, address) {
                    excerpt::public(&mut self.record(offset), &mut text)?;
                    if let Some(offset) = self.starting_below(TableKind::Functions, address) {
                        let mut record = self.record(offset);
                        excerpt::function(&mut record, false, &mut text, &mut files, &mut origins)?;
                    }
                }
            }
        }
        for (kind, frame_data) in [(TableKind::WinFrameData, true), (TableKind::WinFpo, false)] {
            if let Some(offset) = self.covering(kind, address) {
                excerpt::win(&mut self.record(offset), frame_data, &mut text)?;
            }
        }
        if let Some(offset) = self.covering(TableKind::Cfi, address) {
            excerpt::cfi(&mut self.record(offset), &mut text)?;
        }
        for (kind, keyword, ids) in [
            (TableKind::Files, "FILE", &mut files),
            (TableKind::InlineOrigins, "INLINE_ORIGIN", &mut origins),
        ] {
            ids.sort_unstable();
            ids.dedup();
            for &id in ids.iter() {
                if let Some(offset) = self.keyed(kind, u64::from(id)) {
                    excerpt::name(&mut self.record(offset), keyword, id, &mut text)?;
                }
            }
        }
        Some(text)
    }

    /// A cursor at a blob offset taken from a table row; reads past the blob fail.
    fn record(&self, offset: u64) -> Cursor<'_> {
        let blob = &self.bytes[self.header.blob.clone()];
        let start = usize::try_from(offset)
            .ok()
            .and_then(|offset| offset.checked_sub(self.header.blob.start))
            .unwrap_or(blob.len());
        Cursor::at(blob, start)
    }

    /// Field `field` (0-based, 8 bytes each) of row `row` of `kind`.
    fn field(&self, kind: TableKind, row: usize, field: usize) -> u64 {
        let place = self.header.tables[kind as usize];
        let at = place.offset + row * kind.row_len() + field * 8;
        // In range: the header check put every table inside the file.
        u64::from_le_bytes(self.bytes[at..at + 8].try_into().expect("8 bytes"))
    }

    /// Number of leading rows of `kind` whose first field satisfies `before`.
    fn partition(&self, kind: TableKind, before: impl Fn(u64) -> bool) -> usize {
        let (mut low, mut high) = (0, self.header.tables[kind as usize].rows);
        while low < high {
            let middle = low + (high - low) / 2;
            if before(self.field(kind, middle, 0)) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }

    /// The blob offset of the range row of `kind` containing `address`.
    fn covering(&self, kind: TableKind, address: u64) -> Option<u64> {
        let row = self
            .partition(kind, |start| start <= address)
            .checked_sub(1)?;
        (self.field(kind, row, 1) >= address).then(|| self.field(kind, row, 2))
    }

    /// The blob offset of the last range row of `kind` starting below `address`.
    fn starting_below(&self, kind: TableKind, address: u64) -> Option<u64> {
        let row = self
            .partition(kind, |start| start < address)
            .checked_sub(1)?;
        Some(self.field(kind, row, 2))
    }

    /// The blob offset of the last keyed row of `kind` with key at most `key`.
    fn at_or_below(&self, kind: TableKind, key: u64) -> Option<u64> {
        let row = self.partition(kind, |found| found <= key).checked_sub(1)?;
        Some(self.field(kind, row, 1))
    }

    /// The blob offset of the keyed row of `kind` with exactly `key`.
    fn keyed(&self, kind: TableKind, key: u64) -> Option<u64> {
        let row = self.partition(kind, |found| found < key);
        (row < self.header.tables[kind as usize].rows && self.field(kind, row, 0) == key)
            .then(|| self.field(kind, row, 1))
    }
}
