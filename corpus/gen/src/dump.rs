//! A small model of a Windows 2000 user-mode minidump and its serializer. Only the streams a
//! post-mortem of the MTA needs are written: threads, modules, stack memory, the exception,
//! system info and misc info.

use crate::modules::Module;
use crate::stack::Stack;
use minidump_common::format::{
    MiscInfoFlags, PlatformId, ProcessorArchitecture, X86CpuInfo, CONTEXT_X86, CPU_INFORMATION,
    MINIDUMP_DIRECTORY, MINIDUMP_EXCEPTION, MINIDUMP_EXCEPTION_STREAM, MINIDUMP_HEADER,
    MINIDUMP_LOCATION_DESCRIPTOR, MINIDUMP_MEMORY_DESCRIPTOR, MINIDUMP_MISC_INFO, MINIDUMP_MODULE,
    MINIDUMP_SIGNATURE, MINIDUMP_STREAM_TYPE, MINIDUMP_SYSTEM_INFO, MINIDUMP_THREAD,
    MINIDUMP_VERSION, VS_FFI_SIGNATURE, VS_FFI_STRUCVERSION, VS_FIXEDFILEINFO,
};
use scroll::ctx::{SizeWith, TryIntoCtx};
use scroll::{Endian, Pwrite, LE};

/// `CONTEXT_i386 | CONTROL | INTEGER | SEGMENTS | FLOATING_POINT | DEBUG_REGISTERS`: every
/// register a walker or a human reading the dump could ask for is marked valid.
pub const CONTEXT_FLAGS: u32 = 0x0001_001f;

pub const EXCEPTION_ACCESS_VIOLATION: u32 = 0xc000_0005;

/// One thread: its register state and the stack captured from ESP up.
#[derive(Debug, Clone)]
pub struct Thread {
    pub id: u32,
    pub teb: u32,
    pub context: CONTEXT_X86,
    pub stack: Stack,
}

/// The exception that made the process write the dump.
#[derive(Debug, Clone)]
pub struct Exception {
    pub thread_id: u32,
    pub code: u32,
    /// Faulting instruction (EIP).
    pub address: u32,
    /// For an access violation: read(0)/write(1), then the address accessed.
    pub information: Vec<u64>,
}

#[derive(Debug, Clone)]
pub struct Dump {
    /// When the dump was written (header `TimeDateStamp`).
    pub time: u32,
    pub process_id: u32,
    pub process_create_time: u32,
    pub modules: Vec<Module>,
    pub threads: Vec<Thread>,
    pub exception: Exception,
}

impl Exception {
    /// An access violation reading `fault_address` in `thread`, at its current EIP.
    pub fn read_violation(thread: &Thread, fault_address: u32) -> Exception {
        Exception {
            thread_id: thread.id,
            code: EXCEPTION_ACCESS_VIOLATION,
            address: thread.context.eip,
            information: vec![0, fault_address.into()],
        }
    }
}

/// Windows 2000 Server, Service Pack 2, on a dual Pentium III.
const OS_BUILD: u32 = 2195;
const CSD_VERSION: &str = "Service Pack 2";
const VER_NT_SERVER: u8 = 3;

const STREAMS: [MINIDUMP_STREAM_TYPE; 6] = [
    MINIDUMP_STREAM_TYPE::ThreadListStream,
    MINIDUMP_STREAM_TYPE::ModuleListStream,
    MINIDUMP_STREAM_TYPE::MemoryListStream,
    MINIDUMP_STREAM_TYPE::ExceptionStream,
    MINIDUMP_STREAM_TYPE::SystemInfoStream,
    MINIDUMP_STREAM_TYPE::MiscInfoStream,
];

/// Little-endian bytes of a minidump-common format struct.
fn encode<T>(value: T) -> Vec<u8>
where
    T: SizeWith<Endian> + TryIntoCtx<Endian, Error = scroll::Error>,
{
    let mut bytes = vec![0; T::size_with(&LE)];
    bytes
        .pwrite_with(value, 0, LE)
        .expect("buffer is sized for the struct");
    bytes
}

/// Appends data 4-byte aligned, as dbghelp does, and hands back where it went.
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn put(&mut self, bytes: &[u8]) -> MINIDUMP_LOCATION_DESCRIPTOR {
        self.buf.resize(self.buf.len().next_multiple_of(4), 0);
        let rva = self.buf.len() as u32;
        self.buf.extend_from_slice(bytes);
        MINIDUMP_LOCATION_DESCRIPTOR {
            data_size: bytes.len() as u32,
            rva,
        }
    }

    /// A `MINIDUMP_STRING`: byte length, UTF-16LE text, NUL terminator.
    fn put_string(&mut self, s: &str) -> u32 {
        let utf16: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut bytes = (utf16.len() as u32).to_le_bytes().to_vec();
        bytes.extend(utf16);
        bytes.extend([0, 0]);
        self.put(&bytes).rva
    }

    /// A stream body: a 32-bit count followed by the entries.
    fn put_list(&mut self, entries: Vec<Vec<u8>>) -> MINIDUMP_LOCATION_DESCRIPTOR {
        let mut bytes = (entries.len() as u32).to_le_bytes().to_vec();
        bytes.extend(entries.concat());
        self.put(&bytes)
    }
}

/// Serializes `dump`: header, stream directory, then the streams and the data they point to.
pub fn write(dump: &Dump) -> Vec<u8> {
    let directory_rva = MINIDUMP_HEADER::size_with(&LE);
    let data_start = directory_rva + STREAMS.len() * MINIDUMP_DIRECTORY::size_with(&LE);
    let mut w = Writer {
        buf: vec![0; data_start],
    };
    let stacks: Vec<_> = dump
        .threads
        .iter()
        .map(|t| stack_descriptor(&mut w, &t.stack))
        .collect();
    let locations = [
        thread_list(&mut w, &dump.threads, &stacks),
        module_list(&mut w, &dump.modules),
        memory_list(&mut w, &stacks),
        exception_stream(&mut w, dump),
        system_info(&mut w),
        misc_info(&mut w, dump),
    ];
    let header = MINIDUMP_HEADER {
        signature: MINIDUMP_SIGNATURE,
        version: MINIDUMP_VERSION,
        stream_count: STREAMS.len() as u32,
        stream_directory_rva: directory_rva as u32,
        checksum: 0,
        time_date_stamp: dump.time,
        flags: 0,
    };
    let mut head = encode(header);
    for (stream, location) in STREAMS.iter().zip(locations) {
        head.extend(encode(MINIDUMP_DIRECTORY {
            stream_type: *stream as u32,
            location,
        }));
    }
    w.buf[..data_start].copy_from_slice(&head);
    w.buf
}

fn stack_descriptor(w: &mut Writer, stack: &Stack) -> MINIDUMP_MEMORY_DESCRIPTOR {
    MINIDUMP_MEMORY_DESCRIPTOR {
        start_of_memory_range: stack.start.into(),
        memory: w.put(&stack.bytes),
    }
}

fn thread_list(
    w: &mut Writer,
    threads: &[Thread],
    stacks: &[MINIDUMP_MEMORY_DESCRIPTOR],
) -> MINIDUMP_LOCATION_DESCRIPTOR {
    let entries = threads
        .iter()
        .zip(stacks)
        .map(|(t, stack)| {
            let thread_context = w.put(&encode(t.context.clone()));
            encode(MINIDUMP_THREAD {
                thread_id: t.id,
                suspend_count: 1,
                priority_class: 0x20, // NORMAL_PRIORITY_CLASS
                priority: 0,
                teb: t.teb.into(),
                stack: *stack,
                thread_context,
            })
        })
        .collect();
    w.put_list(entries)
}

/// The stacks again, as the memory list: both point at the same bytes, as in dbghelp's dumps.
fn memory_list(
    w: &mut Writer,
    stacks: &[MINIDUMP_MEMORY_DESCRIPTOR],
) -> MINIDUMP_LOCATION_DESCRIPTOR {
    w.put_list(stacks.iter().map(|s| encode(*s)).collect())
}

fn version_info(module: &Module) -> VS_FIXEDFILEINFO {
    let [a, b, c, d] = module.version.map(u32::from);
    let is_exe = module.code_file.to_ascii_lowercase().ends_with(".exe");
    VS_FIXEDFILEINFO {
        signature: VS_FFI_SIGNATURE,
        struct_version: VS_FFI_STRUCVERSION,
        file_version_hi: a << 16 | b,
        file_version_lo: c << 16 | d,
        product_version_hi: a << 16 | b,
        product_version_lo: c << 16 | d,
        file_flags_mask: 0x3f,
        file_flags: 0,
        file_os: 0x0004_0004,                  // VOS_NT_WINDOWS32
        file_type: if is_exe { 1 } else { 2 }, // VFT_APP / VFT_DLL
        file_subtype: 0,
        file_date_hi: 0,
        file_date_lo: 0,
    }
}

/// The NB10 (PDB 2.0) CodeView record VC6 linkers emitted: signature, offset 0, PDB signature,
/// age, NUL-terminated PDB name.
fn nb10_record(module: &Module) -> Vec<u8> {
    let mut bytes = b"NB10".to_vec();
    for word in [0, module.timestamp, module.age] {
        bytes.extend(word.to_le_bytes());
    }
    bytes.extend(module.pdb.as_bytes());
    bytes.push(0);
    bytes
}

fn module_list(w: &mut Writer, modules: &[Module]) -> MINIDUMP_LOCATION_DESCRIPTOR {
    let entries = modules
        .iter()
        .map(|m| {
            let module_name_rva = w.put_string(m.code_file);
            let cv_record = w.put(&nb10_record(m));
            encode(MINIDUMP_MODULE {
                base_of_image: m.base.into(),
                size_of_image: m.size,
                time_date_stamp: m.timestamp,
                module_name_rva,
                version_info: version_info(m),
                cv_record,
                ..MINIDUMP_MODULE::default()
            })
        })
        .collect();
    w.put_list(entries)
}

fn exception_stream(w: &mut Writer, dump: &Dump) -> MINIDUMP_LOCATION_DESCRIPTOR {
    let e = &dump.exception;
    let thread = dump
        .threads
        .iter()
        .find(|t| t.id == e.thread_id)
        .expect("the exception's thread is in the thread list");
    let mut exception_information = [0u64; 15];
    exception_information[..e.information.len()].copy_from_slice(&e.information);
    let stream = MINIDUMP_EXCEPTION_STREAM {
        thread_id: e.thread_id,
        __align: 0,
        exception_record: MINIDUMP_EXCEPTION {
            exception_code: e.code,
            exception_address: e.address.into(),
            number_parameters: e.information.len() as u32,
            exception_information,
            ..MINIDUMP_EXCEPTION::default()
        },
        thread_context: w.put(&encode(thread.context.clone())),
    };
    w.put(&encode(stream))
}

fn system_info(w: &mut Writer) -> MINIDUMP_LOCATION_DESCRIPTOR {
    let csd_version_rva = w.put_string(CSD_VERSION);
    let cpu = X86CpuInfo {
        vendor_id: [0x756e_6547, 0x4965_6e69, 0x6c65_746e], // "GenuineIntel"
        version_information: 0x0683,
        feature_information: 0x0383_fbff,
        amd_extended_cpu_features: 0,
    };
    let info = MINIDUMP_SYSTEM_INFO {
        processor_architecture: ProcessorArchitecture::PROCESSOR_ARCHITECTURE_INTEL as u16,
        processor_level: 6,
        processor_revision: 0x0803,
        number_of_processors: 2,
        product_type: VER_NT_SERVER,
        major_version: 5,
        minor_version: 0,
        build_number: OS_BUILD,
        platform_id: PlatformId::VER_PLATFORM_WIN32_NT as u32,
        csd_version_rva,
        suite_mask: 0,
        reserved2: 0,
        cpu: CPU_INFORMATION {
            data: encode(cpu).try_into().expect("X86CpuInfo is 24 bytes"),
        },
    };
    w.put(&encode(info))
}

fn misc_info(w: &mut Writer, dump: &Dump) -> MINIDUMP_LOCATION_DESCRIPTOR {
    let info = MINIDUMP_MISC_INFO {
        size_of_info: MINIDUMP_MISC_INFO::size_with(&LE) as u32,
        flags1: (MiscInfoFlags::MINIDUMP_MISC1_PROCESS_ID
            | MiscInfoFlags::MINIDUMP_MISC1_PROCESS_TIMES)
            .bits(),
        process_id: dump.process_id,
        process_create_time: dump.process_create_time,
        process_user_time: 3120,
        process_kernel_time: 1876,
    };
    w.put(&encode(info))
}
