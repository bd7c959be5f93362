//! On-disk cache of converted symbols, so a PDB is converted once, not once per run.
//!
//! Layout: `<root>/triage-v<CONVERTER_VERSION>/<debug_file>/<DEBUGID>/<found file>.sym`,
//! e.g. `crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb.sym`. The found file's name
//! is part of the key, so exports converted from an image never stand in for a PDB found
//! later; the converter version is, so a changed converter never reuses old text.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::convert::CONVERTER_VERSION;
use super::{is_plain_component, SymbolIdentity};

/// A directory of converted symbol files.
#[derive(Debug, Clone)]
pub struct SymbolCache {
    root: PathBuf,
}

impl SymbolCache {
    /// A cache under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> SymbolCache {
        SymbolCache {
            root: root.into().join(format!("triage-v{CONVERTER_VERSION}")),
        }
    }

    /// Where the conversion of `found_name` for `identity` is kept; `None` when the found
    /// file's name is not a plain file name (a custom source may return any path).
    fn entry(&self, identity: &SymbolIdentity, found_name: &str) -> Option<PathBuf> {
        is_plain_component(found_name).then(|| {
            self.root
                .join(&identity.debug_file)
                .join(&identity.debug_id)
                .join(format!("{found_name}.sym"))
        })
    }

    /// The cached text, if any.
    pub(super) fn load(&self, identity: &SymbolIdentity, found_name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.entry(identity, found_name)?).ok()
    }

    /// Keeps `text`. Failures only cost a later conversion, so they are logged, not returned.
    pub(super) fn store(&self, identity: &SymbolIdentity, found_name: &str, text: &[u8]) {
        let Some(path) = self.entry(identity, found_name) else {
            return;
        };
        if let Err(error) = write_atomically(&path, |file| file.write_all(text)) {
            tracing::warn!("cannot cache symbols at {}: {error}", path.display());
        }
    }
}

/// The default cache root: `$XDG_CACHE_HOME/triage`, else `~/.cache/triage`, else (Windows)
/// `%LOCALAPPDATA%\triage`.
pub fn default_cache_root() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| Path::new(&home).join(".cache")))
        .or_else(|| non_empty("LOCALAPPDATA").map(PathBuf::from))
        .map(|base| base.join("triage"))
}

/// Writes `path` through a temporary file in the same directory and a rename, so that a
/// reader (another worker, another run) never sees a half-written file.
pub(super) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    static TEMP_FILES: AtomicUsize = AtomicUsize::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        TEMP_FILES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::File::create(&temp)
        .and_then(|mut file| write(&mut file).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> SymbolIdentity {
        SymbolIdentity {
            debug_file: "crash.pdb".into(),
            debug_id: "ABC1".into(),
            code_file: None,
            code_id: None,
        }
    }

    #[test]
    fn stored_text_comes_back_under_the_versioned_root() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SymbolCache::new(dir.path());
        cache.store(
            &identity(),
            "crash.pdb",
            b"MODULE windows x86 ABC1 crash.pdb\n",
        );
        assert!(dir
            .path()
            .join(format!(
                "triage-v{CONVERTER_VERSION}/crash.pdb/ABC1/crash.pdb.sym"
            ))
            .is_file());
        assert_eq!(
            cache.load(&identity(), "crash.pdb").as_deref(),
            Some(&b"MODULE windows x86 ABC1 crash.pdb\n"[..])
        );
        assert_eq!(cache.load(&identity(), "crash.pd_"), None);
    }

    #[test]
    fn found_names_that_are_not_plain_are_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SymbolCache::new(dir.path());
        for name in ["..", "a/b", "c:x"] {
            cache.store(&identity(), name, b"x");
            assert_eq!(cache.load(&identity(), name), None);
        }
    }
}
