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

/// The native part of the `triage` package (`triage-py/python/triage` re-exports it):
/// `dump` and `stacks` return the JSON report that the `triage` command prints, as a
/// dict; `Engine` keeps one configured engine, so symbol files are parsed once across
/// dumps; `discover` finds dumps as `triage scan` does.
#[pymodule(name = "_native")]
mod triage_module {
    #[pymodule_export]
    use super::{discover, dump, stacks, Engine};
}

/// A configured engine, reused across calls: symbol files are parsed once and shared by
/// every dump it triages (what `triage.dask` keeps one of per worker process).
///
/// `symbols`, `rules`, `signature_lists` and `explain` are those of `dump`; a bad rule or
/// list file raises ValueError.
#[pyclass(frozen, module = "triage")]
struct Engine {
    triage: Triage,
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (symbols = Vec::new(), rules = Vec::new(), *, signature_lists = Vec::new(), explain = false))]
    fn new(
        symbols: Vec<PathBuf>,
        rules: Vec<PathBuf>,
        signature_lists: Vec<PathBuf>,
        explain: bool,
    ) -> PyResult<Self> {
        let triage = symbols
            .iter()
            .fold(
                engine(&rules, &signature_lists, explain),
                |builder, entry| builder.symbol_path(entry.display().to_string()),
            )
            .try_build()
            .map_err(|error| PyValueError::new_err(error.to_string()))?;
        Ok(Engine { triage })
    }

    /// Triages the minidump at `path` and returns the report, as `triage.dump` does.
    fn dump<'py>(&self, py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
        // Walking stacks can take seconds: let other Python threads run meanwhile.
        let json = py.detach(|| triage::print::json(&self.triage.dump_path(&path)));
        report_dict(py, Ok(json))
    }

    /// Triages call stacks pasted as text, as `triage.stacks` does.
    #[pyo3(signature = (text, name = "-"))]
    fn stacks<'py>(&self, py: Python<'py>, text: &str, name: &str) -> PyResult<Bound<'py, PyDict>> {
        let json = py.detach(|| triage::print::json(&self.triage.stacks(name, text)));
        report_dict(py, Ok(json))
    }
}

/// The dumps under `paths` (files or directories), as `triage scan` finds them: files that
/// start with `MDMP` or are named `*.dmp`/`*.mdmp`, and files that could not be read (each
/// still gets a report), sorted by path.
#[pyfunction]
fn discover(py: Python<'_>, paths: Vec<PathBuf>) -> Vec<String> {
    py.detach(|| {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let nothing_known = std::collections::HashSet::<String>::new();
        let found = triage::scan::discover(&paths, threads, &nothing_known);
        let mut all: Vec<String> = found
            .dumps
            .into_iter()
            .chain(found.unreadable.into_iter().map(|(file, _)| file))
            .map(|file| file.path.display().to_string())
            .collect();
        all.sort();
        all
    })
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
    let engine = Engine::new(symbols, rules, signature_lists, explain)?;
    engine.dump(py, path)
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
