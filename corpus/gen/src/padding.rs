//! Bulk for a share's `.sym` files (`--pad-symbols`, `--sym-mb`). Symbol files of real Windows
//! binaries run to megabytes and loading them is much of a symbolizing walker's cost, so a
//! benchmark over the corpus's few-line files would measure the wrong thing. Invented
//! functions, each with source line records, fill the address space the real functions leave
//! free; the real `FUNC` records are unchanged.

use crate::modules::{
    func_record, sorted_functions, stack_win_records, sym_header, Module, FIRST_CODE_RVA,
};
use crate::rng::Rng;
use std::fmt::Write;
use std::ops::Range;

/// A plausible density for symbols with line records: 2.5 bytes of text per byte of image,
/// which the invented functions below give when they fill an image.
const SYM_BYTES_PER_IMAGE_BYTE: (usize, usize) = (5, 2);
/// Every padded file lands in here. Images too small for 1.2 MB at that density get invented
/// functions past their end, where no dump address falls.
const SYM_SIZES: Range<usize> = 1_200_000..4_800_000;
/// One `FILE` record per this many bytes of output.
const BYTES_PER_SOURCE_FILE: usize = 8_000;
/// Compilers start functions 16-byte aligned and fill the gaps with `int 3`.
const FUNCTION_ALIGNMENT: u32 = 16;

/// How big a padded `.sym` file gets (a little over, by at most one function).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymSize {
    /// 2.5 bytes per byte of image, clamped to 1.2-4.8 MB, without unwind records for the
    /// invented functions: `--pad-symbols`, the files the one-build share's published figures
    /// were measured on, kept byte for byte.
    ImageScaled,
    /// About this many MB (10^6 bytes), every invented function with a `STACK WIN 4` record
    /// as `dump_syms` writes from a PDB's frame data: `--sym-mb`.
    Megabytes(u32),
}

impl SymSize {
    fn bytes_for(self, module: &Module) -> usize {
        match self {
            SymSize::ImageScaled => {
                let (numerator, denominator) = SYM_BYTES_PER_IMAGE_BYTE;
                (module.size as usize * numerator / denominator)
                    .clamp(SYM_SIZES.start, SYM_SIZES.end)
            }
            SymSize::Megabytes(megabytes) => megabytes as usize * 1_000_000,
        }
    }
}

/// `module`'s `.sym` file with invented functions in every gap between its real ones, until
/// the file is `size` long. Deterministic per module build.
pub fn padded_sym_file(module: &Module, size: SymSize) -> String {
    let target = size.bytes_for(module);
    let words = Vocabulary::of(module);
    let mut rng = Rng::new(module.timestamp.into());
    let mut out = sym_header(module);
    out.reserve(target + 4096);
    let source_files = (target / BYTES_PER_SOURCE_FILE) as u32;
    for index in 0..source_files {
        writeln!(out, "FILE {index} {}", words.source_file(index)).expect("writing to a String");
    }
    // Unwind records follow all FUNC records, as in `dump_syms` output; they count towards
    // the target as they are drawn.
    let mut unwind = String::new();
    let mut free_from = FIRST_CODE_RVA;
    let real = sorted_functions(module);
    // After the last real function the gap is open-ended, for images too small for the target.
    for next in real.iter().map(Some).chain([None]) {
        let gap_end = next.map_or(u32::MAX, |f| f.rva);
        while out.len() + unwind.len() < target {
            let start = free_from.next_multiple_of(FUNCTION_ALIGNMENT);
            let size_of_code = function_size(&mut rng);
            if start + size_of_code > gap_end {
                break;
            }
            let code = start..start + size_of_code;
            let param_size =
                invented_function(&mut out, &mut rng, words, code.clone(), source_files);
            if let SymSize::Megabytes(_) = size {
                frame_data_record(&mut unwind, &mut rng, code, param_size);
            }
            free_from = start + size_of_code;
        }
        if let Some(f) = next {
            func_record(&mut out, f.rva, f.size, f.param_size, f.name);
            free_from = free_from.max(f.rva + f.size);
        }
    }
    out += &unwind;
    stack_win_records(&mut out, module);
    out
}

/// Mostly small functions, a few of a few hundred bytes; 86 bytes on average.
fn function_size(rng: &mut Rng) -> u32 {
    16 + rng.below(32) * (1 + rng.below(8))
}

/// A `FUNC` record for `code`, then line records for its statements (2-12 bytes of code each,
/// lines rising through one source file). Returns the function's parameter size.
fn invented_function(
    out: &mut String,
    rng: &mut Rng,
    words: &Vocabulary,
    code: Range<u32>,
    source_files: u32,
) -> u32 {
    let param_size = 4 * rng.below(6);
    func_record(
        out,
        code.start,
        code.len() as u32,
        param_size,
        &words.function(rng),
    );
    let file = rng.below(source_files);
    let mut line = rng.within(20..4_000);
    let mut at = code.start;
    while at < code.end {
        let size = rng.within(2..13).min(code.end - at);
        writeln!(out, "{at:x} {size:x} {line} {file}").expect("writing to a String");
        at += size;
        line += rng.within(1..4);
    }
    param_size
}

/// The `STACK WIN 4` (frame data) program strings MSVC's PDBs give x86 functions: most keep
/// a frame pointer; the rest find their return address by searching the stack.
const FRAME_POINTER_PROGRAM: &str = "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =";
const FRAME_POINTER_OMITTED_PROGRAM: &str = "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =";

/// Appends `STACK WIN 4 <rva> <size> <prologue> <epilogue> <params> <saved regs> <locals>
/// <max stack> 1 <program>` for an invented function: one in four frame-pointer-omitted.
/// Only invented functions get these, so the real functions unwind as without padding.
fn frame_data_record(out: &mut String, rng: &mut Rng, code: Range<u32>, param_size: u32) {
    let saved_register_size = 4 * rng.below(4);
    let local_size = 4 * rng.below(64);
    let (prologue, program) = if rng.below(4) == 0 {
        (0, FRAME_POINTER_OMITTED_PROGRAM)
    } else {
        // push ebp; mov ebp, esp
        (3, FRAME_POINTER_PROGRAM)
    };
    writeln!(
        out,
        "STACK WIN 4 {:x} {:x} {prologue:x} 0 {param_size:x} {saved_register_size:x} \
         {local_size:x} 0 1 {program}",
        code.start,
        code.len()
    )
    .expect("writing to a String");
}

#[rustfmt::skip]
const VERBS: [&str; 30] = [
    "Get", "Set", "Create", "Open", "Close", "Query", "Alloc", "Free", "Copy", "Find", "Load",
    "Save", "Init", "Validate", "Process", "Dispatch", "Queue", "Flush", "Insert", "Remove",
    "Lock", "Unlock", "Resolve", "Build", "Parse", "Convert", "Compare", "Enum", "Register",
    "Notify",
];
#[rustfmt::skip]
const NOUNS: [&str; 30] = [
    "Message", "Route", "Queue", "Entry", "Buffer", "Heap", "Block", "Segment", "Table",
    "Property", "Recipient", "Address", "Session", "Handle", "Key", "Value", "Object", "Thread",
    "Event", "Timer", "Context", "Connection", "Binding", "Attribute", "Envelope", "Header",
    "Stream", "Cache", "Name", "Section",
];
const SUFFIXES: [&str; 9] = ["", "", "", "", "Ex", "Internal", "W", "A", "2"];

/// How a module's function names and source paths look.
struct Vocabulary {
    prefixes: &'static [&'static str],
    /// C runtime style: `_getbuffer` rather than `HrGetBuffer`.
    lower_case: bool,
    source_dir: &'static str,
}

const fn words(prefixes: &'static [&'static str], source_dir: &'static str) -> Vocabulary {
    Vocabulary {
        prefixes,
        lower_case: false,
        source_dir,
    }
}

/// Each module's vocabulary, by debug file.
#[rustfmt::skip]
const VOCABULARIES: [(&str, Vocabulary); 8] = [
    ("emsmta.pdb", words(&["Hr", "Mta", "Rt", "Qm"], r"d:\exchsrvr\src\mta")),
    ("mapi32.pdb", words(&["Hr", "Sc", "LH_", "FBad", "MAPI"], r"d:\exchsrvr\src\mapi")),
    ("exchmem.pdb", words(&["Mp", "ExchM"], r"d:\exchsrvr\src\exchmem")),
    ("ntdll.pdb", words(&["Rtl", "Rtlp", "Ldr", "Ldrp", "Nt", "Csr", "Dbg"], r"d:\nt\private\ntos\rtl")),
    ("kernel32.pdb", words(&["", "Base", "Basep"], r"d:\nt\private\windows\base\client")),
    ("advapi32.pdb", words(&["Reg", "Lsa", "Crypt", "Elf", "Sam"], r"d:\nt\private\windows\advapi")),
    ("rpcrt4.pdb", words(&["Ndr", "I_Rpc", "Rpc", "Osf", "Dg"], r"d:\nt\private\rpc\runtime")),
    ("msvcrt.pdb", Vocabulary { prefixes: &["_", "__", "_w", "_mbs"], lower_case: true, source_dir: r"d:\crt\src" }),
];

impl Vocabulary {
    fn of(module: &Module) -> &'static Vocabulary {
        VOCABULARIES
            .iter()
            .find(|(pdb, _)| *pdb == module.pdb)
            .map(|(_, words)| words)
            .unwrap_or_else(|| panic!("no vocabulary for {}", module.pdb))
    }

    fn function(&self, rng: &mut Rng) -> String {
        let name = [
            *rng.pick(self.prefixes),
            *rng.pick(&VERBS),
            *rng.pick(&NOUNS),
            *rng.pick(&SUFFIXES),
        ]
        .concat();
        if self.lower_case {
            name.to_ascii_lowercase()
        } else {
            name
        }
    }

    /// Source file `index`: a distinct `<verb><noun>.c` for each of the first 900, then the
    /// same names in numbered subfolders, so that every `FILE` record names its own file.
    fn source_file(&self, index: u32) -> String {
        let names = VERBS.len() * NOUNS.len();
        let (folder, name) = (index as usize / names, index as usize % names);
        let verb = VERBS[name / NOUNS.len()];
        let noun = NOUNS[name % NOUNS.len()];
        let subfolder = match folder {
            0 => String::new(),
            n => format!("\\part{n}"),
        };
        format!("{}{subfolder}\\{verb}{noun}.c", self.source_dir).to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::{EMSMTA, EXCHMEM, MAPI32_FPO};
    use minidump_unwind::SymbolFile;

    const TARGET: SymSize = SymSize::Megabytes(1);

    #[test]
    fn megabyte_padding_lands_just_over_the_target() {
        for module in [EMSMTA, EXCHMEM, MAPI32_FPO] {
            let text = padded_sym_file(&module, TARGET);
            // Over by at most the last invented function and the real functions' records.
            assert!(
                (1_000_000..1_004_000).contains(&text.len()),
                "{}: {} bytes",
                module.pdb,
                text.len()
            );
        }
    }

    #[test]
    fn megabyte_padding_gives_every_invented_function_frame_data_that_parses() {
        let text = padded_sym_file(&MAPI32_FPO, TARGET);
        let functions = text.lines().filter(|l| l.starts_with("FUNC ")).count();
        let frame_data = text
            .lines()
            .filter(|l| l.starts_with("STACK WIN 4 "))
            .count();
        assert_eq!(frame_data, functions - MAPI32_FPO.functions.len());
        let parsed = SymbolFile::from_bytes(text.as_bytes()).expect("parses");
        assert_eq!(parsed.functions.ranges_values().count(), functions);
        assert_eq!(
            parsed.win_stack_framedata_info.ranges_values().count(),
            frame_data
        );
        // The real FPO records stay, and no invented record covers a real function.
        assert_eq!(
            parsed.win_stack_fpo_info.ranges_values().count(),
            MAPI32_FPO.fpo.len()
        );
        for f in MAPI32_FPO.functions {
            assert!(
                parsed.win_stack_framedata_info.get(f.rva.into()).is_none(),
                "{}",
                f.name
            );
        }
    }

    #[test]
    fn padding_is_deterministic_per_build_and_differs_between_builds() {
        let rebuilt = EXCHMEM.rebuilt(EXCHMEM.timestamp + 1);
        assert_eq!(
            padded_sym_file(&EXCHMEM, TARGET),
            padded_sym_file(&EXCHMEM, TARGET)
        );
        let body = |module: &Module| padded_sym_file(module, TARGET).split_off(200);
        assert_ne!(body(&EXCHMEM), body(&rebuilt));
    }

    #[test]
    fn image_scaled_padding_has_no_invented_unwind_records() {
        let text = padded_sym_file(&EMSMTA, SymSize::ImageScaled);
        // The size every `--pad-symbols` share's emsmta.sym has had.
        assert_eq!(text.len(), 4_689_927);
        assert!(!text.contains("STACK WIN"));
    }

    #[test]
    fn source_files_past_900_go_into_subfolders_and_stay_distinct() {
        let words = Vocabulary::of(&EMSMTA);
        let names: std::collections::BTreeSet<String> =
            (0..2_000).map(|i| words.source_file(i)).collect();
        assert_eq!(names.len(), 2_000);
        assert_eq!(words.source_file(0), r"d:\exchsrvr\src\mta\getmessage.c");
        assert_eq!(
            words.source_file(900),
            r"d:\exchsrvr\src\mta\part1\getmessage.c"
        );
    }
}
