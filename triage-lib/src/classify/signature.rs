//! Signatures and bucket ids: names for a crash that stay the same when it happens again.
//!
//! Only what survives a rebuild and a reload goes in: normalized function names, and for
//! unsymbolized frames the module and the offset into it, never an absolute address,
//! thread id or argument list.

use super::function_name::normalize_function;
use super::lists::Lists;
use crate::model::{addr_text, CrashClass, Frame};

/// Most frames a signature holds, so a long run of prefix frames cannot grow it unbounded.
const MAX_SIGNATURE_FRAMES: usize = 8;

/// The Socorro-style signature starting at `frames[start]`: skip-list frames are left out,
/// prefix frames are kept and the signature goes on, the first other frame ends it.
pub(crate) fn signature(frames: &[Frame], start: usize, lists: &Lists) -> String {
    let mut parts = Vec::new();
    for frame in frames.iter().skip(start) {
        if lists.skip.matches(frame) {
            continue;
        }
        parts.push(frame_name(frame));
        if !lists.continues_signature(frame) || parts.len() == MAX_SIGNATURE_FRAMES {
            break;
        }
    }
    parts.join(" | ")
}

/// WinDbg-like `FAILURE_BUCKET_ID`: `<CLASS>_<code>_<module>!<function>`, e.g.
/// `HEAP_CORRUPTION_c0000005_emsmta.exe!HrStrAToStrW`. Without a recorded exception code
/// (text stacks) the code part is left out; an unsymbolized frame gives `module@0xoffset`.
pub(crate) fn bucket(class: CrashClass, code: Option<u32>, frame: &Frame) -> String {
    let place = match (&frame.module, &frame.function) {
        (Some(module), Some(function)) => {
            format!("{}!{}", module.to_lowercase(), normalize_function(function))
        }
        _ => frame_name(frame),
    };
    let class = class.to_string().to_uppercase();
    match code {
        Some(code) => format!("{class}_{code:08x}_{place}"),
        None => format!("{class}_{place}"),
    }
}

/// A frame as signatures show it: the normalized function, else `module@0xoffset` (module
/// in lower case, as Windows spells one file several ways), else `@address`.
pub(crate) fn frame_name(frame: &Frame) -> String {
    match (&frame.function, &frame.module) {
        (Some(function), _) => normalize_function(function),
        (None, Some(module)) => {
            let offset = frame.module_offset.or(frame.address);
            format!("{}@{}", module.to_lowercase(), addr_text(offset))
        }
        (None, None) => format!("@{}", addr_text(frame.address)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Addr;
    use std::path::Path;

    fn frame(module: Option<&str>, function: Option<&str>, module_offset: &str) -> Frame {
        Frame {
            address: Some(Addr(0x1234_5678)),
            module: module.map(str::to_string),
            function: function.map(str::to_string),
            module_offset: Some(module_offset.parse().unwrap()),
            ..Frame::default()
        }
    }

    #[test]
    fn unsymbolized_frames_fall_back_to_module_and_offset() {
        let named = frame(Some("crashme.exe"), Some("Crash(int)"), "0x10");
        assert_eq!(frame_name(&named), "Crash");
        let unnamed = frame(Some("CrashMe.EXE"), None, "0xa6cd");
        assert_eq!(frame_name(&unnamed), "crashme.exe@0xa6cd");
        let nowhere = frame(None, None, "0x0");
        assert_eq!(frame_name(&nowhere), "@0x12345678");
        assert_eq!(
            bucket(CrashClass::NullDereference, Some(0xc0000005), &unnamed),
            "NULL_DEREFERENCE_c0000005_crashme.exe@0xa6cd"
        );
        assert_eq!(
            bucket(CrashClass::Unknown, None, &named),
            "UNKNOWN_crashme.exe!Crash"
        );
    }

    fn lists() -> Lists {
        let mut lists = Lists::default();
        let text = r#"
skip = ["ntdll!ZwWaitFor*", "kernelbase!RaiseException"]
prefix = ["*!memcpy"]
allocator = ["*!malloc"]
sentinel = ["*!_purecall"]
"#;
        lists.add_text(text, Path::new("test.toml")).unwrap();
        lists
    }

    fn stack(names: &[(&str, &str)]) -> Vec<Frame> {
        names
            .iter()
            .map(|(module, function)| frame(Some(module), Some(function), "0x1"))
            .collect()
    }

    #[test]
    fn skip_frames_vanish_and_prefix_frames_lead_on() {
        let frames = stack(&[
            ("ntdll.dll", "ZwWaitForSingleObject"),
            ("msvcrt.dll", "memcpy"),
            ("kernelbase.dll", "RaiseException"),
            ("msvcrt.dll", "malloc"),
            ("app.exe", "Parse(char const *)"),
            ("app.exe", "main"),
        ]);
        assert_eq!(signature(&frames, 0, &lists()), "memcpy | malloc | Parse");
        assert_eq!(signature(&frames, 4, &lists()), "Parse");
    }

    #[test]
    fn a_signature_of_prefix_frames_is_capped() {
        let frames = stack(&[("msvcrt.dll", "memcpy"); 20]);
        let parts = signature(&frames, 0, &lists()).split(" | ").count();
        assert_eq!(parts, MAX_SIGNATURE_FRAMES);
    }

    #[test]
    fn an_unsymbolized_frame_ends_the_signature() {
        let mut frames = stack(&[("msvcrt.dll", "memcpy"), ("app.exe", "main")]);
        frames.insert(1, frame(Some("app.exe"), None, "0x4242"));
        assert_eq!(signature(&frames, 0, &lists()), "memcpy | app.exe@0x4242");
    }
}
