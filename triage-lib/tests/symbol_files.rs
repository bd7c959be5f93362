//! PDB conversion through the public API: the cache of converted symbols, CAB-compressed
//! PDBs, and names read from a dump that must not steer a path outside the symbol roots.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use triage::model::{Report, SymbolState, Trust};
use triage::symbols::{SymbolDir, SymbolIdentity, SymbolSource};
use triage::Triage;

/// symbolic's x86 test crash, with its PDB and the Breakpad file dumped from it.
const FIXTURES: &str = "../shared/corpus/symbolic/symbolic-testutils/fixtures/windows";
const CRASH_ID: &str = "3249D99D0C4049318610F4E4FB0B69361";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(FIXTURES)
        .join(name)
}

/// A symbol store holding `bytes` as `crash.pdb/<ID>/<file_name>`.
fn store_with(file_name: &str, bytes: &[u8]) -> tempfile::TempDir {
    let store = tempfile::tempdir().unwrap();
    let dir = store.path().join("crash.pdb").join(CRASH_ID);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file_name), bytes).unwrap();
    store
}

/// Module, function and trust of every frame of the crashing thread.
fn crashing_frames(report: &Report) -> Vec<(Option<String>, Option<String>, Trust)> {
    let thread = report.crashing_thread().expect("mini.dmp crashed");
    thread
        .frames
        .iter()
        .map(|frame| (frame.module.clone(), frame.function.clone(), frame.trust))
        .collect()
}

fn crash_exe_symbols(report: &Report) -> SymbolState {
    let module = report.modules.iter().find(|m| m.name == "crash.exe");
    module.expect("crash.exe is in mini.dmp").symbols
}

fn names_main(report: &Report) -> bool {
    crashing_frames(report)
        .iter()
        .any(|(_, function, _)| function.as_deref() == Some("main"))
}

#[test]
fn a_warm_cache_converts_no_pdb() {
    let store = store_with("crash.pdb", &std::fs::read(fixture("crash.pdb")).unwrap());
    let cache = tempfile::tempdir().unwrap();
    let engine = || {
        Triage::builder()
            .symbol_path(store.path().to_str().unwrap())
            .cache_dir(cache.path())
            .build()
    };

    let cold = engine();
    let first = cold.dump_path(&fixture("mini.dmp"));
    assert_eq!(cold.symbol_conversions(), 1);
    assert!(names_main(&first), "{:?}", crashing_frames(&first));

    let warm = engine();
    let second = warm.dump_path(&fixture("mini.dmp"));
    assert_eq!(warm.symbol_conversions(), 0, "the cache was not used");
    assert_eq!(crashing_frames(&second), crashing_frames(&first));

    let uncached = Triage::builder()
        .symbol_path(store.path().to_str().unwrap())
        .cache_dir(cache.path())
        .no_cache()
        .build();
    uncached.dump_path(&fixture("mini.dmp"));
    assert_eq!(
        uncached.symbol_conversions(),
        1,
        "no_cache still read the cache"
    );
}

#[test]
fn a_cab_compressed_pdb_resolves_like_the_plain_one() {
    let pdb = std::fs::read(fixture("crash.pdb")).unwrap();
    let mut builder = cab::CabinetBuilder::new();
    builder
        .add_folder(cab::CompressionType::MsZip)
        .add_file("crash.pdb");
    let mut writer = builder.build(Cursor::new(Vec::new())).unwrap();
    while let Some(mut file) = writer.next_file().unwrap() {
        file.write_all(&pdb).unwrap();
    }
    let compressed = writer.finish().unwrap().into_inner();
    assert!(compressed.len() < pdb.len() / 2, "not compressed");

    let run = |store: &tempfile::TempDir| {
        let triage = Triage::builder()
            .symbol_path(store.path().to_str().unwrap())
            .no_cache()
            .build();
        triage.dump_path(&fixture("mini.dmp"))
    };
    let plain = run(&store_with("crash.pdb", &pdb));
    let from_cab = run(&store_with("crash.pd_", &compressed));
    assert_eq!(crash_exe_symbols(&from_cab), SymbolState::Loaded);
    assert!(names_main(&from_cab), "{:?}", crashing_frames(&from_cab));
    assert_eq!(crashing_frames(&from_cab), crashing_frames(&plain));
}

#[test]
fn names_that_are_not_one_plain_component_are_refused() {
    let identity = |debug_file: &str, code_file: &str, code_id: &str| SymbolIdentity {
        debug_file: debug_file.into(),
        debug_id: CRASH_ID.into(),
        code_file: Some(code_file.into()),
        code_id: Some(code_id.into()),
    };
    let hostile = [
        "..",
        ".",
        "../crash.pdb",
        "..\\crash.pdb",
        "/etc/crash.pdb",
        "C:\\crash.pdb",
        "C:crash.pdb",
        "\\\\server\\share\\crash.pdb",
        "crash.pdb\0",
        "crash\n.pdb",
        "",
    ];
    for name in hostile {
        assert_eq!(
            identity(name, "crash.exe", "5AB380779000").checked(),
            None,
            "debug file {name:?} accepted"
        );
        let kept = identity("crash.pdb", name, "5AB380779000").checked();
        assert_eq!(kept.unwrap().code_file, None, "code file {name:?} kept");
    }
    for id in ["../5AB3", "5AB3/x", "5AB3 ", ""] {
        let kept = identity("crash.pdb", "crash.exe", id).checked();
        assert_eq!(kept.unwrap().code_id, None, "code id {id:?} kept");
    }
}

/// A copy of mini.dmp whose CodeView record names `pdb_path` instead of crash.exe's PDB.
fn mini_dump_with_pdb_path(pdb_path: &[u8]) -> Vec<u8> {
    let mut dump = std::fs::read(fixture("mini.dmp")).unwrap();
    let original = b"C:\\projects\\breakpad-tools\\windows\\Release\\crash.pdb\0";
    let at = dump
        .windows(original.len())
        .position(|window| window == original)
        .expect("crash.exe's CodeView record");
    assert!(pdb_path.len() < original.len());
    let mut patched = pdb_path.to_vec();
    patched.resize(original.len(), 0);
    dump[at..at + original.len()].copy_from_slice(&patched);
    dump
}

#[test]
fn a_crafted_pdb_name_reaches_no_file_outside_the_root() {
    let sym = std::fs::read(fixture("crash.sym")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = outside.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let plant = |relative: &str| {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &sym).unwrap();
    };
    // Where each name would lead if it were used as it is.
    plant(&format!("../{CRASH_ID}/...sym"));
    plant(&format!("c:ash.pdb/{CRASH_ID}/c:ash.sym"));
    plant("c:ash.sym");

    let triage = Triage::builder()
        .symbol_path(root.to_str().unwrap())
        .no_cache()
        .build();
    let control = triage.dump_bytes("control", mini_dump_with_pdb_path(b"crash.pdb"));
    assert_eq!(crash_exe_symbols(&control), SymbolState::Missing);
    for name in [&b".."[..], b"c:ash.pdb"] {
        let report = triage.dump_bytes("crafted", mini_dump_with_pdb_path(name));
        let module = report
            .modules
            .iter()
            .find(|m| m.name == "crash.exe")
            .unwrap();
        let debug_file = module.debug_file.as_deref().unwrap_or_default();
        assert_eq!(debug_file.as_bytes(), name, "the patch did not take");
        assert_eq!(
            crash_exe_symbols(&report),
            SymbolState::Missing,
            "{} steered the lookup",
            String::from_utf8_lossy(name)
        );
        assert!(!names_main(&report));
    }
}

#[test]
fn a_flat_pdb_of_another_build_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("crash.pdb"), dir.path().join("crash.pdb")).unwrap();
    let identity = |debug_id: &str| SymbolIdentity {
        debug_file: "crash.pdb".into(),
        debug_id: debug_id.into(),
        code_file: None,
        code_id: None,
    };
    let source = SymbolDir::new(dir.path());
    assert_eq!(
        source.find(&identity(CRASH_ID)),
        Some(dir.path().join("crash.pdb"))
    );
    assert_eq!(
        source.find(&identity("3249D99D0C4049318610F4E4FB0B69362")),
        None
    );
}
