//! Typed errors, each with a stable machine-readable kind for the JSON `error.kind` field.

use std::path::PathBuf;

use crate::model::{ErrorInfo, ErrorKind};

/// Why an input could not be triaged.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// The file could not be opened or mapped.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Zero bytes: usually a dump writer that died before writing.
    #[error("the file is empty")]
    Empty,
    /// The first bytes are not the `MDMP` signature.
    #[error("not a minidump: the file does not start with the MDMP signature")]
    NotAMinidump,
    /// The header or stream directory is cut off.
    #[error("truncated minidump: {0}")]
    Truncated(String),
    /// The header is valid but a structure inside is not.
    #[error("malformed minidump: {0}")]
    Malformed(String),
    /// A stream is absent.
    #[error("the dump has no {} stream", .0.name())]
    MissingStream(Stream),
    /// A text input held no call stack.
    #[error("no call stack found in the text")]
    NoStack,
    /// The walk examined as many candidate frames as the work limit allows.
    #[error("stack walk stopped after examining {0} candidate frames (work limit)")]
    WorkLimit(usize),
    /// More threads than the thread limit: the rest are listed without frames.
    #[error("frames reported for the first {0} threads only (thread limit)")]
    ThreadLimit(usize),
    /// The dump took longer than a scan's per-dump limit.
    #[error("gave up after {} s", .0.as_secs_f64())]
    Timeout(std::time::Duration),
    /// A dependency panicked while reading this input.
    #[error("internal panic while triaging: {0}")]
    Panic(String),
    /// The worker process triaging this input died (abort, stack overflow, a signal).
    #[error("{0}")]
    WorkerCrashed(String),
    /// The worker process triaging this input ran out of its memory limit.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
}

impl TriageError {
    /// Stable identifier used as `error.kind` in the JSON report.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TriageError::Io { .. } => ErrorKind::Io,
            TriageError::Empty => ErrorKind::EmptyFile,
            TriageError::NotAMinidump => ErrorKind::NotAMinidump,
            TriageError::Truncated(_) => ErrorKind::Truncated,
            TriageError::Malformed(_) => ErrorKind::Malformed,
            TriageError::MissingStream(Stream::SystemInfo) => ErrorKind::MissingSystemInfo,
            TriageError::MissingStream(Stream::ThreadList) => ErrorKind::MissingThreadList,
            TriageError::MissingStream(Stream::ModuleList) => ErrorKind::MissingModuleList,
            TriageError::NoStack => ErrorKind::NoStackFound,
            TriageError::WorkLimit(_) => ErrorKind::WorkLimit,
            TriageError::ThreadLimit(_) => ErrorKind::ThreadLimit,
            TriageError::Timeout(_) => ErrorKind::Timeout,
            TriageError::Panic(_) => ErrorKind::Panic,
            TriageError::WorkerCrashed(_) => ErrorKind::WorkerCrashed,
            TriageError::OutOfMemory(_) => ErrorKind::OutOfMemory,
        }
    }

    /// Classifies a `minidump` crate error for a file of `len` bytes.
    pub(crate) fn from_minidump(error: minidump::Error, len: usize) -> Self {
        use minidump::Error as E;
        match error {
            E::MissingHeader if len == 0 => TriageError::Empty,
            E::HeaderMismatch => TriageError::NotAMinidump,
            E::MissingHeader | E::MissingDirectory => TriageError::Truncated(error.to_string()),
            other => TriageError::Malformed(other.to_string()),
        }
    }

    /// The JSON form of this error.
    pub fn to_info(&self) -> ErrorInfo {
        ErrorInfo::new(self.kind(), self.to_string())
    }
}

/// Streams whose absence is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// OS and CPU; without it no context can be decoded.
    SystemInfo,
    /// Threads and their contexts.
    ThreadList,
    /// Loaded modules.
    ModuleList,
}

impl Stream {
    /// Human name, as used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Stream::SystemInfo => "system info",
            Stream::ThreadList => "thread list",
            Stream::ModuleList => "module list",
        }
    }
}
