//! Symbol lookup: a chain of [`SymbolSource`]s behind one `breakpad_symbols` supplier.
//!
//! A source only answers "where is the symbol file for this module?"; reading, converting,
//! caching and recording what was found live here once, so a new source is one file that
//! implements [`SymbolSource`]. Breakpad text is parsed as it is; PDB, PE, ELF and Mach-O
//! files (also CAB-compressed) are converted to Breakpad text first (`convert.rs`), and the
//! conversion is kept in a [`SymbolCache`].

mod cache;
mod convert;
mod local_dir;
mod search_path;
mod server;
mod symstore;
mod unpack;

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use breakpad_symbols::{
    FileError, FileKind, LocateSymbolsResult, SymbolError, SymbolFile, SymbolSupplier, Symbolizer,
};
use minidump::Module;

pub use cache::{default_cache_root, SymbolCache};
pub use local_dir::SymbolDir;
pub use search_path::{parse_search_path, SearchPath, SearchSettings};
pub use server::{ServerSettings, SymbolServer};

use crate::model::SymbolState;

/// The names a module's symbol files are filed under, checked to be safe path components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolIdentity {
    /// Debug file leaf name, e.g. `mapi32.pdb`.
    pub debug_file: String,
    /// Breakpad debug id, e.g. `3B7C1A2F1`.
    pub debug_id: String,
    /// Image leaf name, e.g. `mapi32.dll`, when it is a plain name.
    pub code_file: Option<String>,
    /// Code id (`<TIMESTAMP><SIZEOFIMAGE>` for PE images), when it is plain alphanumerics.
    pub code_id: Option<String>,
}

impl SymbolIdentity {
    /// Reads and validates the identity of `module`. `None` when the module has no usable
    /// debug file or id, or when either would not be a single plain path component: a name
    /// read from a dump must never steer a path outside the symbol roots or the cache. A
    /// code file or id that is not plain is dropped (no image lookup) rather than used.
    pub fn of(module: &dyn Module) -> Option<SymbolIdentity> {
        let debug_file = module
            .debug_file()
            .filter(|file| !file.is_empty())
            .unwrap_or_else(|| module.code_file());
        let code_file = module.code_file();
        let identity = SymbolIdentity {
            debug_file: crate::dump::file_name(&debug_file).to_string(),
            debug_id: module.debug_identifier()?.breakpad().to_string(),
            code_file: Some(crate::dump::file_name(&code_file).to_string()),
            code_id: module.code_identifier().map(|id| id.to_string()),
        };
        identity.checked()
    }

    /// `self` with unsafe optional names dropped, or `None` when a required one is unsafe.
    pub fn checked(mut self) -> Option<SymbolIdentity> {
        self.code_file = self.code_file.filter(|name| is_plain_component(name));
        self.code_id = self.code_id.filter(|id| is_plain_id(id));
        (is_plain_component(&self.debug_file) && is_plain_id(&self.debug_id)).then_some(self)
    }

    /// The `.sym` file name: the debug file with `.pdb` replaced (or `.sym` appended).
    pub fn sym_file_name(&self) -> String {
        let stem = match self.debug_file.rsplit_once('.') {
            Some((stem, ext)) if ext.eq_ignore_ascii_case("pdb") => stem,
            _ => &self.debug_file,
        };
        format!("{stem}.sym")
    }
}

/// True for a non-empty run of ASCII letters and digits, as debug and code ids are.
fn is_plain_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// True for a name that is exactly one ordinary path component on every OS: no separators,
/// no drive (`c:`), no `.`/`..`, no NUL or control characters.
fn is_plain_component(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| matches!(c, '/' | '\\' | ':' | '\0') || c.is_control())
}

/// A place that may hold symbol files.
pub trait SymbolSource: Send + Sync + std::fmt::Debug {
    /// Path of a symbol file for `identity`, if present: Breakpad text (`.sym`, `.sym.xz`),
    /// a PDB, a PE image (for its exports and unwind data), an ELF or Mach-O debug file, or
    /// any of them CAB-compressed (`.pd_`). The content decides how it is read.
    fn find(&self, identity: &SymbolIdentity) -> Option<PathBuf>;
}

/// Key under which lookups are recorded; the same fields `Symbolizer` caches by.
type ModuleKey = (String, Option<String>, Option<String>);

fn module_key(module: &dyn Module) -> ModuleKey {
    (
        module.code_file().into_owned(),
        module.debug_file().map(|file| file.into_owned()),
        module.debug_identifier().map(|id| id.to_string()),
    )
}

/// Symbol lookup shared by every dump of a run: each symbol file is parsed once.
pub struct Symbols {
    symbolizer: Symbolizer,
    outcomes: Arc<Mutex<HashMap<ModuleKey, SymbolState>>>,
    conversions: Arc<AtomicUsize>,
}

impl Symbols {
    /// Looks in `sources`, in order, for each module's symbols; conversions are kept in
    /// `cache`, when given.
    pub fn new(sources: Vec<Box<dyn SymbolSource>>, cache: Option<SymbolCache>) -> Symbols {
        let outcomes = Arc::new(Mutex::new(HashMap::new()));
        let conversions = Arc::new(AtomicUsize::new(0));
        let supplier = Supplier {
            sources,
            cache,
            outcomes: Arc::clone(&outcomes),
            conversions: Arc::clone(&conversions),
        };
        Symbols {
            symbolizer: Symbolizer::new(supplier),
            outcomes,
            conversions,
        }
    }

    /// How many PDB, PE, ELF or Mach-O files were converted to Breakpad text so far; a
    /// conversion found in the cache does not count.
    pub fn conversions(&self) -> usize {
        self.conversions.load(Ordering::Relaxed)
    }

    /// What the search found for `module`; `Unused` if it was never looked up.
    pub fn state_of(&self, module: &dyn Module) -> SymbolState {
        let outcomes = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
        outcomes
            .get(&module_key(module))
            .copied()
            .unwrap_or(SymbolState::Unused)
    }

    /// The provider handed to the stack walker.
    pub(crate) fn provider(&self) -> &Symbolizer {
        &self.symbolizer
    }
}

impl Default for Symbols {
    /// No sources: every frame stays unsymbolized.
    fn default() -> Self {
        Symbols::new(Vec::new(), None)
    }
}

struct Supplier {
    sources: Vec<Box<dyn SymbolSource>>,
    cache: Option<SymbolCache>,
    outcomes: Arc<Mutex<HashMap<ModuleKey, SymbolState>>>,
    conversions: Arc<AtomicUsize>,
}

impl Supplier {
    fn record(&self, module: &dyn Module, state: SymbolState) {
        let mut outcomes = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
        outcomes.insert(module_key(module), state);
    }

    fn find(&self, identity: &SymbolIdentity) -> Option<PathBuf> {
        self.sources.iter().find_map(|source| source.find(identity))
    }

    /// Parses the file at `path`, converting it (or reusing a cached conversion) when it is
    /// not Breakpad text.
    fn load(&self, path: &Path, identity: &SymbolIdentity) -> Result<SymbolFile, SymbolError> {
        match unpack::sniff(path)? {
            unpack::Content::Breakpad => SymbolFile::from_bytes(&std::fs::read(path)?),
            unpack::Content::XzBreakpad => SymbolFile::from_bytes(&unpack::read_xz(path)?),
            unpack::Content::Object => SymbolFile::from_bytes(&self.converted(path, identity)?),
        }
    }

    /// Breakpad text for the object file at `path`, from the cache or converted now.
    fn converted(&self, path: &Path, identity: &SymbolIdentity) -> Result<Vec<u8>, SymbolError> {
        let found_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(text) = self
            .cache
            .as_ref()
            .and_then(|cache| cache.load(identity, &found_name))
        {
            return Ok(text);
        }
        let bytes = unpack::object_bytes(path)?;
        // symbolic reads hostile files; a panic in it costs this module's symbols only.
        let text = catch_unwind(AssertUnwindSafe(|| convert::to_breakpad(&bytes, identity)))
            .unwrap_or_else(|_| {
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the converter panicked",
                ))
            })?;
        self.conversions.fetch_add(1, Ordering::Relaxed);
        if let Some(cache) = &self.cache {
            cache.store(identity, &found_name, &text);
        }
        Ok(text)
    }
}

#[async_trait::async_trait]
impl SymbolSupplier for Supplier {
    async fn locate_symbols(
        &self,
        module: &(dyn Module + Sync),
    ) -> Result<LocateSymbolsResult, SymbolError> {
        let found = SymbolIdentity::of(module).and_then(|identity| {
            let path = self.find(&identity)?;
            Some((identity, path))
        });
        let Some((identity, path)) = found else {
            self.record(module, SymbolState::Missing);
            return Err(SymbolError::NotFound);
        };
        match self.load(&path, &identity) {
            Ok(symbols) => {
                self.record(module, SymbolState::Loaded);
                Ok(LocateSymbolsResult {
                    symbols,
                    extra_debug_info: None,
                })
            }
            Err(error) => {
                tracing::warn!("cannot use symbol file {}: {error}", path.display());
                self.record(module, SymbolState::Corrupt);
                Err(error)
            }
        }
    }

    async fn locate_file(
        &self,
        module: &(dyn Module + Sync),
        file_kind: FileKind,
    ) -> Result<PathBuf, FileError> {
        match file_kind {
            FileKind::BreakpadSym => SymbolIdentity::of(module)
                .and_then(|identity| self.find(&identity))
                .ok_or(FileError::NotFound),
            FileKind::Binary | FileKind::ExtraDebugInfo => Err(FileError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_components_from_dumps_are_checked() {
        for bad in ["", ".", "..", "a/b", "a\\b", "c:x", "nul\0"] {
            assert!(!is_plain_component(bad), "{bad:?} accepted");
        }
        assert!(is_plain_component("mapi32.pdb"));
    }

    #[test]
    fn sym_file_name_replaces_pdb_extension() {
        let identity = |file: &str| SymbolIdentity {
            debug_file: file.into(),
            debug_id: "ABC1".into(),
            code_file: None,
            code_id: None,
        };
        assert_eq!(identity("MAPI32.PDB").sym_file_name(), "MAPI32.sym");
        assert_eq!(identity("libc.so.6").sym_file_name(), "libc.so.6.sym");
    }
}
