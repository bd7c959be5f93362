//! WinDbg/CDB extension: `!triage` runs triage-lib on the dump the debugger has open.
//!
//! DbgEng finds the exports by name: `DebugExtensionInitialize` when the DLL is
//! `.load`ed, then one export per command, each called with the engine's client (a raw
//! COM `IDebugClient*`) and the rest of the command line.
//!
//! The engine interfaces come from the `windows` crate rather than hand-written vtables:
//! nothing here can be tried against a real WinDbg, so the vtable layouts are taken from
//! Microsoft's metadata, and the test host's hand-written double checks them from the
//! other side.
//!
//! Only dump targets are supported: on a live target `GetDumpFileWide` fails and
//! `!triage` says so (walking threads through `IDebugSystemObjects` is not done yet).

use std::ffi::{c_char, c_void, CStr, CString, OsString};
use std::os::windows::ffi::OsStringExt;
use std::path::PathBuf;

use triage::model::Report;
use triage::print::{frame_symbol, ModuleStyle};
use triage::Triage;
use windows::core::{Interface, HRESULT, PCSTR};
use windows::Win32::Foundation::{E_FAIL, E_INVALIDARG, S_OK};
use windows::Win32::System::Diagnostics::Debug::Extensions::{
    IDebugClient, IDebugClient4, IDebugControl, IDebugSymbols, DEBUG_OUTCTL_AMBIENT_DML,
    DEBUG_OUTCTL_AMBIENT_TEXT, DEBUG_OUTPUT_ERROR, DEBUG_OUTPUT_NORMAL,
};

const USAGE: &str =
    "!triage        known issues in the open dump, with links to the KB and the thread\n\
                     !triage -v     the same, then every thread's stack, frames of a finding marked\n\
                     !triage -json  the full report as JSON (triage dump --format json)\n\
                     Symbols: the debugger's symbol path (.sympath), then _NT_SYMBOL_PATH.\n";

/// Called once on `.load`: reports the extension API version, 1.0, as
/// `DEBUG_EXTENSION_VERSION(1, 0)` does.
#[no_mangle]
pub unsafe extern "system" fn DebugExtensionInitialize(
    version: *mut u32,
    flags: *mut u32,
) -> HRESULT {
    if !version.is_null() {
        *version = 1 << 16;
    }
    if !flags.is_null() {
        *flags = 0;
    }
    S_OK
}

/// Called on `.unload`; nothing is kept between commands, so there is nothing to free.
#[no_mangle]
pub extern "system" fn DebugExtensionUninitialize() {}

/// `!help`: the commands and their options.
#[no_mangle]
pub unsafe extern "system" fn help(client: *mut c_void, _args: *const c_char) -> HRESULT {
    match IDebugClient::from_raw_borrowed(&client).and_then(|c| c.cast::<IDebugControl>().ok()) {
        Some(control) => {
            output(&control, DEBUG_OUTPUT_NORMAL, USAGE);
            S_OK
        }
        None => E_INVALIDARG,
    }
}

/// `!triage [-v | -json]`.
#[no_mangle]
pub unsafe extern "system" fn triage(client: *mut c_void, args: *const c_char) -> HRESULT {
    let Some(client) = IDebugClient::from_raw_borrowed(&client) else {
        return E_INVALIDARG;
    };
    let Ok(control) = client.cast::<IDebugControl>() else {
        return E_INVALIDARG;
    };
    let args = if args.is_null() {
        String::new()
    } else {
        CStr::from_ptr(args).to_string_lossy().into_owned()
    };
    let mode = match args.split_whitespace().collect::<Vec<_>>()[..] {
        [] => Mode::Findings,
        ["-v"] => Mode::Verbose,
        ["-json"] => Mode::Json,
        _ => {
            output(
                &control,
                DEBUG_OUTPUT_ERROR,
                &format!("!triage: unknown arguments {args:?}\n{USAGE}"),
            );
            return E_INVALIDARG;
        }
    };
    let Some(dump) = client
        .cast::<IDebugClient4>()
        .ok()
        .and_then(|c| dump_file(&c))
    else {
        output(
            &control,
            DEBUG_OUTPUT_ERROR,
            "!triage: no dump file is open; live targets are not supported yet (.dump /ma a file and open it)\n",
        );
        return E_FAIL;
    };
    let engine_path = client
        .cast::<IDebugSymbols>()
        .ok()
        .and_then(|s| symbol_path(&s));
    let triage = engine_path
        .iter()
        .fold(Triage::builder(), |builder, path| builder.symbol_path(path))
        .nt_symbol_path_from_env()
        .build();
    for entry in triage.unsupported_symbol_entries() {
        output(
            &control,
            DEBUG_OUTPUT_ERROR,
            &format!("!triage: ignoring symbol path entry {entry:?}\n"),
        );
    }
    let report = triage.dump_path(&dump);
    match mode {
        Mode::Json => output(
            &control,
            DEBUG_OUTPUT_NORMAL,
            &(triage::print::json(&report) + "\n"),
        ),
        Mode::Findings => dml(&control, &findings_dml(&triage, &report)),
        Mode::Verbose => dml(
            &control,
            &(findings_dml(&triage, &report) + &stacks_dml(&report)),
        ),
    }
    S_OK
}

enum Mode {
    Findings,
    Verbose,
    Json,
}

/// The path of the first dump file the engine has open, `None` on a live target.
unsafe fn dump_file(client: &IDebugClient4) -> Option<PathBuf> {
    let mut name = vec![0u16; 32 * 1024];
    let (mut size, mut handle, mut kind) = (0u32, 0u64, 0u32);
    client
        .GetDumpFileWide(
            0,
            Some(&mut name),
            Some(&mut size),
            Some(&mut handle),
            &mut kind,
        )
        .ok()?;
    let len = name.iter().position(|&c| c == 0).unwrap_or(name.len());
    (len > 0).then(|| PathBuf::from(OsString::from_wide(&name[..len])))
}

/// The engine's symbol path (`.sympath`), so `!triage` finds the same symbols WinDbg does.
unsafe fn symbol_path(symbols: &IDebugSymbols) -> Option<String> {
    let mut path = vec![0u8; 32 * 1024];
    symbols.GetSymbolPath(Some(&mut path), None).ok()?;
    let path = CStr::from_bytes_until_nul(&path)
        .ok()?
        .to_string_lossy()
        .into_owned();
    (!path.trim().is_empty()).then_some(path)
}

/// The verdict in DML: the KB reference opens in the browser, the thread is one click
/// away (`~~[tid]s` switches to it).
fn findings_dml(triage: &Triage, report: &Report) -> String {
    let mut out = format!("{}\n", escape(&report.path));
    if let Some(error) = &report.error {
        out += &format!("  {:?}: {}\n", report.status, escape(&error.message));
    }
    match &report.crash {
        Some(crash) => {
            out += &format!(
                "  crash: {} ({}) at {} on thread {}\n",
                escape(&crash.reason),
                crash.code,
                crash.address,
                thread_link(crash.thread_id)
            )
        }
        None => out += "  crash: none recorded\n",
    }
    if let Some(class) = report.class {
        let signature = report.signature.as_deref().unwrap_or("none");
        out += &format!("  class: {class}  signature: {}\n", escape(signature));
    }
    if report.findings.is_empty() {
        out += "  known issues: none\n";
    }
    for finding in &report.findings {
        let reference = triage
            .rules()
            .get(&finding.rule)
            .map(|r| r.rule.reference.as_str());
        let rule = match reference.filter(|r| r.starts_with("https://") || r.starts_with("http://"))
        {
            Some(url) => format!(
                "<link cmd=\".browse {}\">{}</link>",
                escape(url),
                escape(&finding.rule)
            ),
            None => escape(&finding.rule),
        };
        out += &format!(
            "  known issue {rule} ({:?}) on thread {}: {}\n    {}\n",
            finding.confidence,
            thread_link(finding.thread_id),
            escape(&finding.title),
            escape(&finding.advice)
        );
    }
    out
}

/// Every thread, crashing first, each frame marked with the rules whose pattern it
/// matched, so the frames a finding rests on stand out.
fn stacks_dml(report: &Report) -> String {
    let mut out = String::new();
    let crashed = report.threads.iter().filter(|t| t.crashed);
    for thread in crashed.chain(report.threads.iter().filter(|t| !t.crashed)) {
        let state = if thread.crashed { " (crashed)" } else { "" };
        out += &format!("\n  thread {}{state}\n", thread_link(thread.thread_id));
        for frame in &thread.frames {
            let trust = serde_json::to_value(frame.trust).unwrap_or_default();
            let rules: Vec<&str> = report
                .findings
                .iter()
                .filter(|f| {
                    f.thread_id == thread.thread_id && f.matched_frames.contains(&frame.index)
                })
                .map(|f| f.rule.as_str())
                .collect();
            let mark = if rules.is_empty() {
                String::new()
            } else {
                format!("  <b>&lt;- {}</b>", rules.join(", "))
            };
            out += &format!(
                "  {:3}  {}  [{}]{mark}\n",
                frame.index,
                escape(&frame_symbol(frame, ModuleStyle::FileName)),
                trust.as_str().unwrap_or("?")
            );
        }
        if thread.truncated {
            out += "       ... more frames cut at the frame limit\n";
        }
    }
    out
}

/// `~~[tid]s` switches the debugger to the thread; `kb` then shows its stack.
fn thread_link(tid: u32) -> String {
    format!("<link cmd=\"~~[{tid:#x}]s; kb\">{tid} ({tid:#x})</link>")
}

/// DML treats `<`, `>` and `&` as markup.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn dml(control: &IDebugControl, text: &str) {
    write(control, DEBUG_OUTCTL_AMBIENT_DML, DEBUG_OUTPUT_NORMAL, text);
}

fn output(control: &IDebugControl, mask: u32, text: &str) {
    write(control, DEBUG_OUTCTL_AMBIENT_TEXT, mask, text);
}

/// One `ControlledOutput` call per line: the text is a printf format to the engine (so
/// `%` is doubled) and the engine's format buffer is bounded, so a long report is never
/// sent in one call.
fn write(control: &IDebugControl, outctl: u32, mask: u32, text: &str) {
    for line in text.split_inclusive('\n') {
        let format = line.replace('\0', "").replace('%', "%%");
        let format = CString::new(format).expect("NULs were removed");
        // Output errors (a closed client) leave nothing better to do than go on.
        let _ = unsafe { control.ControlledOutput(outctl, mask, PCSTR(format.as_ptr().cast())) };
    }
}
