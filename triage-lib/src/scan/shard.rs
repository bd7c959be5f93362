//! `--shard I/N`: a deterministic partition of a share by a hash of each relative path.

use std::str::FromStr;

/// Shard `index` of `count`, 0-based (`0/4` .. `3/4`), as Kubernetes indexed Jobs number
/// their pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This machine's shard, `0..count`.
    pub index: u64,
    /// How many shards there are.
    pub count: u64,
}

impl Shard {
    /// Whether the dump at `relative` (path relative to its scan root, `/`-separated)
    /// belongs to this shard. FNV-1a: stable across machines, platforms and releases.
    pub fn owns(&self, relative: &str) -> bool {
        let hash = relative
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            });
        hash % self.count == self.index
    }
}

/// Environment variables that give a batch job its index, in the order asked: a
/// Kubernetes Indexed Job's pod, a Slurm job array's task.
pub const SHARD_INDEX_VARIABLES: [&str; 2] = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"];

impl Shard {
    /// `auto/N`: shard I of N, I taken from [`SHARD_INDEX_VARIABLES`] through `lookup`
    /// (the process environment, in the CLI).
    pub fn from_environment(
        count: u64,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Shard, String> {
        let (variable, value) = SHARD_INDEX_VARIABLES
            .iter()
            .find_map(|name| lookup(name).map(|value| (*name, value)))
            .ok_or_else(|| {
                format!(
                    "--shard auto/{count}: neither {} is set",
                    SHARD_INDEX_VARIABLES.join(" nor ")
                )
            })?;
        let index: u64 = value
            .trim()
            .parse()
            .map_err(|_| format!("{variable}={value:?} is not a shard index"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "{variable}={index} is not below the shard count {count}"
            ));
        }
        Ok(Shard { index, count })
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N`, or `auto/N` with I from the environment ([`Shard::from_environment`]).
    fn from_str(text: &str) -> Result<Shard, String> {
        let usage = || format!("{text:?} is not a shard I/N with 0 <= I < N, e.g. 0/4, or auto/N");
        let (index, count) = text.split_once('/').ok_or_else(usage)?;
        if index.trim() == "auto" {
            let count: u64 = count.trim().parse().map_err(|_| usage())?;
            return Shard::from_environment(count, |name| std::env::var(name).ok());
        }
        let index: u64 = index.trim().parse().map_err(|_| usage())?;
        let count: u64 = count.trim().parse().map_err(|_| usage())?;
        if count == 0 || index >= count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_takes_the_index_of_kubernetes_or_slurm() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let kubernetes = Shard::from_environment(4, env(&[("JOB_COMPLETION_INDEX", "3")]));
        assert_eq!(kubernetes, Ok(Shard { index: 3, count: 4 }));
        let slurm = Shard::from_environment(4, env(&[("SLURM_ARRAY_TASK_ID", "1")]));
        assert_eq!(slurm, Ok(Shard { index: 1, count: 4 }));
        assert!(Shard::from_environment(4, env(&[])).is_err());
        assert!(Shard::from_environment(4, env(&[("SLURM_ARRAY_TASK_ID", "4")])).is_err());
        assert!(Shard::from_environment(4, env(&[("JOB_COMPLETION_INDEX", "x")])).is_err());
    }

    #[test]
    fn every_path_lands_in_exactly_one_shard() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard { index: i, count: 3 }).collect();
        let mut sizes = [0; 3];
        for n in 0..300 {
            let path = format!("server{}/dumps/{n}.dmp", n % 7);
            let owners: Vec<usize> = (0..3).filter(|&i| shards[i].owns(&path)).collect();
            assert_eq!(owners.len(), 1, "{path}");
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|&s| s > 60), "unbalanced: {sizes:?}");
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1/0", "x/2", "3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
