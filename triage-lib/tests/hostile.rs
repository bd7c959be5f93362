//! Hostile input: damaged dumps must give an error kind or a partial report, never a
//! panic, and a panic inside a dependency must stay inside its own dump.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use triage::model::{Report, Status};
use triage::symbols::{SymbolIdentity, SymbolSource};
use triage::Triage;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

thread_local! {
    /// Panics on this thread, including ones the engine caught. Per thread, because the
    /// test harness runs the panic-injection test in parallel.
    static PANICS: Cell<usize> = const { Cell::new(0) };
}

/// Installs a hook counting panics per thread, and returns this thread's count so far.
fn panics_so_far() -> usize {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|count| count.set(count.get() + 1));
            previous(info);
        }));
    });
    PANICS.with(Cell::get)
}

/// A report is acceptable when it is complete, or names what went wrong.
fn assert_clear(report: &Report, what: &str) {
    match report.status {
        Status::Ok => assert!(report.error.is_none(), "{what}"),
        Status::Partial | Status::Error => {
            let kind = report.error.as_ref().map(|e| e.kind.as_str()).unwrap_or("");
            assert!(
                !kind.is_empty(),
                "{what}: {:?} without a kind",
                report.status
            );
            assert_ne!(kind, "panic", "{what}: {:?}", report.error);
        }
    }
}

/// Small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Good dumps to damage: our reconstruction and three real Windows dumps.
fn good_dumps() -> Vec<(PathBuf, Option<PathBuf>)> {
    let shared = repo().join("../shared/corpus");
    vec![
        (
            repo().join("corpus/examples/q269588.dmp"),
            Some(repo().join("corpus/examples/symbols")),
        ),
        (
            shared.join("breakpad/src/processor/testdata/minidump2.dmp"),
            Some(shared.join("breakpad/src/processor/testdata/symbols")),
        ),
        (
            shared.join("symbolic/symbolic-testutils/fixtures/windows/mini.dmp"),
            None,
        ),
        (
            shared.join("lldb/test/Shell/Minidump/Windows/Sigsegv/Inputs/sigsegv.dmp"),
            None,
        ),
    ]
}

fn engine(symbols: &Option<PathBuf>) -> Triage {
    let builder = Triage::builder();
    match symbols {
        Some(dir) => builder.symbol_path(dir.display().to_string()).build(),
        None => builder.build(),
    }
}

#[test]
fn truncated_dumps_give_clear_errors_at_every_cut() {
    let before = panics_so_far();
    for (path, symbols) in good_dumps() {
        let bytes = std::fs::read(&path).unwrap();
        let triage = engine(&symbols);
        for cut in 0..10 {
            let len = bytes.len() * cut / 10;
            let report = triage.dump_bytes("cut", bytes[..len].to_vec());
            assert_clear(&report, &format!("{} cut at {len}", path.display()));
        }
    }
    assert_eq!(panics_so_far(), before, "a dependency panicked");
}

#[test]
fn a_thousand_mutations_of_each_dump_never_panic() {
    let before = panics_so_far();
    let mut rng = Rng(0x5eed_2695_88a1);
    for (path, symbols) in good_dumps() {
        let bytes = std::fs::read(&path).unwrap();
        let triage = engine(&symbols);
        for round in 0..1000 {
            let mut mutated = bytes.clone();
            for _ in 0..1 + rng.below(16) {
                let at = rng.below(mutated.len());
                mutated[at] = rng.next() as u8;
            }
            let report = triage.dump_bytes("mutated", mutated);
            assert_clear(&report, &format!("{} mutation {round}", path.display()));
        }
    }
    assert_eq!(panics_so_far(), before, "a dependency panicked");
}

/// A symbol source that panics for one module, standing in for a bug in a dependency.
#[derive(Debug)]
struct PanicsOn(&'static str);

impl SymbolSource for PanicsOn {
    fn find(&self, identity: &SymbolIdentity) -> Option<PathBuf> {
        assert_ne!(identity.debug_file, self.0, "injected panic");
        None
    }
}

#[test]
fn a_panic_inside_one_dump_is_that_dumps_error_row() {
    let generated = tempfile::tempdir().unwrap();
    triage_corpus::generate(generated.path()).unwrap();
    let triage = Triage::builder()
        .symbol_source(Box::new(PanicsOn("mapi32.pdb")))
        .build();
    let mut rows = Vec::new();
    let summary = triage::scan::scan(
        Arc::new(triage),
        &[generated.path().to_path_buf()],
        &triage::scan::ScanOptions::default(),
        |_| {},
        |report| rows.push(report.clone()),
    );
    let kind_of = |name: &str| {
        let row = rows.iter().find(|r| r.path.ends_with(name)).unwrap();
        row.error.as_ref().map(|e| e.kind.as_str())
    };
    // The MAPI32 frames reach the panicking source; the plain AV never touches MAPI32.
    assert_eq!(kind_of("/q269588.dmp"), Some("panic"));
    assert_eq!(kind_of("/plain_av.dmp"), None);
    assert_eq!(summary.dumps, rows.len());
    assert!(summary.errors_by_kind["panic"] >= 1);
}

/// Dumps the fuzzer found (fuzz/run.sh), minimized into `corpus/regressions/`. Before the
/// fix, `dump-handle-descriptor-size-zero.dmp` made `minidump` reserve 257 GB and abort
/// the whole process, so a regression fails this test by crashing it.
#[test]
fn fuzzer_found_dumps_give_clear_reports() {
    let dir = repo().join("corpus/regressions");
    let triage = Triage::builder().build();
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "dmp") {
            let report = triage.dump_path(&path);
            assert_clear(&report, &path.display().to_string());
            assert_eq!(report.status, Status::Partial, "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 1);
}
