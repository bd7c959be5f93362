//! `generate_big_symbols`: the article's dump with a main-module `.sym` of the asked size,
//! which still resolves the article's stack.

mod common;

use common::assert_articles_frames;
use minidump::Minidump;

#[test]
fn the_main_modules_sym_has_the_asked_size_and_the_stack_still_resolves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stats = triage_corpus::generate_big_symbols(dir.path(), 3).expect("generates");
    let main = dir.path().join("symbols").join(&stats.main_sym);
    assert!(
        main.ends_with("emsmta.pdb/39DA23981/emsmta.sym"),
        "{main:?}"
    );
    let size = std::fs::metadata(&main).expect("main .sym").len();
    assert_eq!(size, stats.main_sym_bytes);
    assert!((3_000_000..3_004_000).contains(&size), "{size} bytes");
    assert_eq!(stats.symbol_files, 8);

    let bytes = std::fs::read(dir.path().join(&stats.dump)).expect("dump exists");
    let dump = Minidump::read(bytes).expect("dump parses");
    let state = common::walk(&dump, dir.path().join("symbols"));
    let crashed = &state.threads[state.requesting_thread.expect("a crashing thread")];
    assert_articles_frames(&crashed.frames);
}
