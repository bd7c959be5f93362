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
//! none. DUMP `live:q269588` or `live:q269588-fixed` makes a live target instead: no dump
//! file, and the engine serves a recorded process (threads, stacks, symbol names, modules
//! with versions) through `IDebugSystemObjects`, `IDebugControl::GetStackTrace` and
//! `IDebugSymbols`/`IDebugSymbols2`. Prints the captured output; exits 1 when an export
//! is missing, the command fails, the extension calls a method the double does not
//! implement, or it leaves a different current thread than it found.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_void, CStr, CString};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};

type Hresult = i32;
const S_OK: Hresult = 0;
const E_FAIL: Hresult = 0x8000_4005_u32 as i32;
const E_NOINTERFACE: Hresult = 0x8000_4002_u32 as i32;
const E_NOTIMPL: Hresult = 0x8000_4001_u32 as i32;
const E_INVALIDARG: Hresult = 0x8007_0057_u32 as i32;

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
const IID_IDEBUG_SYMBOLS2: Guid = Guid(
    0x3a707211,
    0xafdd,
    0x4495,
    [0xad, 0x4f, 0x56, 0xfe, 0xcd, 0xf8, 0x16, 0x3f],
);
const IID_IDEBUG_SYSTEM_OBJECTS: Guid = Guid(
    0x6b86fe2c,
    0x2c4f,
    0x4f0c,
    [0x9d, 0xa2, 0x17, 0x43, 0x11, 0xac, 0xc3, 0x27],
);

/// Vtable slots, counted in dbgeng.h: IUnknown's three, then each interface's methods in
/// declaration order, base interfaces first (IDebugClient4 extends IDebugClient..3).
const SLOT_QUERY_INTERFACE: usize = 0;
const SLOT_ADD_REF: usize = 1;
const SLOT_RELEASE: usize = 2;
const SLOT_GET_DUMP_FILE_WIDE: usize = 65; // IDebugClient4
const SLOT_CONTROLLED_OUTPUT: usize = 16; // IDebugControl
const SLOT_GET_STACK_TRACE: usize = 31; // IDebugControl
const SLOT_GET_SYMBOL_PATH: usize = 40; // IDebugSymbols
const SLOT_GET_NAME_BY_OFFSET: usize = 7; // IDebugSymbols
const SLOT_GET_NUMBER_MODULES: usize = 12; // IDebugSymbols
const SLOT_GET_MODULE_BY_INDEX: usize = 13; // IDebugSymbols
const SLOT_GET_MODULE_VERSION_INFORMATION: usize = 52; // IDebugSymbols2
const SLOT_GET_MODULE_NAME_STRING: usize = 53; // IDebugSymbols2
const SLOT_GET_EVENT_THREAD: usize = 3; // IDebugSystemObjects
const SLOT_GET_CURRENT_THREAD_ID: usize = 5; // IDebugSystemObjects
const SLOT_SET_CURRENT_THREAD_ID: usize = 6; // IDebugSystemObjects
const SLOT_GET_NUMBER_THREADS: usize = 9; // IDebugSystemObjects
const SLOT_GET_THREAD_IDS_BY_INDEX: usize = 11; // IDebugSystemObjects
/// More than any of the interfaces has, so every slot the DLL could reach exists.
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
    /// IDebugSymbols and IDebugSymbols2: the second only adds slots after the first's.
    symbols: Face,
    system: Face,
    dump: Vec<u16>,
    symbol_path: CString,
    output: RefCell<String>,
    /// The live target, when there is no dump.
    live: Option<Live>,
    /// Engine id of the current thread (`~`), which the extension switches and restores.
    current_thread: Cell<u32>,
}

/// A recorded live process.
struct Live {
    threads: Vec<LiveThread>,
    /// Engine id of the thread of the last event.
    event_thread: u32,
    modules: Vec<LiveModule>,
}

struct LiveThread {
    /// The engine's id (`~0`) and the OS's.
    engine_id: u32,
    system_id: u32,
    /// Innermost first: instruction offset, and the name `ln` would give with its
    /// displacement.
    frames: Vec<(u64, &'static str, u64)>,
}

struct LiveModule {
    base: u64,
    /// `GetModuleNameString(DEBUG_MODNAME_MODULE)` and `(DEBUG_MODNAME_IMAGE)`.
    module_name: &'static str,
    image_name: &'static str,
    version: [u16; 4],
}

/// dbgeng.h's DEBUG_STACK_FRAME.
#[repr(C)]
struct DebugStackFrame {
    instruction_offset: u64,
    return_offset: u64,
    frame_offset: u64,
    stack_offset: u64,
    func_table_entry: u64,
    params: [u64; 4],
    reserved: [u64; 6],
    is_virtual: i32,
    frame_number: u32,
}

/// The crash of KB Q269588 as a live debugger would show it: the KB's SYMPTOMS stack on
/// thread 0x4d8 (the event thread) with the return addresses of its RetAddr column, an
/// idle thread, and the modules with MAPI32.dll at `mapi32_version`.
fn q269588(mapi32_version: [u16; 4]) -> Live {
    let kb = vec![
        (0x77f6_3eb0, "NTDLL!RtlpFindAndCommitPages+0xde", 0xde),
        (0x77f6_40fc, "NTDLL!RtlpExtendHeap+0x56", 0x56),
        (0x77f6_4830, "NTDLL!RtlAllocateHeap+0x1ae", 0x1ae),
        (0x6fff_1921, "EXCHMEM!MpHeapAlloc+0x101", 0x101),
        (0x6fff_1383, "EXCHMEM!ExchMHeapAlloc+0x13", 0x13),
        (0x6fac_fa8b, "MAPI32!LH_IntHeapAlloc+0xb", 0xb),
        (0x6fac_fb25, "MAPI32!LH_ExtHeapAlloc+0x15", 0x15),
        (0x6fa9_60bf, "MAPI32!MAPIAllocateBufferExt+0x2f", 0x2f),
        (0x6fa9_6118, "MAPI32!MAPIAllocateBuffer+0x28", 0x28),
        (0x0059_3ce1, "EMSMTA!HrStrAToStrW+0x67", 0x67),
        (0x0059_3ae3, "EMSMTA!HrTrackWriteLogA+0x187", 0x187),
    ];
    let idle = vec![
        (0x77f6_b3df, "NTDLL!ZwWaitForMultipleObjects+0xb", 0xb),
        (0x77e8_b526, "KERNEL32!WaitForMultipleObjectsEx+0xea", 0xea),
        (0x0041_a357, "EMSMTA!MtaDispatchThread+0x97", 0x97),
        (0x77e8_75a2, "KERNEL32!BaseThreadStart+0x52", 0x52),
    ];
    let module = |base, module_name, image_name, version| LiveModule {
        base,
        module_name,
        image_name,
        version,
    };
    Live {
        threads: vec![
            LiveThread {
                engine_id: 0,
                system_id: 0x444,
                frames: idle,
            },
            LiveThread {
                engine_id: 1,
                system_id: 0x4d8,
                frames: kb,
            },
        ],
        event_thread: 1,
        modules: vec![
            module(
                0x40_0000,
                "EMSMTA",
                "C:\\exchsrvr\\bin\\emsmta.exe",
                [5, 5, 2653, 23],
            ),
            module(
                0x77f6_0000,
                "NTDLL",
                "C:\\WINNT\\system32\\ntdll.dll",
                [5, 0, 2195, 2779],
            ),
            module(
                0x77e8_0000,
                "KERNEL32",
                "C:\\WINNT\\system32\\KERNEL32.dll",
                [5, 0, 2195, 2778],
            ),
            module(
                0x6fa9_0000,
                "MAPI32",
                "C:\\WINNT\\system32\\MAPI32.dll",
                mapi32_version,
            ),
            module(
                0x6fff_0000,
                "EXCHMEM",
                "C:\\WINNT\\system32\\EXCHMEM.DLL",
                [5, 5, 2653, 23],
            ),
        ],
    }
}

fn live_recording(name: &str) -> Option<Live> {
    match name {
        "q269588" => Some(q269588([5, 5, 2652, 57])),
        "q269588-fixed" => Some(q269588([5, 5, 2652, 85])),
        _ => None,
    }
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
        iid if *iid == IID_IDEBUG_SYMBOLS || *iid == IID_IDEBUG_SYMBOLS2 => &engine.symbols,
        iid if *iid == IID_IDEBUG_SYSTEM_OBJECTS && engine.live.is_some() => &engine.system,
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

unsafe fn live<'a>(this: *mut Face) -> Result<&'a Live, Hresult> {
    engine(this).live.as_ref().ok_or(E_FAIL)
}

unsafe fn put<T>(out: *mut T, value: T) {
    if !out.is_null() {
        *out = value;
    }
}

/// Copies `text` and its NUL into a caller's buffer, as the engine's string methods do.
unsafe fn put_string(text: &str, buffer: *mut c_char, buffer_size: u32, size: *mut u32) -> Hresult {
    put(size, text.len() as u32 + 1);
    if buffer.is_null() || (buffer_size as usize) <= text.len() {
        return E_FAIL;
    }
    std::ptr::copy_nonoverlapping(text.as_ptr().cast(), buffer, text.len());
    *buffer.add(text.len()) = 0;
    S_OK
}

unsafe extern "system" fn get_number_threads(this: *mut Face, number: *mut u32) -> Hresult {
    match live(this) {
        Ok(live) => {
            put(number, live.threads.len() as u32);
            S_OK
        }
        Err(hr) => hr,
    }
}

unsafe extern "system" fn get_thread_ids_by_index(
    this: *mut Face,
    start: u32,
    count: u32,
    ids: *mut u32,
    system_ids: *mut u32,
) -> Hresult {
    let Ok(live) = live(this) else { return E_FAIL };
    let Some(threads) = live
        .threads
        .get(start as usize..start as usize + count as usize)
    else {
        return E_INVALIDARG;
    };
    for (i, thread) in threads.iter().enumerate() {
        if !ids.is_null() {
            *ids.add(i) = thread.engine_id;
        }
        if !system_ids.is_null() {
            *system_ids.add(i) = thread.system_id;
        }
    }
    S_OK
}

unsafe extern "system" fn get_event_thread(this: *mut Face, id: *mut u32) -> Hresult {
    match live(this) {
        Ok(live) => {
            put(id, live.event_thread);
            S_OK
        }
        Err(hr) => hr,
    }
}

unsafe extern "system" fn get_current_thread_id(this: *mut Face, id: *mut u32) -> Hresult {
    put(id, engine(this).current_thread.get());
    S_OK
}

unsafe extern "system" fn set_current_thread_id(this: *mut Face, id: u32) -> Hresult {
    let Ok(live) = live(this) else { return E_FAIL };
    if !live.threads.iter().any(|t| t.engine_id == id) {
        return E_INVALIDARG;
    }
    engine(this).current_thread.set(id);
    S_OK
}

/// The current thread's recorded stack; only the default walk (all three offsets zero,
/// from the thread's context) is recorded. Each caller's instruction offset is the
/// return offset of the frame inside it, as in a real walk.
unsafe extern "system" fn get_stack_trace(
    this: *mut Face,
    frame_offset: u64,
    stack_offset: u64,
    instruction_offset: u64,
    frames: *mut DebugStackFrame,
    frames_size: u32,
    frames_filled: *mut u32,
) -> Hresult {
    let Ok(live) = live(this) else { return E_FAIL };
    if (frame_offset, stack_offset, instruction_offset) != (0, 0, 0) || frames.is_null() {
        return E_INVALIDARG;
    }
    let current = engine(this).current_thread.get();
    let Some(thread) = live.threads.iter().find(|t| t.engine_id == current) else {
        return E_FAIL;
    };
    let filled = thread.frames.len().min(frames_size as usize);
    for (i, &(ip, _, _)) in thread.frames[..filled].iter().enumerate() {
        let ret = thread.frames.get(i + 1).map_or(0, |f| f.0);
        *frames.add(i) = DebugStackFrame {
            instruction_offset: ip,
            return_offset: ret,
            frame_offset: 0x0514_f000 + 0x10 * i as u64,
            stack_offset: 0x0514_f000 + 0x10 * i as u64,
            func_table_entry: 0,
            params: [0; 4],
            reserved: [0; 6],
            is_virtual: 0,
            frame_number: i as u32,
        };
    }
    put(frames_filled, filled as u32);
    S_OK
}

unsafe extern "system" fn get_name_by_offset(
    this: *mut Face,
    offset: u64,
    buffer: *mut c_char,
    buffer_size: u32,
    name_size: *mut u32,
    displacement: *mut u64,
) -> Hresult {
    let Ok(live) = live(this) else { return E_FAIL };
    let Some(&(_, name, off)) = live
        .threads
        .iter()
        .flat_map(|t| &t.frames)
        .find(|f| f.0 == offset)
    else {
        return E_FAIL;
    };
    put(displacement, off);
    put_string(name, buffer, buffer_size, name_size)
}

unsafe extern "system" fn get_number_modules(
    this: *mut Face,
    loaded: *mut u32,
    unloaded: *mut u32,
) -> Hresult {
    let Ok(live) = live(this) else { return E_FAIL };
    put(loaded, live.modules.len() as u32);
    put(unloaded, 0);
    S_OK
}

unsafe extern "system" fn get_module_by_index(
    this: *mut Face,
    index: u32,
    base: *mut u64,
) -> Hresult {
    let Ok(live) = live(this) else { return E_FAIL };
    match live.modules.get(index as usize) {
        Some(module) => {
            put(base, module.base);
            S_OK
        }
        None => E_INVALIDARG,
    }
}

const DEBUG_MODNAME_IMAGE: u32 = 0;
const DEBUG_MODNAME_MODULE: u32 = 1;
const DEBUG_ANY_ID: u32 = 0xffff_ffff;

/// The module by index, or by base when the index is DEBUG_ANY_ID.
fn module_at(live: &Live, index: u32, base: u64) -> Option<&LiveModule> {
    if index == DEBUG_ANY_ID {
        live.modules.iter().find(|m| m.base == base)
    } else {
        live.modules.get(index as usize)
    }
}

unsafe extern "system" fn get_module_name_string(
    this: *mut Face,
    which: u32,
    index: u32,
    base: u64,
    buffer: *mut c_char,
    buffer_size: u32,
    name_size: *mut u32,
) -> Hresult {
    let Ok(live) = live(this) else { return E_FAIL };
    let Some(module) = module_at(live, index, base) else {
        return E_INVALIDARG;
    };
    let name = match which {
        DEBUG_MODNAME_IMAGE => module.image_name,
        DEBUG_MODNAME_MODULE => module.module_name,
        _ => return E_INVALIDARG,
    };
    put_string(name, buffer, buffer_size, name_size)
}

/// Only the root item, `"\\"`: the module's VS_FIXEDFILEINFO.
unsafe extern "system" fn get_module_version_information(
    this: *mut Face,
    index: u32,
    base: u64,
    item: *const c_char,
    buffer: *mut c_void,
    buffer_size: u32,
    info_size: *mut u32,
) -> Hresult {
    let Ok(live) = live(this) else { return E_FAIL };
    let Some(module) = module_at(live, index, base) else {
        return E_INVALIDARG;
    };
    if item.is_null() || CStr::from_ptr(item).to_bytes() != b"\\" {
        return E_INVALIDARG;
    }
    let [a, b, c, d] = module.version.map(u32::from);
    let mut info = [0u32; 13];
    info[0] = 0xfeef_04bd; // dwSignature
    info[1] = 0x0001_0000; // dwStrucVersion
    info[2] = a << 16 | b; // dwFileVersionMS
    info[3] = c << 16 | d; // dwFileVersionLS
    info[4] = info[2]; // dwProductVersionMS
    info[5] = info[3]; // dwProductVersionLS
    put(info_size, std::mem::size_of_val(&info) as u32);
    if buffer.is_null() || (buffer_size as usize) < std::mem::size_of_val(&info) {
        return E_FAIL;
    }
    std::ptr::copy_nonoverlapping(info.as_ptr(), buffer.cast(), info.len());
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

    let live = match dump.strip_prefix("live:") {
        Some(name) => Some(live_recording(name).ok_or(format!("no live recording {name:?}"))?),
        None => None,
    };
    let mut engine = Box::new(Engine {
        client: Face {
            vtable: vtable(&[(SLOT_GET_DUMP_FILE_WIDE, get_dump_file_wide as *const ())]),
            engine: std::ptr::null(),
        },
        control: Face {
            vtable: vtable(&[
                (SLOT_CONTROLLED_OUTPUT, controlled_output as *const ()),
                (SLOT_GET_STACK_TRACE, get_stack_trace as *const ()),
            ]),
            engine: std::ptr::null(),
        },
        symbols: Face {
            vtable: vtable(&[
                (SLOT_GET_SYMBOL_PATH, get_symbol_path as *const ()),
                (SLOT_GET_NAME_BY_OFFSET, get_name_by_offset as *const ()),
                (SLOT_GET_NUMBER_MODULES, get_number_modules as *const ()),
                (SLOT_GET_MODULE_BY_INDEX, get_module_by_index as *const ()),
                (
                    SLOT_GET_MODULE_VERSION_INFORMATION,
                    get_module_version_information as *const (),
                ),
                (
                    SLOT_GET_MODULE_NAME_STRING,
                    get_module_name_string as *const (),
                ),
            ]),
            engine: std::ptr::null(),
        },
        system: Face {
            vtable: vtable(&[
                (SLOT_GET_EVENT_THREAD, get_event_thread as *const ()),
                (
                    SLOT_GET_CURRENT_THREAD_ID,
                    get_current_thread_id as *const (),
                ),
                (
                    SLOT_SET_CURRENT_THREAD_ID,
                    set_current_thread_id as *const (),
                ),
                (SLOT_GET_NUMBER_THREADS, get_number_threads as *const ()),
                (
                    SLOT_GET_THREAD_IDS_BY_INDEX,
                    get_thread_ids_by_index as *const (),
                ),
            ]),
            engine: std::ptr::null(),
        },
        dump: wide(dump.strip_prefix("live:").map_or(dump, |_| "")),
        symbol_path: CString::new(symbol_path).map_err(|e| e.to_string())?,
        output: RefCell::new(String::new()),
        live,
        // The user sits on the first thread, not the event thread, so the extension
        // has to switch away from it and back.
        current_thread: Cell::new(0),
    });
    let this: *const Engine = &*engine;
    for face in [
        &mut engine.client,
        &mut engine.control,
        &mut engine.symbols,
        &mut engine.system,
    ] {
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
    if engine.current_thread.get() != 0 {
        return Err(format!(
            "the extension left thread {} current instead of 0",
            engine.current_thread.get()
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
