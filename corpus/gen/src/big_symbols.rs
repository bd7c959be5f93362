//! One dump whose main module's `.sym` file is as large as a big product's (hundreds of MB),
//! for timing how a walker loads a single huge symbol file rather than many small ones.

use crate::cases::{find_case, Contents};
use crate::modules::sym_path;
use crate::padding::{padded_sym_file, SymSize};
use crate::{dump, write_file, EXAMPLE_CASE};
use std::path::Path;

/// What [`generate_big_symbols`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigSymbolsStats {
    /// The dump's file name under the output directory.
    pub dump: String,
    /// The main module's `.sym` path under `symbols/`, and its size.
    pub main_sym: String,
    pub main_sym_bytes: u64,
    /// Every `.sym` file, the main module's included.
    pub symbol_files: usize,
    pub symbol_bytes: u64,
}

/// Writes the article's crash (`q269588`, unvaried) to `out_dir/q269588.dmp` and its symbols
/// under `out_dir/symbols/`: the main module's (emsmta.exe, where the crashing thread's outer
/// frames and every idle thread's thread procedure are) padded to `megabytes` MB, the others as a share's
/// `--pad-symbols` files. Deterministic.
pub fn generate_big_symbols(out_dir: &Path, megabytes: u32) -> anyhow::Result<BigSymbolsStats> {
    let Contents::WellFormed(case) = find_case(EXAMPLE_CASE).contents else {
        unreachable!("the example case is a well-formed dump")
    };
    let built = (case.build)();
    let dump_name = format!("{EXAMPLE_CASE}.dmp");
    write_file(&out_dir.join(&dump_name), &dump::write(&built))?;
    let mut stats = BigSymbolsStats {
        dump: dump_name,
        main_sym: String::new(),
        main_sym_bytes: 0,
        symbol_files: 0,
        symbol_bytes: 0,
    };
    // A minidump lists the main executable first.
    for (index, module) in built.modules.iter().enumerate() {
        let size = if index == 0 {
            SymSize::Megabytes(megabytes)
        } else {
            SymSize::ImageScaled
        };
        let text = padded_sym_file(module, size);
        let path = sym_path(module);
        write_file(&out_dir.join("symbols").join(&path), text.as_bytes())?;
        if index == 0 {
            (stats.main_sym, stats.main_sym_bytes) = (path, text.len() as u64);
        }
        stats.symbol_files += 1;
        stats.symbol_bytes += text.len() as u64;
    }
    Ok(stats)
}
