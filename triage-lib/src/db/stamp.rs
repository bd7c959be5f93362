//! How a stored dump is recognized: its size and modification time (cheap, one `stat`),
//! and an xxh3-128 hash of its bytes (read once, when the stamp does not match).

use std::io::Read;
use std::path::Path;

/// Size and modification time (nanoseconds since the Unix epoch) of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    pub size: i64,
    pub mtime: i64,
}

impl Stamp {
    /// The stamp of the file at `path`, or `None` when it cannot be read.
    pub fn of(path: &Path) -> Option<Stamp> {
        let metadata = std::fs::metadata(path).ok()?;
        let mtime = metadata
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        Some(Stamp {
            size: metadata.len() as i64,
            mtime,
        })
    }
}

/// The xxh3-128 hash of the file's bytes, as 32 hex digits: how a dump is recognized at a
/// new path.
pub fn content_hash(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buffer)? {
            0 => break,
            n => hasher.update(&buffer[..n]),
        }
    }
    Ok(format!("{:032x}", hasher.digest128()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_bytes_hash_equal_and_other_bytes_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        std::fs::write(&a, b"MDMP one").unwrap();
        std::fs::write(&b, b"MDMP one").unwrap();
        std::fs::write(&c, b"MDMP two").unwrap();
        let hash = content_hash(&a).unwrap();
        assert_eq!(hash.len(), 32);
        assert_eq!(hash, content_hash(&b).unwrap());
        assert_ne!(hash, content_hash(&c).unwrap());
        assert_eq!(Stamp::of(&a).unwrap().size, 8);
        assert!(Stamp::of(&dir.path().join("missing")).is_none());
    }
}
