//! A directory of Breakpad `.sym` files, in the symbol-store layout or flat.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::{SymbolIdentity, SymbolSource};

/// A local directory holding `<debug_file>/<DEBUGID>/<stem>.sym` (optionally `.sym.xz`),
/// or plain `<stem>.sym` files whose `MODULE` line names the right debug id.
#[derive(Debug, Clone)]
pub struct SymbolDir {
    root: PathBuf,
}

impl SymbolDir {
    /// A source rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> SymbolDir {
        SymbolDir { root: root.into() }
    }
}

impl SymbolSource for SymbolDir {
    fn find(&self, identity: &SymbolIdentity) -> Option<PathBuf> {
        let sym = identity.sym_file_name();
        let store_dir = self
            .root
            .join(&identity.debug_file)
            .join(&identity.debug_id);
        let in_store = [store_dir.join(&sym), store_dir.join(format!("{sym}.xz"))]
            .into_iter()
            .find(|path| path.is_file());
        in_store.or_else(|| {
            let flat = self.root.join(&sym);
            (flat.is_file() && module_line_names(&flat, &identity.debug_id)).then_some(flat)
        })
    }
}

/// Whether the `MODULE os cpu id name` line of a `.sym` file carries `debug_id`, so a flat
/// directory never hands out symbols for a different build of the same module.
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
