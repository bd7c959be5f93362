//! Opening a minidump and reading what it says about the machine, the crash and the modules.
//!
//! Every stream is read on its own: a missing or broken stream becomes a [`TriageError`] in
//! [`DumpFacts::problems`] and the rest is still reported, so a damaged dump gives a partial
//! report instead of nothing.

use std::borrow::Cow;
use std::fs::File;
use std::path::Path;

use minidump::{
    Minidump, MinidumpException, MinidumpMiscInfo, MinidumpModuleList, MinidumpStream,
    MinidumpSystemInfo, Module as _,
};

mod fault;
mod hazard;

use crate::error::{Stream, TriageError};
use crate::model::{Addr, Crash, ExceptionCode, Module, SymbolState, System};

use crate::file_bytes::FileBytes;

/// An opened, header-checked minidump.
pub struct Dump {
    /// The parsed container; streams are decoded lazily on request.
    pub minidump: Minidump<'static, FileBytes>,
    /// Whether damage was found and set aside before parsing (see [`hazard`]).
    blanked: bool,
}

/// What the dump's own streams say, before any stack is walked.
#[derive(Debug, Default)]
pub struct DumpFacts {
    /// Operating system and CPU.
    pub system: Option<System>,
    /// The exception record.
    pub crash: Option<Crash>,
    /// Loaded modules; `symbols` is `Unused` until the walk fills it in.
    pub modules: Vec<Module>,
    /// OS id of the dumped process, from the misc info stream.
    pub process_id: Option<u32>,
    /// Streams that were missing or unreadable.
    pub problems: Vec<TriageError>,
}

impl Dump {
    /// Maps `path` read-only and checks the header and stream directory.
    pub fn open(path: &Path) -> Result<Dump, TriageError> {
        let io_error = |source| TriageError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        if file.metadata().map_err(io_error)?.len() == 0 {
            // mmap of an empty file fails on some platforms; it is simply an empty dump.
            return Err(TriageError::Empty);
        }
        // SAFETY: the mapping is read-only. If another process truncates the file while we
        // read it, the OS may raise SIGBUS; dump shares are treated as immutable inputs.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_error)?;
        Self::from_bytes(FileBytes::Mapped(map))
    }

    /// Parses a dump that is already in memory.
    pub fn from_bytes(bytes: FileBytes) -> Result<Dump, TriageError> {
        let len = bytes.len();
        let hazards = hazard::hazardous_entries(&bytes);
        let blanked = !hazards.is_empty();
        let bytes = if blanked {
            // Only damaged dumps pay for a private copy.
            let mut copy = bytes.to_vec();
            hazard::blank_out(&mut copy, &hazards);
            FileBytes::Owned(copy)
        } else {
            bytes
        };
        let minidump =
            Minidump::read(bytes).map_err(|error| TriageError::from_minidump(error, len))?;
        Ok(Dump { minidump, blanked })
    }

    /// Decodes one of the streams whose absence or damage is reported, telling the two
    /// apart: a directory entry pointing past the end of the file is damage, not absence.
    pub fn stream<'a, S: MinidumpStream<'a>>(&'a self, which: Stream) -> Result<S, TriageError> {
        self.minidump
            .get_stream::<S>()
            .map_err(|error| match error {
                minidump::Error::StreamNotFound => TriageError::MissingStream(which),
                other => TriageError::Malformed(format!("{} stream: {other}", which.name())),
            })
    }

    /// Reads system info, exception and modules, collecting problems instead of failing.
    pub fn facts(&self) -> DumpFacts {
        let mut facts = DumpFacts::default();
        if self.blanked {
            facts.problems.push(hazard::damage());
        }
        let system_info = match self.stream::<MinidumpSystemInfo>(Stream::SystemInfo) {
            Ok(info) => Some(info),
            Err(problem) => {
                facts.problems.push(problem);
                None
            }
        };
        facts.system = system_info.as_ref().map(describe_system);
        facts.process_id = self
            .minidump
            .get_stream::<MinidumpMiscInfo>()
            .ok()
            .and_then(|misc| misc.raw.process_id().copied());
        match self.minidump.get_stream::<MinidumpModuleList>() {
            Ok(list) => facts.modules = list.iter().map(describe_module).collect(),
            Err(minidump::Error::StreamNotFound) => facts
                .problems
                .push(TriageError::MissingStream(Stream::ModuleList)),
            Err(other) => facts
                .problems
                .push(TriageError::Malformed(format!("module list: {other}"))),
        }
        match self.minidump.get_stream::<MinidumpException>() {
            Ok(exception) => facts.crash = Some(describe_crash(&exception, system_info.as_ref())),
            // A dump taken on request (no crash) simply has no exception stream.
            Err(minidump::Error::StreamNotFound) => {}
            Err(other) => facts
                .problems
                .push(TriageError::Malformed(format!("exception: {other}"))),
        }
        facts
    }
}

fn describe_system(info: &MinidumpSystemInfo) -> System {
    let raw = &info.raw;
    let mut version = format!(
        "{}.{}.{}",
        raw.major_version, raw.minor_version, raw.build_number
    );
    if let Some(csd) = info.csd_version().filter(|csd| !csd.is_empty()) {
        version = format!("{version} {csd}");
    }
    System {
        os: info.os.long_name().into_owned(),
        os_version: Some(version),
        cpu: info.cpu.to_string(),
    }
}

fn describe_crash(exception: &MinidumpException, system: Option<&MinidumpSystemInfo>) -> Crash {
    let code = exception.raw.exception_record.exception_code;
    let (reason, address) = match system {
        Some(info) => (
            exception.get_crash_reason(info.os, info.cpu).to_string(),
            exception.get_crash_address(info.os, info.cpu),
        ),
        // Without system info the code cannot be named; the raw address still helps.
        None => (
            format!("{code:#010x}"),
            exception.raw.exception_record.exception_address,
        ),
    };
    Crash {
        thread_id: exception.get_crashing_thread_id(),
        code: ExceptionCode(code),
        reason,
        address: Addr(address),
    }
}

fn describe_module(module: &minidump::MinidumpModule) -> Module {
    let path = module.code_file().into_owned();
    Module {
        name: file_name(&path).to_string(),
        path,
        base: Addr(module.base_address()),
        size: module.size(),
        version: module.version().map(Cow::into_owned),
        debug_file: module.debug_file().map(|file| file_name(&file).to_string()),
        debug_id: module
            .debug_identifier()
            .map(|id| id.breakpad().to_string()),
        code_id: module.code_identifier().map(|id| id.to_string()),
        symbols: SymbolState::Unused,
    }
}

/// The last component of a Windows or Unix path, as dumps record both.
pub fn file_name(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}
