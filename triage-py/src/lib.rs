//! The `triage` Python module: triage-lib's report as a dict.
//!
//! Each call returns what `triage dump --format json` (or `triage stacks`) prints, read
//! back by Python's own `json` module, so Python sees exactly the CLI's JSON contract.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use triage::rules::{RuleError, RuleSet};
use triage::Triage;

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
/// searched in order; `rules` are rule files or directories added to the built-in rules.
/// An unreadable dump gives a report with status "error"; a bad rule file raises
/// ValueError.
#[pyfunction]
#[pyo3(
    signature = (path, symbols = Vec::new(), rules = Vec::new()),
    text_signature = "(path, symbols=(), rules=())"
)]
fn dump(
    py: Python<'_>,
    path: PathBuf,
    symbols: Vec<PathBuf>,
    rules: Vec<PathBuf>,
) -> PyResult<Bound<'_, PyDict>> {
    // Walking stacks can take seconds: let other Python threads run meanwhile.
    let json = py.detach(|| -> Result<String, RuleError> {
        let triage = symbols
            .iter()
            .fold(Triage::builder(), |builder, entry| {
                builder.symbol_path(entry.display().to_string())
            })
            .rules(load_rules(&rules)?)
            .build();
        Ok(triage::print::json(&triage.dump_path(&path)))
    });
    report_dict(py, json)
}

/// Triages call stacks pasted as text (WinDbg, Dr. Watson, LLDB, KB articles) and returns
/// the report; `name` becomes its "path".
///
/// `rules` are rule files or directories added to the built-in rules; a bad rule file
/// raises ValueError. Text has no module versions, so "fix_installed" is None.
#[pyfunction]
#[pyo3(
    signature = (text, rules = Vec::new(), name = "-"),
    text_signature = "(text, rules=(), name='-')"
)]
fn stacks<'py>(
    py: Python<'py>,
    text: &str,
    rules: Vec<PathBuf>,
    name: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let json = py.detach(|| -> Result<String, RuleError> {
        let triage = Triage::builder().rules(load_rules(&rules)?).build();
        Ok(triage::print::json(&triage.stacks(name, text)))
    });
    report_dict(py, json)
}

/// The built-in rules plus `paths`, in order, as `triage --rules` loads them.
fn load_rules(paths: &[PathBuf]) -> Result<RuleSet, RuleError> {
    let mut rules = RuleSet::builtin();
    for path in paths {
        rules.load(path)?;
    }
    Ok(rules)
}

/// Reads the JSON report with Python's `json` module, or raises ValueError listing the
/// rule-file problems.
fn report_dict(py: Python<'_>, json: Result<String, RuleError>) -> PyResult<Bound<'_, PyDict>> {
    let json = json.map_err(|error| PyValueError::new_err(error.to_string()))?;
    let report = py.import("json")?.call_method1("loads", (json,))?;
    Ok(report.cast_into()?)
}
