//! Signatures and bucket ids: names for a crash that stay the same when it happens again.
//!
//! Only what survives a rebuild and a reload goes in: normalized function names, and for
//! unsymbolized frames the module and the offset into it, never an absolute address,
//! thread id or argument list.

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

/// A C/C++ function name without what differs between builds of the same code: the
/// argument list and anything after it (`const`, `&`), template arguments, stray `const`
/// and extra whitespace. `std::vector<int>::push_back(int const &) const` becomes
/// `std::vector::push_back`; operators such as `operator<<` and `operator()` are kept.
pub(crate) fn normalize_function(name: &str) -> String {
    let mut kept = String::with_capacity(name.len());
    let mut template_depth = 0usize;
    let mut rest = name.trim();
    while let Some(c) = rest.chars().next() {
        if let Some(operator) = operator_at(rest, &kept) {
            if template_depth == 0 {
                kept.push_str(operator);
            }
            rest = &rest[operator.len()..];
            continue;
        }
        if template_depth == 0 && rest.starts_with(ANONYMOUS_NAMESPACE) {
            kept.push_str(ANONYMOUS_NAMESPACE);
            rest = &rest[ANONYMOUS_NAMESPACE.len()..];
            continue;
        }
        match c {
            '<' => template_depth += 1,
            '>' if template_depth > 0 => template_depth -= 1,
            '(' if template_depth == 0 => break,
            _ if template_depth == 0 => kept.push(c),
            _ => {}
        }
        rest = &rest[c.len_utf8()..];
    }
    let words: Vec<&str> = kept.split_whitespace().filter(|w| *w != "const").collect();
    let joined = join_words(&words);
    if joined.is_empty() {
        name.trim().to_string()
    } else {
        joined
    }
}

/// How GCC and Clang name an anonymous namespace; its parentheses are not arguments.
const ANONYMOUS_NAMESPACE: &str = "(anonymous namespace)";

/// Characters an overloaded operator's symbol is made of (`operator<<=`, `operator->*`).
const OPERATOR_SYMBOLS: &str = "<>=!+-*/%^&|~[],";

/// `operator` and its symbol at the start of `rest` (`operator<<`, `operator()`,
/// `operator new[]`), so that its brackets are not read as templates or arguments.
/// `before` is what precedes it: `operator` must start a word.
fn operator_at<'a>(rest: &'a str, before: &str) -> Option<&'a str> {
    let after = rest.strip_prefix("operator")?;
    if before.ends_with(is_word_char) || after.starts_with(is_word_char) {
        return None;
    }
    let spaces = after.len() - after.trim_start().len();
    let symbol = &after[spaces..];
    let symbol_len = if symbol.starts_with("()") {
        2
    } else if symbol.starts_with(|c| OPERATOR_SYMBOLS.contains(c)) {
        symbol
            .find(|c| !OPERATOR_SYMBOLS.contains(c))
            .unwrap_or(symbol.len())
    } else {
        // `operator new`, `operator delete[]`, conversions such as `operator bool`.
        let word = symbol.find(|c| !is_word_char(c)).unwrap_or(symbol.len());
        word + usize::from(symbol[word..].starts_with("[]")) * 2
    };
    Some(&rest[.."operator".len() + spaces + symbol_len])
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Joins words with one space where both sides are word characters (`operator new`), and
/// none elsewhere (`Foo ::Bar` becomes `Foo::Bar`).
fn join_words(words: &[&str]) -> String {
    let mut joined = String::new();
    for word in words {
        if joined.ends_with(is_word_char) && word.starts_with(is_word_char) {
            joined.push(' ');
        }
        joined.push_str(word);
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Addr;
    use std::path::Path;

    #[test]
    fn normalization_strips_arguments_templates_const_and_whitespace() {
        let cases = [
            (
                "std::vector<int>::push_back(int const &) const",
                "std::vector::push_back",
            ),
            (
                "mozilla::Maybe<std::pair<int, char> >::emplace<int>(int&&)",
                "mozilla::Maybe::emplace",
            ),
            ("  HrStrAToStrW ", "HrStrAToStrW"),
            (
                "HrStrAToStrW(char const *,unsigned short * *)",
                "HrStrAToStrW",
            ),
            ("const Foo :: Bar", "Foo::Bar"),
            ("operator new(unsigned int)", "operator new"),
            ("operator delete[](void *)", "operator delete[]"),
            ("Stream::operator<<(int)", "Stream::operator<<"),
            ("Cmp<int>::operator<(Cmp const &)", "Cmp::operator<"),
            ("Fn::operator()(int)", "Fn::operator()"),
            ("Ptr<T>::operator->()", "Ptr::operator->"),
            (
                "(anonymous namespace)::Run(int)",
                "(anonymous namespace)::Run",
            ),
            ("`anonymous namespace'::Run", "`anonymous namespace'::Run"),
            ("Cooperator::cooperate(int)", "Cooperator::cooperate"),
        ];
        for (raw, normalized) in cases {
            assert_eq!(normalize_function(raw), normalized, "{raw}");
        }
    }

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
