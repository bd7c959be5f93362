//! Symbol lookup: a chain of [`SymbolSource`]s, answered from symbol indexes.
//!
//! A source only answers "where is the symbol file for this module?"; reading, converting,
//! indexing, caching and recording what was found live here once, so a new source is one
//! file that implements [`SymbolSource`]. Breakpad text is parsed as it is; PDB, PE, ELF and
//! Mach-O files (also CAB-compressed) are converted to Breakpad text first (`convert.rs`).
//! Either way the parse is written once as a [`SymbolIndex`] (`index/`) in the
//! [`SymbolCache`], and every later lookup, in this run or the next, reads the index.

mod cache;
mod convert;
mod index;
mod local_dir;
mod prebuild;
mod resident;
mod search_path;
mod server;
mod symstore;
#[cfg(test)]
mod text_path_tests;
mod unpack;

use std::collections::{HashMap, HashSet, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use breakpad_symbols::{FileError, FileKind, SymbolError, SymbolFile};
use minidump::Module;
use minidump_unwind::{FillSymbolError, FrameSymbolizer, FrameWalker, SymbolProvider};

use cache::Busy;
pub use cache::{
    default_cache_root, PruneSummary, SymbolCache, DEFAULT_CACHE_MAX_BYTES, DEFAULT_MISS_TTL,
    DOWNLOADS_DIR,
};
pub use index::{IndexError, LayoutError, SourceStamp, SymbolIndex, INDEX_FORMAT};
pub use local_dir::SymbolDir;
pub use prebuild::{index_files, symbol_files, IndexSummary, Indexed};
use resident::Resident;
pub use resident::DEFAULT_MEMORY_BUDGET;
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

    /// [`SymbolSource::find`] among the files already on this machine, fetching nothing.
    /// A lookup that waits for another process to index a file uses the time to index a
    /// module that is likely needed next, and must not download for a guess. The default
    /// finds nothing, so a source that does not say takes no part.
    fn find_present(&self, _identity: &SymbolIdentity) -> Option<PathBuf> {
        None
    }
}

/// Key under which lookups are recorded: the fields breakpad-symbols' `Symbolizer` caches by.
type ModuleKey = (String, Option<String>, Option<String>);

fn module_key(module: &dyn Module) -> ModuleKey {
    (
        module.code_file().into_owned(),
        module.debug_file().map(|file| file.into_owned()),
        module.debug_identifier().map(|id| id.to_string()),
    )
}

/// Symbol lookup shared by every dump of a run: each symbol file is indexed once (or its
/// index opened from the cache), and lookups read the index.
pub struct Symbols {
    locator: Locator,
    resident: Resident<ModuleKey>,
    outcomes: Mutex<HashMap<ModuleKey, SymbolState>>,
}

impl Symbols {
    /// Looks in `sources`, in order, for each module's symbols; indexes are kept in
    /// `cache` when given, else built in memory for this run.
    pub fn new(sources: Vec<Box<dyn SymbolSource>>, cache: Option<SymbolCache>) -> Symbols {
        Symbols {
            locator: Locator {
                search_path: format!("{sources:?}"),
                sources,
                cache,
                conversions: AtomicUsize::new(0),
                indexes_built: AtomicUsize::new(0),
                likely_next: Mutex::default(),
            },
            resident: Resident::new(DEFAULT_MEMORY_BUDGET),
            outcomes: Mutex::new(HashMap::new()),
        }
    }

    /// The same lookup holding at most about `bytes` of indexes open at once (default
    /// [`DEFAULT_MEMORY_BUDGET`]); the one in use is always held, however big.
    pub fn with_memory_budget(mut self, bytes: usize) -> Symbols {
        self.resident.set_budget(bytes);
        self
    }

    /// How many PDB, PE, ELF or Mach-O files were converted to Breakpad text so far; a
    /// file whose index came from the cache does not count.
    pub fn conversions(&self) -> usize {
        self.locator.conversions.load(Ordering::Relaxed)
    }

    /// How many symbol files were parsed and indexed so far; an index opened from the
    /// cache does not count.
    pub fn indexes_built(&self) -> usize {
        self.locator.indexes_built.load(Ordering::Relaxed)
    }

    /// Bytes of symbol indexes held open now (mapped or in memory).
    pub fn held_bytes(&self) -> usize {
        self.resident.held_bytes()
    }

    /// Notes the modules of a dump about to be walked. While a lookup waits for another
    /// process that is indexing the file it needs (scan workers meeting the same build at
    /// once), it indexes one of these in the meantime, if present on this machine, so the
    /// workers index different files instead of queueing for one.
    pub(crate) fn expect_modules(&self, identities: impl IntoIterator<Item = SymbolIdentity>) {
        if self.locator.cache.is_none() {
            return;
        }
        let mut next = self
            .locator
            .likely_next
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for identity in identities {
            next.push(identity);
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

    /// Indexes the symbol file at `path` into the cache ahead of use, as a lookup that
    /// finds it would; returns whether it had to be built (false: a fresh index existed).
    /// Fails without a cache directory, where an index would not outlive the call.
    pub fn index_file(&self, path: &Path) -> Result<bool, SymbolError> {
        if self.locator.cache.is_none() {
            return Err(std::io::Error::other("no cache directory to keep indexes in").into());
        }
        let (_, built) = self.locator.index_of(path, None)?;
        Ok(built)
    }

    fn index_for(&self, module: &dyn Module) -> Option<Arc<SymbolIndex>> {
        let key = module_key(module);
        self.resident.get_or_load(&key, || {
            let (index, state) = self.locator.locate(module);
            let mut outcomes = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
            outcomes.insert(key.clone(), state);
            index
        })
    }
}

impl Default for Symbols {
    /// No sources: every frame stays unsymbolized.
    fn default() -> Self {
        Symbols::new(Vec::new(), None)
    }
}

#[async_trait::async_trait]
impl SymbolProvider for Symbols {
    async fn fill_symbol(
        &self,
        module: &(dyn Module + Sync),
        frame: &mut (dyn FrameSymbolizer + Send),
    ) -> Result<(), FillSymbolError> {
        let index = self.index_for(module).ok_or(FillSymbolError {})?;
        index.fill_symbol(module, frame);
        Ok(())
    }

    async fn walk_frame(
        &self,
        module: &(dyn Module + Sync),
        walker: &mut (dyn FrameWalker + Send),
    ) -> Option<()> {
        self.index_for(module)?.walk_frame(module, walker)
    }

    async fn get_file_path(
        &self,
        module: &(dyn Module + Sync),
        file_kind: FileKind,
    ) -> Result<PathBuf, FileError> {
        match file_kind {
            FileKind::BreakpadSym => SymbolIdentity::of(module)
                .and_then(|identity| self.locator.find(&identity))
                .ok_or(FileError::NotFound),
            FileKind::Binary | FileKind::ExtraDebugInfo => Err(FileError::NotFound),
        }
    }
}

/// Finds a module's symbol file and opens or builds its index.
struct Locator {
    sources: Vec<Box<dyn SymbolSource>>,
    /// The sources as they were described (`Debug`) when the lookup was made: a
    /// remembered miss holds for this search path only.
    search_path: String,
    cache: Option<SymbolCache>,
    conversions: AtomicUsize,
    indexes_built: AtomicUsize,
    /// Modules of the dumps being walked, to index while waiting for another process.
    likely_next: Mutex<LikelyNext>,
}

/// Identities to index ahead while waiting, each at most once per run.
#[derive(Default)]
struct LikelyNext {
    queue: VecDeque<SymbolIdentity>,
    seen: HashSet<(String, String)>,
    /// Debug file names (lowercase) that walks of this run have needed, in any build:
    /// the modules a walk touches are much the same from one build to the next, so these
    /// are indexed ahead first, before modules no walk has needed yet.
    needed: HashSet<String>,
}

impl LikelyNext {
    /// Most identities kept waiting; the oldest are dropped past it.
    const MAX_QUEUED: usize = 4096;

    fn push(&mut self, identity: SymbolIdentity) {
        let key = (identity.debug_file.clone(), identity.debug_id.clone());
        if self.seen.insert(key) {
            if self.queue.len() == Self::MAX_QUEUED {
                self.queue.pop_front();
            }
            self.queue.push_back(identity);
        }
    }

    /// The next identity to index ahead: the oldest of a needed name, else the oldest.
    fn pop(&mut self) -> Option<SymbolIdentity> {
        let needed = self.queue.iter().position(|identity| {
            self.needed
                .contains(&identity.debug_file.to_ascii_lowercase())
        });
        self.queue.remove(needed.unwrap_or(0))
    }
}

impl Locator {
    fn find(&self, identity: &SymbolIdentity) -> Option<PathBuf> {
        self.sources.iter().find_map(|source| source.find(identity))
    }

    /// The index of `module`'s symbols and what the search found.
    fn locate(&self, module: &dyn Module) -> (Option<Arc<SymbolIndex>>, SymbolState) {
        let Some(identity) = SymbolIdentity::of(module) else {
            return (None, SymbolState::Missing);
        };
        if let Some(cache) = &self.cache {
            if cache.missed_recently(&identity, &self.search_path) {
                tracing::debug!(
                    "symbols of {} {} not searched: missed recently",
                    identity.debug_file,
                    identity.debug_id
                );
                return (None, SymbolState::Missing);
            }
        }
        let Some(path) = self.find(&identity) else {
            if let Some(cache) = &self.cache {
                cache.remember_miss(&identity, &self.search_path);
            }
            return (None, SymbolState::Missing);
        };
        self.likely_next
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .needed
            .insert(identity.debug_file.to_ascii_lowercase());
        match self.index_of(&path, Some(&identity)) {
            Ok((index, _)) => (Some(index), SymbolState::Loaded),
            Err(error) => {
                tracing::warn!("cannot use symbol file {}: {error}", path.display());
                (None, SymbolState::Corrupt)
            }
        }
    }

    /// The index of the symbol file at `path`: from the cache when it is there and was
    /// built from this very file, else built now (and kept in the cache, if any); the flag
    /// says whether it was built.
    fn index_of(
        &self,
        path: &Path,
        identity: Option<&SymbolIdentity>,
    ) -> Result<(Arc<SymbolIndex>, bool), SymbolError> {
        let stamp = SourceStamp::of(&std::fs::metadata(path)?);
        let Some(cache) = &self.cache else {
            let symbols = self.parse(path, identity)?;
            return Ok((in_memory(&symbols, stamp)?, true));
        };
        let entry = cache.index_path(path);
        if let Some(index) = fresh_index(cache, &entry, path, stamp) {
            return Ok((index, false));
        }
        let _building = loop {
            match cache.try_build_lock(&entry) {
                Ok(lock) => break lock,
                Err(Busy) if self.index_one_likely_next(cache) => {}
                Err(Busy) => break cache.build_lock(&entry),
            }
        };
        // Another process may have built it while this one waited for the lock.
        if let Some(index) = fresh_index(cache, &entry, path, stamp) {
            return Ok((index, false));
        }
        let symbols = self.parse(path, identity)?;
        match cache.store(&entry, path, |file| {
            SymbolIndex::write(&symbols, stamp, file)
        }) {
            Ok(()) => match SymbolIndex::open(&entry) {
                Ok(index) => return Ok((Arc::new(index), true)),
                // Evicted by another run in the meantime, say: use it from memory.
                Err(error) => tracing::debug!("index {} not reopened: {error}", entry.display()),
            },
            Err(error) => tracing::warn!("cannot cache index {}: {error}", entry.display()),
        }
        Ok((in_memory(&symbols, stamp)?, true))
    }

    /// Indexes into `cache` the next noted module whose symbols are on this machine and
    /// not indexed or being indexed; false when none is left to try.
    fn index_one_likely_next(&self, cache: &SymbolCache) -> bool {
        loop {
            let next = self
                .likely_next
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop();
            let Some(identity) = next else {
                return false;
            };
            if cache.missed_recently(&identity, &self.search_path) {
                continue;
            }
            let Some(path) = self
                .sources
                .iter()
                .find_map(|source| source.find_present(&identity))
            else {
                continue;
            };
            let Ok(metadata) = std::fs::metadata(&path) else {
                continue;
            };
            let entry = cache.index_path(&path);
            let stamp = SourceStamp::of(&metadata);
            if fresh_index(cache, &entry, &path, stamp).is_some() {
                continue;
            }
            let Ok(Some(_building)) = cache.try_build_lock(&entry) else {
                continue;
            };
            if fresh_index(cache, &entry, &path, stamp).is_none() {
                let built = self.parse(&path, Some(&identity)).and_then(|symbols| {
                    Ok(cache.store(&entry, &path, |file| {
                        SymbolIndex::write(&symbols, stamp, file)
                    })?)
                });
                if let Err(error) = built {
                    tracing::debug!("not indexed ahead: {}: {error}", path.display());
                }
            }
            return true;
        }
    }

    /// Parses the file at `path`, converting it first when it is not Breakpad text.
    fn parse(
        &self,
        path: &Path,
        identity: Option<&SymbolIdentity>,
    ) -> Result<SymbolFile, SymbolError> {
        let symbols = match unpack::sniff(path)? {
            unpack::Content::Breakpad => SymbolFile::from_file(path)?,
            unpack::Content::XzBreakpad => SymbolFile::from_bytes(&unpack::read_xz(path)?)?,
            unpack::Content::Object => SymbolFile::from_bytes(&self.convert(path, identity)?)?,
        };
        self.indexes_built.fetch_add(1, Ordering::Relaxed);
        Ok(symbols)
    }

    /// Breakpad text for the object file at `path`, checked to be `identity`'s build (or,
    /// without one, for whatever build it is).
    fn convert(
        &self,
        path: &Path,
        identity: Option<&SymbolIdentity>,
    ) -> Result<Vec<u8>, SymbolError> {
        let bytes = unpack::object_bytes(path)?;
        // symbolic reads hostile files; a panic in it costs this module's symbols only.
        let text = catch_unwind(AssertUnwindSafe(|| {
            let own;
            let identity = match identity {
                Some(identity) => identity,
                None => {
                    let name = path.file_name().unwrap_or_default().to_string_lossy();
                    own = convert::identity_of(&bytes, &name)?;
                    &own
                }
            };
            convert::to_breakpad(&bytes, identity)
        }))
        .unwrap_or_else(|_| Err(std::io::Error::other("the converter panicked")))?;
        self.conversions.fetch_add(1, Ordering::Relaxed);
        Ok(text)
    }
}

/// The cached index at `entry` when it was built from a source with `stamp`; a stale,
/// torn or foreign file is left to be rebuilt.
fn fresh_index(
    cache: &SymbolCache,
    entry: &Path,
    source: &Path,
    stamp: SourceStamp,
) -> Option<Arc<SymbolIndex>> {
    match SymbolIndex::open(entry) {
        Ok(index) if index.source() == stamp => {
            cache.touch(entry, source);
            return Some(Arc::new(index));
        }
        Ok(_) => tracing::debug!("{} is stale; indexing its source again", entry.display()),
        Err(IndexError::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => tracing::warn!("rebuilding index {}: {error}", entry.display()),
    }
    None
}

fn in_memory(symbols: &SymbolFile, stamp: SourceStamp) -> Result<Arc<SymbolIndex>, SymbolError> {
    let index = SymbolIndex::from_bytes(SymbolIndex::build(symbols, stamp))
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    Ok(Arc::new(index))
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

    /// Finds nothing, and counts how often it was asked.
    struct CountingSource(Arc<AtomicUsize>);

    /// The same for every instance: the search path a miss is remembered for.
    impl std::fmt::Debug for CountingSource {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("CountingSource")
        }
    }

    impl SymbolSource for CountingSource {
        fn find(&self, _identity: &SymbolIdentity) -> Option<PathBuf> {
            self.0.fetch_add(1, Ordering::Relaxed);
            None
        }
    }

    #[test]
    fn a_miss_is_searched_once_per_run_and_remembered_across_runs() {
        let dump = crate::dump::Dump::open(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/corpus/breakpad/src/processor/testdata/minidump2.dmp"),
        )
        .unwrap();
        let modules: minidump::MinidumpModuleList = dump.minidump.get_stream().unwrap();
        let ntdll = modules
            .iter()
            .find(|module| module.code_file().ends_with("ntdll.dll"))
            .unwrap();
        let cache = tempfile::tempdir().unwrap();
        let asked = Arc::new(AtomicUsize::new(0));
        let run = |ttl: std::time::Duration| {
            let source = Box::new(CountingSource(Arc::clone(&asked)));
            let cache = SymbolCache::new(cache.path()).with_miss_ttl(ttl);
            Symbols::new(vec![source], Some(cache))
        };
        let first = run(DEFAULT_MISS_TTL);
        assert!(first.index_for(ntdll).is_none());
        assert!(first.index_for(ntdll).is_none());
        assert_eq!(asked.load(Ordering::Relaxed), 1);
        assert_eq!(first.state_of(ntdll), SymbolState::Missing);
        // A later run with the same search path does not ask again...
        assert!(run(DEFAULT_MISS_TTL).index_for(ntdll).is_none());
        assert_eq!(asked.load(Ordering::Relaxed), 1);
        // ...unless misses expire at once.
        assert!(run(std::time::Duration::ZERO).index_for(ntdll).is_none());
        assert_eq!(asked.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_lookup_waiting_for_another_process_indexes_a_likely_next_module_meanwhile() {
        let store = tempfile::tempdir().unwrap();
        let write_sym = |name: &str, id: &str| {
            let dir = store.path().join(format!("{name}.pdb")).join(id);
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{name}.sym"));
            let text = format!("MODULE windows x86 {id} {name}.pdb\nFUNC 1000 10 0 {name}_f\n");
            std::fs::write(&path, text).unwrap();
            path
        };
        let (a, b) = (write_sym("a", "AAAA1"), write_sym("b", "BBBB1"));
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = SymbolCache::new(cache_dir.path());
        let symbols = Symbols::new(
            vec![Box::new(SymbolDir::new(store.path()))],
            Some(cache.clone()),
        );
        symbols.expect_modules([SymbolIdentity {
            debug_file: "b.pdb".into(),
            debug_id: "BBBB1".into(),
            code_file: None,
            code_id: None,
        }]);
        // Another process is indexing a: its build lock is held (a lock taken through
        // another open of the lock file conflicts even within one process).
        let held = cache.build_lock(&cache.index_path(&a)).unwrap();
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| symbols.index_file(&a));
            let b_index = cache.index_path(&b);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while !b_index.exists() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            assert!(b_index.exists(), "b was not indexed while waiting for a");
            assert!(!waiting.is_finished(), "the lookup of a did not wait");
            drop(held);
            assert!(
                waiting.join().unwrap().unwrap(),
                "a was not built after the wait"
            );
        });
        assert_eq!(symbols.indexes_built(), 2);
        // b was taken off the list: a second wait has nothing left to index.
        assert!(!symbols.locator.index_one_likely_next(&cache));
    }

    #[test]
    fn modules_walks_needed_before_are_indexed_ahead_first() {
        let identity = |file: &str, id: &str| SymbolIdentity {
            debug_file: file.into(),
            debug_id: id.into(),
            code_file: None,
            code_id: None,
        };
        let mut next = LikelyNext::default();
        for (file, id) in [
            ("advapi32.pdb", "A1"),
            ("ntdll.pdb", "B2"),
            ("ntdll.pdb", "B2"),
        ] {
            next.push(identity(file, id));
        }
        next.needed.insert("ntdll.pdb".into());
        next.push(identity("NTDLL.PDB", "C3"));
        let order: Vec<String> = std::iter::from_fn(|| next.pop())
            .map(|identity| identity.debug_id)
            .collect();
        assert_eq!(order, ["B2", "C3", "A1"]);
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
