//! Indexing a symbol store or directory ahead of time (`triage symbols index`), so that
//! the first dump of a build does not pay for parsing its symbols.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::Symbols;

/// Name endings of files that may hold symbols: Breakpad text (also xz-compressed), PDBs,
/// images and ELF/Mach-O debug files, and their CAB-compressed forms. ELF files without an
/// extension are not picked up by a walk; a lookup still indexes them when found.
const SYMBOL_FILE_ENDINGS: &[&str] = &[
    ".sym", ".sym.xz", ".pdb", ".pd_", ".dll", ".dl_", ".exe", ".ex_", ".sys", ".so", ".dylib",
    ".debug", ".dbg",
];

/// Every file under `roots` (files given directly included) whose name ends like a
/// symbol file, sorted; unreadable directories are skipped.
pub fn symbol_files(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = roots
        .iter()
        .flat_map(|root| {
            ignore::WalkBuilder::new(root)
                .standard_filters(false)
                .build()
                .filter_map(Result::ok)
                .filter(|entry| entry.file_type().is_some_and(|kind| kind.is_file()))
                .map(|entry| entry.into_path())
        })
        .filter(|path| looks_like_symbols(path))
        .collect();
    found.sort();
    found.dedup();
    found
}

fn looks_like_symbols(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    // `ignore` is told to skip nothing, so temporary files of a run writing into the same
    // directory are left out here.
    !name.ends_with(".tmp")
        && SYMBOL_FILE_ENDINGS
            .iter()
            .any(|ending| name.ends_with(ending))
}

/// What indexing one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Indexed {
    /// Parsed and indexed now.
    Built,
    /// A fresh index of this very file was already in the cache.
    Fresh,
    /// Not indexed, and why (not symbols, damaged, the wrong kind of object...).
    Failed(String),
}

/// Totals of [`index_files`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexSummary {
    /// Files indexed now.
    pub built: usize,
    /// Files whose index was already fresh.
    pub fresh: usize,
    /// Files that could not be indexed, with the reason.
    pub failed: Vec<(PathBuf, String)>,
}

/// Indexes `files` into `symbols`' cache, in parallel; `on_file` hears of each file as
/// it is done (for a progress bar).
pub fn index_files(
    symbols: &Symbols,
    files: &[PathBuf],
    on_file: impl Fn(&Path, &Indexed) + Sync,
) -> IndexSummary {
    let outcomes: Vec<(PathBuf, Indexed)> = files
        .par_iter()
        .map(|path| {
            let outcome = match symbols.index_file(path) {
                Ok(true) => Indexed::Built,
                Ok(false) => Indexed::Fresh,
                Err(error) => Indexed::Failed(error.to_string()),
            };
            on_file(path, &outcome);
            (path.clone(), outcome)
        })
        .collect();
    let mut summary = IndexSummary::default();
    for (path, outcome) in outcomes {
        match outcome {
            Indexed::Built => summary.built += 1,
            Indexed::Fresh => summary.fresh += 1,
            Indexed::Failed(why) => summary.failed.push((path, why)),
        }
    }
    summary
}
