//! Bulk for a share's `.sym` files (`--pad-symbols`). Symbol files of real Windows binaries run
//! to megabytes and loading them is much of a symbolizing walker's cost, so a benchmark over
//! the corpus's few-line files would measure the wrong thing. Invented functions, each with
//! source line records, fill the address space the real functions leave free; the real
//! `FUNC` records are unchanged.

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

/// How big `module`'s padded `.sym` file gets (a little over, by at most one function).
fn padded_size(module: &Module) -> usize {
    let (numerator, denominator) = SYM_BYTES_PER_IMAGE_BYTE;
    (module.size as usize * numerator / denominator).clamp(SYM_SIZES.start, SYM_SIZES.end)
}

/// `module`'s `.sym` file with invented functions in every gap between its real ones, until
/// the file is [`padded_size`] long. Deterministic per module build.
pub fn padded_sym_file(module: &Module) -> String {
    let target = padded_size(module);
    let words = Vocabulary::of(module);
    let mut rng = Rng::new(module.timestamp.into());
    let mut out = sym_header(module);
    out.reserve(target + 4096);
    let source_files = (target / BYTES_PER_SOURCE_FILE) as u32;
    for index in 0..source_files {
        writeln!(out, "FILE {index} {}", words.source_file(index)).expect("writing to a String");
    }
    let mut free_from = FIRST_CODE_RVA;
    let real = sorted_functions(module);
    // After the last real function the gap is open-ended, for images too small for the target.
    for next in real.iter().map(Some).chain([None]) {
        let gap_end = next.map_or(u32::MAX, |f| f.rva);
        while out.len() < target {
            let start = free_from.next_multiple_of(FUNCTION_ALIGNMENT);
            let size = function_size(&mut rng);
            if start + size > gap_end {
                break;
            }
            invented_function(&mut out, &mut rng, words, start..start + size, source_files);
            free_from = start + size;
        }
        if let Some(f) = next {
            func_record(&mut out, f.rva, f.size, f.param_size, f.name);
            free_from = free_from.max(f.rva + f.size);
        }
    }
    stack_win_records(&mut out, module);
    out
}

/// Mostly small functions, a few of a few hundred bytes; 86 bytes on average.
fn function_size(rng: &mut Rng) -> u32 {
    16 + rng.below(32) * (1 + rng.below(8))
}

/// A `FUNC` record for `code`, then line records for its statements (2-12 bytes of code each,
/// lines rising through one source file).
fn invented_function(
    out: &mut String,
    rng: &mut Rng,
    words: &Vocabulary,
    code: Range<u32>,
    source_files: u32,
) {
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

    /// Source file `index`: a distinct `<verb><noun>.c` for each of the first 900.
    fn source_file(&self, index: u32) -> String {
        let verb = VERBS[index as usize / NOUNS.len() % VERBS.len()];
        let noun = NOUNS[index as usize % NOUNS.len()];
        format!("{}\\{verb}{noun}.c", self.source_dir).to_ascii_lowercase()
    }
}
