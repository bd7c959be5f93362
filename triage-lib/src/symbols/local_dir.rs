//! A local directory of symbols: a symbol store, or files lying flat.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::symstore::{store_paths, under};
use super::{convert, SymbolIdentity, SymbolSource};

/// A local directory searched in the symbol-store layout (Breakpad `.sym`/`.sym.xz`, PDB,
/// `.pd_`, image by code id, see [`SymbolDir::find`]), then flat: `<stem>.sym`,
/// `<debug_file>` or `<code_file>` directly in the root, used only when they carry the
/// module's id.
#[derive(Debug, Clone)]
pub struct SymbolDir {
    root: PathBuf,
}

impl SymbolDir {
    /// A source rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> SymbolDir {
        SymbolDir { root: root.into() }
    }

    /// The first file of the store layout present under the root.
    pub(super) fn find_in_store(&self, identity: &SymbolIdentity) -> Option<PathBuf> {
        store_paths(identity, true)
            .iter()
            .map(|parts| under(&self.root, parts))
            .find(|path| path.is_file())
    }

    /// A file lying flat in the root, checked to be the module's build: a flat directory
    /// never hands out symbols for a different build of the same module.
    fn find_flat(&self, identity: &SymbolIdentity) -> Option<PathBuf> {
        let sym = self.root.join(identity.sym_file_name());
        if sym.is_file() && module_line_names(&sym, &identity.debug_id) {
            return Some(sym);
        }
        let debug_file = Some(&identity.debug_file);
        [debug_file, identity.code_file.as_ref()]
            .into_iter()
            .flatten()
            .map(|name| self.root.join(name))
            .find(|path| path.is_file() && convert::file_is_build_of(path, identity))
    }
}

impl SymbolSource for SymbolDir {
    /// Store layout first (`<debug_file>/<DEBUGID>/` with `<stem>.sym`, `<stem>.sym.xz`,
    /// `<debug_file>`, its `.pd_`; then `<code_file>/<CODEID>/<code_file>`), then flat files.
    fn find(&self, identity: &SymbolIdentity) -> Option<PathBuf> {
        self.find_in_store(identity)
            .or_else(|| self.find_flat(identity))
    }

    fn find_present(&self, identity: &SymbolIdentity) -> Option<PathBuf> {
        self.find(identity)
    }
}

/// Whether the `MODULE os cpu id name` line of a `.sym` file carries `debug_id`.
fn module_line_names(path: &Path, debug_id: &str) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut first_line = String::new();
    if BufReader::new(file).read_line(&mut first_line).is_err() {
        return false;
    }
    first_line
        .split_whitespace()
        .nth(3)
        .is_some_and(|id| id.eq_ignore_ascii_case(debug_id))
}
