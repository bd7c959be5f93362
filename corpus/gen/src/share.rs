//! A synthetic dump share for benchmarks: thousands of variations of the corpus's well-formed
//! cases, spread over per-server folders the way a support team's collection share looks, and
//! one set of Breakpad symbols they all resolve against.

use crate::cases::{find_case, CaseDef, Contents, DumpCase};
use crate::modules::{sym_file, sym_path, Module};
use crate::rng::Rng;
use crate::{dump, padding, variation, write_file};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// What [`generate_share`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareStats {
    pub dumps: usize,
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
    let plan = plan(count, seed);

    let mut dump_bytes = 0;
    let mut manifest = Vec::with_capacity(count);
    for (index, &case) in plan.iter().enumerate() {
        let mut rng = Rng::for_item(seed, index as u64);
        let mut dump = (mix[case].1.build)();
        variation::vary(&mut dump, &mut rng);
        let bytes = dump::write(&dump);
        let path = dump_path(index, &mut rng);
        write_file(&out_dir.join(&path), &bytes)?;
        dump_bytes += bytes.len() as u64;
        manifest.push((path, mix[case].0.name));
    }

    let mut symbol_bytes = 0;
    let modules = symbolized_modules(mix.iter().map(|(_, case)| case));
    for (path, module) in &modules {
        let text = if sym_padding {
            padding::padded_sym_file(module)
        } else {
            sym_file(module)
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
    let json = share_json(seed, sym_padding, &mix, &cases, &others, &manifest);
    write_file(&out_dir.join("share.json"), json.as_bytes())?;
    Ok(ShareStats {
        dumps: count,
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

/// Every module a symbolized case loads, once, by its `.sym` path.
fn symbolized_modules<'a>(cases: impl Iterator<Item = &'a DumpCase>) -> BTreeMap<String, Module> {
    cases
        .filter(|case| case.symbolized)
        .flat_map(|case| (case.build)().modules)
        .map(|module| (sym_path(&module), module))
        .collect()
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

/// `share.json`: the totals a benchmark checks its scan against, and each dump's case.
fn share_json(
    seed: u64,
    sym_padding: bool,
    mix: &[(&CaseDef, DumpCase)],
    cases: &[(&str, usize)],
    others: &[(String, String)],
    manifest: &[(String, &str)],
) -> String {
    let count: usize = cases.iter().map(|(_, n)| n).sum();
    let mut json = format!(
        "{{\n  \"seed\": {seed},\n  \"count\": {count},\n  \"pad_symbols\": {sym_padding},\n  \
         \"cases\": [\n"
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
        .map(|(path, case)| format!("    {{\"file\": \"{path}\", \"case\": \"{case}\"}}"))
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
