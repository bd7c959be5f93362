//! Symbol lookup: a chain of [`SymbolSource`]s behind one `breakpad_symbols` supplier.
//!
//! A source only answers "where is the symbol file for this module?"; parsing, caching and
//! recording what was found live here once, so a new source (PDB, symbol server) is one
//! file that implements [`SymbolSource`].

mod breakpad_dir;
mod search_path;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use breakpad_symbols::{
    FileError, FileKind, LocateSymbolsResult, SymbolError, SymbolFile, SymbolSupplier, Symbolizer,
};
use minidump::Module;

pub use breakpad_dir::SymbolDir;
pub use search_path::{parse_search_path, SearchPath};

use crate::model::SymbolState;

/// The names a module's symbol file is filed under, checked to be safe path components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolIdentity {
    /// Debug file leaf name, e.g. `mapi32.pdb`.
    pub debug_file: String,
    /// Breakpad debug id, e.g. `3B7C1A2F1`.
    pub debug_id: String,
}

impl SymbolIdentity {
    /// Reads and validates the identity of `module`. `None` when the module has no usable
    /// debug file or id, or when either would not be a single plain path component: a name
    /// read from a dump must never steer a path outside the symbol roots.
    pub fn of(module: &dyn Module) -> Option<SymbolIdentity> {
        let debug_file = module
            .debug_file()
            .filter(|file| !file.is_empty())
            .unwrap_or_else(|| module.code_file());
        let debug_file = crate::dump::file_name(&debug_file).to_string();
        let debug_id = module.debug_identifier()?.breakpad().to_string();
        let identity = SymbolIdentity {
            debug_file,
            debug_id,
        };
        identity.is_safe().then_some(identity)
    }

    fn is_safe(&self) -> bool {
        is_plain_component(&self.debug_file)
            && !self.debug_id.is_empty()
            && self.debug_id.bytes().all(|b| b.is_ascii_alphanumeric())
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

/// True for a name that is exactly one ordinary path component on every OS.
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
    /// Path of the Breakpad symbol file (`.sym`, or `.sym.xz`) for `identity`, if present.
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
}

impl Symbols {
    /// Looks in `sources`, in order, for each module's symbols.
    pub fn new(sources: Vec<Box<dyn SymbolSource>>) -> Symbols {
        let outcomes = Arc::new(Mutex::new(HashMap::new()));
        let supplier = Supplier {
            sources,
            outcomes: Arc::clone(&outcomes),
        };
        Symbols {
            symbolizer: Symbolizer::new(supplier),
            outcomes,
        }
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
        Symbols::new(Vec::new())
    }
}

struct Supplier {
    sources: Vec<Box<dyn SymbolSource>>,
    outcomes: Arc<Mutex<HashMap<ModuleKey, SymbolState>>>,
}

impl Supplier {
    fn record(&self, module: &dyn Module, state: SymbolState) {
        let mut outcomes = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
        outcomes.insert(module_key(module), state);
    }

    fn find(&self, module: &dyn Module) -> Option<PathBuf> {
        let identity = SymbolIdentity::of(module)?;
        self.sources
            .iter()
            .find_map(|source| source.find(&identity))
    }
}

#[async_trait::async_trait]
impl SymbolSupplier for Supplier {
    async fn locate_symbols(
        &self,
        module: &(dyn Module + Sync),
    ) -> Result<LocateSymbolsResult, SymbolError> {
        let Some(path) = self.find(module) else {
            self.record(module, SymbolState::Missing);
            return Err(SymbolError::NotFound);
        };
        match load_symbol_file(&path) {
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
            FileKind::BreakpadSym => self.find(module).ok_or(FileError::NotFound),
            FileKind::Binary | FileKind::ExtraDebugInfo => Err(FileError::NotFound),
        }
    }
}

/// Parses a Breakpad symbol file, decompressing `.xz` files as Mozilla publishes them.
fn load_symbol_file(path: &Path) -> Result<SymbolFile, SymbolError> {
    if path.extension().is_some_and(|ext| ext == "xz") {
        let mut compressed = std::io::BufReader::new(std::fs::File::open(path)?);
        let mut text = Vec::new();
        lzma_rs::xz_decompress(&mut compressed, &mut text)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
        SymbolFile::from_bytes(&text)
    } else {
        let mut file = std::fs::File::open(path)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text)?;
        SymbolFile::from_bytes(&text)
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
        };
        assert_eq!(identity("MAPI32.PDB").sym_file_name(), "MAPI32.sym");
        assert_eq!(identity("libc.so.6").sym_file_name(), "libc.so.6.sym");
    }
}
