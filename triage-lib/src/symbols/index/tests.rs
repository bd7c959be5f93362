//! The index must answer exactly what the parsed text answers. These tests build indexes of
//! the real symbol files in the shared corpus and compare both, at every address where a
//! record starts or ends and next to it.

use std::path::{Path, PathBuf};

use breakpad_symbols::{FrameSymbolizer, SimpleModule, SymbolFile};
use proptest::prelude::*;

use super::*;

/// What `fill_symbol` told a frame, in call order.
#[derive(Debug, Default, PartialEq)]
struct Told {
    instruction: u64,
    function: Option<(String, u64, u32)>,
    source: Option<(String, u32, u64)>,
    inlines: Vec<(String, Option<String>, Option<u32>)>,
}

impl FrameSymbolizer for Told {
    fn get_instruction(&self) -> u64 {
        self.instruction
    }
    fn set_function(&mut self, name: &str, base: u64, parameter_size: u32) {
        self.function = Some((name.into(), base, parameter_size));
    }
    fn set_source_file(&mut self, file: &str, line: u32, base: u64) {
        self.source = Some((file.into(), line, base));
    }
    fn add_inline_frame(&mut self, name: &str, file: Option<&str>, line: Option<u32>) {
        self.inlines.push((name.into(), file.map(Into::into), line));
    }
}

fn shared_symbol_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let mut found: Vec<PathBuf> = ignore::WalkBuilder::new(&root)
        .standard_filters(false)
        .build()
        .filter_map(Result::ok)
        .map(|entry| entry.into_path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sym"))
        .collect();
    found.sort();
    found
}

/// Every address where a record of `symbols` begins or ends, and one either side.
fn boundaries(symbols: &SymbolFile) -> Vec<u64> {
    let mut points = Vec::new();
    let mut around = |start: u64, end: u64| {
        for point in [start.wrapping_sub(1), start, end, end.wrapping_add(1)] {
            points.push(point);
        }
    };
    for (range, function) in symbols.functions.ranges_values() {
        around(range.start, range.end);
        for (range, _) in function.lines.ranges_values() {
            around(range.start, range.end);
        }
        for inlinee in &function.inlinees {
            around(inlinee.address, inlinee.address + u64::from(inlinee.size));
        }
    }
    for public in &symbols.publics {
        around(public.address, public.address);
    }
    for (range, cfi) in symbols.cfi_stack_info.ranges_values() {
        around(range.start, range.end);
        for rule in &cfi.add_rules {
            around(rule.address, rule.address);
        }
    }
    for table in [
        &symbols.win_stack_framedata_info,
        &symbols.win_stack_fpo_info,
    ] {
        for (range, _) in table.ranges_values() {
            around(range.start, range.end);
        }
    }
    points.sort_unstable();
    points.dedup();
    points
}

fn assert_same_answers(full: &SymbolFile, index: &SymbolIndex, address: u64, what: &str) {
    let module = SimpleModule::default();
    let excerpt = index
        .excerpt(address)
        .unwrap_or_else(|| panic!("{what}: no excerpt at {address:#x}"));
    assert_eq!(
        full.functions.get(address),
        excerpt.functions.get(address),
        "{what}: FUNC at {address:#x}"
    );
    assert_eq!(
        full.cfi_stack_info.get(address),
        excerpt.cfi_stack_info.get(address),
        "{what}: STACK CFI at {address:#x}"
    );
    assert_eq!(
        full.win_stack_framedata_info.get(address),
        excerpt.win_stack_framedata_info.get(address),
        "{what}: STACK WIN 4 at {address:#x}"
    );
    assert_eq!(
        full.win_stack_fpo_info.get(address),
        excerpt.win_stack_fpo_info.get(address),
        "{what}: STACK WIN 0 at {address:#x}"
    );
    let mut by_text = Told {
        instruction: address,
        ..Told::default()
    };
    full.fill_symbol(&module, &mut by_text);
    let mut by_index = Told {
        instruction: address,
        ..Told::default()
    };
    index.fill_symbol(&module, &mut by_index);
    assert_eq!(by_text, by_index, "{what}: fill_symbol at {address:#x}");
}

#[test]
fn index_answers_as_the_text_does_for_every_shared_symbol_file() {
    let files = shared_symbol_files();
    assert!(files.len() >= 10, "shared corpus symbol files: {files:?}");
    let mut compared = 0;
    for path in files {
        let what = path.display().to_string();
        // A file the parser refuses has no index either; both paths report it corrupt.
        let Ok(full) = SymbolFile::from_file(&path) else {
            continue;
        };
        let index = SymbolIndex::from_bytes(SymbolIndex::build(&full, SourceStamp::default()))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let points = boundaries(&full);
        // Up to 3,000 addresses per file, spread over it, keep a debug build quick.
        let step = (points.len() / 3_000).max(1);
        for address in points.into_iter().step_by(step) {
            assert_same_answers(&full, &index, address, &what);
            compared += 1;
        }
    }
    assert!(compared > 20_000, "only {compared} addresses compared");
}

#[test]
fn overlapping_and_duplicate_records_resolve_as_the_parser_resolves_them() {
    // Overlapping FUNCs (the later is dropped), a PUBLIC cut off by a FUNC, STACK WIN
    // lengths that the parser shortens, a FILE id given twice, and an inline call.
    let text = b"MODULE windows x86 ABC1 t.pdb\n\
FILE 1 a.c\nFILE 1 b.c\nINLINE_ORIGIN 0 inlined\n\
FUNC 1000 100 4 outer\nINLINE 0 7 1 0 1010 10\n1000 20 5 1\n1020 e0 6 1\n\
FUNC 1050 100 0 overlapping\n\
PUBLIC 900 8 before\nPUBLIC 1200 0 after_func\nPUBLIC 1200 0 after_func_too\n\
STACK WIN 4 1000 100 0 0 4 0 0 0 1 $T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =\n\
STACK WIN 4 1008 f8 0 0 4 0 8 0 1 $T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =\n\
STACK WIN 0 2000 10 0 0 0 0 0 0 0 1\n\
STACK CFI INIT 3000 40 .cfa: $rsp 8 + .ra: .cfa -8 + ^\nSTACK CFI 3004 .cfa: $rsp 16 +\n";
    let full = SymbolFile::from_bytes(text).unwrap();
    let index = SymbolIndex::from_bytes(SymbolIndex::build(&full, SourceStamp::default())).unwrap();
    for address in (0x8f0..0x3050).step_by(3) {
        assert_same_answers(&full, &index, address, "handmade");
    }
}

#[test]
fn damaged_files_are_refused_not_read() {
    let full = SymbolFile::from_bytes(b"FUNC 1000 10 0 f\n1000 10 1 1\nFILE 1 a.c\n").unwrap();
    let stamp = SourceStamp {
        len: 7,
        modified_ns: 9,
    };
    let bytes = SymbolIndex::build(&full, stamp);
    assert_eq!(
        SymbolIndex::from_bytes(bytes.clone()).unwrap().source(),
        stamp
    );

    let refused = |bytes: Vec<u8>| match SymbolIndex::from_bytes(bytes) {
        Err(IndexError::Layout(error)) => error,
        other => panic!("accepted: {other:?}"),
    };
    assert_eq!(
        refused(bytes[..bytes.len() - 1].to_vec()),
        LayoutError::Truncated
    );
    assert_eq!(
        refused(b"MODULE windows x86".to_vec()),
        LayoutError::Foreign
    );
    let mut other_format = bytes.clone();
    other_format[8] = 99;
    assert_eq!(refused(other_format), LayoutError::Format(99, INDEX_FORMAT));
    let mut flipped = bytes.clone();
    flipped[40] ^= 1;
    assert_eq!(refused(flipped), LayoutError::Damaged);
}

proptest! {
    /// Bytes changed anywhere past the header never make a lookup panic or read out of
    /// bounds; the header itself is covered by its checksum.
    #[test]
    fn damaged_bodies_never_panic(
        changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..40),
        addresses in proptest::collection::vec(0u64..0x5000, 1..40),
    ) {
        let full = SymbolFile::from_bytes(
            b"FILE 1 a.c\nFUNC 1000 100 4 f\n1000 100 3 1\nINLINE_ORIGIN 0 g\n\
INLINE 0 2 1 0 1000 10\nPUBLIC 2000 0 p\nSTACK CFI INIT 1000 100 .cfa: $esp 4 +\n\
STACK WIN 0 1000 100 0 0 0 0 0 0 0 1\n",
        )
        .unwrap();
        let mut bytes = SymbolIndex::build(&full, SourceStamp::default());
        let body = layout::HEADER_LEN..bytes.len() - 8;
        for (at, value) in changes {
            bytes[body.start + at.index(body.len())] = value;
        }
        let index = SymbolIndex::from_bytes(bytes).unwrap();
        for address in addresses {
            let mut told = Told { instruction: address, ..Told::default() };
            index.fill_symbol(&SimpleModule::default(), &mut told);
            let _ = index.excerpt(address);
        }
    }
}
