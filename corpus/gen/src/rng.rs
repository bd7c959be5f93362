//! SplitMix64: enough randomness to vary generated files, reproducible from a seed, and no
//! dependency whose output could change between versions and silently change the bytes.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// An independent stream for item `index` of a run seeded with `seed`, so each item's
    /// bytes depend only on (seed, index), not on the order items are generated in.
    pub fn for_item(seed: u64, index: u64) -> Rng {
        let mut mixer = Rng(seed ^ index.wrapping_mul(0xd1b5_4a32_d192_ed03));
        Rng(mixer.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; the bias for the small `n` used here is nil).
    pub fn below(&mut self, n: u32) -> u32 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u32
    }

    /// Uniform in `range`.
    pub fn within(&mut self, range: std::ops::Range<u32>) -> u32 {
        range.start + self.below(range.end - range.start)
    }

    /// One of `items`, uniformly.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u32) as usize]
    }

    /// One of `items`, each as likely as its weight.
    pub fn pick_weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let mut roll = self.below(items.iter().map(|(_, weight)| weight).sum());
        for (item, weight) in items {
            if roll < *weight {
                return item;
            }
            roll -= weight;
        }
        unreachable!("the roll is below the total weight")
    }

    /// Fisher-Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u32 + 1) as usize);
        }
    }
}
