//! `triage symbols index` and `triage symbols prune`: the symbol index cache.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use triage::symbols::{self, default_cache_root, Indexed, SymbolCache};
use triage::Triage;

use crate::{say, Fatal};

#[derive(Subcommand)]
pub(crate) enum SymbolsAction {
    /// Build the index of every symbol file under the paths (a symbol store or a directory
    /// of .sym, .sym.xz, .pdb, .pd_ and image files) into the cache, ahead of use.
    Index {
        /// Symbol stores, directories or files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Shrink the cache: drop other versions' files, expired remembered misses, and the
    /// least recently used indexes and downloads until the rest fit the cap.
    Prune {
        /// Cap in MiB for this prune (default: --cache-max-size).
        #[arg(long, value_name = "MIB")]
        max_size: Option<u64>,
        /// Forget every remembered miss, not only the expired ones (after adding symbols).
        #[arg(long)]
        forget_misses: bool,
        #[command(flatten)]
        cache: CacheArgs,
    },
}

/// Where the cache is and how big it may grow; shared with `dump` and `scan`.
#[derive(Args)]
pub(crate) struct CacheArgs {
    /// Cache directory for symbol indexes and downloads [default: $XDG_CACHE_HOME/triage,
    /// else ~/.cache/triage].
    #[arg(long, value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Cap in MiB on the symbol indexes and downloads in the cache; the least recently used
    /// go first.
    #[arg(long, value_name = "MIB", default_value_t = symbols::DEFAULT_CACHE_MAX_BYTES >> 20)]
    pub(crate) cache_max_size: u64,
}

impl CacheArgs {
    fn cache(&self) -> Result<SymbolCache, Fatal> {
        let root = self
            .cache_dir
            .clone()
            .or_else(default_cache_root)
            .ok_or_else(|| Fatal("no cache directory: give --cache-dir".into()))?;
        Ok(SymbolCache::new(root).with_max_bytes(self.cache_max_size << 20))
    }
}

pub(crate) fn run(action: SymbolsAction) -> Result<ExitCode, Fatal> {
    match action {
        SymbolsAction::Index { paths, cache } => index(&paths, &cache),
        SymbolsAction::Prune {
            max_size,
            forget_misses,
            cache,
        } => {
            let summary = cache
                .cache()?
                .prune(max_size.map(|mib| mib << 20), forget_misses);
            say(format!(
                "removed {} indexes, {} downloads, {} remembered misses and {} old cache versions ({} MiB); {} MiB of indexes and downloads kept",
                summary.removed_indexes,
                summary.removed_downloads,
                summary.removed_misses,
                summary.removed_versions,
                summary.freed_bytes >> 20,
                summary.kept_bytes >> 20
            ));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn index(paths: &[PathBuf], cache: &CacheArgs) -> Result<ExitCode, Fatal> {
    for path in paths {
        if !path.exists() {
            return Err(Fatal(format!(
                "{}: no such file or directory",
                path.display()
            )));
        }
    }
    let mut builder = Triage::builder().cache_max_bytes(cache.cache_max_size << 20);
    if let Some(dir) = &cache.cache_dir {
        builder = builder.cache_dir(dir);
    } else if default_cache_root().is_none() {
        return Err(Fatal("no cache directory: give --cache-dir".into()));
    }
    let triage = builder.try_build().map_err(|e| Fatal(e.to_string()))?;
    let files = symbols::symbol_files(paths);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(files.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} symbol files  ETA {eta}  {msg}")
                .expect("the template is valid"),
        );
        bar
    });
    let summary = symbols::index_files(triage.symbols(), &files, |path, outcome| {
        if let Some(bar) = &bar {
            bar.set_message(
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
            bar.inc(1);
        }
        if let Indexed::Failed(why) = outcome {
            let line = format!("triage: cannot index {}: {why}", path.display());
            match &bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    say(format!(
        "{} symbol files: {} indexed, {} already indexed, {} failed",
        files.len(),
        summary.built,
        summary.fresh,
        summary.failed.len()
    ));
    Ok(if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
