//! Test host for `triage_windbg.dll`, run under Wine by `scripts/windows.sh test`.
//!
//! It loads the DLL the way WinDbg does (`LoadLibraryW`, exports looked up by name) and
//! calls one command with a double of the debugger engine: a hand-written COM object that
//! implements only the methods the extension calls and records what it prints. The vtable
//! slots are written out here by hand while the extension takes them from the `windows`
//! crate, so a wrong slot on either side shows up as a failed test.
//!
//! Usage: `triage-windbg-host DLL COMMAND DUMP SYMBOL_PATH [ARGS...]`, where COMMAND is
//! an export (`triage`, `help`), and an empty DUMP or SYMBOL_PATH means the engine has
//! none. Prints the captured output; exits 1 when an export is missing, the command
//! fails or the extension calls a method the double does not implement.

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};

type Hresult = i32;
const S_OK: Hresult = 0;
const E_FAIL: Hresult = 0x8000_4005_u32 as i32;
const E_NOINTERFACE: Hresult = 0x8000_4002_u32 as i32;
const E_NOTIMPL: Hresult = 0x8000_4001_u32 as i32;

#[link(name = "kernel32")]
extern "system" {
    fn LoadLibraryW(name: *const u16) -> *mut c_void;
    fn GetProcAddress(module: *mut c_void, name: *const c_char) -> *mut c_void;
}

#[repr(C)]
#[derive(PartialEq, Eq)]
struct Guid(u32, u16, u16, [u8; 8]);

const IID_IUNKNOWN: Guid = Guid(0, 0, 0, [0xc0, 0, 0, 0, 0, 0, 0, 0x46]);
const IID_IDEBUG_CLIENT: Guid = Guid(
    0x27fe5639,
    0x8407,
    0x4f47,
    [0x83, 0x64, 0xee, 0x11, 0x8f, 0xb0, 0x8a, 0xc8],
);
const IID_IDEBUG_CLIENT4: Guid = Guid(
    0xca83c3de,
    0x5089,
    0x4cf8,
    [0x93, 0xc8, 0xd8, 0x92, 0x38, 0x7f, 0x2a, 0x5e],
);
const IID_IDEBUG_CONTROL: Guid = Guid(
    0x5182e668,
    0x105e,
    0x416e,
    [0xad, 0x92, 0x24, 0xef, 0x80, 0x04, 0x24, 0xba],
);
const IID_IDEBUG_SYMBOLS: Guid = Guid(
    0x8c31e98c,
    0x983a,
    0x48a5,
    [0x90, 0x16, 0x6f, 0xe5, 0xd6, 0x67, 0xa9, 0x50],
);

/// Vtable slots, counted in dbgeng.h: IUnknown's three, then each interface's methods in
/// declaration order, base interfaces first (IDebugClient4 extends IDebugClient..3).
const SLOT_QUERY_INTERFACE: usize = 0;
const SLOT_ADD_REF: usize = 1;
const SLOT_RELEASE: usize = 2;
const SLOT_GET_DUMP_FILE_WIDE: usize = 65; // IDebugClient4
const SLOT_CONTROLLED_OUTPUT: usize = 16; // IDebugControl
const SLOT_GET_SYMBOL_PATH: usize = 40; // IDebugSymbols
/// More than any of the three interfaces has, so every slot the DLL could reach exists.
const SLOTS: usize = 200;

/// Calls to methods the double does not implement.
static UNEXPECTED_CALLS: AtomicU32 = AtomicU32::new(0);

/// One interface pointer of the engine: what a COM pointer points at is a vtable
/// pointer; the engine pointer after it lets each method find the shared state.
#[repr(C)]
struct Face {
    vtable: *const [*const (); SLOTS],
    engine: *const Engine,
}

struct Engine {
    client: Face,
    control: Face,
    symbols: Face,
    dump: Vec<u16>,
    symbol_path: CString,
    output: RefCell<String>,
}

unsafe fn engine<'a>(this: *mut Face) -> &'a Engine {
    &*(*this).engine
}

unsafe extern "system" fn query_interface(
    this: *mut Face,
    iid: *const Guid,
    out: *mut *const Face,
) -> Hresult {
    let engine = engine(this);
    let face = match &*iid {
        iid if *iid == IID_IUNKNOWN || *iid == IID_IDEBUG_CLIENT || *iid == IID_IDEBUG_CLIENT4 => {
            &engine.client
        }
        iid if *iid == IID_IDEBUG_CONTROL => &engine.control,
        iid if *iid == IID_IDEBUG_SYMBOLS => &engine.symbols,
        _ => {
            *out = std::ptr::null();
            return E_NOINTERFACE;
        }
    };
    *out = face;
    S_OK
}

/// The engine outlives every call, so references are not counted.
unsafe extern "system" fn add_ref(_this: *mut Face) -> u32 {
    1
}

unsafe extern "system" fn release(_this: *mut Face) -> u32 {
    1
}

unsafe extern "system" fn unexpected(_this: *mut Face) -> Hresult {
    UNEXPECTED_CALLS.fetch_add(1, Ordering::SeqCst);
    E_NOTIMPL
}

unsafe extern "system" fn get_dump_file_wide(
    this: *mut Face,
    index: u32,
    buffer: *mut u16,
    buffer_size: u32,
    name_size: *mut u32,
    handle: *mut u64,
    kind: *mut u32,
) -> Hresult {
    let dump = &engine(this).dump;
    if index != 0 || dump.is_empty() || buffer.is_null() || (buffer_size as usize) <= dump.len() {
        return E_FAIL;
    }
    std::ptr::copy_nonoverlapping(dump.as_ptr(), buffer, dump.len());
    *buffer.add(dump.len()) = 0;
    for (out, value) in [(name_size, dump.len() as u32 + 1), (kind, 0)] {
        if !out.is_null() {
            *out = value;
        }
    }
    if !handle.is_null() {
        *handle = 0;
    }
    S_OK
}

/// `ControlledOutput(outctl, mask, format, ...)`: C-variadic, but on x64 the fixed
/// arguments arrive the same way, and the extension passes no others (it doubles `%`).
unsafe extern "system" fn controlled_output(
    this: *mut Face,
    _outctl: u32,
    _mask: u32,
    format: *const c_char,
) -> Hresult {
    let text = CStr::from_ptr(format).to_string_lossy().replace("%%", "%");
    engine(this).output.borrow_mut().push_str(&text);
    S_OK
}

unsafe extern "system" fn get_symbol_path(
    this: *mut Face,
    buffer: *mut c_char,
    buffer_size: u32,
    path_size: *mut u32,
) -> Hresult {
    let path = engine(this).symbol_path.as_bytes_with_nul();
    if !path_size.is_null() {
        *path_size = path.len() as u32;
    }
    if buffer.is_null() || (buffer_size as usize) < path.len() {
        return E_FAIL;
    }
    std::ptr::copy_nonoverlapping(path.as_ptr().cast(), buffer, path.len());
    S_OK
}

/// A vtable with IUnknown, the given methods, and `unexpected` everywhere else.
fn vtable(methods: &[(usize, *const ())]) -> *const [*const (); SLOTS] {
    let mut slots = [unexpected as *const (); SLOTS];
    slots[SLOT_QUERY_INTERFACE] = query_interface as *const ();
    slots[SLOT_ADD_REF] = add_ref as *const ();
    slots[SLOT_RELEASE] = release as *const ();
    for &(slot, method) in methods {
        slots[slot] = method;
    }
    Box::leak(Box::new(slots))
}

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().collect()
}

type InitializeFn = unsafe extern "system" fn(*mut u32, *mut u32) -> Hresult;
type UninitializeFn = unsafe extern "system" fn();
type CommandFn = unsafe extern "system" fn(*const Face, *const c_char) -> Hresult;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dll, command, dump, symbol_path, rest @ ..] = &args[..] else {
        eprintln!("usage: triage-windbg-host DLL COMMAND DUMP SYMBOL_PATH [ARGS...]");
        return ExitCode::FAILURE;
    };
    match unsafe { run(dll, command, dump, symbol_path, &rest.join(" ")) } {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("triage-windbg-host: {message}");
            ExitCode::FAILURE
        }
    }
}

unsafe fn run(
    dll: &str,
    command: &str,
    dump: &str,
    symbol_path: &str,
    args: &str,
) -> Result<(), String> {
    let module = LoadLibraryW(wide(&format!("{dll}\0")).as_ptr());
    if module.is_null() {
        return Err(format!("LoadLibraryW({dll}) failed"));
    }
    let export = |name: &str| {
        let symbol = GetProcAddress(module, CString::new(name).unwrap().as_ptr());
        if symbol.is_null() {
            Err(format!("export {name} is missing"))
        } else {
            Ok(symbol)
        }
    };
    let initialize: InitializeFn = std::mem::transmute(export("DebugExtensionInitialize")?);
    let uninitialize: UninitializeFn = std::mem::transmute(export("DebugExtensionUninitialize")?);
    let command_fn: CommandFn = std::mem::transmute(export(command)?);

    let (mut version, mut flags) = (0u32, 0u32);
    let hr = initialize(&mut version, &mut flags);
    if hr != S_OK || version != 1 << 16 {
        return Err(format!(
            "DebugExtensionInitialize: hr {hr:#x}, version {version:#x}"
        ));
    }

    let mut engine = Box::new(Engine {
        client: Face {
            vtable: vtable(&[(SLOT_GET_DUMP_FILE_WIDE, get_dump_file_wide as *const ())]),
            engine: std::ptr::null(),
        },
        control: Face {
            vtable: vtable(&[(SLOT_CONTROLLED_OUTPUT, controlled_output as *const ())]),
            engine: std::ptr::null(),
        },
        symbols: Face {
            vtable: vtable(&[(SLOT_GET_SYMBOL_PATH, get_symbol_path as *const ())]),
            engine: std::ptr::null(),
        },
        dump: wide(dump),
        symbol_path: CString::new(symbol_path).map_err(|e| e.to_string())?,
        output: RefCell::new(String::new()),
    });
    let this: *const Engine = &*engine;
    for face in [&mut engine.client, &mut engine.control, &mut engine.symbols] {
        face.engine = this;
    }

    let args = CString::new(args).map_err(|e| e.to_string())?;
    let hr = command_fn(&engine.client, args.as_ptr());
    uninitialize();
    print!("{}", engine.output.borrow());
    let unexpected = UNEXPECTED_CALLS.load(Ordering::SeqCst);
    if unexpected > 0 {
        return Err(format!(
            "the extension called {unexpected} method(s) the double does not implement"
        ));
    }
    if hr != S_OK {
        return Err(format!(
            "!{command} {} returned {hr:#x}",
            args.to_string_lossy()
        ));
    }
    Ok(())
}
