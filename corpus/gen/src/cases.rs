//! The corpus: which dump each case is and which symbols come with it.

use crate::article::FAULT_ADDRESS;
use crate::dump::{self, Dump, Exception, Thread};
use crate::malformed;
use crate::modules::{
    mta_fpo_modules, mta_modules, mta_modules_without_symbols, Module, MAPI32, MAPI32_FIXED,
};
use crate::threads::{
    article_fpo_thread, article_thread, crt_heap_thread, dispatch_thread, null_read_thread,
    rpc_listen_thread, timer_thread, NullRead, CRASH_THREAD_ID, QUEUE_NULL_READ, ROUTING_NULL_READ,
    WORKER_THREAD_ID,
};

/// 2002-03-14 03:17:42 UTC, when the MTA wrote the dump.
const CRASH_TIME: u32 = 0x3c90_1656;
/// 2002-03-11 08:02:09 UTC, MTA service start.
const PROCESS_CREATE_TIME: u32 = 0x3c8c_6471;
const MTA_PROCESS_ID: u32 = 1108;
/// Heap address the CRT-heap variant faults on (not the article's, so nothing matches by value).
const CRT_HEAP_FAULT_ADDRESS: u32 = 0x0a2f_0000;

/// A case's file contents and the modules whose `.sym` files ship with it.
pub struct Built {
    pub bytes: Vec<u8>,
    pub symbols: Vec<Module>,
}

/// What a case's file holds.
pub enum Contents {
    /// A well-formed dump, kept as a model so shares can vary it before writing.
    WellFormed(DumpCase),
    /// Bytes no well-formed dump has.
    Damaged(fn() -> Vec<u8>),
}

#[derive(Clone, Copy)]
pub struct DumpCase {
    pub build: fn() -> Dump,
    /// Whether the `.sym` files of the dump's modules are generated with it.
    pub symbolized: bool,
}

pub struct CaseDef {
    pub name: &'static str,
    pub description: &'static str,
    pub contents: Contents,
}

impl CaseDef {
    pub fn build(&self) -> Built {
        match &self.contents {
            Contents::WellFormed(case) => {
                let dump = (case.build)();
                Built {
                    bytes: dump::write(&dump),
                    symbols: if case.symbolized {
                        dump.modules
                    } else {
                        Vec::new()
                    },
                }
            }
            Contents::Damaged(bytes) => Built {
                bytes: bytes(),
                symbols: Vec::new(),
            },
        }
    }
}

const fn symbolized(build: fn() -> Dump) -> Contents {
    Contents::WellFormed(DumpCase {
        build,
        symbolized: true,
    })
}

pub const CASES: &[CaseDef] = &[
    CaseDef {
        name: "q269588",
        description: "KB Q269588 as published: MTA thread 1240 faults in ntdll heap code under \
                      MAPI32 5.5.2652.57",
        contents: symbolized(q269588),
    },
    CaseDef {
        name: "q269588_fixed",
        description: "same crash with the fixed MAPI32 5.5.2652.85 loaded",
        contents: symbolized(q269588_fixed),
    },
    CaseDef {
        name: "q269588_other_thread",
        description: "Q269588 stack on thread 1240 while thread 1308 takes a NULL read",
        contents: symbolized(q269588_other_thread),
    },
    CaseDef {
        name: "q269588_nosyms",
        description: "Q269588 crash from binaries whose debug ids have no .sym files",
        contents: Contents::WellFormed(DumpCase {
            build: q269588_nosyms,
            symbolized: false,
        }),
    },
    CaseDef {
        name: "q269588_fpo",
        description: "Q269588 with ExchMHeapAlloc, LH_IntHeapAlloc and LH_ExtHeapAlloc built \
                      without frame pointers (STACK WIN records): the stack holds every word \
                      the article prints",
        contents: symbolized(q269588_fpo),
    },
    CaseDef {
        name: "heap_other_callers",
        description: "same ntdll heap fault reached via msvcrt malloc, no MAPI32 on the stack",
        contents: symbolized(heap_other_callers),
    },
    CaseDef {
        name: "plain_av",
        description: "NULL read in emsmta.exe, no heap code involved",
        contents: symbolized(plain_av),
    },
    CaseDef {
        name: "malformed_truncated",
        description: "q269588.dmp cut in the middle of the stream directory",
        contents: Contents::Damaged(|| malformed::truncated(&q269588_bytes())),
    },
    CaseDef {
        name: "malformed_bad_signature",
        description: "q269588.dmp with a kernel dump's PAGEDUMP signature instead of MDMP",
        contents: Contents::Damaged(|| malformed::bad_signature(&q269588_bytes())),
    },
    CaseDef {
        name: "malformed_stream_out_of_range",
        description: "q269588.dmp whose thread list entry points past the end of the file",
        contents: Contents::Damaged(|| malformed::stream_out_of_range(&q269588_bytes())),
    },
    CaseDef {
        name: "malformed_no_threads",
        description: "q269588.dmp without a thread list stream; everything else intact",
        contents: Contents::Damaged(|| malformed::without_thread_list(&q269588_bytes())),
    },
    CaseDef {
        name: "malformed_empty",
        description: "a zero-byte file",
        contents: Contents::Damaged(Vec::new),
    },
];

fn q269588_bytes() -> Vec<u8> {
    dump::write(&q269588())
}

/// The MTA process with `threads`, `crashing` having faulted reading `fault_address`.
pub fn mta_dump(
    modules: Vec<Module>,
    threads: Vec<Thread>,
    crashing: u32,
    fault_address: u32,
) -> Dump {
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
    let crashing = article_thread(&modules);
    article_crash_on(modules, crashing)
}

/// The MTA with thread 1240 `crashing` on the article's fault while the others wait.
fn article_crash_on(modules: Vec<Module>, crashing: Thread) -> Dump {
    let threads = vec![
        dispatch_thread(&modules),
        timer_thread(&modules),
        crashing,
        rpc_listen_thread(&modules),
    ];
    mta_dump(modules, threads, CRASH_THREAD_ID, FAULT_ADDRESS)
}

fn q269588() -> Dump {
    article_crash(mta_modules(MAPI32))
}

fn q269588_fixed() -> Dump {
    article_crash(mta_modules(MAPI32_FIXED))
}

fn q269588_other_thread() -> Dump {
    let modules = mta_modules(MAPI32);
    let threads = vec![
        dispatch_thread(&modules),
        timer_thread(&modules),
        article_thread(&modules),
        null_read_thread(&modules, WORKER_THREAD_ID, &ROUTING_NULL_READ),
    ];
    mta_dump(
        modules,
        threads,
        WORKER_THREAD_ID,
        ROUTING_NULL_READ.field_offset,
    )
}

fn q269588_nosyms() -> Dump {
    article_crash(mta_modules_without_symbols())
}

fn q269588_fpo() -> Dump {
    let modules = mta_fpo_modules();
    let crashing = article_fpo_thread(&modules);
    article_crash_on(modules, crashing)
}

fn heap_other_callers() -> Dump {
    let modules = mta_modules(MAPI32);
    let threads = vec![
        dispatch_thread(&modules),
        timer_thread(&modules),
        crt_heap_thread(&modules, CRT_HEAP_FAULT_ADDRESS),
        rpc_listen_thread(&modules),
    ];
    mta_dump(modules, threads, CRASH_THREAD_ID, CRT_HEAP_FAULT_ADDRESS)
}

/// Thread 1240 faulting at `site` while the idle threads wait.
fn null_read_crash(site: &NullRead) -> Dump {
    let modules = mta_modules(MAPI32);
    let threads = vec![
        dispatch_thread(&modules),
        timer_thread(&modules),
        null_read_thread(&modules, CRASH_THREAD_ID, site),
        rpc_listen_thread(&modules),
    ];
    mta_dump(modules, threads, CRASH_THREAD_ID, site.field_offset)
}

fn plain_av() -> Dump {
    null_read_crash(&ROUTING_NULL_READ)
}

/// Cases only shares have (the corpus's case list is fixed).
pub const SHARE_ONLY_CASES: &[CaseDef] = &[CaseDef {
    name: "queue_av",
    description: "NULL read in emsmta!HrQueueCopyMessage, no heap code involved: a second \
                  non-heap crash signature",
    contents: symbolized(|| null_read_crash(&QUEUE_NULL_READ)),
}];

/// The corpus or share-only case called `name`; panics on a typo in a case table.
pub fn find_case(name: &str) -> &'static CaseDef {
    CASES
        .iter()
        .chain(SHARE_ONLY_CASES)
        .find(|case| case.name == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}
