//! Bytes read from a file without copying it, or handed over already in memory: dumps and
//! symbol indexes are both read this way.

use std::ops::Deref;

/// Memory-mapped or owned bytes.
pub(crate) enum FileBytes {
    /// A read-only mapping of the file; nothing is copied.
    Mapped(memmap2::Mmap),
    /// Bytes already in memory.
    Owned(Vec<u8>),
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(map) => map,
            FileBytes::Owned(bytes) => bytes,
        }
    }
}
