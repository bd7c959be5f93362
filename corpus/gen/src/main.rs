//! `triage-corpus OUT_DIR` writes the whole corpus; `triage-corpus --example DIR` writes only
//! the main case, i.e. refreshes `corpus/examples/`; `share` writes a benchmark share,
//! `big-symbols` one dump with a huge `.sym` file and `adversarial` a dump built to overwhelm
//! stack walkers.

use anyhow::{bail, Context};
use std::path::Path;
use std::str::FromStr;
use triage_corpus::{ShareOptions, SymSize};

const USAGE: &str = "usage:
  triage-corpus OUT_DIR
  triage-corpus --example DIR
  triage-corpus share OUT_DIR [--count 2000] [--builds 1] [--seed 0] [--pad-symbols] [--sym-mb M]
  triage-corpus big-symbols OUT_DIR [--sym-mb 160]
  triage-corpus adversarial OUT.dmp [--threads 200] [--stack-kib 64]";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command, out, options @ ..] if command == "share" => share(Path::new(out), options),
        [command, out, options @ ..] if command == "big-symbols" => {
            big_symbols(Path::new(out), options)
        }
        [command, out, options @ ..] if command == "adversarial" => {
            adversarial(Path::new(out), options)
        }
        [flag, dir] if flag == "--example" => {
            print_cases(vec![triage_corpus::generate_example(Path::new(dir))?]);
            Ok(())
        }
        [dir] if !dir.starts_with('-') => {
            print_cases(triage_corpus::generate(Path::new(dir))?);
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}

fn print_cases(cases: Vec<triage_corpus::Case>) {
    for case in cases {
        println!("{:<32} {}", case.file_name, case.description);
    }
}

fn share(out: &Path, options: &[String]) -> anyhow::Result<()> {
    let mut options = Options(options.to_vec());
    let count = options.value("--count", 2000)?;
    let builds = options.value("--builds", 1)?;
    let seed = options.value("--seed", 0)?;
    let pad_symbols = options.flag("--pad-symbols");
    let sym_mb = options.optional("--sym-mb")?;
    options.finish()?;
    if builds == 0 {
        bail!("--builds must be at least 1");
    }
    let sym_size = match sym_mb {
        Some(megabytes) => Some(SymSize::Megabytes(megabytes)),
        None => pad_symbols.then_some(SymSize::ImageScaled),
    };
    let share = ShareOptions {
        count,
        builds,
        seed,
        sym_size,
    };
    let stats = triage_corpus::generate_share_with(out, &share)?;
    println!(
        "{} dumps of {} builds ({} bytes) and {} other files in {}",
        stats.dumps,
        stats.builds,
        stats.dump_bytes,
        stats.other_files,
        out.join("dumps").display()
    );
    println!(
        "{} .sym files ({} bytes) in {}",
        stats.symbol_files,
        stats.symbol_bytes,
        out.join("symbols").display()
    );
    for (case, n) in &stats.cases {
        println!("  {case:<24} {n}");
    }
    Ok(())
}

fn big_symbols(out: &Path, options: &[String]) -> anyhow::Result<()> {
    let mut options = Options(options.to_vec());
    let megabytes = options.value("--sym-mb", 160)?;
    options.finish()?;
    let stats = triage_corpus::generate_big_symbols(out, megabytes)?;
    println!("{}", out.join(&stats.dump).display());
    println!(
        "{} .sym files ({} bytes) in {}, the main module's {} bytes: {}",
        stats.symbol_files,
        stats.symbol_bytes,
        out.join("symbols").display(),
        stats.main_sym_bytes,
        stats.main_sym
    );
    Ok(())
}

fn adversarial(out: &Path, options: &[String]) -> anyhow::Result<()> {
    let mut options = Options(options.to_vec());
    let threads = options.value("--threads", 200)?;
    let stack_kib = options.value("--stack-kib", 64)?;
    options.finish()?;
    let bytes = triage_corpus::adversarial_dump(threads, stack_kib);
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{}: {threads} threads x {stack_kib} KiB of code pointers, {} bytes, no symbols",
        out.display(),
        bytes.len()
    );
    Ok(())
}

/// A subcommand's remaining `--name value` options and `--flag`s, taken one by one.
struct Options(Vec<String>);

impl Options {
    fn value<T: FromStr>(&mut self, name: &str, default: T) -> anyhow::Result<T> {
        Ok(self.optional(name)?.unwrap_or(default))
    }

    fn optional<T: FromStr>(&mut self, name: &str) -> anyhow::Result<Option<T>> {
        let Some(at) = self.0.iter().position(|arg| arg == name) else {
            return Ok(None);
        };
        let Some(value) = self.0.get(at + 1).cloned() else {
            bail!("{name} needs a value\n{USAGE}");
        };
        self.0.drain(at..=at + 1);
        value
            .parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{name}: not a number: {value}"))
    }

    fn flag(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|arg| arg != name);
        self.0.len() < before
    }

    /// Fails on anything not taken, so a typo is not silently ignored.
    fn finish(self) -> anyhow::Result<()> {
        match self.0.first() {
            Some(unknown) => bail!("unexpected argument {unknown}\n{USAGE}"),
            None => Ok(()),
        }
    }
}
