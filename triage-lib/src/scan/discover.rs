//! Finding the dumps in a tree: every file that starts with `MDMP`, whatever its name, and
//! every file named `*.dmp` or `*.mdmp` (any case), whatever its bytes.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use super::Known;

/// One dump found under a scan root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DumpFile {
    /// The path as reported (root joined with the relative path).
    pub path: PathBuf,
    /// Path relative to its root with `/` separators: what shards hash, so every machine
    /// agrees whatever the mount point.
    pub relative: String,
}

/// What a walk of the scan roots found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Dumps, sorted by path.
    pub dumps: Vec<DumpFile>,
    /// Files that are not minidumps, and symlinks back into their own ancestry (counted,
    /// skipped).
    pub not_dumps: usize,
    /// Files or directories that could not be read, with the reason; each becomes an
    /// error row so nothing is lost silently.
    pub unreadable: Vec<(DumpFile, String)>,
    /// Files that `known` said were done and unchanged: neither opened nor listed.
    pub unchanged: usize,
}

/// Walks `roots` in parallel. Symlinks are followed, but a link back into its own
/// ancestry is reported once instead of looping. A file `known` says is unchanged is
/// counted, not opened.
pub fn discover(roots: &[PathBuf], threads: usize, known: &dyn Known) -> Discovery {
    let found = Mutex::new(Discovery::default());
    let record = |path: &Path, root: &Path| {
        if known.unchanged(path) {
            lock(&found).unchanged += 1;
        } else {
            record(&found, path, root);
        }
    };
    for root in roots {
        if root.is_file() {
            record(root, root.parent().unwrap_or(root));
            continue;
        }
        WalkBuilder::new(root)
            .standard_filters(false)
            .follow_links(true)
            .threads(threads)
            .build_parallel()
            .run(|| {
                Box::new(|entry| {
                    match entry {
                        Ok(entry) if entry.file_type().is_some_and(|t| t.is_file()) => {
                            record(entry.path(), root)
                        }
                        Ok(_) => {}
                        Err(error) if is_loop(&error) => lock(&found).not_dumps += 1,
                        Err(error) => {
                            let path = error_path(&error).unwrap_or(root.clone());
                            let file = dump_file(&path, root);
                            lock(&found).unreadable.push((file, error.to_string()))
                        }
                    }
                    WalkState::Continue
                })
            });
    }
    let mut found = found.into_inner().unwrap_or_else(|e| e.into_inner());
    found.dumps.sort();
    found.unreadable.sort();
    found
}

fn lock(found: &Mutex<Discovery>) -> std::sync::MutexGuard<'_, Discovery> {
    found.lock().unwrap_or_else(|e| e.into_inner())
}

fn dump_file(path: &Path, root: &Path) -> DumpFile {
    let relative = path
        .strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    DumpFile {
        path: path.to_path_buf(),
        relative,
    }
}

/// A file is a dump when it starts with `MDMP`, or when its name says it is one: a damaged
/// `*.dmp` or `*.mdmp` gets its `not_a_minidump` row instead of vanishing from the scan.
fn record(found: &Mutex<Discovery>, path: &Path, root: &Path) {
    match starts_with_signature(path) {
        Ok(true) => lock(found).dumps.push(dump_file(path, root)),
        Ok(false) if named_as_dump(path) => lock(found).dumps.push(dump_file(path, root)),
        Ok(false) => lock(found).not_dumps += 1,
        Err(error) => lock(found)
            .unreadable
            .push((dump_file(path, root), error.to_string())),
    }
}

fn named_as_dump(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| ext.eq_ignore_ascii_case("dmp") || ext.eq_ignore_ascii_case("mdmp"))
}

fn starts_with_signature(path: &Path) -> std::io::Result<bool> {
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path)?;
    let mut read = 0;
    while read < magic.len() {
        match file.read(&mut magic[read..])? {
            0 => break,
            n => read += n,
        }
    }
    Ok(read == magic.len() && &magic == b"MDMP")
}

fn is_loop(error: &ignore::Error) -> bool {
    match error {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => is_loop(err),
        _ => false,
    }
}

fn error_path(error: &ignore::Error) -> Option<PathBuf> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } => error_path(err),
        _ => None,
    }
}
