//! WinDbg/CDB extension: `!triage` runs triage-lib on the debugger's dump or live target.
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
//! With a dump open, `!triage` runs the library on the dump file itself. On a live target
//! (`GetDumpFileWide` fails) it builds the library's model from the engine instead:
//! threads from `IDebugSystemObjects`, their stacks from `IDebugControl::GetStackTrace`
//! named by `IDebugSymbols::GetNameByOffset`, modules and file versions from
//! `IDebugSymbols2`, and then runs the same rules and classifier on it.
//!
//! What `!triage` and `!triage -v` print is the library's text printer (`triage dump
//! --format text`, without or with the stacks) with a DML markup: links on rules and
//! threads, matched frames in bold.

use std::borrow::Cow;
use std::ffi::{c_char, c_void, CStr, CString, OsString};
use std::os::windows::ffi::OsStringExt;
use std::path::PathBuf;

use triage::model::{
    Addr, ErrorInfo, ErrorKind, Frame, Module, Report, Status, SymbolState, Thread, Trust,
};
use triage::print::{text_with, TextDetail, TextMarkup};
use triage::rules::RuleSet;
use triage::Triage;
use windows::core::{Interface, HRESULT, PCSTR};
use windows::Win32::Foundation::{E_FAIL, E_INVALIDARG, S_OK};
use windows::Win32::System::Diagnostics::Debug::Extensions::{
    IDebugClient, IDebugClient4, IDebugControl, IDebugSymbols, IDebugSymbols2, IDebugSystemObjects,
    DEBUG_MODNAME_IMAGE, DEBUG_MODNAME_MODULE, DEBUG_OUTCTL_AMBIENT_DML, DEBUG_OUTCTL_AMBIENT_TEXT,
    DEBUG_OUTPUT_ERROR, DEBUG_OUTPUT_NORMAL, DEBUG_STACK_FRAME,
};

const USAGE: &str =
    "!triage        the verdict and known issues in the open dump or live target, with links to the KB and the threads\n\
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
    let dump = client
        .cast::<IDebugClient4>()
        .ok()
        .and_then(|c| dump_file(&c));
    let (triage, report) = match dump {
        Some(dump) => {
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
            (triage, report)
        }
        // A live target: the engine has already walked and named everything, so no
        // symbol files are read here.
        None => match live_report(client, &control) {
            Ok(report) => {
                let triage = Triage::builder().build();
                let report = triage.judge_report(report);
                (triage, report)
            }
            Err(message) => {
                output(
                    &control,
                    DEBUG_OUTPUT_ERROR,
                    &format!("!triage: no dump file is open, and the live target could not be read: {message}\n"),
                );
                return E_FAIL;
            }
        },
    };
    let markup = Dml {
        rules: triage.rules(),
    };
    match mode {
        Mode::Json => output(
            &control,
            DEBUG_OUTPUT_NORMAL,
            &(triage::print::json(&report) + "\n"),
        ),
        Mode::Findings => dml(&control, &text_with(&report, &markup, TextDetail::Summary)),
        Mode::Verbose => dml(&control, &text_with(&report, &markup, TextDetail::Full)),
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

/// Frames asked of the engine per thread: the limit `triage --max-frames` sets for a dump
/// (frames kept per thread), at its default; a thread with more is marked `truncated`.
const LIVE_MAX_FRAMES: usize = triage::Limits::DEFAULT_MAX_FRAMES_PER_THREAD;

/// What `report.path` says for a live target.
const LIVE_PATH: &str = "live target";

/// One module as the engine lists it: the model's entry plus the engine's module name
/// (`MAPI32`), which is what `GetNameByOffset` puts before the `!`.
struct LiveModule {
    engine_name: String,
    base: u64,
    module: Module,
}

/// The model of a live target, built from the engine: every thread's stack and every
/// loaded module with its file version. The engine's current thread is switched to walk
/// each stack and is restored afterwards. `Err` only when no thread can be listed;
/// a thread whose stack fails is kept without frames and the report is `partial`.
unsafe fn live_report(client: &IDebugClient, control: &IDebugControl) -> Result<Report, String> {
    let system = client
        .cast::<IDebugSystemObjects>()
        .map_err(|e| format!("no IDebugSystemObjects: {e}"))?;
    let symbols = client
        .cast::<IDebugSymbols2>()
        .map_err(|e| format!("no IDebugSymbols2: {e}"))?;
    let count = system
        .GetNumberThreads()
        .map_err(|e| format!("GetNumberThreads: {e}"))?;
    if count == 0 {
        return Err("the engine lists no threads".to_string());
    }
    let (mut ids, mut system_ids) = (vec![0u32; count as usize], vec![0u32; count as usize]);
    system
        .GetThreadIdsByIndex(
            0,
            count,
            Some(ids.as_mut_ptr()),
            Some(system_ids.as_mut_ptr()),
        )
        .map_err(|e| format!("GetThreadIdsByIndex: {e}"))?;
    let mut problems = Vec::new();
    let mut modules = live_modules(&symbols, &mut problems);
    let original = system.GetCurrentThreadId().ok();
    // The thread of the last event (the exception, the break-in); without one, the
    // thread the user is on.
    let crashed = system.GetEventThread().ok().or(original);
    let mut threads = Vec::with_capacity(ids.len());
    for (&id, &system_id) in ids.iter().zip(&system_ids) {
        let stack = system
            .SetCurrentThreadId(id)
            .map_err(|e| format!("SetCurrentThreadId: {e}"))
            .and_then(|()| live_stack(control, &symbols, &modules));
        let (frames, truncated) = stack.unwrap_or_else(|e| {
            problems.push(format!("thread {system_id:#x}: {e}"));
            (Vec::new(), false)
        });
        let mut thread = Thread::default();
        thread.thread_id = system_id;
        thread.crashed = Some(id) == crashed;
        thread.frames = frames;
        thread.truncated = truncated;
        threads.push(thread);
    }
    if let Some(original) = original {
        if let Err(e) = system.SetCurrentThreadId(original) {
            problems.push(format!("restoring the current thread: {e}"));
        }
    }
    for entry in &mut modules {
        let frames: Vec<&Frame> = threads
            .iter()
            .flat_map(|t| &t.frames)
            .filter(|f| f.module.as_deref() == Some(entry.module.name.as_str()))
            .collect();
        entry.module.symbols = if frames.is_empty() {
            SymbolState::Unused
        } else if frames.iter().any(|f| f.function.is_some()) {
            SymbolState::Loaded
        } else {
            SymbolState::Missing
        };
    }
    let error =
        (!problems.is_empty()).then(|| ErrorInfo::new(ErrorKind::LiveTarget, problems.join("; ")));
    let mut report = Report::default();
    report.path = LIVE_PATH.to_string();
    report.status = if error.is_some() {
        Status::Partial
    } else {
        Status::Ok
    };
    report.error = error;
    report.modules = modules.into_iter().map(|m| m.module).collect();
    report.threads = threads;
    Ok(report)
}

/// The loaded modules, in the engine's order, each with its file version
/// (`VS_FIXEDFILEINFO`, which `fix_installed` compares against). The engine does not say
/// the image size through these calls, so `size` is 0.
unsafe fn live_modules(symbols: &IDebugSymbols2, problems: &mut Vec<String>) -> Vec<LiveModule> {
    let (mut loaded, mut unloaded) = (0u32, 0u32);
    if let Err(e) = symbols.GetNumberModules(&mut loaded, &mut unloaded) {
        problems.push(format!("GetNumberModules: {e}"));
        return Vec::new();
    }
    let mut modules = Vec::new();
    for index in 0..loaded {
        let base = match symbols.GetModuleByIndex(index) {
            Ok(base) => base,
            Err(e) => {
                problems.push(format!("GetModuleByIndex({index}): {e}"));
                continue;
            }
        };
        let engine_name = module_name(symbols, DEBUG_MODNAME_MODULE, index).unwrap_or_default();
        let path = module_name(symbols, DEBUG_MODNAME_IMAGE, index)
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| engine_name.clone());
        let name = path.rsplit(['\\', '/']).next().unwrap_or(&path).to_string();
        let mut module = Module::default();
        module.name = name;
        module.path = path;
        module.base = Addr(base);
        module.version = module_version(symbols, index);
        modules.push(LiveModule {
            engine_name,
            base,
            module,
        });
    }
    modules
}

unsafe fn module_name(symbols: &IDebugSymbols2, which: u32, index: u32) -> Option<String> {
    let mut name = vec![0u8; 1024];
    symbols
        .GetModuleNameString(which, index, 0, Some(&mut name), None)
        .ok()?;
    Some(
        CStr::from_bytes_until_nul(&name)
            .ok()?
            .to_string_lossy()
            .into_owned(),
    )
}

/// The file version from the module's `VS_FIXEDFILEINFO` (version item `"\\"`).
unsafe fn module_version(symbols: &IDebugSymbols2, index: u32) -> Option<String> {
    // VS_FIXEDFILEINFO: 13 DWORDs, signature first, file version MS/LS third and fourth.
    let mut info = [0u32; 13];
    symbols
        .GetModuleVersionInformation(
            index,
            0,
            PCSTR(b"\\\0".as_ptr()),
            Some(info.as_mut_ptr().cast()),
            std::mem::size_of_val(&info) as u32,
            None,
        )
        .ok()?;
    if info[0] != 0xfeef_04bd {
        return None;
    }
    let (ms, ls) = (info[2], info[3]);
    Some(format!(
        "{}.{}.{}.{}",
        ms >> 16,
        ms & 0xffff,
        ls >> 16,
        ls & 0xffff
    ))
}

/// The current thread's stack as the engine walks it (`k`), innermost first.
unsafe fn live_stack(
    control: &IDebugControl,
    symbols: &IDebugSymbols2,
    modules: &[LiveModule],
) -> Result<(Vec<Frame>, bool), String> {
    let mut raw = vec![DEBUG_STACK_FRAME::default(); LIVE_MAX_FRAMES + 1];
    let mut filled = 0u32;
    control
        .GetStackTrace(0, 0, 0, &mut raw, Some(&mut filled))
        .map_err(|e| format!("GetStackTrace: {e}"))?;
    let filled = (filled as usize).min(raw.len());
    let frames = raw[..filled.min(LIVE_MAX_FRAMES)]
        .iter()
        .enumerate()
        .map(|(index, raw)| live_frame(symbols, modules, index, raw))
        .collect();
    Ok((frames, filled > LIVE_MAX_FRAMES))
}

/// One engine frame in the model's convention: `InstructionOffset` is the instruction
/// pointer in frame 0 and the return address into the frame in callers (the caller's
/// `ReturnOffset`), which is what `Frame::address` holds.
unsafe fn live_frame(
    symbols: &IDebugSymbols2,
    modules: &[LiveModule],
    index: usize,
    raw: &DEBUG_STACK_FRAME,
) -> Frame {
    let address = raw.InstructionOffset;
    let mut name = vec![0u8; 1024];
    let mut displacement = 0u64;
    let named = symbols
        .GetNameByOffset(address, Some(&mut name), None, Some(&mut displacement))
        .ok()
        .and_then(|()| CStr::from_bytes_until_nul(&name).ok())
        .map(|name| name.to_string_lossy().into_owned());
    let (engine_module, function) = match named.as_deref().map(split_symbol) {
        Some((module, function)) => (Some(module), function),
        None => (None, None),
    };
    let module = engine_module.as_deref().and_then(|engine_name| {
        modules
            .iter()
            .find(|m| m.engine_name.eq_ignore_ascii_case(engine_name))
    });
    let mut frame = Frame::default();
    frame.index = index;
    frame.address = Some(Addr(address));
    frame.module = module.map(|m| m.module.name.clone()).or(engine_module);
    frame.offset = function.as_ref().map(|_| Addr(displacement));
    frame.function = function;
    frame.module_offset = module.map(|m| Addr(address.wrapping_sub(m.base)));
    frame.trust = if index == 0 {
        Trust::Context
    } else {
        Trust::None
    };
    frame
}

/// `MAPI32!MAPIAllocateBuffer+0x28` into `MAPI32` and `MAPIAllocateBuffer`; a name
/// without `!` (`MAPI32+0x1234`, no symbols) has a module only.
fn split_symbol(name: &str) -> (String, Option<String>) {
    let strip = |text: &str| -> String {
        match text.rsplit_once("+0x") {
            Some((head, tail)) if tail.chars().all(|c| c.is_ascii_hexdigit()) => head.to_string(),
            _ => text.to_string(),
        }
    };
    match name.split_once('!') {
        Some((module, function)) => (
            module.to_string(),
            Some(strip(function)).filter(|f| !f.is_empty()),
        ),
        None => (strip(name), None),
    }
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

/// The text printer's markup for DML: the KB reference of a rule opens in the browser,
/// a thread is one click away (`~~[tid]s` switches to it, `kb` shows its stack), and
/// with `-v` the frames a finding matched are marked in bold.
struct Dml<'a> {
    rules: &'a RuleSet,
}

impl TextMarkup for Dml<'_> {
    /// DML treats `<`, `>` and `&` as markup.
    fn escape<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if text.contains(['&', '<', '>']) {
            Cow::Owned(
                text.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;"),
            )
        } else {
            Cow::Borrowed(text)
        }
    }

    fn thread(&self, tid: u32) -> String {
        format!("<link cmd=\"~~[{tid:#x}]s; kb\">{tid} ({tid:#x})</link>")
    }

    fn rule(&self, rule: &str) -> String {
        let reference = self.rules.get(rule).map(|r| r.rule.reference.as_str());
        match reference.filter(|r| r.starts_with("https://") || r.starts_with("http://")) {
            Some(url) => format!(
                "<link cmd=\".browse {}\">{}</link>",
                self.escape(url),
                self.escape(rule)
            ),
            None => self.escape(rule).into_owned(),
        }
    }

    fn frame_marker(&self, rules: &[&str]) -> String {
        if rules.is_empty() {
            return String::new();
        }
        format!("  <b>&lt;- {}</b>", self.escape(&rules.join(", ")))
    }
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
