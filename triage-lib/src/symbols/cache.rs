//! The cache directory: symbol indexes, remembered misses, and their size cap.
//!
//! Layout under the cache root:
//!
//! ```text
//! triage-v<VERSION>/index/<hh>/<hash>-<file name>.index   one per symbol file found
//! triage-v<VERSION>/misses/<hash>                          one per module searched in vain
//! symbols/<debug_file>/<DEBUGID>/<file>                     downloads of `srv**URL` entries
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
//! cap evicts the least recently used indexes and downloads first. A download's use is its
//! access time instead (its modification time is part of its index's key): opening the
//! index of a download marks both. An evicted download is fetched again when needed. Every
//! file is written to a temporary name and renamed, so runs sharing the directory never
//! see a half-written file.
//!
//! Counting the cache means walking it, so a store does not count it every time: it adds
//! what it wrote to the total it last counted, and walks the cache (evicting what is over
//! the cap) only when that estimate passes the cap or when it has written an eighth of the
//! cap since its last count. The second rule bounds what other processes writing into
//! the same directory can add unseen.

use std::fs::FileTimes;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::convert::CONVERTER_VERSION;
use super::index::{fnv1a, INDEX_FORMAT};
use super::{is_plain_component, SymbolIdentity};

/// Default cap on the cache directory's indexes and downloads ([`SymbolCache::with_max_bytes`]).
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 20 << 30;
/// The directory of the cache root that downloads land in ([`SymbolCache::downloads_dir`]).
pub const DOWNLOADS_DIR: &str = "symbols";
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

/// Bytes of indexes and downloads as last counted by a walk of the cache, and written since
/// (downloads are counted when they are indexed).
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
    /// Downloaded symbol files removed to get under the cap (fetched again when needed).
    pub removed_downloads: usize,
    /// Miss records removed (all of them, or the expired ones).
    pub removed_misses: usize,
    /// Directories of other cache versions removed.
    pub removed_versions: usize,
    /// Bytes freed.
    pub freed_bytes: u64,
    /// Bytes of indexes and downloads left.
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

    /// The same cache with its indexes and downloads capped at `max_bytes` in all.
    pub fn with_max_bytes(mut self, max_bytes: u64) -> SymbolCache {
        self.max_bytes = max_bytes;
        self
    }

    /// The same cache remembering misses for `ttl` (zero: not at all).
    pub fn with_miss_ttl(mut self, ttl: Duration) -> SymbolCache {
        self.miss_ttl = ttl;
        self
    }

    /// The symbol store that downloads of `srv**URL` entries land in, under the cap.
    pub fn downloads_dir(&self) -> PathBuf {
        self.root.join(DOWNLOADS_DIR)
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

    /// Marks the index at `path`, built from `source`, as just used, for the size cap's
    /// LRU order; a downloaded source too, by its access time.
    pub(super) fn touch(&self, path: &Path, source: &Path) {
        if let Ok(file) = std::fs::File::options().append(true).open(path) {
            let _ = file.set_modified(SystemTime::now());
        }
        if source.starts_with(self.downloads_dir()) {
            if let Ok(file) = std::fs::File::open(source) {
                let _ = file.set_times(FileTimes::new().set_accessed(SystemTime::now()));
            }
        }
    }

    /// Writes the index of `source` to `path` through `write` and, if the cache may now be
    /// over its cap, counts it and evicts the least recently used indexes and downloads
    /// (never the index just written).
    pub(super) fn store(
        &self,
        path: &Path,
        source: &Path,
        write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        // No fsync: an index torn by a power cut fails its checks and is rebuilt, and
        // syncing hundreds of megabytes would double the cost of a cold run.
        write_atomically(path, false, write)?;
        let len = |file: &Path| std::fs::metadata(file).map_or(0, |metadata| metadata.len());
        let mut written = len(path);
        if source.starts_with(self.downloads_dir()) {
            written += len(source);
        }
        let mut tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        tally.written_since += written;
        let may_be_over = tally
            .counted
            .is_none_or(|counted| counted + tally.written_since > self.max_bytes);
        if may_be_over || tally.written_since > self.max_bytes / 8 {
            let evicted = self.evict_over(self.max_bytes, Some(path));
            *tally = Tally {
                counted: Some(evicted.kept_bytes),
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
    /// `forget_misses`, else the expired ones), then least recently used indexes and
    /// downloads until they fit in `max_bytes` (default: this cache's cap).
    pub fn prune(&self, max_bytes: Option<u64>, forget_misses: bool) -> PruneSummary {
        let mut summary = PruneSummary::default();
        let current = version_dir_name();
        for entry in read_dir(&self.root) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("triage-v") && name != current && entry.path().is_dir() {
                summary.freed_bytes += files_under(&entry.path()).map(|file| file.len).sum::<u64>();
                if std::fs::remove_dir_all(entry.path()).is_ok() {
                    summary.removed_versions += 1;
                }
            }
        }
        for miss in files_under(&self.version_dir.join("misses")) {
            let expired = SystemTime::now()
                .duration_since(miss.modified)
                .map_or(true, |age| age >= self.miss_ttl);
            if (forget_misses || expired) && std::fs::remove_file(&miss.path).is_ok() {
                summary.removed_misses += 1;
                summary.freed_bytes += miss.len;
            }
        }
        let evicted = self.evict_over(max_bytes.unwrap_or(self.max_bytes), None);
        PruneSummary {
            removed_indexes: evicted.removed_indexes,
            removed_downloads: evicted.removed_downloads,
            freed_bytes: summary.freed_bytes + evicted.freed_bytes,
            kept_bytes: evicted.kept_bytes,
            ..summary
        }
    }

    /// Deletes least recently used indexes and downloads until the rest fit in
    /// `max_bytes`, sparing `keep`.
    fn evict_over(&self, max_bytes: u64, keep: Option<&Path>) -> PruneSummary {
        let indexes = files_under(&self.version_dir.join("index"))
            .filter(|file| file.path.extension().is_some_and(|ext| ext == "index"));
        let downloads = files_under(&self.downloads_dir()).map(|mut file| {
            file.modified = file.modified.max(file.accessed);
            file
        });
        let mut files: Vec<CachedFile> = indexes.chain(downloads).collect();
        let mut evicted = PruneSummary {
            kept_bytes: files.iter().map(|file| file.len).sum(),
            ..PruneSummary::default()
        };
        if evicted.kept_bytes <= max_bytes {
            return evicted;
        }
        files.sort_by_key(|file| file.modified);
        for file in files {
            if evicted.kept_bytes <= max_bytes {
                break;
            }
            if Some(file.path.as_path()) == keep {
                continue;
            }
            // Another run may have removed it first; either way it is gone.
            if std::fs::remove_file(&file.path).is_ok() {
                if file.path.starts_with(&self.version_dir) {
                    evicted.removed_indexes += 1;
                } else {
                    evicted.removed_downloads += 1;
                }
                evicted.freed_bytes += file.len;
            }
            evicted.kept_bytes = evicted.kept_bytes.saturating_sub(file.len);
        }
        evicted
    }
}

/// A file of the cache, as [`files_under`] found it.
struct CachedFile {
    path: PathBuf,
    len: u64,
    modified: SystemTime,
    accessed: SystemTime,
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

/// Every regular file under `dir` (temporary files of writes in progress excepted).
fn files_under(dir: &Path) -> impl Iterator<Item = CachedFile> {
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
                found.push(CachedFile {
                    path: entry.path(),
                    len: metadata.len(),
                    modified: metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    accessed: metadata.accessed().unwrap_or(SystemTime::UNIX_EPOCH),
                });
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
            cache
                .store(path, Path::new("/s/x.sym"), |file| {
                    file.write_all(&[0; 100])
                })
                .unwrap();
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
        cache.touch(&paths[1], Path::new("/s/1.sym"));
        let summary = cache.prune(Some(100), false);
        assert_eq!(summary.removed_indexes, 1);
        assert_eq!(summary.removed_versions, 1);
        assert!(paths[1].exists() && !paths[2].exists() && !old_version.exists());
        assert_eq!(summary.kept_bytes, 100);
    }

    #[test]
    fn downloads_are_under_the_cap_and_used_by_their_access_time() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SymbolCache::new(dir.path());
        let download = |name: &str, age: u64| {
            let path = cache.downloads_dir().join(name).join("ID1").join("x.sym");
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, [0; 100]).unwrap();
            let long_ago = SystemTime::now() - Duration::from_secs(age);
            let file = std::fs::File::options().append(true).open(&path).unwrap();
            file.set_times(
                FileTimes::new()
                    .set_modified(long_ago)
                    .set_accessed(long_ago),
            )
            .unwrap();
            path
        };
        // `used` was fetched first: without marking its use, it would go first.
        let (used, unused) = (download("used.pdb", 2000), download("unused.pdb", 1000));
        let modified = std::fs::metadata(&used).unwrap().modified().unwrap();
        // Opening the index of `used` marks the download used, leaving its mtime (the
        // index's key) as it was.
        let index = cache.index_path(&used);
        std::fs::create_dir_all(index.parent().unwrap()).unwrap();
        std::fs::write(&index, [0; 10]).unwrap();
        cache.touch(&index, &used);
        assert_eq!(
            std::fs::metadata(&used).unwrap().modified().unwrap(),
            modified
        );
        let summary = cache.prune(Some(150), false);
        assert_eq!((summary.removed_downloads, summary.removed_indexes), (1, 0));
        assert!(used.exists() && !unused.exists() && index.exists());
        assert_eq!(summary.kept_bytes, 110);
    }

    #[test]
    fn a_download_counts_toward_the_next_count_when_it_is_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SymbolCache::new(dir.path()).with_max_bytes(80_000);
        let first = cache.index_path(Path::new("/s/first.sym"));
        cache
            .store(&first, Path::new("/s/first.sym"), |file| {
                file.write_all(&[0; 100])
            })
            .unwrap();
        // Another process wrote an old file, unseen by this one's count.
        let other = cache.index_path(Path::new("/s/other.sym"));
        std::fs::create_dir_all(other.parent().unwrap()).unwrap();
        std::fs::write(&other, vec![0; 75_000]).unwrap();
        std::fs::File::options()
            .append(true)
            .open(&other)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(100))
            .unwrap();
        // A 9,950-byte download and its 100-byte index pass an eighth of the cap written:
        // the cache is counted again and is over the cap.
        let download = cache.downloads_dir().join("x.pdb/ID1/x.sym");
        std::fs::create_dir_all(download.parent().unwrap()).unwrap();
        std::fs::write(&download, vec![0; 9_950]).unwrap();
        let index = cache.index_path(&download);
        cache
            .store(&index, &download, |file| file.write_all(&[0; 100]))
            .unwrap();
        assert!(!other.exists());
    }

    #[test]
    fn stores_count_the_cache_again_only_near_the_cap_or_after_an_eighth_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SymbolCache::new(dir.path()).with_max_bytes(8_000);
        let store = |name: &str, len: usize| {
            let path = cache.index_path(Path::new(name));
            cache
                .store(&path, Path::new(name), |file| file.write_all(&vec![0; len]))
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
