//! The corpus: which dump each case is and which symbols come with it.

use crate::article::FAULT_ADDRESS;
use crate::dump::{self, Dump, Exception, Thread};
use crate::malformed;
use crate::modules::{mta_modules, Module, MAPI32, MAPI32_FIXED};
use crate::threads::{
    article_thread, crt_heap_thread, dispatch_thread, routing_av_thread, rpc_listen_thread,
    timer_thread, CRASH_THREAD_ID, NULL_FIELD_OFFSET, WORKER_THREAD_ID,
};

/// 2002-03-14 03:17:42 UTC, when the MTA wrote the dump.
const CRASH_TIME: u32 = 0x3c90_1656;
/// 2002-03-11 08:02:09 UTC, MTA service start.
const PROCESS_CREATE_TIME: u32 = 0x3c8c_6471;
const MTA_PROCESS_ID: u32 = 1108;
/// Heap address the CRT-heap variant faults on (not the article's, so nothing matches by value).
const CRT_HEAP_FAULT_ADDRESS: u32 = 0x0a2f_0000;
/// `q269588_nosyms` pretends its binaries were linked a day after the ones symbols exist for.
const REBUILD_DELAY_SECONDS: u32 = 86_400;

/// A case's file contents and the modules whose `.sym` files ship with it.
pub struct Built {
    pub bytes: Vec<u8>,
    pub symbols: Vec<Module>,
}

pub struct CaseDef {
    pub name: &'static str,
    pub description: &'static str,
    pub build: fn() -> Built,
}

pub const CASES: &[CaseDef] = &[
    CaseDef {
        name: "q269588",
        description: "KB Q269588 as published: MTA thread 1240 faults in ntdll heap code under \
                      MAPI32 5.5.2652.57",
        build: q269588,
    },
    CaseDef {
        name: "q269588_fixed",
        description: "same crash with the fixed MAPI32 5.5.2652.85 loaded",
        build: q269588_fixed,
    },
    CaseDef {
        name: "q269588_other_thread",
        description: "Q269588 stack on thread 1240 while thread 1308 takes a NULL read",
        build: q269588_other_thread,
    },
    CaseDef {
        name: "q269588_nosyms",
        description: "Q269588 crash from binaries whose debug ids have no .sym files",
        build: q269588_nosyms,
    },
    CaseDef {
        name: "heap_other_callers",
        description: "same ntdll heap fault reached via msvcrt malloc, no MAPI32 on the stack",
        build: heap_other_callers,
    },
    CaseDef {
        name: "plain_av",
        description: "NULL read in emsmta.exe, no heap code involved",
        build: plain_av,
    },
    CaseDef {
        name: "malformed_truncated",
        description: "q269588.dmp cut in the middle of the stream directory",
        build: || unsymbolized(malformed::truncated(&q269588().bytes)),
    },
    CaseDef {
        name: "malformed_bad_signature",
        description: "q269588.dmp with a kernel dump's PAGEDUMP signature instead of MDMP",
        build: || unsymbolized(malformed::bad_signature(&q269588().bytes)),
    },
    CaseDef {
        name: "malformed_stream_out_of_range",
        description: "q269588.dmp whose thread list entry points past the end of the file",
        build: || unsymbolized(malformed::stream_out_of_range(&q269588().bytes)),
    },
    CaseDef {
        name: "malformed_no_threads",
        description: "q269588.dmp without a thread list stream; everything else intact",
        build: || unsymbolized(malformed::without_thread_list(&q269588().bytes)),
    },
    CaseDef {
        name: "malformed_empty",
        description: "a zero-byte file",
        build: || unsymbolized(Vec::new()),
    },
];

fn unsymbolized(bytes: Vec<u8>) -> Built {
    Built {
        bytes,
        symbols: Vec::new(),
    }
}

fn symbolized(dump: Dump) -> Built {
    Built {
        bytes: dump::write(&dump),
        symbols: dump.modules,
    }
}

/// The MTA process with `threads`, `crashing` having faulted reading `fault_address`.
fn mta_dump(modules: Vec<Module>, threads: Vec<Thread>, crashing: u32, fault_address: u32) -> Dump {
    let thread = threads
        .iter()
        .find(|t| t.id == crashing)
        .expect("crashing thread is listed");
    Dump {
        time: CRASH_TIME,
        process_id: MTA_PROCESS_ID,
        process_create_time: PROCESS_CREATE_TIME,
        exception: Exception::read_violation(thread, fault_address),
        modules,
        threads,
    }
}

/// The article's crash with the given module builds loaded.
fn article_crash(modules: Vec<Module>) -> Dump {
    let threads = vec![
        dispatch_thread(&modules),
        timer_thread(&modules),
        article_thread(&modules),
        rpc_listen_thread(&modules),
    ];
    mta_dump(modules, threads, CRASH_THREAD_ID, FAULT_ADDRESS)
}

fn q269588() -> Built {
    symbolized(article_crash(mta_modules(MAPI32)))
}

fn q269588_fixed() -> Built {
    symbolized(article_crash(mta_modules(MAPI32_FIXED)))
}

fn q269588_other_thread() -> Built {
    let modules = mta_modules(MAPI32);
    let threads = vec![
        dispatch_thread(&modules),
        timer_thread(&modules),
        article_thread(&modules),
        routing_av_thread(&modules, WORKER_THREAD_ID),
    ];
    symbolized(mta_dump(
        modules,
        threads,
        WORKER_THREAD_ID,
        NULL_FIELD_OFFSET,
    ))
}

fn q269588_nosyms() -> Built {
    let modules = mta_modules(MAPI32)
        .into_iter()
        .map(|m| m.rebuilt(m.timestamp + REBUILD_DELAY_SECONDS))
        .collect();
    unsymbolized(dump::write(&article_crash(modules)))
}

fn heap_other_callers() -> Built {
    let modules = mta_modules(MAPI32);
    let threads = vec![
        dispatch_thread(&modules),
        timer_thread(&modules),
        crt_heap_thread(&modules, CRT_HEAP_FAULT_ADDRESS),
        rpc_listen_thread(&modules),
    ];
    symbolized(mta_dump(
        modules,
        threads,
        CRASH_THREAD_ID,
        CRT_HEAP_FAULT_ADDRESS,
    ))
}

fn plain_av() -> Built {
    let modules = mta_modules(MAPI32);
    let threads = vec![
        dispatch_thread(&modules),
        timer_thread(&modules),
        routing_av_thread(&modules, CRASH_THREAD_ID),
        rpc_listen_thread(&modules),
    ];
    symbolized(mta_dump(
        modules,
        threads,
        CRASH_THREAD_ID,
        NULL_FIELD_OFFSET,
    ))
}
