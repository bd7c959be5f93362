//! Deterministic Windows x86 minidumps and Breakpad symbols that reconstruct the MTA crash of
//! Microsoft KB Q269588, variants that must or must not match it, and malformed files.
//!
//! Everything is computed from tables in this crate (no clock, no randomness), so a run always
//! writes the same bytes; `corpus/examples/` holds a committed copy of the main case. More
//! generators build on the same tables: [`generate_share`], thousands of variations of the
//! cases for benchmarks (drawn from a seeded generator, so also reproducible; with
//! [`generate_share_with`], from many builds), [`generate_big_symbols`], one dump with a huge
//! symbol file, and [`adversarial_dump`], a valid dump built to make stack walkers explode.

mod adversarial;
mod article;
mod big_symbols;
mod cases;
mod dump;
mod malformed;
mod modules;
mod padding;
mod rng;
mod share;
mod stack;
mod threads;
mod variation;

pub use adversarial::adversarial_dump;
pub use big_symbols::{generate_big_symbols, BigSymbolsStats};
pub use padding::SymSize;
pub use share::{generate_share, generate_share_with, ShareOptions, ShareStats};

use anyhow::Context;
use std::fs;
use std::path::Path;

/// One generated case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub name: &'static str,
    pub file_name: String,
    pub description: &'static str,
}

/// The case whose files are committed under `corpus/examples/`.
pub const EXAMPLE_CASE: &str = "q269588";

/// Writes every case's .dmp into `out_dir` and the Breakpad symbols into
/// `out_dir/symbols/<debug_file>/<DEBUGID>/<stem>.sym`. Deterministic: same bytes every run.
pub fn generate(out_dir: &Path) -> anyhow::Result<Vec<Case>> {
    cases::CASES
        .iter()
        .map(|def| write_case(out_dir, def))
        .collect()
}

/// Writes only the main case and its symbols: the contents of `corpus/examples/`.
pub fn generate_example(out_dir: &Path) -> anyhow::Result<Case> {
    let def = cases::CASES
        .iter()
        .find(|def| def.name == EXAMPLE_CASE)
        .expect("the example case exists");
    write_case(out_dir, def)
}

fn write_case(out_dir: &Path, def: &cases::CaseDef) -> anyhow::Result<Case> {
    let built = def.build();
    let file_name = format!("{}.dmp", def.name);
    write_file(&out_dir.join(&file_name), built.bytes.as_slice())?;
    for module in &built.symbols {
        let path = out_dir.join("symbols").join(modules::sym_path(module));
        write_file(&path, modules::sym_file(module).as_bytes())?;
    }
    Ok(Case {
        name: def.name,
        file_name,
        description: def.description,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
