//! Recognizing a found symbol file by its first bytes, and unpacking `.xz` and CAB (`.pd_`,
//! `.dl_`) files. Content decides, not the name: a custom source may return any path.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use symbolic_common::ByteView;
use symbolic_debuginfo::{FileFormat, Object};

/// Largest file unpacked from a CAB. Real PDBs reach a few GiB; a crafted CAB could claim
/// any size, and it is unpacked into memory.
const MAX_UNPACKED_BYTES: u64 = 4 << 30;

/// What a found file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Content {
    /// Breakpad text, parsed as it is (also anything not recognized, for its parser to judge).
    Breakpad,
    /// xz-compressed Breakpad text, as Mozilla publishes it.
    XzBreakpad,
    /// A PDB, PE, ELF or Mach-O file to convert, possibly inside a CAB.
    Object,
}

/// Looks at the first bytes of `path`.
pub(super) fn sniff(path: &Path) -> io::Result<Content> {
    let mut head = Vec::with_capacity(64);
    File::open(path)?.take(64).read_to_end(&mut head)?;
    Ok(if head.starts_with(b"\xfd7zXZ\0") {
        Content::XzBreakpad
    } else if head.starts_with(b"MSCF") {
        Content::Object
    } else {
        match Object::peek(&head) {
            FileFormat::Pdb | FileFormat::Pe | FileFormat::Elf | FileFormat::MachO => {
                Content::Object
            }
            _ => Content::Breakpad,
        }
    })
}

/// Decompresses an `.xz` file.
pub(super) fn read_xz(path: &Path) -> io::Result<Vec<u8>> {
    let mut compressed = BufReader::new(File::open(path)?);
    let mut text = Vec::new();
    lzma_rs::xz_decompress(&mut compressed, &mut text)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
    Ok(text)
}

/// The bytes of an object file: mapped from disk, or unpacked from the first file of a CAB.
pub(super) fn object_bytes(path: &Path) -> io::Result<ByteView<'static>> {
    let view = ByteView::open(path)?;
    if !view.starts_with(b"MSCF") {
        return Ok(view);
    }
    let mut cabinet = cab::Cabinet::new(io::Cursor::new(&view[..]))?;
    let name = cabinet
        .folder_entries()
        .flat_map(|folder| folder.file_entries())
        .map(|file| file.name().to_string())
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "empty CAB"))?;
    let mut unpacked = Vec::new();
    cabinet
        .read_file(&name)?
        .take(MAX_UNPACKED_BYTES)
        .read_to_end(&mut unpacked)?;
    Ok(ByteView::from_vec(unpacked))
}
