//! Walking with symbol indexes must give, frame for frame, what walking with the whole
//! parsed symbol files gives (breakpad-symbols' `Symbolizer`, the path this crate used
//! before indexes). Every dump of the shared corpus and every generated case is walked
//! both ways with the same symbol directories, and the threads are compared whole:
//! frames, names, source lines, inline frames, trust and offsets.

use std::path::{Path, PathBuf};

use breakpad_symbols::{LocateSymbolsResult, SymbolSupplier, Symbolizer};

use super::*;
use crate::dump::Dump;
use crate::walk::{walk_threads_with, Limits};

/// The whole-file path: the same sources and parsing as the index, no index.
struct WholeFiles(Locator);

#[async_trait::async_trait]
impl SymbolSupplier for WholeFiles {
    async fn locate_symbols(
        &self,
        module: &(dyn Module + Sync),
    ) -> Result<LocateSymbolsResult, SymbolError> {
        let identity = SymbolIdentity::of(module).ok_or(SymbolError::NotFound)?;
        let path = self.0.find(&identity).ok_or(SymbolError::NotFound)?;
        Ok(LocateSymbolsResult {
            symbols: self.0.parse(&path, Some(&identity))?,
            extra_debug_info: None,
        })
    }

    async fn locate_file(
        &self,
        _module: &(dyn Module + Sync),
        _file_kind: FileKind,
    ) -> Result<PathBuf, FileError> {
        Err(FileError::NotFound)
    }
}

fn sources(roots: &[PathBuf]) -> Vec<Box<dyn SymbolSource>> {
    roots
        .iter()
        .map(|root| Box::new(SymbolDir::new(root)) as Box<dyn SymbolSource>)
        .collect()
}

fn minidumps_under(root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .build()
        .filter_map(Result::ok)
        .map(|entry| entry.into_path())
        .filter(|path| {
            let mut magic = [0; 4];
            std::fs::File::open(path)
                .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut magic))
                .is_ok()
                && &magic == b"MDMP"
        })
        .collect();
    found.sort();
    found
}

/// Walks every dump under `dump_root` both ways; returns how many dumps and frames agreed.
fn assert_same_walks(dump_root: &Path, symbol_roots: &[PathBuf]) -> (usize, usize) {
    let cache = tempfile::tempdir().unwrap();
    let indexed = Symbols::new(sources(symbol_roots), Some(SymbolCache::new(cache.path())));
    let whole = Symbolizer::new(WholeFiles(Locator {
        search_path: String::new(),
        sources: sources(symbol_roots),
        cache: None,
        conversions: AtomicUsize::new(0),
        indexes_built: AtomicUsize::new(0),
        likely_next: Default::default(),
    }));
    let limits = Limits::default();
    let (mut dumps, mut frames) = (0, 0);
    for path in minidumps_under(dump_root) {
        let Ok(dump) = Dump::open(&path) else {
            continue;
        };
        let by_index = walk_threads_with(&dump, &indexed, &limits);
        let by_text = walk_threads_with(&dump, &whole, &limits);
        let what = path.display();
        match (by_index, by_text) {
            (Ok(by_index), Ok(by_text)) => {
                assert_eq!(
                    serde_json::to_value(&by_index.threads).unwrap(),
                    serde_json::to_value(&by_text.threads).unwrap(),
                    "{what}: threads differ"
                );
                assert_eq!(
                    by_index.cut_short.map(|e| e.to_string()),
                    by_text.cut_short.map(|e| e.to_string()),
                    "{what}"
                );
                dumps += 1;
                frames += by_index
                    .threads
                    .iter()
                    .map(|t| t.frames.len())
                    .sum::<usize>();
            }
            (by_index, by_text) => assert_eq!(
                by_index.err().map(|e| e.to_string()),
                by_text.err().map(|e| e.to_string()),
                "{what}"
            ),
        }
    }
    (dumps, frames)
}

#[test]
fn every_shared_corpus_dump_walks_the_same_with_indexes() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let roots: Vec<PathBuf> = [
        "breakpad/src/processor/testdata/symbols",
        "rust-minidump/testdata/symbols",
        "minidump-stackwalk/pgo_data/symbols",
        "node-minidump-stackwalk/spec/support/symbols",
        "symbolic/symbolic-testutils/fixtures/windows",
        "symbolic/symbolic-testutils/fixtures/linux",
        "symbolic/symbolic-testutils/fixtures/macos",
        "symbolic/py/tests/res/minidump",
        "lldb/test/Shell/Minidump/Windows/Sigsegv/Inputs",
    ]
    .iter()
    .map(|root| shared.join(root))
    .collect();
    let (dumps, frames) = assert_same_walks(&shared, &roots);
    assert!(
        dumps >= 60 && frames >= 2_000,
        "{dumps} dumps, {frames} frames"
    );
}

#[test]
fn every_generated_case_walks_the_same_with_indexes() {
    let out = tempfile::tempdir().unwrap();
    let cases = triage_corpus::generate(out.path()).unwrap();
    let (dumps, frames) = assert_same_walks(out.path(), &[out.path().join("symbols")]);
    // The five malformed cases give errors (compared too), the other seven walk.
    let malformed = cases
        .iter()
        .filter(|case| case.name.starts_with("malformed"))
        .count();
    assert_eq!(dumps, cases.len() - malformed);
    assert!(frames >= 11 * cases.len(), "{frames} frames");
}
