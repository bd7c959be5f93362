//! A bound on stack-walking work per dump.
//!
//! `minidump-processor` has no frame limit, and on a stack full of pointers into modules
//! without symbols its x86/x64 scanner accepts every word as a return address: the
//! reference walker makes 16,385 frames of each 64 KiB stack, 2.3 GB for 20 such threads
//! (BENCHMARKS.md). Every candidate
//! frame passes through the symbol provider, so this provider counts them and, once the
//! budget is spent, answers "no function here" and "no CFI": scanning then rejects every
//! candidate and each thread's walk ends at once.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use minidump::Module;
use minidump_unwind::{
    FileError, FileKind, FillSymbolError, FrameSymbolizer, FrameWalker, SymbolProvider,
};

/// Wraps a provider with a budget of symbol look-ups for one dump.
pub(super) struct Budgeted<'a, P> {
    inner: &'a P,
    remaining: AtomicUsize,
}

impl<'a, P> Budgeted<'a, P> {
    pub(super) fn new(inner: &'a P, budget: usize) -> Self {
        Budgeted {
            inner,
            remaining: AtomicUsize::new(budget),
        }
    }

    /// Takes one unit of work; false once the budget is spent.
    fn spend(&self) -> bool {
        self.remaining
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Whether the walk was cut short.
    pub(super) fn exhausted(&self) -> bool {
        self.remaining.load(Ordering::Relaxed) == 0
    }
}

#[async_trait::async_trait]
impl<P: SymbolProvider + Sync> SymbolProvider for Budgeted<'_, P> {
    async fn fill_symbol(
        &self,
        module: &(dyn Module + Sync),
        frame: &mut (dyn FrameSymbolizer + Send),
    ) -> Result<(), FillSymbolError> {
        if !self.spend() {
            // "Symbols exist, but name nothing here": the scanner's cue to reject.
            return Ok(());
        }
        self.inner.fill_symbol(module, frame).await
    }

    async fn walk_frame(
        &self,
        module: &(dyn Module + Sync),
        walker: &mut (dyn FrameWalker + Send),
    ) -> Option<()> {
        if self.exhausted() {
            return None;
        }
        self.inner.walk_frame(module, walker).await
    }

    async fn get_file_path(
        &self,
        module: &(dyn Module + Sync),
        file_kind: FileKind,
    ) -> Result<PathBuf, FileError> {
        self.inner.get_file_path(module, file_kind).await
    }
}
