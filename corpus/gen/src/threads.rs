//! The MTA's threads: the article's crashing thread, idle workers, and the stacks of the
//! variants that must not be mistaken for Q269588.

use crate::article::{self, STACK};
use crate::dump::{Thread, CONTEXT_FLAGS};
use crate::modules::{find, Module};
use crate::stack::{build_stack, ebp_register, invent_frames, Call, Frame};
use minidump_common::format::CONTEXT_X86;

/// The article does not give the thread id; 1240 (0x4d8) is this corpus's choice.
pub const CRASH_THREAD_ID: u32 = 1240;
/// An idle RPC listener, except in `q269588_other_thread` where it takes the plain access
/// violation while 1240 holds the article's stack.
pub const WORKER_THREAD_ID: u32 = 1308;
const DISPATCH_THREAD_ID: u32 = 1092;
const TIMER_THREAD_ID: u32 = 1220;

/// The article's frame 0 ESP; a little below its EBP (0x0514efcc).
const CRASH_ESP: u32 = 0x0514_ef90;

/// Stack base (highest address + 1) and TEB of each thread, kept whatever the thread runs.
/// The crashing thread's stack ends at 0x05150000, just above the article's frames.
fn placement(id: u32) -> (u32, u32) {
    match id {
        DISPATCH_THREAD_ID => (0x0075_0000, 0x7ffd_e000),
        TIMER_THREAD_ID => (0x0102_0000, 0x7ffd_d000),
        CRASH_THREAD_ID => (0x0515_0000, 0x7ffd_9000),
        WORKER_THREAD_ID => (0x0557_0000, 0x7ffd_6000),
        _ => panic!("no stack assigned to thread {id}"),
    }
}

/// General-purpose registers; the control registers come from the frames.
#[derive(Debug, Clone, Copy, Default)]
pub struct Registers {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
    pub esi: u32,
    pub edi: u32,
}

/// A user-mode thread's full register state, every part marked valid.
pub fn x86_context(eip: u32, esp: u32, ebp: u32, regs: Registers) -> CONTEXT_X86 {
    CONTEXT_X86 {
        context_flags: CONTEXT_FLAGS,
        eax: regs.eax,
        ebx: regs.ebx,
        ecx: regs.ecx,
        edx: regs.edx,
        esi: regs.esi,
        edi: regs.edi,
        ebp,
        eip,
        esp,
        eflags: 0x0000_0246,
        cs: 0x1b,
        ds: 0x23,
        es: 0x23,
        ss: 0x23,
        fs: 0x38,
        ..CONTEXT_X86::default()
    }
}

/// A thread whose innermost frame is `frames[0]`, stopped with ESP = `esp`.
fn thread(id: u32, esp: u32, frames: &[Frame], regs: Registers) -> Thread {
    let (base, teb) = placement(id);
    Thread {
        id,
        teb,
        context: x86_context(frames[0].pc, esp, ebp_register(frames), regs),
        stack: build_stack(esp, base, frames),
    }
}

/// `module!function+offset` as a code address.
fn at(modules: &[Module], module: &str, function: &str, offset: u32) -> u32 {
    find(modules, module).address(function, offset)
}

/// Frames for the article's stack: frame 0's EIP is RtlpFindAndCommitPages+0xde, every other
/// frame's code address is the row above's `RetAddr`, EBPs and arguments are the article's.
/// The rows in `fpo` are frame-pointer-omitted; the others keep a saved EBP at `ChildEBP`.
fn article_frames(modules: &[Module], fpo: &[usize]) -> Vec<Frame> {
    let top = STACK[0];
    let eip = at(modules, top.module, top.function, top.offset);
    let pcs = std::iter::once(eip).chain(STACK.iter().map(|row| row.ret_addr));
    STACK
        .iter()
        .zip(pcs)
        .enumerate()
        .map(|(i, (row, pc))| Frame {
            ebp: row.child_ebp,
            pc,
            args: row.args,
            fpo: fpo.contains(&i),
        })
        .collect()
}

/// Thread 1240's registers when it faulted on 0x40530000 in ntdll's heap code.
fn article_registers() -> Registers {
    Registers {
        eax: 0x0000_00b0,
        ebx: article::HEAP,
        ecx: article::FAULT_ADDRESS,
        edx: 0x0000_0001,
        esi: 0x0514_eff8,
        edi: article::HEAP,
    }
}

/// Thread 1240 exactly as the article shows it, faulting on 0x40530000 in ntdll's heap code,
/// with every frame keeping a frame pointer: the saved-EBP chain takes the three slots where
/// the article shows the argument 0x9e.
pub fn article_thread(modules: &[Module]) -> Thread {
    let frames = article_frames(modules, &[]);
    let thread = thread(CRASH_THREAD_ID, CRASH_ESP, &frames, article_registers());
    assert_eq!(
        thread.stack.overwritten_args,
        article::OVERWRITTEN_ARG_SLOTS,
        "only the documented argument slots may differ from the article"
    );
    thread
}

/// Thread 1240 as the article's numbers say it was: the rows of
/// [`article::FRAME_POINTER_OMITTED`] have no frame pointer (`modules` must give their
/// functions `STACK WIN` data), so every word the article prints is in the stack as printed.
pub fn article_fpo_thread(modules: &[Module]) -> Thread {
    let frames = article_frames(modules, &article::FRAME_POINTER_OMITTED);
    for &row in &article::FRAME_POINTER_OMITTED {
        let row = STACK[row];
        let module = find(modules, row.module);
        assert!(
            module.fpo.iter().any(|f| f.function == row.function),
            "{}!{} needs FPO data",
            row.module,
            row.function
        );
    }
    let thread = thread(CRASH_THREAD_ID, CRASH_ESP, &frames, article_registers());
    assert!(
        thread.stack.overwritten_args.is_empty(),
        "every argument the article shows is in the stack: {:x?}",
        thread.stack.overwritten_args
    );
    thread
}

/// A thread whose stack is `calls` (innermost first) laid out below its stack base.
fn invented_thread(id: u32, calls: &[Call], regs: Registers) -> Thread {
    let (esp, frames) = invent_frames(placement(id).0, calls);
    thread(id, esp, &frames, regs)
}

/// kernel32!BaseThreadStart(start, param), the outermost frame of every worker thread.
fn thread_start(modules: &[Module], proc_name: &str, param: u32) -> Call {
    Call {
        pc: at(modules, "kernel32", "BaseThreadStart", 0x52),
        args: [at(modules, "emsmta", proc_name, 0), param, 0],
    }
}

/// An idle worker thread waiting on one event.
struct Waiter {
    id: u32,
    /// The emsmta thread procedure, and the offset in it of the call to the wait.
    proc_name: &'static str,
    call_offset: u32,
    handle: u32,
    /// The thread's start parameter.
    param: u32,
}

/// A worker blocked in `WaitForSingleObjectEx(handle, INFINITE, FALSE)`.
fn single_wait_thread(modules: &[Module], waiter: Waiter) -> Thread {
    let Waiter {
        id,
        proc_name,
        call_offset,
        handle,
        param,
    } = waiter;
    let calls = [
        Call {
            pc: at(modules, "ntdll", "ZwWaitForSingleObject", 0xb),
            args: [handle, 0, 0],
        },
        Call {
            pc: at(modules, "kernel32", "WaitForSingleObjectEx", 0x71),
            args: [handle, 0xffff_ffff, 0],
        },
        Call {
            pc: at(modules, "emsmta", proc_name, call_offset),
            args: [param, 0, 0],
        },
        thread_start(modules, proc_name, param),
    ];
    let regs = Registers {
        esi: handle,
        ..Registers::default()
    };
    invented_thread(id, &calls, regs)
}

/// The MTA's dispatcher, blocked in `WaitForMultipleObjectsEx` on its three queue events.
pub fn dispatch_thread(modules: &[Module]) -> Thread {
    let (handles, param) = (0x00a3_1f40, 0x00a3_1f28);
    let calls = [
        Call {
            pc: at(modules, "ntdll", "ZwWaitForMultipleObjects", 0xb),
            args: [3, handles, 1],
        },
        Call {
            pc: at(modules, "kernel32", "WaitForMultipleObjectsEx", 0xea),
            args: [3, handles, 0],
        },
        Call {
            pc: at(modules, "emsmta", "MtaDispatchThread", 0x97),
            args: [param, 0, 0],
        },
        thread_start(modules, "MtaDispatchThread", param),
    ];
    invented_thread(DISPATCH_THREAD_ID, &calls, Registers::default())
}

/// The MTA's timer, waiting for its next tick.
pub fn timer_thread(modules: &[Module]) -> Thread {
    let waiter = Waiter {
        id: TIMER_THREAD_ID,
        proc_name: "MtaTimerThread",
        call_offset: 0x4c,
        handle: 0x1f4,
        param: 0x00a3_2010,
    };
    single_wait_thread(modules, waiter)
}

/// The MTA's RPC listener, waiting for a connection.
pub fn rpc_listen_thread(modules: &[Module]) -> Thread {
    let waiter = Waiter {
        id: WORKER_THREAD_ID,
        proc_name: "MtaRpcListenThread",
        call_offset: 0x3a,
        handle: 0x2a8,
        param: 0x00a3_20c0,
    };
    single_wait_thread(modules, waiter)
}

/// An emsmta function that reads a field through a NULL pointer (`mov ecx, [eax+field]` with
/// EAX=0), and the worker thread that calls it.
pub struct NullRead {
    pub function: &'static str,
    pub offset: u32,
    /// Offset of the field read, hence the faulting address.
    pub field_offset: u32,
    /// The object the function was given (its second argument, kept in ESI).
    pub object: u32,
    pub thread_proc: &'static str,
    /// Offset in `thread_proc` of the call to `function`.
    pub call_offset: u32,
    /// The thread's start parameter.
    pub param: u32,
}

/// The routing worker's fault in `plain_av` and `q269588_other_thread`.
pub const ROUTING_NULL_READ: NullRead = NullRead {
    function: "HrLoadRoutingEntry",
    offset: 0x2b,
    field_offset: 8,
    object: 0x00a3_5c80,
    thread_proc: "MtaRoutingThread",
    call_offset: 0x61,
    param: 0x00a3_2200,
};

/// The queue worker (the caller in [`crt_heap_thread`]) reading the size of a NULL message
/// it took from its queue. Only in shares: a second non-heap crash signature.
pub const QUEUE_NULL_READ: NullRead = NullRead {
    function: "HrQueueCopyMessage",
    offset: 0x47,
    field_offset: 0x14,
    object: 0x00a3_5f40,
    thread_proc: "MtaQueueThread",
    call_offset: 0x5c,
    param: 0x00a3_1f60,
};

/// Thread `id` faulting at `site`.
pub fn null_read_thread(modules: &[Module], id: u32, site: &NullRead) -> Thread {
    let calls = [
        Call {
            pc: at(modules, "emsmta", site.function, site.offset),
            args: [0, site.object, 0],
        },
        Call {
            pc: at(modules, "emsmta", site.thread_proc, site.call_offset),
            args: [site.param, 0, 0],
        },
        thread_start(modules, site.thread_proc, site.param),
    ];
    let regs = Registers {
        esi: site.object,
        ..Registers::default()
    };
    invented_thread(id, &calls, regs)
}

/// The same ntdll heap fault as the article, reached through msvcrt's `malloc` on the CRT heap
/// from an invented MTA queue function: no MAPI32 anywhere.
pub fn crt_heap_thread(modules: &[Module], fault_address: u32) -> Thread {
    let crt_heap = 0x0078_0000;
    let (param, size) = (0x00a3_1f60, 0x1000);
    let calls = [
        Call {
            pc: at(modules, "ntdll", "RtlpFindAndCommitPages", 0xde),
            args: [crt_heap, fault_address, 0],
        },
        Call {
            pc: at(modules, "ntdll", "RtlpExtendHeap", 0x56),
            args: [crt_heap, size + 0x10, 0],
        },
        Call {
            pc: at(modules, "ntdll", "RtlAllocateHeap", 0x1ae),
            args: [crt_heap, 0, size],
        },
        Call {
            pc: at(modules, "msvcrt", "_heap_alloc", 0xed),
            args: [size, 0, 0],
        },
        Call {
            pc: at(modules, "msvcrt", "_nh_malloc", 0x10),
            args: [size, 0, 0],
        },
        Call {
            pc: at(modules, "msvcrt", "malloc", 0xf),
            args: [size, 0, 0],
        },
        Call {
            pc: at(modules, "emsmta", "HrQueueCopyMessage", 0x3a),
            args: [0x00a3_5e10, size, 0],
        },
        Call {
            pc: at(modules, "emsmta", "MtaQueueThread", 0x5c),
            args: [param, 0, 0],
        },
        thread_start(modules, "MtaQueueThread", param),
    ];
    let regs = Registers {
        ebx: crt_heap,
        ecx: fault_address,
        edi: crt_heap,
        ..Registers::default()
    };
    invented_thread(CRASH_THREAD_ID, &calls, regs)
}
