//! The crash class: from the exception code, the access type minidump reports for access
//! violations, the fault address, and whether the fault happened inside heap code.

use crate::model::{Access, Crash, CrashClass};

/// Faults below this address are a NULL pointer plus a field offset: Windows never maps
/// the first 64 KiB.
const NULL_REGION_END: u64 = 0x1_0000;

const STATUS_ACCESS_VIOLATION: u32 = 0xc000_0005;
const STATUS_HEAP_CORRUPTION: u32 = 0xc000_0374;
const STATUS_STACK_OVERFLOW: u32 = 0xc000_00fd;
const STATUS_BREAKPOINT: u32 = 0x8000_0003;
/// A breakpoint in a 32-bit process running under WoW64.
const STATUS_WX86_BREAKPOINT: u32 = 0x4000_001f;
const STATUS_INVALID_PARAMETER: u32 = 0xc000_000d;
const STATUS_INVALID_CRUNTIME_PARAMETER: u32 = 0xc000_0417;
/// `__fastfail` and failed /GS cookie checks both raise this.
const STATUS_STACK_BUFFER_OVERRUN: u32 = 0xc000_0409;
/// What the Microsoft C++ runtime raises for `throw` ("msc" in ASCII).
const MSVC_CPP_EXCEPTION: u32 = 0xe06d_7363;

/// The class of a crash. `faulted_in_heap` says whether the innermost relevant frame is
/// heap code; a fault there means the heap was already damaged, which matters more than
/// how the damaged pointer was used. Without an exception record (text stacks) only that
/// frame evidence is left.
pub(crate) fn crash_class(crash: Option<&Crash>, faulted_in_heap: bool) -> CrashClass {
    match (crash, crash.map(|crash| crash.code.0)) {
        (_, Some(STATUS_HEAP_CORRUPTION)) => CrashClass::HeapCorruption,
        (_, Some(STATUS_STACK_OVERFLOW)) => CrashClass::StackExhaustion,
        (_, Some(STATUS_BREAKPOINT | STATUS_WX86_BREAKPOINT)) => CrashClass::Breakpoint,
        (_, Some(STATUS_INVALID_PARAMETER | STATUS_INVALID_CRUNTIME_PARAMETER)) => {
            CrashClass::InvalidParameter
        }
        (_, Some(STATUS_STACK_BUFFER_OVERRUN)) => CrashClass::FastFail,
        (_, Some(MSVC_CPP_EXCEPTION)) => CrashClass::CppException,
        (_, Some(STATUS_ACCESS_VIOLATION) | None) if faulted_in_heap => CrashClass::HeapCorruption,
        (Some(crash), Some(STATUS_ACCESS_VIOLATION)) => access_violation(crash),
        _ => CrashClass::Unknown,
    }
}

/// The access type ([`Crash::access`]) and the fault address decide. A read or write near
/// zero is a NULL dereference; executing there stays an execute violation, since a jump to
/// NULL is a bad function pointer rather than a bad data pointer.
fn access_violation(crash: &Crash) -> CrashClass {
    let near_null = crash.address.0 < NULL_REGION_END;
    match crash.access() {
        Some(Access::Execute) => CrashClass::ExecuteAccessViolation,
        _ if near_null => CrashClass::NullDereference,
        Some(Access::Read) => CrashClass::ReadAccessViolation,
        Some(Access::Write) => CrashClass::WriteAccessViolation,
        None => CrashClass::AccessViolation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crash(code: &str, reason: &str, address: &str) -> Crash {
        Crash {
            thread_id: 1,
            code: code.parse().unwrap(),
            reason: reason.to_string(),
            address: address.parse().unwrap(),
        }
    }

    fn class_of(code: &str, reason: &str, address: &str) -> CrashClass {
        crash_class(Some(&crash(code, reason, address)), false)
    }

    #[test]
    fn access_violations_by_access_type_and_address() {
        let cases = [
            ("READ", "0x0", CrashClass::NullDereference),
            ("WRITE", "0xffff", CrashClass::NullDereference),
            ("READ", "0x10000", CrashClass::ReadAccessViolation),
            ("WRITE", "0x4e3c9", CrashClass::WriteAccessViolation),
            ("EXEC", "0x3df944", CrashClass::ExecuteAccessViolation),
            ("EXEC", "0x0", CrashClass::ExecuteAccessViolation),
        ];
        for (access, address, class) in cases {
            let reason = format!("EXCEPTION_ACCESS_VIOLATION_{access}");
            assert_eq!(
                class_of("0xc0000005", &reason, address),
                class,
                "{reason} {address}"
            );
        }
        assert_eq!(
            class_of("0xc0000005", "EXCEPTION_ACCESS_VIOLATION", "0x41414141"),
            CrashClass::AccessViolation,
            "the dump did not record the access type"
        );
    }

    #[test]
    fn exception_codes_name_their_class() {
        let cases = [
            ("0xc0000374", CrashClass::HeapCorruption),
            ("0xc00000fd", CrashClass::StackExhaustion),
            ("0x80000003", CrashClass::Breakpoint),
            ("0x4000001f", CrashClass::Breakpoint),
            ("0xc000000d", CrashClass::InvalidParameter),
            ("0xc0000417", CrashClass::InvalidParameter),
            ("0xc0000409", CrashClass::FastFail),
            ("0xe06d7363", CrashClass::CppException),
            ("0x0000000b", CrashClass::Unknown),
        ];
        for (code, class) in cases {
            assert_eq!(class_of(code, "", "0x1234"), class, "{code}");
        }
    }

    #[test]
    fn a_fault_in_heap_code_is_heap_corruption_even_near_null() {
        let near_null = crash("0xc0000005", "EXCEPTION_ACCESS_VIOLATION_READ", "0x8");
        assert_eq!(
            crash_class(Some(&near_null), true),
            CrashClass::HeapCorruption
        );
        assert_eq!(crash_class(None, true), CrashClass::HeapCorruption);
        assert_eq!(crash_class(None, false), CrashClass::Unknown);
        let overflow = crash("0xc00000fd", "EXCEPTION_STACK_OVERFLOW", "0x1234");
        assert_eq!(
            crash_class(Some(&overflow), true),
            CrashClass::StackExhaustion,
            "a stack overflow inside the allocator is still a stack overflow"
        );
    }
}
