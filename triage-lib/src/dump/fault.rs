//! What the exploitability rules read from a dump: the raw exception record, the exception
//! context's registers, the code saved at the instruction pointer, the memory map (Linux maps
//! or the memory-info stream), module images and thread stacks. Everything lands in
//! [`Facts`], so the rules never see a minidump type.

use minidump::system_info::{Cpu, Os};
use minidump::{
    MinidumpContext, MinidumpException, MinidumpMemoryInfoList, MinidumpMiscInfo,
    MinidumpModuleList, MinidumpSystemInfo, MinidumpThreadList, UnifiedMemoryList,
};
use minidump_common::format::{MemoryState, MemoryType, MINIDUMP_STREAM_TYPE};

use super::Dump;
use crate::exploit::{Arch, Facts, Platform, Region, Registers};

/// Bytes read at the instruction pointer: Breakpad's `kDisassembleBytesBeyondPC`.
const CODE_BYTES: usize = 2048;

const X86_REGISTERS: [&str; 8] = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const AMD64_REGISTERS: [&str; 16] = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15",
];

impl Dump {
    /// The facts about the crash, `None` without an exception or system-info stream.
    pub fn fault_facts(&self) -> Option<Facts> {
        let system = self.minidump.get_stream::<MinidumpSystemInfo>().ok()?;
        let exception = self.minidump.get_stream::<MinidumpException>().ok()?;
        let misc = self.minidump.get_stream::<MinidumpMiscInfo>().ok();
        let record = &exception.raw.exception_record;
        let parameters =
            (record.number_parameters as usize).min(record.exception_information.len());
        let arch = match system.cpu {
            Cpu::X86 => Arch::X86,
            Cpu::X86_64 => Arch::Amd64,
            _ => Arch::Other,
        };
        let registers = exception
            .context(&system, misc.as_ref())
            .map(|context| registers_of(&context, arch));
        let memory = self.minidump.get_memory().unwrap_or_default();
        let threads = self.minidump.get_stream::<MinidumpThreadList>().ok();
        let crashing = threads.as_ref().and_then(|list| {
            list.threads
                .iter()
                .find(|thread| thread.raw.thread_id == exception.get_crashing_thread_id())
        });
        Some(Facts {
            platform: match system.os {
                Os::Windows => Platform::Windows,
                Os::Linux => Platform::Linux,
                _ => Platform::Other,
            },
            arch,
            code: record.exception_code,
            parameters: record.exception_information[..parameters].to_vec(),
            address: exception.get_crash_address(system.os, system.cpu),
            code_bytes: registers
                .as_ref()
                .map(|registers| code_at(&memory, registers.ip))
                .unwrap_or_default(),
            registers,
            maps: self
                .minidump
                .get_raw_stream(MINIDUMP_STREAM_TYPE::LinuxMaps as u32)
                .ok()
                .map(|text| parse_maps(&String::from_utf8_lossy(text))),
            memory_info: self
                .minidump
                .get_stream::<MinidumpMemoryInfoList>()
                .ok()
                .map(|info| info.iter().filter_map(info_region).collect()),
            modules: self
                .minidump
                .get_stream::<MinidumpModuleList>()
                .map(|list| {
                    list.iter()
                        .map(|m| {
                            (
                                m.raw.base_of_image,
                                m.raw
                                    .base_of_image
                                    .saturating_add(m.raw.size_of_image.into()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            stacks: threads
                .iter()
                .flat_map(|list| &list.threads)
                .map(|thread| {
                    let start = thread.raw.stack.start_of_memory_range;
                    (
                        start,
                        start.saturating_add(thread.raw.stack.memory.data_size.into()),
                    )
                })
                .collect(),
            thread_stack: crashing.and_then(|thread| teb_stack(&memory, thread.raw.teb, arch)),
        })
    }
}

fn registers_of(context: &MinidumpContext, arch: Arch) -> Registers {
    let names: &[&str] = match arch {
        Arch::X86 => &X86_REGISTERS,
        Arch::Amd64 => &AMD64_REGISTERS,
        Arch::Other => &[],
    };
    let mut gpr = [None; 16];
    for (slot, name) in gpr.iter_mut().zip(names) {
        *slot = context.get_register(name);
    }
    Registers {
        ip: context.get_instruction_pointer(),
        sp: context.get_stack_pointer(),
        gpr,
    }
}

/// The saved bytes from `ip` to the end of the memory region holding it, at most
/// [`CODE_BYTES`].
fn code_at(memory: &UnifiedMemoryList<'_>, ip: u64) -> Vec<u8> {
    let Some(region) = memory.memory_at_address(ip) else {
        return Vec::new();
    };
    let bytes = region.bytes();
    let start = usize::try_from(ip - region.base_address()).unwrap_or(usize::MAX);
    bytes
        .get(start..)
        .map(|rest| rest[..rest.len().min(CODE_BYTES)].to_vec())
        .unwrap_or_default()
}

/// The mappings of a Linux maps stream (`/proc/PID/maps` text). Parsed here rather than by
/// `minidump`, whose parser rejects the whole stream for one line it does not expect (Breakpad's
/// own `linux_executable_stack.dmp` has `[stack] ` with a trailing blank), and as leniently as
/// Breakpad's `ParseProcMaps`: a line whose first five fields do not parse is skipped, and
/// the rest of the line is the pathname.
pub(super) fn parse_maps(text: &str) -> Vec<Region> {
    text.lines().filter_map(map_line).collect()
}

fn map_line(line: &str) -> Option<Region> {
    let mut rest = line.trim_start();
    let mut fields = [""; 5];
    for field in &mut fields {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        *field = &rest[..end];
        rest = rest[end..].trim_start();
    }
    let [range, perms, offset, device, inode] = fields;
    let (start, end) = range.split_once('-')?;
    let start = u64::from_str_radix(start, 16).ok()?;
    let end = u64::from_str_radix(end, 16).ok()?;
    u64::from_str_radix(offset, 16).ok()?;
    device.split_once(':')?;
    inode.parse::<u64>().ok()?;
    let perms = perms.as_bytes();
    if perms.len() != 4 || start >= end {
        return None;
    }
    Some(Region {
        start,
        end,
        readable: perms[0] == b'r',
        writable: perms[1] == b'w',
        executable: perms[2] == b'x',
        name: rest.trim_end().to_string(),
        ..Region::default()
    })
}

fn info_region(info: &minidump::MinidumpMemoryInfo<'_>) -> Option<Region> {
    let range = info.memory_range()?;
    Some(Region {
        start: range.start,
        end: range.end.saturating_add(1),
        readable: info.is_readable(),
        writable: info.is_writable(),
        executable: info.is_executable(),
        name: String::new(),
        private: info.ty.contains(MemoryType::MEM_PRIVATE)
            && info.state.contains(MemoryState::MEM_COMMIT),
        image: info.ty.contains(MemoryType::MEM_IMAGE),
        free: info.state.contains(MemoryState::MEM_FREE),
    })
}

/// The thread's stack from its TEB's `NT_TIB` (`StackLimit` .. `StackBase`), when the dump
/// saved the TEB.
fn teb_stack(memory: &UnifiedMemoryList<'_>, teb: u64, arch: Arch) -> Option<(u64, u64)> {
    if teb == 0 {
        return None;
    }
    let region = memory.memory_at_address(teb)?;
    let (base, limit) = match arch {
        Arch::X86 => (
            u64::from(region.get_memory_at_address::<u32>(teb + 4)?),
            u64::from(region.get_memory_at_address::<u32>(teb + 8)?),
        ),
        Arch::Amd64 => (
            region.get_memory_at_address::<u64>(teb + 8)?,
            region.get_memory_at_address::<u64>(teb + 16)?,
        ),
        Arch::Other => return None,
    };
    (limit < base).then_some((limit, base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines_parse_as_breakpad_reads_them() {
        let text = "00400000-00401000 r-xp 00000000 08:01 1234    /usr/bin/app\n\
                    02506000-02527000 rwxp 00000000 00:00 0          [heap]\n\
                    7fffbf0b9000-7fffbf0da000 rwxp 00000000 00:00 0  [stack] \n\
                    7f0000000000-7f0000001000 rw-p 00000000 00:00 0\n\
                    not a mapping line\n\
                    7f0000002000-7f0000001000 rw-p 00000000 00:00 0\n";
        let maps = parse_maps(text);
        let names: Vec<&str> = maps.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["/usr/bin/app", "[heap]", "[stack]", ""]);
        assert!(maps[0].executable && !maps[0].writable);
        assert!(maps[2].executable && maps[2].writable);
        assert_eq!(
            (maps[3].start, maps[3].end),
            (0x7f00_0000_0000, 0x7f00_0000_1000)
        );
    }
}
