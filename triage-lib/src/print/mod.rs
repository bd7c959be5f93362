//! Printers over the model. Each takes a [`Report`] and returns the text to show, so the
//! CLI and embedding programs print exactly the same thing.

#[cfg(feature = "db")]
mod db;
mod html;
mod kb;
mod scan;
mod text;

#[cfg(feature = "db")]
pub use db::{
    crash_report_html, crash_report_text, import_text, query_csv, query_table, rejudged_text,
    scan_db_line,
};
pub use html::html;
pub(crate) use html::shorten;
pub use kb::kb;
pub use scan::{csv_record, summary_text, CsvWriter, CSV_HEADER};
pub use text::{
    exploitability_line, text, text_with, verdict, verdict_with, PlainText, TextDetail, TextMarkup,
};

use crate::model::{addr_text, Frame, Report};
use crate::module_name;

/// The stable JSON contract (documented in the README), pretty-printed.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("the report model always serializes")
}

/// How a module is named in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleStyle {
    /// The file name, `mapi32.dll`, as minidump-stackwalk shows it.
    FileName,
    /// Without the extension, `mapi32`, as WinDbg shows it.
    WinDbg,
}

/// `module!function+0xoff`, `module+0xoff` or the bare address, the way WinDbg names a
/// frame.
pub fn frame_symbol(frame: &Frame, style: ModuleStyle) -> String {
    let module = frame.module.as_deref().map(|name| match style {
        ModuleStyle::FileName => name,
        ModuleStyle::WinDbg => module_name::stem(name),
    });
    match (module, &frame.function, &frame.offset, &frame.module_offset) {
        (Some(module), Some(function), Some(offset), _) => format!("{module}!{function}+{offset}"),
        (Some(module), Some(function), None, _) => format!("{module}!{function}"),
        (None, Some(function), _, _) => function.clone(),
        (Some(module), None, _, Some(module_offset)) => format!("{module}+{module_offset}"),
        _ => addr_text(frame.address),
    }
}
