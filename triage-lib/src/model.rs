//! The one neutral report model.
//!
//! Every input (a walked minidump, a pasted text stack) ends up in these types, and rules,
//! classification and printers read only them. They are also exactly what `--format json`
//! serializes, so the JSON contract documented in the README is these definitions.
//!
//! Numbers that debuggers print in hex (addresses, offsets, exception codes) are numbers
//! here ([`Addr`], [`ExceptionCode`]) that serialize as `"0x…"` strings; a value the input
//! does not give is `None` (JSON `null`), never an empty string. Structs are
//! `#[non_exhaustive]`: build them with `Default` and field assignment, so a field added
//! later does not break embedders.

use std::borrow::Cow;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Version of the JSON contract, carried in every report as `schema_version`. Version 2
/// spells every absent value `null` (version 1 used `""` for a text frame's address).
pub const SCHEMA_VERSION: u32 = 2;

/// An address or offset in the crashed process. JSON spells it as lowercase hex with `0x`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addr(pub u64);

/// A Windows exception code (`NTSTATUS`), e.g. `0xc0000005`. JSON spells it as eight
/// lowercase hex digits with `0x`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExceptionCode(pub u32);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::Display for ExceptionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

/// An optional address as text shows it: the contract spelling, or nothing when absent.
pub(crate) fn addr_text(address: Option<Addr>) -> String {
    address
        .map(|address| address.to_string())
        .unwrap_or_default()
}

impl From<u64> for Addr {
    fn from(value: u64) -> Self {
        Addr(value)
    }
}

/// Reads the `0x`-prefixed hex the contract writes (any case).
fn parse_contract_hex(text: &str) -> Option<u64> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    u64::from_str_radix(digits, 16).ok()
}

impl std::str::FromStr for Addr {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        parse_contract_hex(text)
            .map(Addr)
            .ok_or_else(|| format!("{text:?} is not 0x-prefixed hex"))
    }
}

impl std::str::FromStr for ExceptionCode {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        parse_contract_hex(text)
            .and_then(|code| u32::try_from(code).ok())
            .map(ExceptionCode)
            .ok_or_else(|| format!("{text:?} is not a 32-bit 0x-prefixed hex code"))
    }
}

/// Serde and schema glue for the hex newtypes: both are strings on the wire.
macro_rules! hex_string_contract {
    ($type:ty, $name:literal, $pattern:literal) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = Cow::<str>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $type {
            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "pattern": $pattern })
            }
        }
    };
}

hex_string_contract!(Addr, "Addr", "^0x[0-9a-f]+$");
hex_string_contract!(ExceptionCode, "ExceptionCode", "^0x[0-9a-f]{8}$");

/// Gives a serialized enum its JSON spelling as `as_str()` and `Display`, so text output,
/// CSV columns and JSON never disagree.
macro_rules! json_spelling {
    ($type:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $type {
            /// The JSON spelling of this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(<$type>::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Whole result of triaging one input.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[non_exhaustive]
pub struct Report {
    /// Version of this contract, [`SCHEMA_VERSION`].
    #[serde(default = "current_schema_version")]
    #[schemars(range(min = 2, max = 2))]
    pub schema_version: u32,
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
    /// How likely the crash is to be exploitable, rated as Breakpad's processor rates it;
    /// present whenever `crash` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exploitability: Option<Exploitability>,
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

fn current_schema_version() -> u32 {
    SCHEMA_VERSION
}

impl Default for Report {
    fn default() -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            path: String::new(),
            process_id: None,
            status: Status::Ok,
            error: None,
            system: None,
            crash: None,
            exploitability: None,
            modules: Vec::new(),
            threads: Vec::new(),
            findings: Vec::new(),
            class: None,
            signature: None,
            bucket: None,
            blame: None,
            unparsed_lines: None,
            near_misses: Vec::new(),
        }
    }
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

json_spelling!(Status { Ok => "ok", Partial => "partial", Error => "error" });

/// A machine-readable error kind plus a human message.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorInfo {
    /// Stable identifier such as `not_a_minidump` or `missing_thread_list`.
    pub kind: ErrorKind,
    /// What went wrong, for people.
    pub message: String,
}

impl ErrorInfo {
    /// An error of `kind`, explained by `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ErrorInfo {
            kind,
            message: message.into(),
        }
    }
}

/// Why an input could not be read (fully): the stable `error.kind` values.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be opened or mapped.
    Io,
    /// Zero bytes: usually a dump writer that died before writing.
    EmptyFile,
    /// The first bytes are not the `MDMP` signature.
    NotAMinidump,
    /// The header or stream directory is cut off.
    Truncated,
    /// The header is valid but a structure inside is not.
    #[default]
    Malformed,
    /// No system-info stream.
    MissingSystemInfo,
    /// No thread-list stream.
    MissingThreadList,
    /// No module-list stream.
    MissingModuleList,
    /// A text input held no call stack.
    NoStackFound,
    /// The walk stopped at the work limit.
    WorkLimit,
    /// Frames were reported for the first threads only.
    ThreadLimit,
    /// The dump took longer than a scan's per-dump limit.
    Timeout,
    /// A dependency panicked while reading this input.
    Panic,
    /// A front end could not read part of a live target (the WinDbg extension).
    LiveTarget,
    /// The scan's worker process died while triaging this input.
    WorkerCrashed,
    /// The scan's worker process ran out of its memory limit on this input.
    OutOfMemory,
}

json_spelling!(ErrorKind {
    Io => "io",
    EmptyFile => "empty_file",
    NotAMinidump => "not_a_minidump",
    Truncated => "truncated",
    Malformed => "malformed",
    MissingSystemInfo => "missing_system_info",
    MissingThreadList => "missing_thread_list",
    MissingModuleList => "missing_module_list",
    NoStackFound => "no_stack_found",
    WorkLimit => "work_limit",
    ThreadLimit => "thread_limit",
    Timeout => "timeout",
    Panic => "panic",
    LiveTarget => "live_target",
    WorkerCrashed => "worker_crashed",
    OutOfMemory => "out_of_memory",
});

/// The machine the dump was written on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[non_exhaustive]
pub struct System {
    /// Operating system family, e.g. `Windows NT`.
    pub os: String,
    /// Version string, e.g. `5.0.2195 Service Pack 2`.
    pub os_version: Option<String>,
    /// CPU architecture: `x86`, `amd64`, `arm64`, ...
    pub cpu: String,
}

/// The exception record of the crash.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[non_exhaustive]
pub struct Crash {
    /// OS id of the thread that raised the exception.
    pub thread_id: u32,
    /// Raw exception code, e.g. `0xc0000005`.
    pub code: ExceptionCode,
    /// Symbolic reason, e.g. `EXCEPTION_ACCESS_VIOLATION_READ`.
    pub reason: String,
    /// Faulting data address for access violations, otherwise the exception address.
    pub address: Addr,
}

/// What an access violation tried to do with the faulting address.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Reading data.
    Read,
    /// Writing data.
    Write,
    /// Executing it as code (DEP).
    Execute,
}

json_spelling!(Access { Read => "read", Write => "write", Execute => "execute" });

impl Crash {
    /// Reason spellings of access violations, by access type. The reason is written from
    /// the exception record's first parameter (0 read, 1 write, 8 DEP) by the dump reader
    /// and is what the JSON keeps, so this is the one place that maps it back.
    const ACCESS_REASONS: [(Access, &'static str); 3] = [
        (Access::Read, "EXCEPTION_ACCESS_VIOLATION_READ"),
        (Access::Write, "EXCEPTION_ACCESS_VIOLATION_WRITE"),
        (Access::Execute, "EXCEPTION_ACCESS_VIOLATION_EXEC"),
    ];

    /// The access type of an access violation, when the record gives it.
    pub fn access(&self) -> Option<Access> {
        Self::ACCESS_REASONS
            .iter()
            .find(|(_, reason)| self.reason == *reason)
            .map(|&(access, _)| access)
    }

    /// The reason string the dump reader writes for an access violation of `access`.
    pub fn access_violation_reason(access: Access) -> &'static str {
        Self::ACCESS_REASONS
            .iter()
            .find(|(kind, _)| *kind == access)
            .map(|&(_, reason)| reason)
            .unwrap_or("EXCEPTION_ACCESS_VIOLATION")
    }
}

/// How exploitable a crash looks, and what the fault was: the access, the kind of address and
/// the faulting instruction, decoded from the dump's memory.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[non_exhaustive]
pub struct Exploitability {
    /// The rating, as Breakpad's processor gives it for Windows and Linux dumps.
    pub rating: Rating,
    /// Why, in one line.
    pub reason: String,
    /// What the faulting access did, when the exception record or the instruction tells.
    pub access: Option<Access>,
    /// Where the faulting address points.
    pub address_kind: AddressKind,
    /// The faulting instruction in Intel syntax, e.g. `mov dword ptr [eax+8],ecx`; `null`
    /// when the dump did not save the code or the CPU is not x86 or x64.
    pub instruction: Option<String>,
}

/// Breakpad's exploitability ratings, most serious first.
#[derive(
    Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    /// Likely exploitable.
    High,
    /// Possibly exploitable.
    Medium,
    /// Unlikely to be exploitable.
    Low,
    /// Not rated exploitable, but not benign either.
    Interesting,
    /// Benign: a NULL dereference, a benign signal, stack exhaustion.
    None,
    /// Not rated: no rules for this platform, or the dump lacks what the rules need.
    #[default]
    Unknown,
}

json_spelling!(Rating {
    High => "high",
    Medium => "medium",
    Low => "low",
    Interesting => "interesting",
    None => "none",
    Unknown => "unknown",
});

/// Where a faulting address points.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    /// Exactly 0.
    Null,
    /// Inside the first 64 KiB, which neither Windows nor Linux maps: NULL plus an offset.
    NearNull,
    /// Mapped by nothing the dump knows of (no module, stack or heap).
    Wild,
    /// A thread's stack.
    Stack,
    /// Heap or other private, anonymous memory.
    Heap,
    /// Inside a loaded module's image.
    Module,
    /// An x64 address whose upper 16 bits are not a copy of bit 47; the CPU faults on any use.
    NonCanonical,
    /// The dump does not say.
    #[default]
    Unknown,
}

json_spelling!(AddressKind {
    Null => "null",
    NearNull => "near_null",
    Wild => "wild",
    Stack => "stack",
    Heap => "heap",
    Module => "module",
    NonCanonical => "non_canonical",
    Unknown => "unknown",
});

/// One loaded module.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[non_exhaustive]
pub struct Module {
    /// File name without directory, e.g. `mapi32.dll`.
    pub name: String,
    /// Full path as the dump recorded it.
    pub path: String,
    /// Load address.
    pub base: Addr,
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
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SymbolState {
    /// A symbol file was found and parsed.
    Loaded,
    /// The module was on a stack, but no symbol file was found.
    Missing,
    /// A symbol file was found but could not be parsed.
    Corrupt,
    /// No frame pointed into the module, so no symbols were searched for.
    #[default]
    Unused,
}

json_spelling!(SymbolState {
    Loaded => "loaded",
    Missing => "missing",
    Corrupt => "corrupt",
    Unused => "unused",
});

/// One thread and its call stack.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct Frame {
    /// Position in the thread, 0 = innermost.
    pub index: usize,
    /// Instruction pointer (frame 0) or return address (callers); `null` when a text
    /// stack does not give it (WinDbg rows print a frame's address only in the callee's
    /// `RetAddr` column, so the innermost frame has none).
    pub address: Option<Addr>,
    /// File name of the containing module, without directory.
    pub module: Option<String>,
    /// Function name from symbols.
    pub function: Option<String>,
    /// `address` minus the function's start.
    pub offset: Option<Addr>,
    /// `address` minus the module's base.
    pub module_offset: Option<Addr>,
    /// How the walker found this frame.
    pub trust: Trust,
    /// WinDbg's `ChildEBP` (x86) or `Child-SP` (x64): the frame's base on the stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_base: Option<Addr>,
    /// x86 only: the three stack words above the return address, WinDbg `kb`'s
    /// "Args to Child"; `null` for a word the dump did not save.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<Option<Addr>>>,
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

json_spelling!(Trust {
    Context => "context",
    Cfi => "cfi",
    FramePointer => "frame_pointer",
    CfiScan => "cfi_scan",
    Scan => "scan",
    Inline => "inline",
    Text => "text",
    None => "none",
});

/// A known issue seen in the report.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Whether the module version in the dump already has the fix; JSON `true`, `false`
    /// or `null` (unknown).
    pub fix_installed: FixStatus,
    /// The module and version that fix the issue.
    pub fixed_in: Option<FixedIn>,
    /// What to do now.
    pub advice: String,
    /// The rule of a finding ranked before this one, on the same thread, whose matched
    /// frames include all of this one's: this pattern is part of that one's stack (an
    /// article republishing a shorter stack inside a longer one), so that finding is the
    /// verdict. Absent when this finding stands on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contained_in: Option<String>,
}

/// Whether the fix for a finding is in the dump's module version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FixStatus {
    /// The loaded module is at or past the fixed version.
    Installed,
    /// The loaded module is older than the fixed version.
    NotInstalled,
    /// No version to compare: the rule names no fix, or the module or its version is
    /// not in the input.
    #[default]
    Unknown,
}

json_spelling!(FixStatus {
    Installed => "installed",
    NotInstalled => "not_installed",
    Unknown => "unknown",
});

impl FixStatus {
    /// The JSON form: `true`, `false` or `null`.
    pub fn as_bool(self) -> Option<bool> {
        match self {
            FixStatus::Installed => Some(true),
            FixStatus::NotInstalled => Some(false),
            FixStatus::Unknown => None,
        }
    }
}

impl From<Option<bool>> for FixStatus {
    fn from(installed: Option<bool>) -> Self {
        match installed {
            Some(true) => FixStatus::Installed,
            Some(false) => FixStatus::NotInstalled,
            None => FixStatus::Unknown,
        }
    }
}

impl Serialize for FixStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_bool().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FixStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<bool>::deserialize(deserializer).map(FixStatus::from)
    }
}

impl JsonSchema for FixStatus {
    fn schema_name() -> Cow<'static, str> {
        "FixStatus".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["boolean", "null"] })
    }
}

/// Strength of a finding.
#[derive(
    Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Only module-level evidence fits (symbols were missing).
    #[default]
    Probable,
    /// The whole pattern matched on symbolized frames.
    Confirmed,
}

json_spelling!(Confidence { Probable => "probable", Confirmed => "confirmed" });

/// Where a fix shipped.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[non_exhaustive]
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

json_spelling!(CrashClass {
    NullDereference => "null_dereference",
    ReadAccessViolation => "read_access_violation",
    WriteAccessViolation => "write_access_violation",
    ExecuteAccessViolation => "execute_access_violation",
    AccessViolation => "access_violation",
    HeapCorruption => "heap_corruption",
    StackExhaustion => "stack_exhaustion",
    Breakpoint => "breakpoint",
    InvalidParameter => "invalid_parameter",
    FastFail => "fast_fail",
    CppException => "cpp_exception",
    Unknown => "unknown",
});

/// The frame a developer should look at first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[non_exhaustive]
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
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[non_exhaustive]
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

impl fmt::Display for NearMiss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

/// The JSON Schema of [`Report`]: the contract of `triage dump --format json`, of each
/// `triage scan --format jsonl` line and of `triage stacks --format json`.
pub fn report_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).expect("a schema is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_newtypes_round_trip_as_contract_strings() {
        let frame = Frame {
            address: Some(Addr(0x77f6_40fc)),
            offset: Some(Addr(0x56)),
            ..Frame::default()
        };
        let json = serde_json::to_value(&frame).unwrap();
        assert_eq!(json["address"], "0x77f640fc");
        assert_eq!(json["offset"], "0x56");
        assert_eq!(json["module_offset"], serde_json::Value::Null);
        let back: Frame = serde_json::from_value(json).unwrap();
        assert_eq!(back, frame);
        assert_eq!(ExceptionCode(0x8000_0003).to_string(), "0x80000003");
        assert!("77f640fc".parse::<Addr>().is_err());
        assert!("0x1ffffffff".parse::<ExceptionCode>().is_err());
    }

    #[test]
    fn fix_status_is_a_json_bool_or_null() {
        for (status, json) in [
            (FixStatus::Installed, "true"),
            (FixStatus::NotInstalled, "false"),
            (FixStatus::Unknown, "null"),
        ] {
            assert_eq!(serde_json::to_string(&status).unwrap(), json);
            assert_eq!(serde_json::from_str::<FixStatus>(json).unwrap(), status);
        }
    }

    #[test]
    fn enum_spellings_match_serde() {
        fn serde_text<T: Serialize>(value: T) -> String {
            serde_json::to_value(value)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        }
        assert_eq!(
            serde_text(Trust::FramePointer),
            Trust::FramePointer.as_str()
        );
        assert_eq!(serde_text(Trust::CfiScan), Trust::CfiScan.as_str());
        assert_eq!(
            serde_text(ErrorKind::NoStackFound),
            ErrorKind::NoStackFound.as_str()
        );
        assert_eq!(
            serde_text(ErrorKind::LiveTarget),
            ErrorKind::LiveTarget.as_str()
        );
        assert_eq!(
            serde_text(CrashClass::FastFail),
            CrashClass::FastFail.as_str()
        );
        assert_eq!(
            serde_text(SymbolState::Corrupt),
            SymbolState::Corrupt.as_str()
        );
        assert_eq!(serde_text(Access::Execute), Access::Execute.as_str());
        assert_eq!(
            serde_text(Rating::Interesting),
            Rating::Interesting.as_str()
        );
        assert_eq!(
            serde_text(AddressKind::NonCanonical),
            AddressKind::NonCanonical.as_str()
        );
        assert_eq!(
            serde_text(AddressKind::NearNull),
            AddressKind::NearNull.as_str()
        );
    }

    #[test]
    fn reports_carry_the_schema_version() {
        let json = serde_json::to_value(Report::default()).unwrap();
        assert_eq!(json["schema_version"], SCHEMA_VERSION);
        let old: Report = serde_json::from_str(
            r#"{"path":"x","status":"ok","error":null,
            "system":null,"crash":null,"modules":[],"threads":[],"findings":[]}"#,
        )
        .unwrap();
        assert_eq!(old.schema_version, SCHEMA_VERSION);
    }

    #[test]
    fn access_comes_from_the_reason_the_dump_reader_writes() {
        for access in [Access::Read, Access::Write, Access::Execute] {
            let crash = Crash {
                reason: Crash::access_violation_reason(access).to_string(),
                ..Crash::default()
            };
            assert_eq!(crash.access(), Some(access));
        }
        let other = Crash {
            reason: "EXCEPTION_BREAKPOINT".to_string(),
            ..Crash::default()
        };
        assert_eq!(other.access(), None);
    }
}
