//! The simulated MTA process image: every loaded module and every function that appears on a
//! generated stack. The dumps and the Breakpad `.sym` files are both derived from this table, so
//! they cannot disagree.

use std::fmt::Write;

/// A function as a Breakpad `FUNC` record describes it (addresses are module-relative).
#[derive(Debug, Clone, Copy)]
pub struct Function {
    pub name: &'static str,
    pub rva: u32,
    pub size: u32,
    /// Bytes of stack arguments (stdcall); informational only, nothing here unwinds with it
    /// (a `STACK WIN` record's parameter size takes precedence, see [`Fpo`]).
    pub param_size: u32,
}

/// The FPO data of a frame-pointer-omitted function, written as a Breakpad
/// `STACK WIN 0` record (`dump_syms` writes these from a VC6 PDB's FPO_DATA) covering the
/// whole function. An unwinder finds the return address at
/// `ESP + locals + saved registers + the callee's parameter size` and leaves EBP as it is.
#[derive(Debug, Clone, Copy)]
pub struct Fpo {
    pub function: &'static str,
    /// Bytes of stack arguments the function takes; the unwinder of its caller adds them to
    /// find the caller's return address (they are still on the caller's stack).
    pub param_size: u32,
    pub saved_register_size: u32,
    pub local_size: u32,
}

/// A loaded PE image built by Visual C++ 6 (hence an NB10 CodeView record, not RSDS).
#[derive(Debug, Clone, Copy)]
pub struct Module {
    pub code_file: &'static str,
    pub base: u32,
    pub size: u32,
    /// PE `TimeDateStamp`; VC6 linkers wrote the same value as the NB10 PDB signature.
    pub timestamp: u32,
    pub age: u32,
    pub pdb: &'static str,
    /// File version a.b.c.d, as in `VS_FIXEDFILEINFO`.
    pub version: [u16; 4],
    pub functions: &'static [Function],
    /// Functions built without a frame pointer, with their `STACK WIN` unwind data.
    pub fpo: &'static [Fpo],
}

impl Module {
    /// Breakpad debug id of an NB10 module: 8 hex digits of signature, then the age in hex.
    pub fn debug_id(&self) -> String {
        format!("{:08X}{:x}", self.timestamp, self.age)
    }

    /// Windows code id (`TimeDateStamp` + `SizeOfImage`), as `dump_syms` writes in `INFO CODE_ID`.
    pub fn code_id(&self) -> String {
        format!("{:08X}{:x}", self.timestamp, self.size)
    }

    /// File name without directory, e.g. `MAPI32.dll`.
    pub fn file_name(&self) -> &'static str {
        self.code_file.rsplit('\\').next().unwrap_or(self.code_file)
    }

    /// Whether `name` (case-insensitive, with or without extension) names this module,
    /// so that the article's `NTDLL!...` spelling resolves.
    pub fn is_named(&self, name: &str) -> bool {
        let file = self.file_name();
        let stem = file.split('.').next().unwrap_or(file);
        file.eq_ignore_ascii_case(name) || stem.eq_ignore_ascii_case(name)
    }

    pub fn function(&self, name: &str) -> &'static Function {
        self.functions
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{} has no function {name}", self.file_name()))
    }

    /// Absolute address of `function+offset`; panics if the offset falls outside the function,
    /// because the `.sym` file would then symbolize it as something else.
    pub fn address(&self, function: &str, offset: u32) -> u32 {
        let f = self.function(function);
        assert!(
            offset < f.size,
            "{}!{function}+{offset:#x} is past its end",
            self.file_name()
        );
        self.base + f.rva + offset
    }

    /// This module as another build: a different link time gives a different debug id.
    pub fn rebuilt(self, timestamp: u32) -> Module {
        Module { timestamp, ..self }
    }
}

/// The PE headers take the first page of every image; code starts after it.
pub const FIRST_CODE_RVA: u32 = 0x1000;

const fn fpo(
    function: &'static str,
    param_size: u32,
    saved_register_size: u32,
    local_size: u32,
) -> Fpo {
    Fpo {
        function,
        param_size,
        saved_register_size,
        local_size,
    }
}

const fn func(name: &'static str, rva: u32, size: u32, param_size: u32) -> Function {
    Function {
        name,
        rva,
        size,
        param_size,
    }
}

/// Exchange 5.5 SP4 MTA. The article's two functions are at the addresses its return addresses
/// imply; the other functions are invented, for the idle threads and the non-MAPI variants.
pub const EMSMTA: Module = Module {
    code_file: "C:\\exchsrvr\\bin\\emsmta.exe",
    base: 0x0040_0000,
    size: 0x001c_a000,
    timestamp: 0x39da_2398,
    age: 1,
    pdb: "emsmta.pdb",
    version: [5, 5, 2653, 23],
    fpo: &[],
    functions: &[
        func("MtaDispatchThread", 0x0001_a2c0, 0x180, 4),
        func("MtaTimerThread", 0x0001_a440, 0x120, 4),
        func("MtaRpcListenThread", 0x0001_a560, 0xe0, 4),
        func("HrLoadRoutingEntry", 0x0004_5f10, 0x90, 8),
        func("MtaRoutingThread", 0x0004_6000, 0x140, 4),
        func("HrQueueCopyMessage", 0x0007_1a30, 0xb0, 0xc),
        func("MtaQueueThread", 0x0007_1ae0, 0x150, 4),
        // 0x593ae3 - 0x187 and 0x593ce1 - 0x67, from the article.
        func("HrTrackWriteLogA", 0x0019_395c, 0x2c4, 0x10),
        func("HrStrAToStrW", 0x0019_3c7a, 0x9c, 0xc),
    ],
};

/// MAPI32.dll 5.5.2652.57: the build the article's fix (5.5.2652.85) replaces.
/// Function starts are the article's return addresses minus its offsets.
pub const MAPI32: Module = Module {
    code_file: "C:\\WINNT\\system32\\MAPI32.dll",
    base: 0x6fa9_0000,
    size: 0x0008_a000,
    timestamp: 0x3a2d_8e21,
    age: 1,
    pdb: "mapi32.pdb",
    version: [5, 5, 2652, 57],
    fpo: &[],
    functions: &[
        func("MAPIAllocateBufferExt", 0x0000_6090, 0x60, 0xc),
        func("MAPIAllocateBuffer", 0x0000_60f0, 0x3a, 8),
        func("LH_IntHeapAlloc", 0x0003_fa80, 0x24, 0xc),
        func("LH_ExtHeapAlloc", 0x0003_fb10, 0x2c, 0xc),
    ],
};

/// How much later than the frame-pointer builds the frame-pointer-omitted ones were linked
/// (an hour): only so that each build has its own debug id and `.sym` file.
const FPO_REBUILD_DELAY: u32 = 3_600;

/// MAPI32.dll 5.5.2652.57 as the article's numbers say it was built: `LH_IntHeapAlloc` and
/// `LH_ExtHeapAlloc` without a frame pointer (see `article::FRAME_POINTER_OMITTED`). Its own
/// link time gives it its own debug id, so its `.sym` (with `STACK WIN` records) lies beside
/// the frame-pointer build's instead of replacing it.
pub const MAPI32_FPO: Module = Module {
    timestamp: MAPI32.timestamp + FPO_REBUILD_DELAY,
    fpo: &[
        // Each takes 3 arguments and keeps no locals or saved registers, so at its call its
        // return address lies right above the arguments it pushed for its callee.
        fpo("LH_IntHeapAlloc", 0xc, 0, 0),
        fpo("LH_ExtHeapAlloc", 0xc, 0, 0),
    ],
    ..MAPI32
};

/// The hotfix build the article names; same code layout, later link time.
pub const MAPI32_FIXED: Module = Module {
    timestamp: 0x3c3b_6748,
    version: [5, 5, 2652, 85],
    ..MAPI32
};

/// EXCHMEM.DLL with `ExchMHeapAlloc` frame-pointer-omitted, the build the article's numbers
/// imply; own link time and debug id, like [`MAPI32_FPO`].
pub const EXCHMEM_FPO: Module = Module {
    timestamp: EXCHMEM.timestamp + FPO_REBUILD_DELAY,
    fpo: &[
        // ExchMHeapAlloc(cb) takes one argument: the article's second "argument" of its row is
        // LH_IntHeapAlloc's return address (the FUNC record's 8 was this corpus's guess). No
        // locals or saved registers, like the two MAPI32 functions.
        fpo("ExchMHeapAlloc", 4, 0, 0),
    ],
    ..EXCHMEM
};

pub const EXCHMEM: Module = Module {
    code_file: "C:\\WINNT\\system32\\EXCHMEM.DLL",
    base: 0x6fff_0000,
    size: 0x0000_c000,
    timestamp: 0x39d5_11e1,
    age: 1,
    pdb: "exchmem.pdb",
    version: [5, 5, 2653, 23],
    fpo: &[],
    functions: &[
        // 0x6fff1383 - 0x13 and 0x6fff1921 - 0x101, from the article.
        func("ExchMHeapAlloc", 0x0000_1370, 0x20, 8),
        func("MpHeapAlloc", 0x0000_1820, 0x140, 0xc),
    ],
};

/// Windows 2000 SP2 ntdll. RtlpExtendHeap and RtlAllocateHeap start where the article's return
/// addresses put them; RtlpFindAndCommitPages is placed to end where RtlpExtendHeap begins.
pub const NTDLL: Module = Module {
    code_file: "C:\\WINNT\\system32\\ntdll.dll",
    base: 0x77f6_0000,
    size: 0x0007_a000,
    timestamp: 0x3ae9_bdb9,
    age: 1,
    pdb: "ntdll.pdb",
    version: [5, 0, 2195, 2779],
    fpo: &[],
    functions: &[
        func("RtlpFindAndCommitPages", 0x0000_3dd2, 0x2d4, 0x10),
        func("RtlpExtendHeap", 0x0000_40a6, 0x1c0, 8),
        func("RtlAllocateHeap", 0x0000_4682, 0x3c6, 0xc),
        func("ZwWaitForSingleObject", 0x0000_b3c4, 0xe, 0xc),
        func("ZwWaitForMultipleObjects", 0x0000_b3d4, 0xe, 0x14),
    ],
};

pub const KERNEL32: Module = Module {
    code_file: "C:\\WINNT\\system32\\KERNEL32.dll",
    base: 0x77e8_0000,
    size: 0x000b_6000,
    timestamp: 0x3ae9_bdba,
    age: 1,
    pdb: "kernel32.pdb",
    version: [5, 0, 2195, 2778],
    fpo: &[],
    functions: &[
        func("BaseThreadStart", 0x0000_7550, 0x70, 8),
        func("WaitForMultipleObjectsEx", 0x0000_b43c, 0x190, 0x14),
        func("WaitForSingleObjectEx", 0x0000_b5d0, 0x9e, 0xc),
    ],
};

pub const MSVCRT: Module = Module {
    code_file: "C:\\WINNT\\system32\\msvcrt.dll",
    base: 0x7800_0000,
    size: 0x0004_6000,
    timestamp: 0x3946_b722,
    age: 1,
    pdb: "msvcrt.pdb",
    version: [6, 1, 8924, 0],
    fpo: &[],
    functions: &[
        func("_heap_alloc", 0x0000_133c, 0x110, 8),
        func("_nh_malloc", 0x0000_1450, 0x30, 8),
        func("malloc", 0x0000_1480, 0x20, 4),
    ],
};

/// Loaded but on no stack; symbols are still generated so every module resolves.
pub const RPCRT4: Module = Module {
    code_file: "C:\\WINNT\\system32\\RPCRT4.dll",
    base: 0x77d3_0000,
    size: 0x0007_1000,
    timestamp: 0x3ae9_bdab,
    age: 1,
    pdb: "rpcrt4.pdb",
    version: [5, 0, 2195, 2781],
    fpo: &[],
    functions: &[
        func("I_RpcSend", 0x0000_4c2a, 0x8c, 4),
        func("NdrClientCall2", 0x0001_c6e4, 0x2b8, 0xc),
    ],
};

/// Loaded but on no stack; symbols are still generated so every module resolves.
pub const ADVAPI32: Module = Module {
    code_file: "C:\\WINNT\\system32\\ADVAPI32.dll",
    base: 0x77db_0000,
    size: 0x0005_d000,
    timestamp: 0x3ae9_bdb2,
    age: 1,
    pdb: "advapi32.pdb",
    version: [5, 0, 2195, 2780],
    fpo: &[],
    functions: &[
        func("RegOpenKeyExA", 0x0000_2b94, 0xd6, 0x14),
        func("RegQueryValueExA", 0x0000_2c6c, 0x1b2, 0x18),
    ],
};

/// Module list of the MTA process in load order, with the given MAPI32 build.
pub fn mta_modules(mapi32: Module) -> Vec<Module> {
    with_builds(mapi32, EXCHMEM)
}

/// The MTA's modules with the frame-pointer-omitted MAPI32 and EXCHMEM builds.
pub fn mta_fpo_modules() -> Vec<Module> {
    with_builds(MAPI32_FPO, EXCHMEM_FPO)
}

fn with_builds(mapi32: Module, exchmem: Module) -> Vec<Module> {
    vec![
        EMSMTA, NTDLL, KERNEL32, ADVAPI32, RPCRT4, MSVCRT, mapi32, exchmem,
    ]
}

/// How much later than the symbolized builds [`mta_modules_without_symbols`] were linked.
const REBUILD_DELAY_SECONDS: u32 = 86_400;

/// The MTA's modules (with MAPI32 5.5.2652.57) as if every binary had been linked a day after
/// the builds symbols exist for: same code, but debug ids no `.sym` file matches.
pub fn mta_modules_without_symbols() -> Vec<Module> {
    mta_modules(MAPI32)
        .into_iter()
        .map(|m| m.rebuilt(m.timestamp + REBUILD_DELAY_SECONDS))
        .collect()
}

/// Finds the module by name in `modules`; panics on a typo in the case tables.
pub fn find<'a>(modules: &'a [Module], name: &str) -> &'a Module {
    modules
        .iter()
        .find(|m| m.is_named(name))
        .unwrap_or_else(|| panic!("no module {name}"))
}

/// Breakpad text symbol file for `module`; `FUNC` records sorted by address, then the
/// `STACK WIN` records.
pub fn sym_file(module: &Module) -> String {
    let mut out = sym_header(module);
    for f in sorted_functions(module) {
        func_record(&mut out, f.rva, f.size, f.param_size, f.name);
    }
    stack_win_records(&mut out, module);
    out
}

/// Appends a `STACK WIN 0` (FPO) record for each of `module`'s frame-pointer-omitted
/// functions, in address order: `STACK WIN 0 <rva> <size> <prologue> <epilogue> <params>
/// <saved regs> <locals> <max stack> 0 <allocates base pointer>`, numbers in hex. These
/// functions push nothing before their body, so the prologue is empty and EBP is never used.
pub fn stack_win_records(out: &mut String, module: &Module) {
    let mut records: Vec<(&Function, &Fpo)> = module
        .fpo
        .iter()
        .map(|fpo| (module.function(fpo.function), fpo))
        .collect();
    records.sort_by_key(|(f, _)| f.rva);
    for (f, fpo) in records {
        writeln!(
            out,
            "STACK WIN 0 {:x} {:x} 0 0 {:x} {:x} {:x} 0 0 0",
            f.rva, f.size, fpo.param_size, fpo.saved_register_size, fpo.local_size
        )
        .expect("writing to a String");
    }
}

/// The `MODULE` and `INFO CODE_ID` lines every `.sym` file starts with.
pub fn sym_header(module: &Module) -> String {
    format!(
        "MODULE windows x86 {} {}\nINFO CODE_ID {} {}\n",
        module.debug_id(),
        module.pdb,
        module.code_id(),
        module.file_name()
    )
}

/// The module's functions in address order, as `.sym` files list them.
pub fn sorted_functions(module: &Module) -> Vec<Function> {
    let mut functions = module.functions.to_vec();
    functions.sort_by_key(|f| f.rva);
    functions
}

/// Appends `FUNC <rva> <size> <param_size> <name>`, numbers in hex.
pub fn func_record(out: &mut String, rva: u32, size: u32, param_size: u32, name: &str) {
    writeln!(out, "FUNC {rva:x} {size:x} {param_size:x} {name}").expect("writing to a String");
}

/// Where a Breakpad symbol supplier looks: `<pdb>/<DEBUGID>/<pdb stem>.sym`.
pub fn sym_path(module: &Module) -> String {
    let stem = module.pdb.trim_end_matches(".pdb");
    format!("{}/{}/{stem}.sym", module.pdb, module.debug_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_do_not_overlap_and_functions_fit() {
        let mut modules = mta_modules(MAPI32);
        modules.sort_by_key(|m| m.base);
        for pair in modules.windows(2) {
            assert!(pair[0].base + pair[0].size <= pair[1].base, "{pair:?}");
        }
        for m in &modules {
            let fs = sorted_functions(m);
            for pair in fs.windows(2) {
                assert!(pair[0].rva + pair[0].size <= pair[1].rva, "{pair:?}");
            }
            assert!(fs.iter().all(|f| f.rva + f.size <= m.size));
        }
    }

    #[test]
    fn nb10_debug_id_is_signature_then_age() {
        assert_eq!(MAPI32.debug_id(), "3A2D8E211");
        assert_eq!(sym_path(&MAPI32), "mapi32.pdb/3A2D8E211/mapi32.sym");
    }
}
