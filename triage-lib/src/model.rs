//! The one neutral report model.
//!
//! Every input (a walked minidump, a pasted text stack) ends up in these types, and rules,
//! classification and printers read only them. They are also exactly what `--format json`
//! serializes, so the JSON contract documented in the README is these definitions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whole result of triaging one input.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Report {
    /// Where the input came from (a file path, or `-` for standard input).
    pub path: String,
    /// OS id of the dumped process, when the dump records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u32>,
    /// Whether everything could be read.
    pub status: Status,
    /// Why the input could not be read (fully), when it could not.
    pub error: Option<ErrorInfo>,
    /// Operating system and CPU, when the input says.
    pub system: Option<System>,
    /// The exception that ended the process, if any.
    pub crash: Option<Crash>,
    /// Loaded modules, in the order the dump lists them.
    pub modules: Vec<Module>,
    /// Every thread, each with its frames innermost first.
    pub threads: Vec<Thread>,
    /// Known issues whose pattern the threads show.
    pub findings: Vec<Finding>,
    /// What kind of crash this is; `null` when the input could not be read.
    #[serde(default)]
    pub class: Option<CrashClass>,
    /// Stable name of the crash, `frame | frame | ...`, for bucketing crashes that no rule
    /// knows; `null` without frames.
    #[serde(default)]
    pub signature: Option<String>,
    /// WinDbg-style `FAILURE_BUCKET_ID`: `<CLASS>_<code>_<module>!<function>`.
    #[serde(default)]
    pub bucket: Option<String>,
    /// The frame to look at first, and why.
    #[serde(default)]
    pub blame: Option<Blame>,
    /// Text input only: lines that were not understood as stack frames or known noise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unparsed_lines: Option<usize>,
    /// Rules that matched only part of their pattern; filled on request (`--explain`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub near_misses: Vec<NearMiss>,
}

/// How completely an input was read.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Everything was read.
    #[default]
    Ok,
    /// Some parts are missing or damaged; the rest is reported.
    Partial,
    /// Nothing useful could be read.
    Error,
}

/// A machine-readable error kind plus a human message.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ErrorInfo {
    /// Stable identifier such as `not_a_minidump` or `missing_thread_list`.
    pub kind: String,
    /// What went wrong, for people.
    pub message: String,
}

/// The machine the dump was written on.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct System {
    /// Operating system family, e.g. `Windows NT`.
    pub os: String,
    /// Version string, e.g. `5.0.2195 Service Pack 2`.
    pub os_version: Option<String>,
    /// CPU architecture: `x86`, `amd64`, `arm64`, ...
    pub cpu: String,
}

/// The exception record of the crash.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Crash {
    /// OS id of the thread that raised the exception.
    pub thread_id: u32,
    /// Raw exception code, e.g. `0xc0000005`.
    pub code: String,
    /// Symbolic reason, e.g. `EXCEPTION_ACCESS_VIOLATION_READ`.
    pub reason: String,
    /// Faulting data address for access violations, otherwise the exception address.
    pub address: String,
}

/// One loaded module.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Module {
    /// File name without directory, e.g. `mapi32.dll`.
    pub name: String,
    /// Full path as the dump recorded it.
    pub path: String,
    /// Load address.
    pub base: String,
    /// Size of the image in bytes.
    pub size: u64,
    /// File version from VS_FIXEDFILEINFO, e.g. `5.5.2652.57`.
    pub version: Option<String>,
    /// Debug file (PDB) name, e.g. `mapi32.pdb`.
    pub debug_file: Option<String>,
    /// Breakpad-style debug identifier.
    pub debug_id: Option<String>,
    /// Code identifier (PE timestamp + image size).
    pub code_id: Option<String>,
    /// Whether symbols were found for this module.
    pub symbols: SymbolState,
}

/// Outcome of the symbol search for one module.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SymbolState {
    /// A symbol file was found and parsed.
    Loaded,
    /// The module was on a stack, but no symbol file was found.
    Missing,
    /// A symbol file was found but could not be parsed.
    Corrupt,
    /// No frame pointed into the module, so no symbols were searched for.
    Unused,
}

/// One thread and its call stack.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Thread {
    /// OS thread id. Text stacks without one get their position in the input.
    pub thread_id: u32,
    /// Thread name, when the dump or the text has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether this thread raised the exception.
    pub crashed: bool,
    /// Frames, innermost first.
    pub frames: Vec<Frame>,
    /// True when the walk stopped at the frame cap rather than at the stack's end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// One stack frame, in WinDbg's convention: for caller frames `address` is the return
/// address and `offset` is measured from it (the KB's `RtlpExtendHeap+0x56`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Frame {
    /// Position in the thread, 0 = innermost.
    pub index: usize,
    /// Instruction pointer (frame 0) or return address (callers).
    pub address: String,
    /// File name of the containing module, without directory.
    pub module: Option<String>,
    /// Function name from symbols.
    pub function: Option<String>,
    /// `address` minus the function's start.
    pub offset: Option<String>,
    /// `address` minus the module's base.
    pub module_offset: Option<String>,
    /// How the walker found this frame.
    pub trust: Trust,
    /// WinDbg's `ChildEBP` (x86) or `Child-SP` (x64): the frame's base on the stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_base: Option<String>,
    /// x86 only: the three stack words above the return address, WinDbg `kb`'s
    /// "Args to Child"; `null` for a word the dump did not save.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<Option<String>>>,
    /// Source file and line, when symbols have them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// How much the walker trusts a frame, weakest last.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// Taken from the thread's register context.
    Context,
    /// Unwound with call-frame information (CFI or STACK WIN).
    Cfi,
    /// Unwound by following the frame-pointer chain.
    FramePointer,
    /// Found by scanning with CFI help.
    CfiScan,
    /// Found by scanning the stack for plausible return addresses.
    Scan,
    /// An inlined call inside the following physical frame.
    Inline,
    /// Given by the input as text, not walked.
    #[default]
    Text,
    /// The walker could not say.
    None,
}

/// A known issue seen in the report.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Finding {
    /// Rule id, e.g. `Q269588`.
    pub rule: String,
    /// Rule title.
    pub title: String,
    /// How sure the match is.
    pub confidence: Confidence,
    /// Thread that shows the pattern.
    pub thread_id: u32,
    /// Indexes of the frames that matched the pattern, innermost first.
    pub matched_frames: Vec<usize>,
    /// Whether the module version in the dump already has the fix (`None`: unknown).
    pub fix_installed: Option<bool>,
    /// The module and version that fix the issue.
    pub fixed_in: Option<FixedIn>,
    /// What to do now.
    pub advice: String,
}

/// Strength of a finding.
#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Only module-level evidence fits (symbols were missing).
    Probable,
    /// The whole pattern matched on symbolized frames.
    Confirmed,
}

/// Where a fix shipped.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct FixedIn {
    /// Module file name, e.g. `mapi32.dll`.
    pub module: String,
    /// First fixed file version, e.g. `5.5.2652.85`.
    pub version: String,
}

/// Kind of crash, read from the exception record and the faulting frames.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CrashClass {
    /// Access violation in the first 64 KiB: a NULL pointer plus a field offset.
    NullDereference,
    /// Reading an address that is not mapped or not readable.
    ReadAccessViolation,
    /// Writing an address that is not mapped or not writable.
    WriteAccessViolation,
    /// Executing non-executable memory (DEP, access type 8).
    ExecuteAccessViolation,
    /// An access violation whose access type the dump did not record.
    AccessViolation,
    /// A fault inside heap code, or `STATUS_HEAP_CORRUPTION` (0xc0000374).
    HeapCorruption,
    /// `STATUS_STACK_OVERFLOW` (0xc00000fd).
    StackExhaustion,
    /// A breakpoint instruction (0x80000003, or 0x4000001f under WoW64).
    Breakpoint,
    /// A C runtime or system call rejected an argument (0xc000000d, 0xc0000417).
    InvalidParameter,
    /// `__fastfail` or a /GS stack cookie check (0xc0000409).
    FastFail,
    /// An uncaught C++ exception (0xe06d7363).
    CppException,
    /// None of the above, or no exception recorded.
    Unknown,
}

impl std::fmt::Display for CrashClass {
    /// The JSON spelling, e.g. `null_dereference`, so text and JSON never disagree.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
        f.write_str(value.as_str().unwrap_or_default())
    }
}

/// The frame a developer should look at first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Blame {
    /// Thread the frame is on (the crashing thread, else the first one).
    pub thread_id: u32,
    /// The frame's `index` in that thread.
    pub frame: usize,
    /// Its module, when known.
    pub module: Option<String>,
    /// Its function, as the frame names it, when symbolized.
    pub function: Option<String>,
    /// Why this frame, when blaming it is not the whole story (heap corruption).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A rule that matched part of its pattern on some thread, for `--explain`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct NearMiss {
    /// The rule.
    pub rule: String,
    /// The thread with the longest partial match.
    pub thread_id: u32,
    /// Pattern frames found, in order.
    pub matched: usize,
    /// Pattern length.
    pub total: usize,
    /// One line per missing pattern frame, saying where it should have been.
    pub missing: Vec<String>,
}

impl std::fmt::Display for NearMiss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: thread {}: {} of {} frames matched",
            self.rule, self.thread_id, self.matched, self.total
        )?;
        for missing in &self.missing {
            write!(f, "; {missing}")?;
        }
        Ok(())
    }
}

impl Report {
    /// The thread that raised the exception, if known.
    pub fn crashing_thread(&self) -> Option<&Thread> {
        self.threads.iter().find(|thread| thread.crashed)
    }
}

/// Formats an address the way the JSON contract spells it: lowercase hex with `0x`.
pub fn hex(value: u64) -> String {
    format!("{value:#x}")
}

/// The JSON Schema of [`Report`]: the contract of `triage dump --format json`, of each
/// `triage scan --format jsonl` line and of `triage stacks --format json`.
pub fn report_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).expect("a schema is JSON")
}
