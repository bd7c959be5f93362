//! Helpers shared by the integration tests: a generated corpus and minidump readers.
#![allow(dead_code)] // each test binary uses a different subset

use minidump::{Minidump, MinidumpModuleList, MinidumpThreadList, Module};
use minidump_processor::ProcessState;
use minidump_unwind::{simple_symbol_supplier, FrameTrust, StackFrame, Symbolizer};
use std::path::{Path, PathBuf};

/// The committed `corpus/` directory.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("corpus/gen has a parent")
        .to_path_buf()
}

/// A freshly generated corpus in a temporary directory, removed on drop.
pub struct Generated {
    pub dir: tempfile::TempDir,
    pub cases: Vec<triage_corpus::Case>,
}

impl Generated {
    pub fn new() -> Generated {
        let dir = tempfile::tempdir().expect("temp dir");
        let cases = triage_corpus::generate(dir.path()).expect("generate");
        Generated { dir, cases }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    pub fn symbols(&self) -> PathBuf {
        self.path("symbols")
    }

    pub fn read(&self, file: &str) -> Minidump<'static, Vec<u8>> {
        let bytes = std::fs::read(self.path(file)).expect("dump exists");
        Minidump::read(bytes).expect("dump parses")
    }
}

/// Walks every thread of `dump` the way `minidump-stackwalk` does, with the Breakpad
/// symbols under `symbols`.
pub fn walk(dump: &Minidump<'static, Vec<u8>>, symbols: PathBuf) -> ProcessState {
    let provider = Symbolizer::new(simple_symbol_supplier(vec![symbols]));
    futures_executor::block_on(minidump_processor::process_minidump(dump, &provider))
        .expect("dump processes")
}

/// `C:\WINNT\system32\ntdll.dll` -> `NTDLL`, the article's spelling.
fn file_stem(code_file: &str) -> String {
    let file = code_file.rsplit('\\').next().unwrap_or(code_file);
    file.split('.').next().unwrap_or(file).to_ascii_uppercase()
}

/// `frames` are exactly the article's: module, function and offset of every row, frame 0
/// from the context and the rest by frame pointer.
pub fn assert_articles_frames(frames: &[StackFrame]) {
    assert_articles_frames_unwound(frames, &[]);
}

/// Like [`assert_articles_frames`], but the frames `by_cfi` were found by unwinding their
/// callee with its `STACK WIN` record instead of by frame pointer.
pub fn assert_articles_frames_unwound(frames: &[StackFrame], by_cfi: &[usize]) {
    let rows = kb_rows();
    assert_eq!(frames.len(), rows.len(), "no frame more or less");
    for (i, (frame, row)) in frames.iter().zip(&rows).enumerate() {
        let module = frame.module.as_ref().expect("frame in a module");
        assert_eq!(file_stem(&module.code_file()), row.module, "frame {i}");
        assert_eq!(frame.function_name.as_deref(), Some(&*row.function));
        // Callers are symbolized at their return address - 1; the article shows the return
        // address itself.
        let offset = frame.instruction - frame.function_base.expect("FUNC found");
        let expected = if i == 0 { row.offset } else { row.offset - 1 };
        assert_eq!(offset, expected, "frame {i} {}", row.function);
        let trust = if i == 0 {
            FrameTrust::Context
        } else if by_cfi.contains(&i) {
            FrameTrust::CallFrameInfo
        } else {
            FrameTrust::FramePointer
        };
        assert_eq!(frame.trust, trust, "frame {i}");
    }
}

pub fn module_list(dump: &Minidump<'static, Vec<u8>>) -> MinidumpModuleList {
    dump.get_stream().expect("module list")
}

pub fn thread_ids(dump: &Minidump<'static, Vec<u8>>) -> Vec<u32> {
    let threads: MinidumpThreadList = dump.get_stream().expect("thread list");
    threads.threads.iter().map(|t| t.raw.thread_id).collect()
}

/// Where a Breakpad symbol supplier looks for a module's `.sym`.
pub fn sym_path(symbols: &Path, module: &impl Module) -> PathBuf {
    let debug_file = module.debug_file().expect("debug file").to_string();
    let stem = debug_file.trim_end_matches(".pdb").to_string();
    let id = module
        .debug_identifier()
        .expect("debug id")
        .breakpad()
        .to_string();
    symbols
        .join(&debug_file)
        .join(id)
        .join(format!("{stem}.sym"))
}

/// File version of the module named `file_name` (case-insensitive).
pub fn module_version(dump: &Minidump<'static, Vec<u8>>, file_name: &str) -> Option<String> {
    module_list(dump)
        .iter()
        .find(|m| {
            m.code_file()
                .rsplit('\\')
                .next()
                .is_some_and(|f| f.eq_ignore_ascii_case(file_name))
        })
        .and_then(|m| m.version().map(|v| v.to_string()))
}

/// The stack printed in KB Q269588, pasted verbatim (`kb` columns).
pub const KB_STACK: &str = "\
0514efcc 77f640fc 04930000 40530000 0514eff8 NTDLL!RtlpFindAndCommitPages+0xde
0514f008 77f64830 04930000 000000b0 048b0588 NTDLL!RtlpExtendHeap+0x56
0514f0d0 6fff1921 04930000 00000001 000000a8 NTDLL!RtlAllocateHeap+0x1ae
0514f0f4 6fff1383 00000015 00000000 0000009e EXCHMEM!MpHeapAlloc+0x101
0514f104 6facfa8b 0000009e 6facfb25 048b0588 EXCHMEM!ExchMHeapAlloc+0x13
0514f10c 6facfb25 048b0588 00000000 0000009e MAPI32!LH_IntHeapAlloc+0xb
0514f11c 6fa960bf 048b0588 00000000 0000009e MAPI32!LH_ExtHeapAlloc+0x15
0514f138 6fa96118 00000001 048b0588 0514f16c MAPI32!MAPIAllocateBufferExt+0x2f
0514f14c 00593ce1 00000096 0514f16c 00000001 MAPI32!MAPIAllocateBuffer+0x28
0514f16c 00593ae3 063c7428 405904fc 00000000 EMSMTA!HrStrAToStrW+0x67
00000001 00000000 00000000 00000000 00000000 EMSMTA!HrTrackWriteLogA+0x187";

/// One parsed row of [`KB_STACK`].
pub struct KbRow {
    pub ebp: u32,
    pub ret: u32,
    pub args: [u32; 3],
    pub module: String,
    pub function: String,
    pub offset: u64,
}

pub fn kb_rows() -> Vec<KbRow> {
    let hex = |s: &str| u32::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex");
    KB_STACK
        .lines()
        .map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (module, rest) = cols[5].split_once('!').expect("module!symbol");
            let (function, offset) = rest.split_once('+').expect("symbol+offset");
            KbRow {
                ebp: hex(cols[0]),
                ret: hex(cols[1]),
                args: [hex(cols[2]), hex(cols[3]), hex(cols[4])],
                module: module.to_string(),
                function: function.to_string(),
                offset: hex(offset).into(),
            }
        })
        .collect()
}
