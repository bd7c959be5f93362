//! The cache directory: symbol indexes, remembered misses, and their size cap.
//!
//! Layout under the cache root:
//!
//! ```text
//! triage-v<VERSION>/index/<hh>/<hash>-<file name>.index   one per symbol file found
//! triage-v<VERSION>/misses/<hash>                          one per module searched in vain
//! ```
//!
//! An index is keyed by the canonical path of the file it was built from (`<hash>` is the
//! FNV-1a hash of that path, `<hh>` its first two digits, `<file name>` the source's name
//! for people reading the directory) and is checked against the source's size and
//! modification time before use, so an edited or replaced source is indexed again. The
//! version covers both the converter and the index format, so a newer triage never reads
//! an older layout; `prune` removes other versions' directories.
//!
//! A file's modification time is its last use: opening an index touches it, and the size
//! cap evicts the least recently used first. Every file is written to a temporary name and
//! renamed, so runs sharing the directory never see a half-written file.
//!
//! Counting the cache means walking it, so a store does not count it every time: it adds
//! what it wrote to the total it last counted, and walks the cache (evicting what is over
//! the cap) only when that estimate passes the cap or when it has written an eighth of the
//! cap since its last count. The second rule bounds what other processes writing into
//! the same directory can add unseen.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::convert::CONVERTER_VERSION;
use super::index::{fnv1a, INDEX_FORMAT};
use super::{is_plain_component, SymbolIdentity};

/// Default cap on the cache directory's indexes ([`SymbolCache::with_max_bytes`]).
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 20 << 30;
/// Default time a miss is remembered ([`SymbolCache::with_miss_ttl`]).
pub const DEFAULT_MISS_TTL: Duration = Duration::from_secs(3600);

/// A directory of symbol indexes and remembered misses.
#[derive(Debug, Clone)]
pub struct SymbolCache {
    root: PathBuf,
    version_dir: PathBuf,
    max_bytes: u64,
    miss_ttl: Duration,
    /// Shared by the clones of this cache, i.e. by one process's lookups.
    tally: Arc<Mutex<Tally>>,
}

/// Bytes of indexes as last counted by a walk of the cache, and written since.
#[derive(Debug, Default)]
struct Tally {
    counted: Option<u64>,
    written_since: u64,
}

/// What [`SymbolCache::prune`] removed and kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneSummary {
    /// Index files removed, least recently used first, to get under the cap.
    pub removed_indexes: usize,
    /// Miss records removed (all of them, or the expired ones).
    pub removed_misses: usize,
    /// Directories of other cache versions removed.
    pub removed_versions: usize,
    /// Bytes freed.
    pub freed_bytes: u64,
    /// Bytes of indexes left.
    pub kept_bytes: u64,
}

impl SymbolCache {
    /// A cache under `root` (created on first write), capped at
    /// [`DEFAULT_CACHE_MAX_BYTES`], remembering misses for [`DEFAULT_MISS_TTL`].
    pub fn new(root: impl Into<PathBuf>) -> SymbolCache {
        let root = root.into();
        SymbolCache {
            version_dir: root.join(version_dir_name()),
            root,
            max_bytes: DEFAULT_CACHE_MAX_BYTES,
            miss_ttl: DEFAULT_MISS_TTL,
            tally: Arc::default(),
        }
    }

    /// The same cache with its indexes capped at `max_bytes` in all.
    pub fn with_max_bytes(mut self, max_bytes: u64) -> SymbolCache {
        self.max_bytes = max_bytes;
        self
    }

    /// The same cache remembering misses for `ttl` (zero: not at all).
    pub fn with_miss_ttl(mut self, ttl: Duration) -> SymbolCache {
        self.miss_ttl = ttl;
        self
    }

    /// Where the index of the symbol file at `source` is kept.
    pub fn index_path(&self, source: &Path) -> PathBuf {
        let canonical = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
        let hash = fnv1a(canonical.as_os_str().as_encoded_bytes());
        let name = source
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .filter(|name| is_plain_component(name))
            .unwrap_or_default();
        self.version_dir
            .join("index")
            .join(format!("{:02x}", hash >> 56))
            .join(format!("{hash:016x}-{name}.index"))
    }

    /// An exclusive lock on building the index at `path`, held until the file is dropped:
    /// scan workers that meet the same symbol file at once build it once, the others
    /// wait and then open it. The operating system releases the lock of a process that
    /// dies. `None` (no lock, build anyway) when the lock file cannot be made.
    pub(super) fn build_lock(&self, path: &Path) -> Option<std::fs::File> {
        let file = lock_file(path)?;
        file.lock().ok()?;
        Some(file)
    }

    /// [`SymbolCache::build_lock`] without waiting: `Err` when another process (or another
    /// open of the lock file) is building the index now.
    pub(super) fn try_build_lock(&self, path: &Path) -> Result<Option<std::fs::File>, Busy> {
        let Some(file) = lock_file(path) else {
            return Ok(None);
        };
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(Busy),
            Err(std::fs::TryLockError::Error(_)) => Ok(None),
        }
    }

    /// Marks the index at `path` as just used, for the size cap's LRU order.
    pub(super) fn touch(&self, path: &Path) {
        if let Ok(file) = std::fs::File::options().append(true).open(path) {
            let _ = file.set_modified(SystemTime::now());
        }
    }

    /// Writes an index through `write` and, if the cache may now be over its cap, counts
    /// it and evicts the least recently used indexes (never the one just written).
    pub(super) fn store(
        &self,
        path: &Path,
        write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        // No fsync: an index torn by a power cut fails its checks and is rebuilt, and
        // syncing hundreds of megabytes would double the cost of a cold run.
        write_atomically(path, false, write)?;
        let written = std::fs::metadata(path).map_or(0, |metadata| metadata.len());
        let mut tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        tally.written_since += written;
        let may_be_over = tally
            .counted
            .is_none_or(|counted| counted + tally.written_since > self.max_bytes);
        if may_be_over || tally.written_since > self.max_bytes / 8 {
            let (_, _, kept) = self.evict_over(self.max_bytes, Some(path));
            *tally = Tally {
                counted: Some(kept),
                written_since: 0,
            };
        }
        Ok(())
    }

    fn miss_path(&self, identity: &SymbolIdentity, sources: &str) -> PathBuf {
        let key = format!("{}\n{}\n{sources}", identity.debug_file, identity.debug_id);
        self.version_dir
            .join("misses")
            .join(format!("{:016x}", fnv1a(key.as_bytes())))
    }

    /// Whether `identity` was searched in `sources` (a description of the search path)
    /// without success less than the miss time-to-live ago.
    pub(super) fn missed_recently(&self, identity: &SymbolIdentity, sources: &str) -> bool {
        let age = std::fs::metadata(self.miss_path(identity, sources))
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|when| SystemTime::now().duration_since(when).ok());
        age.is_some_and(|age| age < self.miss_ttl)
    }

    /// Remembers that `identity` was not found in `sources`.
    pub(super) fn remember_miss(&self, identity: &SymbolIdentity, sources: &str) {
        if self.miss_ttl.is_zero() {
            return;
        }
        let path = self.miss_path(identity, sources);
        let record = format!("{} {}\n", identity.debug_file, identity.debug_id);
        if let Err(error) = write_atomically(&path, false, |file| file.write_all(record.as_bytes()))
        {
            tracing::warn!(
                "cannot remember a symbol miss at {}: {error}",
                path.display()
            );
        }
    }

    /// Removes other cache versions' directories and miss records (all with
    /// `forget_misses`, else the expired ones), then least recently used indexes until
    /// they fit in `max_bytes` (default: this cache's cap).
    pub fn prune(&self, max_bytes: Option<u64>, forget_misses: bool) -> PruneSummary {
        let mut summary = PruneSummary::default();
        let current = version_dir_name();
        for entry in read_dir(&self.root) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("triage-v") && name != current && entry.path().is_dir() {
                summary.freed_bytes += files_under(&entry.path())
                    .map(|(_, len, _)| len)
                    .sum::<u64>();
                if std::fs::remove_dir_all(entry.path()).is_ok() {
                    summary.removed_versions += 1;
                }
            }
        }
        for (path, len, modified) in files_under(&self.version_dir.join("misses")) {
            let expired = SystemTime::now()
                .duration_since(modified)
                .map_or(true, |age| age >= self.miss_ttl);
            if (forget_misses || expired) && std::fs::remove_file(&path).is_ok() {
                summary.removed_misses += 1;
                summary.freed_bytes += len;
            }
        }
        let evicted = self.evict_over(max_bytes.unwrap_or(self.max_bytes), None);
        summary.removed_indexes = evicted.0;
        summary.freed_bytes += evicted.1;
        summary.kept_bytes = evicted.2;
        summary
    }

    /// Deletes least recently used indexes until the rest fit in `max_bytes`, sparing
    /// `keep`. Returns how many were deleted, the bytes freed and the bytes left.
    fn evict_over(&self, max_bytes: u64, keep: Option<&Path>) -> (usize, u64, u64) {
        let mut indexes: Vec<(PathBuf, u64, SystemTime)> =
            files_under(&self.version_dir.join("index"))
                .filter(|(path, _, _)| path.extension().is_some_and(|ext| ext == "index"))
                .collect();
        let mut total: u64 = indexes.iter().map(|(_, len, _)| len).sum();
        let (mut removed, mut freed) = (0, 0);
        if total <= max_bytes {
            return (removed, freed, total);
        }
        indexes.sort_by_key(|(_, _, modified)| *modified);
        for (path, len, _) in indexes {
            if total <= max_bytes {
                break;
            }
            if Some(path.as_path()) == keep {
                continue;
            }
            // Another run may have removed it first; either way it is gone.
            if std::fs::remove_file(&path).is_ok() {
                removed += 1;
                freed += len;
            }
            total = total.saturating_sub(len);
        }
        (removed, freed, total)
    }
}

/// Another process holds the build lock of an index.
#[derive(Debug)]
pub(super) struct Busy;

/// The lock file beside the index at `path`, created if need be.
fn lock_file(path: &Path) -> Option<std::fs::File> {
    let lock_path = path.with_extension("lock");
    std::fs::create_dir_all(lock_path.parent()?).ok()?;
    std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .ok()
}

/// The name of this version's directory: converter and index format together.
fn version_dir_name() -> String {
    format!("triage-v{CONVERTER_VERSION}.{INDEX_FORMAT}")
}

fn read_dir(dir: &Path) -> impl Iterator<Item = std::fs::DirEntry> {
    std::fs::read_dir(dir).into_iter().flatten().flatten()
}

/// Every regular file under `dir` (temporary files of writes in progress excepted), with
/// its length and modification time.
fn files_under(dir: &Path) -> impl Iterator<Item = (PathBuf, u64, SystemTime)> {
    let mut pending = vec![dir.to_path_buf()];
    let mut found = Vec::new();
    while let Some(dir) = pending.pop() {
        for entry in read_dir(&dir) {
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if metadata.is_dir() {
                pending.push(entry.path());
            } else if !entry.file_name().to_string_lossy().ends_with(".tmp") {
                let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((entry.path(), metadata.len(), modified));
            }
        }
    }
    found.into_iter()
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
/// reader (another worker, another run) never sees a half-written file; `durable` also
/// syncs the data to disk before the rename.
pub(super) fn write_atomically(
    path: &Path,
    durable: bool,
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
        .and_then(|mut file| {
            write(&mut file)?;
            if durable {
                file.sync_all()?;
            }
            Ok(())
        })
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
    fn index_paths_are_per_source_path_under_the_versioned_root() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SymbolCache::new(dir.path());
        let a = cache.index_path(Path::new("/store/a/crash.sym"));
        let b = cache.index_path(Path::new("/store/b/crash.sym"));
        assert_ne!(a, b);
        assert!(a.starts_with(dir.path().join(version_dir_name()).join("index")));
        assert!(a.to_string_lossy().ends_with("-crash.sym.index"));
        // A name that is not plain is left out of the file name, not joined into it.
        let odd = cache.index_path(Path::new("/store/.."));
        assert!(odd.starts_with(dir.path()));
    }

    #[test]
    fn misses_are_remembered_per_search_path_until_they_expire() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SymbolCache::new(dir.path());
        assert!(!cache.missed_recently(&identity(), "dir A"));
        cache.remember_miss(&identity(), "dir A");
        assert!(cache.missed_recently(&identity(), "dir A"));
        assert!(!cache.missed_recently(&identity(), "dir B"));
        let expired = cache.clone().with_miss_ttl(Duration::ZERO);
        assert!(!expired.missed_recently(&identity(), "dir A"));
        assert_eq!(cache.prune(None, true).removed_misses, 1);
        assert!(!cache.missed_recently(&identity(), "dir A"));
    }

    #[test]
    fn the_cap_evicts_least_recently_used_indexes_and_other_versions() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SymbolCache::new(dir.path()).with_max_bytes(250);
        let old_version = dir.path().join("triage-v0.0/index/x.index");
        std::fs::create_dir_all(old_version.parent().unwrap()).unwrap();
        std::fs::write(&old_version, [0; 10]).unwrap();
        let paths: Vec<PathBuf> = (0..3)
            .map(|i| cache.index_path(Path::new(&format!("/s/{i}.sym"))))
            .collect();
        for (age, path) in paths.iter().enumerate() {
            cache.store(path, |file| file.write_all(&[0; 100])).unwrap();
            let when = SystemTime::now() - Duration::from_secs(100 - age as u64);
            std::fs::File::options()
                .append(true)
                .open(path)
                .unwrap()
                .set_modified(when)
                .unwrap();
        }
        // Storing the third went over 250 bytes: the oldest went.
        assert!(!paths[0].exists() && paths[1].exists() && paths[2].exists());
        cache.touch(&paths[1]);
        let summary = cache.prune(Some(100), false);
        assert_eq!(summary.removed_indexes, 1);
        assert_eq!(summary.removed_versions, 1);
        assert!(paths[1].exists() && !paths[2].exists() && !old_version.exists());
        assert_eq!(summary.kept_bytes, 100);
    }

    #[test]
    fn stores_count_the_cache_again_only_near_the_cap_or_after_an_eighth_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SymbolCache::new(dir.path()).with_max_bytes(8_000);
        let store = |name: &str, len: usize| {
            let path = cache.index_path(Path::new(name));
            cache
                .store(&path, |file| file.write_all(&vec![0; len]))
                .unwrap();
            path
        };
        store("/s/first.sym", 100);
        // Another process writes past the cap, unseen by this one's count.
        let other = cache.index_path(Path::new("/s/other.sym"));
        std::fs::create_dir_all(other.parent().unwrap()).unwrap();
        std::fs::write(&other, vec![0; 9_000]).unwrap();
        std::fs::File::options()
            .append(true)
            .open(&other)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(100))
            .unwrap();
        // A small store trusts its count: nothing is walked or evicted.
        store("/s/small.sym", 100);
        assert!(other.exists());
        // Past an eighth of the cap written since the count, the cache is counted again
        // and the least recently used file goes.
        store("/s/large.sym", 1_000);
        assert!(!other.exists());
    }
}
