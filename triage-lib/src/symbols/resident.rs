//! The symbol indexes a run holds open, within a byte budget.
//!
//! A scan of a share with hundreds of builds meets thousands of symbol files. Each module's
//! lookup result is kept in a slot; loaded indexes count their size against the budget,
//! and when it is exceeded the least recently used ones are dropped (unmapped, or freed
//! when built in memory) and reopened if needed again. Failed lookups stay: they are small,
//! and repeating them would repeat the search.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::index::SymbolIndex;

/// Default byte budget of open indexes ([`super::Symbols::with_memory_budget`]).
pub const DEFAULT_MEMORY_BUDGET: usize = 256 << 20;

#[derive(Default)]
struct Slot {
    loaded: OnceLock<Option<Arc<SymbolIndex>>>,
    last_used: AtomicU64,
}

/// Lookup results by module key, with LRU eviction of loaded indexes over a budget.
pub(super) struct Resident<K> {
    budget: usize,
    slots: Mutex<HashMap<K, Arc<Slot>>>,
    clock: AtomicU64,
}

impl<K: Eq + Hash + Clone> Resident<K> {
    pub(super) fn new(budget: usize) -> Resident<K> {
        Resident {
            budget,
            slots: Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
        }
    }

    pub(super) fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
    }

    /// The index for `key`, loading it with `load` the first time (one caller loads, the
    /// others wait for its result).
    pub(super) fn get_or_load(
        &self,
        key: &K,
        load: impl FnOnce() -> Option<Arc<SymbolIndex>>,
    ) -> Option<Arc<SymbolIndex>> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(slots.entry(key.clone()).or_default())
        };
        slot.last_used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        let mut loaded_now = false;
        let index = slot
            .loaded
            .get_or_init(|| {
                loaded_now = true;
                load()
            })
            .clone();
        if loaded_now && index.is_some() {
            self.evict_over_budget(key);
        }
        index
    }

    /// Bytes of the indexes held now.
    pub(super) fn held_bytes(&self) -> usize {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.values().map(|slot| slot_bytes(slot)).sum()
    }

    /// Drops least recently used loaded indexes, never `keep`'s, until the rest fit.
    fn evict_over_budget(&self, keep: &K) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let mut held: usize = slots.values().map(|slot| slot_bytes(slot)).sum();
        while held > self.budget {
            let oldest = slots
                .iter()
                .filter(|(key, slot)| *key != keep && slot_bytes(slot) > 0)
                .min_by_key(|(_, slot)| slot.last_used.load(Ordering::Relaxed))
                .map(|(key, _)| key.clone());
            let Some(oldest) = oldest else { break };
            if let Some(slot) = slots.remove(&oldest) {
                held -= slot_bytes(&slot);
            }
        }
    }
}

fn slot_bytes(slot: &Slot) -> usize {
    match slot.loaded.get() {
        Some(Some(index)) => index.len(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use breakpad_symbols::SymbolFile;

    fn index() -> Arc<SymbolIndex> {
        let symbols = SymbolFile::from_bytes(b"FUNC 1000 10 0 f\n").unwrap();
        let bytes = SymbolIndex::build(&symbols, Default::default());
        Arc::new(SymbolIndex::from_bytes(bytes).unwrap())
    }

    #[test]
    fn held_bytes_stay_within_the_budget_and_misses_are_not_repeated() {
        let one = index().len();
        let resident = Resident::new(one * 3);
        for key in 0..10 {
            assert!(resident.get_or_load(&key, || Some(index())).is_some());
            assert!(resident.held_bytes() <= one * 3);
        }
        // The most recent three are held; an older one loads again.
        let mut reloaded = false;
        resident.get_or_load(&9, || panic!("9 was evicted"));
        resident.get_or_load(&0, || {
            reloaded = true;
            Some(index())
        });
        assert!(reloaded);
        let resident: Resident<&str> = Resident::new(0);
        assert!(resident.get_or_load(&"gone", || None).is_none());
        assert!(resident
            .get_or_load(&"gone", || panic!("a miss is looked up once"))
            .is_none());
    }
}
