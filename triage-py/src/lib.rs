//! The `triage` Python module: triage-lib's report as a dict.
//!
//! Each call returns what `triage dump --format json` (or `triage stacks`) prints, read
//! back by Python's own `json` module, so Python sees exactly the CLI's JSON contract.
//! Rule files and signature lists are loaded by the library's builder, as for the CLI.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use triage::{BuildError, Triage, TriageBuilder};

/// Crash triage for Windows minidumps: `dump` and `stacks` return the JSON report that
/// the `triage` command prints, as a dict.
#[pymodule(name = "triage")]
mod triage_module {
    #[pymodule_export]
    use super::{dump, stacks};
}

/// Triages the minidump at `path` and returns the report.
///
/// `symbols` are symbol directories (or `;`-separated lists, as in `_NT_SYMBOL_PATH`),
/// searched in order; `rules` are rule files or directories added to the built-in rules;
/// `signature_lists` are skip/prefix/sentinel/allocator list files or directories added
/// to the built-in lists (`triage --signature-lists`); `explain=True` adds "near_misses"
/// (`triage --explain`). An unreadable dump gives a report with status "error"; a bad
/// rule or list file raises ValueError.
#[pyfunction]
#[pyo3(
    signature = (path, symbols = Vec::new(), rules = Vec::new(), *, signature_lists = Vec::new(), explain = false),
    text_signature = "(path, symbols=(), rules=(), *, signature_lists=(), explain=False)"
)]
fn dump(
    py: Python<'_>,
    path: PathBuf,
    symbols: Vec<PathBuf>,
    rules: Vec<PathBuf>,
    signature_lists: Vec<PathBuf>,
    explain: bool,
) -> PyResult<Bound<'_, PyDict>> {
    // Walking stacks can take seconds: let other Python threads run meanwhile.
    let json = py.detach(|| -> Result<String, BuildError> {
        let triage = symbols
            .iter()
            .fold(
                engine(&rules, &signature_lists, explain),
                |builder, entry| builder.symbol_path(entry.display().to_string()),
            )
            .try_build()?;
        Ok(triage::print::json(&triage.dump_path(&path)))
    });
    report_dict(py, json)
}

/// Triages call stacks pasted as text (WinDbg, Dr. Watson, LLDB, KB articles) and returns
/// the report; `name` becomes its "path".
///
/// `rules`, `signature_lists` and `explain` are those of `dump`; a bad rule or list file
/// raises ValueError. Text has no module versions, so "fix_installed" is None.
#[pyfunction]
#[pyo3(
    signature = (text, rules = Vec::new(), name = "-", *, signature_lists = Vec::new(), explain = false),
    text_signature = "(text, rules=(), name='-', *, signature_lists=(), explain=False)"
)]
fn stacks<'py>(
    py: Python<'py>,
    text: &str,
    rules: Vec<PathBuf>,
    name: &str,
    signature_lists: Vec<PathBuf>,
    explain: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let json = py.detach(|| -> Result<String, BuildError> {
        let triage = engine(&rules, &signature_lists, explain).try_build()?;
        Ok(triage::print::json(&triage.stacks(name, text)))
    });
    report_dict(py, json)
}

/// The built-in rules and lists plus the given files, as `triage --rules`,
/// `--signature-lists` and `--explain` set them.
fn engine(rules: &[PathBuf], signature_lists: &[PathBuf], explain: bool) -> TriageBuilder {
    Triage::builder()
        .rule_files(rules)
        .signature_lists(signature_lists)
        .explain(explain)
}

/// Reads the JSON report with Python's `json` module, or raises ValueError listing the
/// rule-file and list-file problems.
fn report_dict(py: Python<'_>, json: Result<String, BuildError>) -> PyResult<Bound<'_, PyDict>> {
    let json = json.map_err(|error| PyValueError::new_err(error.to_string()))?;
    let report = py.import("json")?.call_method1("loads", (json,))?;
    Ok(report.cast_into()?)
}
