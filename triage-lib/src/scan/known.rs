//! What a scan knows from earlier runs: the hook that keeps it from triaging a dump again.

use std::collections::HashSet;
use std::path::Path;

/// Dumps done by an earlier run. A scan asks twice: during the walk, before a file is even
/// opened ([`unchanged`](Known::unchanged)), and on a worker thread just before a dump
/// would be triaged ([`needs_triage`](Known::needs_triage)).
pub trait Known: Send + Sync + std::fmt::Debug {
    /// Whether the file at `path` (as the walk spells it) is done and unchanged: it is then
    /// neither opened nor triaged, and counted in [`super::Summary::resumed`]. Called for
    /// every file found, so it must be cheap.
    fn unchanged(&self, path: &Path) -> bool;

    /// Whether a dump that is not [`unchanged`](Known::unchanged) needs triage. `false`
    /// (e.g. for a dump recognized by its content at a new path) skips it, counted in
    /// [`super::Summary::moved`]. Called on worker threads; by default `true`.
    fn needs_triage(&self, _path: &Path) -> bool {
        true
    }
}

/// The paths of reports already written (`triage scan --resume`, see
/// [`super::completed_paths`]): a dump at one of them is done, whatever its content.
impl Known for HashSet<String> {
    fn unchanged(&self, path: &Path) -> bool {
        self.contains(&path.display().to_string())
    }
}
