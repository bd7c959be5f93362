//! `generate_share`: deterministic from its seed, varied within and across seeds, totals that
//! add up, and padded symbols that still resolve the article's stack; with several builds,
//! each build's dumps resolve against that build's symbols.

mod common;

use common::{assert_articles_frames, module_list, sym_path, thread_ids};
use minidump::{Minidump, MinidumpException, MinidumpThreadList};
use minidump_unwind::SymbolFile;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use triage_corpus::{ShareOptions, SymSize};

/// A share generated into a temporary directory, removed on drop.
struct Share {
    dir: tempfile::TempDir,
    stats: triage_corpus::ShareStats,
}

impl Share {
    fn new(count: usize, seed: u64, pad_symbols: bool) -> Share {
        let dir = tempfile::tempdir().expect("temp dir");
        let stats = triage_corpus::generate_share(dir.path(), count, seed, pad_symbols)
            .expect("share generates");
        Share { dir, stats }
    }

    fn of_builds(count: usize, builds: u32, sym_size: Option<SymSize>) -> Share {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = ShareOptions {
            count,
            builds,
            seed: 1,
            sym_size,
        };
        let stats =
            triage_corpus::generate_share_with(dir.path(), &options).expect("share generates");
        Share { dir, stats }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn json(&self) -> Value {
        let text = fs::read_to_string(self.path("share.json")).expect("share.json");
        serde_json::from_str(&text).expect("share.json is JSON")
    }

    /// `(file, build)` of every dump, from `share.json`.
    fn builds(&self) -> Vec<(String, u64)> {
        self.json()["dumps"]
            .as_array()
            .expect("dumps array")
            .iter()
            .map(|d| {
                (
                    d["file"].as_str().unwrap().into(),
                    d["build"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    /// `(file, case)` of every dump, from `share.json`.
    fn dumps(&self) -> Vec<(String, String)> {
        self.json()["dumps"]
            .as_array()
            .expect("dumps array")
            .iter()
            .map(|d| {
                (
                    d["file"].as_str().unwrap().into(),
                    d["case"].as_str().unwrap().into(),
                )
            })
            .collect()
    }

    fn read(&self, file: &str) -> Minidump<'static, Vec<u8>> {
        Minidump::read(fs::read(self.path(file)).expect("dump exists")).expect("dump parses")
    }

    fn sym_files(&self) -> BTreeMap<String, Vec<u8>> {
        files_under(&self.path("symbols"))
    }
}

/// Every file under `root`, by path relative to it, with its bytes.
fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy();
                files.insert(relative.replace('\\', "/"), fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// What moves between variations: thread ids, stack placement, the crash's fault address.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Placement {
    thread_ids: Vec<u32>,
    stack_starts: Vec<u64>,
    fault_address: u64,
}

fn placement(dump: &Minidump<'static, Vec<u8>>) -> Placement {
    let threads: MinidumpThreadList = dump.get_stream().unwrap();
    let exception: MinidumpException = dump.get_stream().unwrap();
    Placement {
        thread_ids: thread_ids(dump),
        stack_starts: threads
            .threads
            .iter()
            .map(|t| t.raw.stack.start_of_memory_range)
            .collect(),
        fault_address: exception.raw.exception_record.exception_information[1],
    }
}

fn placements_of(share: &Share, case: &str) -> Vec<Placement> {
    let dumps = share.dumps();
    let files = dumps.iter().filter(|(_, c)| c == case);
    files
        .map(|(file, _)| placement(&share.read(file)))
        .collect()
}

/// `a` and `b` hold the same files with the same bytes.
fn assert_same_files(a: &Share, b: &Share) {
    let (a_files, b_files) = (files_under(a.dir.path()), files_under(b.dir.path()));
    assert_eq!(
        a_files.keys().collect::<Vec<_>>(),
        b_files.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &a_files {
        assert!(b_files[name] == *bytes, "{name} differs");
    }
}

#[test]
fn same_seed_writes_the_same_bytes() {
    let (a, b) = (Share::new(30, 5, false), Share::new(30, 5, false));
    assert_same_files(&a, &b);
}

#[test]
fn another_seed_moves_threads_stacks_and_heap_faults() {
    let (a, b) = (Share::new(30, 5, false), Share::new(30, 6, false));
    for ((a_file, _), (b_file, _)) in a.dumps().iter().zip(b.dumps()) {
        let (a_dump, b_dump) = (placement(&a.read(a_file)), placement(&b.read(&b_file)));
        assert_ne!(a_dump.thread_ids, b_dump.thread_ids, "{a_file}");
        assert_ne!(a_dump.stack_starts, b_dump.stack_starts, "{a_file}");
    }
    let faults = |share: &Share| -> BTreeSet<u64> {
        let placements = placements_of(share, "q269588");
        placements.iter().map(|p| p.fault_address).collect()
    };
    assert_ne!(faults(&a), faults(&b));
}

#[test]
fn dumps_of_one_case_are_all_different_variations() {
    let share = Share::new(40, 3, false);
    for case in ["q269588", "heap_other_callers", "plain_av"] {
        let placements = placements_of(&share, case);
        assert!(placements.len() >= 4, "{case}: {}", placements.len());
        let distinct: BTreeSet<_> = placements.iter().collect();
        assert_eq!(
            distinct.len(),
            placements.len(),
            "{case} repeats a variation"
        );
        let faults: BTreeSet<_> = placements.iter().map(|p| p.fault_address).collect();
        let null_read = case == "plain_av";
        assert_eq!(faults.len() == 1, null_read, "{case} faults at {faults:x?}");
    }
}

#[test]
fn counts_per_case_add_up_to_count_and_every_dump_is_listed() {
    let share = Share::new(47, 11, false);
    let json = share.json();
    let cases = json["cases"].as_array().unwrap();
    let total: u64 = cases.iter().map(|c| c["dumps"].as_u64().unwrap()).sum();
    assert_eq!(total, 47);
    assert_eq!(json["count"], 47);
    assert_eq!(share.stats.dumps, 47);
    let stats_cases: Vec<(String, usize)> = share
        .stats
        .cases
        .iter()
        .map(|(c, n)| (c.to_string(), *n))
        .collect();
    let json_cases: Vec<(String, usize)> = cases
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["dumps"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(stats_cases, json_cases);

    let dumps = share.dumps();
    for (name, n) in &json_cases {
        assert_eq!(
            dumps.iter().filter(|(_, c)| c == name).count(),
            *n,
            "{name}"
        );
    }
    let others: BTreeSet<String> = json["other_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("dumps/{}", f.as_str().unwrap().trim_start_matches("dumps/")))
        .collect();
    assert_eq!(others.len(), share.stats.other_files);
    let on_disk: BTreeSet<String> = files_under(&share.path("dumps"))
        .into_keys()
        .map(|f| format!("dumps/{f}"))
        .collect();
    let listed: BTreeSet<String> = dumps.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(listed.len(), 47, "file names repeat");
    assert_eq!(on_disk, &listed | &others, "files on disk vs share.json");
    assert!(others
        .iter()
        .all(|f| Minidump::read_path(share.path(f)).is_err()));
    assert!(
        listed.iter().any(|f| !f.ends_with(".dmp")),
        "only .dmp names"
    );
    let servers: BTreeSet<_> = listed.iter().map(|f| &f[..14]).collect();
    assert_eq!(servers.len(), 8, "{servers:?}");
}

#[test]
fn symbols_are_shared_and_resolve_every_symbolized_dump() {
    let share = Share::new(40, 2, false);
    let symbols = share.path("symbols");
    assert_eq!(
        share.sym_files().len(),
        9,
        "the corpus's modules and the fixed MAPI32"
    );
    assert_eq!(share.stats.symbol_files, 9);
    let json = share.json();
    let symbolized: BTreeMap<&str, bool> = json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["symbols"].as_bool().unwrap()))
        .collect();
    for (file, case) in share.dumps() {
        let dump = share.read(&file);
        let resolved = module_list(&dump)
            .iter()
            .all(|m| sym_path(&symbols, m).is_file());
        assert_eq!(resolved, symbolized[case.as_str()], "{file} ({case})");
    }
}

/// `FUNC` records of a `.sym` text: address, size, parameter size, name.
fn func_records(text: &str) -> Vec<(u64, u32, u32, String)> {
    text.lines()
        .filter_map(|line| line.strip_prefix("FUNC "))
        .map(|rest| {
            let fields: Vec<&str> = rest.splitn(4, ' ').collect();
            let hex = |s: &str| u64::from_str_radix(s, 16).expect("hex");
            (
                hex(fields[0]),
                hex(fields[1]) as u32,
                hex(fields[2]) as u32,
                fields[3].into(),
            )
        })
        .collect()
}

#[test]
fn padded_symbols_are_1_to_5_mb_and_keep_every_real_function() {
    let (plain, padded) = (Share::new(1, 4, false), Share::new(1, 4, true));
    let (plain, padded) = (plain.sym_files(), padded.sym_files());
    assert_eq!(
        plain.keys().collect::<Vec<_>>(),
        padded.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &padded {
        assert!(
            (1_000_000..=5_000_000).contains(&bytes.len()),
            "{name}: {} bytes",
            bytes.len()
        );
        let text = std::str::from_utf8(bytes).unwrap();
        let records = func_records(text);
        assert!(records.len() > 1_000, "{name}: {} functions", records.len());
        let parsed = SymbolFile::from_bytes(bytes).expect("padded .sym parses");
        assert_eq!(
            parsed.functions.ranges_values().count(),
            records.len(),
            "{name}: the parser dropped overlapping functions"
        );
        let real = func_records(std::str::from_utf8(&plain[name]).unwrap());
        for (address, size, parameter_size, function) in real {
            let found = parsed.functions.get(address).expect("real function found");
            assert_eq!(
                (found.address, found.size, found.parameter_size, &found.name),
                (address, size, parameter_size, &function),
                "{name}"
            );
        }
    }
}

#[test]
fn a_q269588_dump_walks_to_the_articles_frames_with_padded_symbols() {
    let share = Share::new(6, 8, true);
    let (file, _) = share
        .dumps()
        .into_iter()
        .find(|(_, case)| case == "q269588")
        .expect("a q269588 dump");
    let state = common::walk(&share.read(&file), share.path("symbols"));
    let crashed = &state.threads[state.requesting_thread.expect("a crashing thread")];
    assert_ne!(crashed.thread_id, 1240, "thread ids vary");
    assert_articles_frames(&crashed.frames);
}

#[test]
fn a_share_of_builds_is_deterministic() {
    let padded = Some(SymSize::Megabytes(1));
    let (a, b) = (
        Share::of_builds(3, 2, padded),
        Share::of_builds(3, 2, padded),
    );
    assert_same_files(&a, &b);
}

#[test]
fn every_build_has_its_own_symbols_and_its_dumps_resolve_only_against_them() {
    let share = Share::of_builds(5, 4, None);
    assert_eq!((share.stats.dumps, share.stats.builds), (20, 4));
    assert_eq!(share.sym_files().len(), 4 * 9);
    assert_eq!(share.stats.symbol_files, 4 * 9);
    let symbols = share.path("symbols");
    let cases: BTreeMap<String, String> = share.dumps().into_iter().collect();
    let mut ids_of_build: BTreeMap<u64, BTreeSet<PathBuf>> = BTreeMap::new();
    for (index, (file, build)) in share.builds().into_iter().enumerate() {
        assert_eq!(build, index as u64 / 5, "{file}");
        let dump = share.read(&file);
        let paths: Vec<PathBuf> = module_list(&dump)
            .iter()
            .map(|m| sym_path(&symbols, m))
            .collect();
        let resolved = paths.iter().all(|path| path.is_file());
        assert_eq!(resolved, cases[&file] != "q269588_nosyms", "{file}");
        ids_of_build.entry(build).or_default().extend(paths);
    }
    let all: Vec<&PathBuf> = ids_of_build.values().flatten().collect();
    let distinct: BTreeSet<&PathBuf> = all.iter().copied().collect();
    assert_eq!(all.len(), distinct.len(), "two builds share a debug id");
}

#[test]
fn a_later_builds_q269588_dump_walks_to_the_articles_frames_with_megabyte_symbols() {
    let share = Share::of_builds(6, 3, Some(SymSize::Megabytes(1)));
    for (name, bytes) in share.sym_files() {
        assert!(
            (1_000_000..1_004_000).contains(&bytes.len()),
            "{name}: {} bytes",
            bytes.len()
        );
    }
    let cases: BTreeMap<String, String> = share.dumps().into_iter().collect();
    let (file, _) = share
        .builds()
        .into_iter()
        .find(|(file, build)| *build == 2 && cases[file] == "q269588")
        .expect("a q269588 dump of build 2");
    let state = common::walk(&share.read(&file), share.path("symbols"));
    let crashed = &state.threads[state.requesting_thread.expect("a crashing thread")];
    assert_articles_frames(&crashed.frames);
}
