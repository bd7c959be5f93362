//! A synthetic dump share for benchmarks: thousands of variations of the corpus's well-formed
//! cases, spread over per-server folders the way a support team's collection share looks, and
//! the Breakpad symbols they resolve against: one set, or one per build of the MTA when the
//! share collects crashes of several builds.

use crate::cases::{find_case, CaseDef, Contents, DumpCase};
use crate::modules::{sym_file, sym_path, Module};
use crate::padding::{padded_sym_file, SymSize};
use crate::rng::Rng;
use crate::{dump, variation, write_file};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// What [`generate_share`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareStats {
    pub dumps: usize,
    pub builds: u32,
    pub dump_bytes: u64,
    pub symbol_files: usize,
    pub symbol_bytes: u64,
    /// Files under `dumps/` that are not minidumps.
    pub other_files: usize,
    /// How many dumps each case got, in the order `share.json` lists them.
    pub cases: Vec<(&'static str, usize)>,
}

/// The share's cases and how many of every 20 dumps each gets: mostly the article's crash, as
/// on a site that has the bug, and every other case often enough to be found.
const MIX: [(&str, usize); 7] = [
    ("q269588", 8),
    ("q269588_fixed", 2),
    ("q269588_other_thread", 2),
    ("q269588_nosyms", 2),
    ("heap_other_callers", 2),
    ("plain_av", 2),
    ("queue_av", 2),
];

const SERVERS: usize = 8;

/// File name endings dump collectors leave: mostly `.dmp`, Windows Error Reporting's `.mdmp`,
/// upper case from old tools, and none after a careless rename.
const EXTENSIONS: [(&str, u32); 4] = [(".dmp", 16), (".mdmp", 2), (".DMP", 1), ("", 1)];

/// What [`generate_share_with`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareOptions {
    /// Dumps per build.
    pub count: usize,
    /// Builds of the MTA and its DLLs the dumps come from; each has its own debug ids and so
    /// its own `.sym` files.
    pub builds: u32,
    pub seed: u64,
    /// How the `.sym` files are padded; `None` leaves the corpus's few-line files.
    pub sym_size: Option<SymSize>,
}

/// How much later than build 0 (the corpus's modules) each next build was linked: a week, so
/// no build's debug id is another's or a `q269588_nosyms` one (those are a day later).
const BUILD_INTERVAL_SECONDS: u32 = 7 * 86_400;

/// `module` as build `build` of the product: same code and version, its own link time and
/// debug id. Build 0 is `module` itself.
fn of_build(module: Module, build: u32) -> Module {
    module.rebuilt(module.timestamp + build * BUILD_INTERVAL_SECONDS)
}

/// Writes `count` dumps under `out_dir/dumps/server00/`..`server07/` (plus a few files that
/// are not dumps), the symbols of every module they load under `out_dir/symbols/` (padded to
/// 1–5 MB each with `sym_padding`) and `out_dir/share.json`, which lists each case's count
/// and each dump's case. Deterministic: the same `seed` gives the same bytes.
pub fn generate_share(
    out_dir: &Path,
    count: usize,
    seed: u64,
    sym_padding: bool,
) -> anyhow::Result<ShareStats> {
    let options = ShareOptions {
        count,
        builds: 1,
        seed,
        sym_size: sym_padding.then_some(SymSize::ImageScaled),
    };
    generate_share_with(out_dir, &options)
}

/// [`generate_share`] for `options.builds` builds: `count` dumps of each (dump `i` is of
/// build `i / count`, the case mix is over the whole share) and each build's `.sym` files.
/// Build 0 loads the corpus's modules, so the dumps and symbols of a one-build share are those
/// of every share before builds existed.
pub fn generate_share_with(out_dir: &Path, options: &ShareOptions) -> anyhow::Result<ShareStats> {
    let &ShareOptions {
        count,
        builds,
        seed,
        sym_size,
    } = options;
    let mix: Vec<(&CaseDef, DumpCase)> = MIX
        .iter()
        .map(|(name, _)| {
            let def = find_case(name);
            match def.contents {
                Contents::WellFormed(case) => (def, case),
                Contents::Damaged(_) => panic!("{name} is not a well-formed dump"),
            }
        })
        .collect();
    let total = count * builds as usize;
    let plan = plan(total, seed);

    let mut dump_bytes = 0;
    let mut manifest = Vec::with_capacity(total);
    for (index, &case) in plan.iter().enumerate() {
        let build = (index / count) as u32;
        let mut rng = Rng::for_item(seed, index as u64);
        let mut dump = (mix[case].1.build)();
        dump.modules = dump
            .modules
            .into_iter()
            .map(|m| of_build(m, build))
            .collect();
        variation::vary(&mut dump, &mut rng);
        let bytes = dump::write(&dump);
        let path = dump_path(index, &mut rng);
        write_file(&out_dir.join(&path), &bytes)?;
        dump_bytes += bytes.len() as u64;
        manifest.push(Listed {
            file: path,
            case: mix[case].0.name,
            build,
        });
    }

    let mut symbol_bytes = 0;
    let modules = symbolized_modules(mix.iter().map(|(_, case)| case), builds);
    for (path, module) in &modules {
        let text = match sym_size {
            Some(size) => padded_sym_file(module, size),
            None => sym_file(module),
        };
        write_file(&out_dir.join("symbols").join(path), text.as_bytes())?;
        symbol_bytes += text.len() as u64;
    }

    let others = other_files();
    for (path, text) in &others {
        write_file(&out_dir.join(path), text.as_bytes())?;
    }

    let cases: Vec<(&'static str, usize)> = mix
        .iter()
        .enumerate()
        .map(|(i, (def, _))| (def.name, plan.iter().filter(|&&c| c == i).count()))
        .collect();
    let json = share_json(options, &mix, &cases, &others, &manifest);
    write_file(&out_dir.join("share.json"), json.as_bytes())?;
    Ok(ShareStats {
        dumps: total,
        builds,
        dump_bytes,
        symbol_files: modules.len(),
        symbol_bytes,
        other_files: others.len(),
        cases,
    })
}

/// The case (index into [`MIX`]) of each dump: every case gets exactly its share of `count`,
/// rounding by largest remainder, in an order shuffled by `seed`.
fn plan(count: usize, seed: u64) -> Vec<usize> {
    let total: usize = MIX.iter().map(|(_, per_20)| per_20).sum();
    let mut quotas: Vec<usize> = MIX.iter().map(|(_, w)| count * w / total).collect();
    let mut by_remainder: Vec<usize> = (0..MIX.len()).collect();
    by_remainder.sort_by_key(|&i| std::cmp::Reverse(count * MIX[i].1 % total));
    let short = count - quotas.iter().sum::<usize>();
    for &i in &by_remainder[..short] {
        quotas[i] += 1;
    }
    let mut plan: Vec<usize> = quotas
        .iter()
        .enumerate()
        .flat_map(|(case, &n)| std::iter::repeat_n(case, n))
        .collect();
    Rng::new(seed).shuffle(&mut plan);
    plan
}

/// `dumps/serverNN/mta-NNNNNN.<ext>`, servers taking turns.
fn dump_path(index: usize, rng: &mut Rng) -> String {
    let extension = rng.pick_weighted(&EXTENSIONS);
    format!(
        "dumps/server{:02}/mta-{index:06}{extension}",
        index % SERVERS
    )
}

/// Every module a symbolized case loads, once per build, by its `.sym` path.
fn symbolized_modules<'a>(
    cases: impl Iterator<Item = &'a DumpCase>,
    builds: u32,
) -> BTreeMap<String, Module> {
    let modules: Vec<Module> = cases
        .filter(|case| case.symbolized)
        .flat_map(|case| (case.build)().modules)
        .collect();
    (0..builds)
        .flat_map(|build| modules.iter().map(move |&m| of_build(m, build)))
        .map(|module| (sym_path(&module), module))
        .collect()
}

/// A dump as `share.json` lists it.
struct Listed {
    file: String,
    case: &'static str,
    build: u32,
}

/// Files a share picks up besides dumps, which a scanner must pass over: a note at the top and
/// each server's collection log. CRLF line ends, as Windows tools write them.
fn other_files() -> Vec<(String, String)> {
    let readme = "MTA crash dumps copied from the Exchange servers, one folder per server.\r\n\
                  Symbols: \\\\symsrv\\exchange\\symbols\r\n";
    let mut files = vec![("dumps/README.txt".to_string(), readme.to_string())];
    files.extend((0..SERVERS).map(|server| {
        let log =
            format!("copied \\\\EXCH{server:02}\\c$\\exchsrvr\\mtadata\\*.dmp\r\nno errors\r\n");
        (format!("dumps/server{server:02}/collect.log"), log)
    }));
    files
}

/// `share.json`: the totals a benchmark checks its scan against, and each dump's case and
/// build.
fn share_json(
    options: &ShareOptions,
    mix: &[(&CaseDef, DumpCase)],
    cases: &[(&str, usize)],
    others: &[(String, String)],
    manifest: &[Listed],
) -> String {
    let count: usize = cases.iter().map(|(_, n)| n).sum();
    let (seed, builds) = (options.seed, options.builds);
    let pad_symbols = options.sym_size.is_some();
    let sym_mb = match options.sym_size {
        Some(SymSize::Megabytes(megabytes)) => megabytes.to_string(),
        _ => "null".to_string(),
    };
    let mut json = format!(
        "{{\n  \"seed\": {seed},\n  \"count\": {count},\n  \"builds\": {builds},\n  \
         \"pad_symbols\": {pad_symbols},\n  \"sym_mb\": {sym_mb},\n  \"cases\": [\n"
    );
    let case_lines: Vec<String> = mix
        .iter()
        .zip(cases)
        .map(|((def, case), (name, n))| {
            format!(
                "    {{\"name\": \"{name}\", \"dumps\": {n}, \"symbols\": {}, \"description\": \
                 \"{}\"}}",
                case.symbolized,
                json_escape(def.description)
            )
        })
        .collect();
    json += &case_lines.join(",\n");
    let other_names: Vec<String> = others
        .iter()
        .map(|(path, _)| format!("\"{path}\""))
        .collect();
    write!(
        json,
        "\n  ],\n  \"other_files\": [{}],\n  \"dumps\": [\n",
        other_names.join(", ")
    )
    .expect("writing to a String");
    let dump_lines: Vec<String> = manifest
        .iter()
        .map(|Listed { file, case, build }| {
            format!("    {{\"file\": \"{file}\", \"case\": \"{case}\", \"build\": {build}}}")
        })
        .collect();
    json += &dump_lines.join(",\n");
    json += "\n  ]\n}\n";
    json
}

/// Enough JSON string escaping for the case descriptions (plain ASCII prose).
fn json_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::{mta_modules_without_symbols, MAPI32};
    use std::collections::BTreeSet;

    fn symbolized_share_modules(builds: u32) -> BTreeMap<String, Module> {
        let mix = MIX.map(|(name, _)| match find_case(name).contents {
            Contents::WellFormed(case) => case,
            Contents::Damaged(_) => unreachable!("{name} is well-formed"),
        });
        symbolized_modules(mix.iter(), builds)
    }

    #[test]
    fn every_build_has_its_own_debug_ids_and_none_is_a_nosyms_one() {
        let one = symbolized_share_modules(1);
        let hundred = symbolized_share_modules(100);
        assert_eq!(
            hundred.len(),
            100 * one.len(),
            "a debug id repeats across builds"
        );
        let ids: BTreeSet<(&str, String)> =
            hundred.values().map(|m| (m.pdb, m.debug_id())).collect();
        for build in 0..100 {
            for module in mta_modules_without_symbols() {
                let unmatched = of_build(module, build);
                assert!(
                    !ids.contains(&(unmatched.pdb, unmatched.debug_id())),
                    "build {build}: {} has symbols",
                    unmatched.pdb
                );
            }
        }
    }

    #[test]
    fn build_zero_is_the_corpus_module() {
        assert_eq!(of_build(MAPI32, 0).debug_id(), MAPI32.debug_id());
        assert_ne!(of_build(MAPI32, 1).debug_id(), MAPI32.debug_id());
    }

    #[test]
    fn plan_gives_every_case_its_exact_share() {
        for count in [0, 1, 7, 20, 2_003] {
            let plan = plan(count, 9);
            assert_eq!(plan.len(), count);
            let total: usize = MIX.iter().map(|(_, w)| w).sum();
            for (case, (_, per_20)) in MIX.iter().enumerate() {
                let n = plan.iter().filter(|&&c| c == case).count();
                assert!(n.abs_diff(count * per_20 / total) <= 1, "{count}: {n}");
            }
        }
    }
}
