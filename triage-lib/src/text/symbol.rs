//! Tokens every format shares: hex numbers as debuggers print them, and the
//! `module!function+0xoff` call sites that WinDbg, its `!analyze`, Dr. Watson and KB
//! articles all use.

use crate::model::{Addr, Frame, Trust};

/// A number in any hex spelling debuggers use: `0x1f`, `1f`, `0x0000001f`, and x64
/// `00000000`0012f8a8` with its backtick between the two halves.
pub(super) fn parse_hex(token: &str) -> Option<u64> {
    let digits = token.strip_prefix("0x").unwrap_or(token);
    match digits.split_once('`') {
        Some((high, low)) if high.len() == 8 && low.len() == 8 => {
            Some(hex_digits(high)? << 32 | hex_digits(low)?)
        }
        Some(_) => None,
        None => hex_digits(digits),
    }
}

fn hex_digits(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match digits.trim_start_matches('0') {
        "" => Some(0),
        significant if significant.len() <= 16 => u64::from_str_radix(significant, 16).ok(),
        _ => None,
    }
}

/// A stack column value (`ChildEBP`, `RetAddr`, an argument): exactly 8 hex digits on x86,
/// 16 or `8`8` on x64. The fixed width is what tells columns from prose numbers.
pub(super) fn stack_word(token: &str) -> Option<u64> {
    let fixed_width = match token.len() {
        8 | 16 => !token.contains('`'),
        17 => token.as_bytes()[8] == b'`',
        _ => false,
    };
    fixed_width.then(|| parse_hex(token)).flatten()
}

/// What a call site names. Any part may be missing: `module+0xoff` has no function, a
/// bare `0x77f640fc` names only an address.
#[derive(Debug, Default)]
pub(super) struct CallSite {
    pub module: Option<String>,
    pub function: Option<String>,
    pub offset: Option<u64>,
    pub module_offset: Option<u64>,
    pub address: Option<u64>,
}

impl CallSite {
    /// Reads `module!function+0xoff`, `module!function`, `module+0xoff` or `0x77f640fc`,
    /// with the spellings WinDbg varies: offsets without `0x` (`+55` is hex), zero-padded
    /// offsets, `ntdll_77940000!` base suffixes, `kp` parameter lists and Dr. Watson's
    /// `emsmta!<nosymbols>`.
    pub fn parse(text: &str) -> Option<CallSite> {
        let text = text.trim();
        if text == "<nosymbols>" {
            // Dr. Watson's frame outside every module it knew: only the address, which the
            // callee's RetAddr column gives.
            return Some(CallSite::default());
        }
        if text.starts_with("0x") {
            let address = parse_hex(text)?;
            return Some(CallSite {
                address: Some(address),
                ..CallSite::default()
            });
        }
        if let Some((module, rest)) = text.split_once('!') {
            let (function, offset) = match rest.rsplit_once('+') {
                Some((function, offset)) => match offset_token(offset) {
                    Some(offset) => (function, offset),
                    None => (rest, None),
                },
                None => (rest, None),
            };
            let function = strip_kp_parameters(function.trim());
            if function.is_empty() {
                return None;
            }
            return Some(CallSite {
                module: Some(module_name(module)?),
                function: (function != "<nosymbols>").then(|| function.to_string()),
                offset,
                ..CallSite::default()
            });
        }
        let (module, offset) = text.rsplit_once('+')?;
        Some(CallSite {
            module: Some(module_name(module)?),
            module_offset: Some(parse_hex(offset)?),
            ..CallSite::default()
        })
    }

    /// The frame this call site names; its `index` is set when it joins a thread.
    pub fn into_frame(self, trust: Trust) -> Frame {
        Frame {
            address: self.address.map(Addr),
            module: self.module,
            function: self.function,
            offset: self.offset.map(Addr),
            module_offset: self.module_offset.map(Addr),
            trust,
            ..Frame::default()
        }
    }
}

/// What follows a call site's last `+`: the offset, with any parameter list a `kb` variant
/// prints after it dropped (`0x59(0x01422DD4, 0x00000000)`, `0x17(...)`, `0xb({...})`).
/// `Some(None)` for an offset a line wrap cut off (`+` or `+0x` at the end).
fn offset_token(text: &str) -> Option<Option<u64>> {
    let text = text.trim_end();
    if text.is_empty() || text == "0x" {
        return Some(None);
    }
    let number = match text.find('(') {
        Some(open) if text.ends_with(')') => &text[..open],
        _ => text,
    };
    parse_hex(number).map(Some)
}

/// The module as written, less WinDbg's `_77940000` load-base suffix, which it adds when two
/// modules share a name. `None` for text that cannot be a module name (prose has spaces).
fn module_name(text: &str) -> Option<String> {
    let valid = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '$'));
    if !valid {
        return None;
    }
    let without_base = text.rsplit_once('_').and_then(|(stem, base)| {
        let is_base = (8..=16).contains(&base.len()) && base.bytes().all(|b| b.is_ascii_hexdigit());
        (is_base && !stem.is_empty()).then_some(stem)
    });
    Some(without_base.unwrap_or(text).to_string())
}

/// Drops the parameter list `kp` prints after a name: `main(int argc = 0n1)` or `f(void)`.
/// Other parentheses are part of the name (`Functor::operator()`).
fn strip_kp_parameters(function: &str) -> &str {
    match split_parameter_list(function) {
        Some((name, list)) if list == "(void)" || list.contains(" = ") => name.trim_end(),
        _ => function,
    }
}

/// Splits a trailing balanced `(...)` group off a function name: `(name, "(...)")`.
pub(super) fn split_parameter_list(function: &str) -> Option<(&str, &str)> {
    if !function.ends_with(')') {
        return None;
    }
    let mut depth = 0usize;
    for (at, c) in function.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    return Some(function.split_at(at));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Option<String>, Option<String>, Option<u64>, Option<u64>) {
        let site = CallSite::parse(text).unwrap_or_else(|| panic!("{text} is a call site"));
        (site.module, site.function, site.offset, site.module_offset)
    }

    #[test]
    fn hex_spellings() {
        assert_eq!(parse_hex("0xde"), Some(0xde));
        assert_eq!(parse_hex("55"), Some(0x55));
        assert_eq!(parse_hex("0x000000de"), Some(0xde));
        assert_eq!(parse_hex("00000000`0012f8a8"), Some(0x12f8a8));
        assert_eq!(parse_hex("0x00007ff6`1234abcd"), Some(0x7ff6_1234_abcd));
        assert_eq!(parse_hex("+5"), None);
        assert_eq!(parse_hex(""), None);
        assert_eq!(parse_hex("1`2"), None);
        assert_eq!(parse_hex("10000000000000000"), None);
    }

    #[test]
    fn stack_words_have_fixed_width() {
        assert_eq!(stack_word("0514efcc"), Some(0x514efcc));
        assert_eq!(stack_word("00000000`0012f8a8"), Some(0x12f8a8));
        assert_eq!(stack_word("0000004af435e000"), Some(0x4a_f435_e000));
        assert_eq!(stack_word("2652"), None);
        assert_eq!(stack_word("0x514efcc"), None);
    }

    #[test]
    fn module_function_offset() {
        assert_eq!(
            parse("NTDLL!RtlpFindAndCommitPages+0xde"),
            (
                Some("NTDLL".into()),
                Some("RtlpFindAndCommitPages".into()),
                Some(0xde),
                None
            )
        );
        assert_eq!(parse("ntdll!Foo+55").2, Some(0x55));
        assert_eq!(parse("ntdll!Foo+0x000000de").2, Some(0xde));
        assert_eq!(parse("kernel32!Sleep").2, None);
        assert_eq!(
            parse("ntdll!Foo+0x59(0x01422DD4, 0x00000000)").2,
            Some(0x59)
        );
        assert_eq!(
            parse("STORE!$$$00001+0x17(...)").1.as_deref(),
            Some("$$$00001")
        );
        assert_eq!(parse("ESE!ErrNDSeek+0xb({...})").2, Some(0xb));
        assert_eq!(
            parse("dokan1!DokanExceptionFilter+0x"),
            (
                Some("dokan1".into()),
                Some("DokanExceptionFilter".into()),
                None,
                None
            )
        );
    }

    #[test]
    fn base_suffix_is_dropped() {
        assert_eq!(parse("ntdll_77940000!Foo").0.as_deref(), Some("ntdll"));
        assert_eq!(parse("my_module!Foo").0.as_deref(), Some("my_module"));
    }

    #[test]
    fn names_keep_their_own_punctuation() {
        assert_eq!(
            parse("app!Functor::operator()+0x12").1.as_deref(),
            Some("Functor::operator()")
        );
        assert_eq!(
            parse("app!std::vector<int,std::allocator<int> >::push_back+0x5")
                .1
                .as_deref(),
            Some("std::vector<int,std::allocator<int> >::push_back")
        );
        assert_eq!(
            parse("app!main(int argc = 0n1, char ** argv = 0x00332a48)+0x4f")
                .1
                .as_deref(),
            Some("main")
        );
        assert_eq!(parse("app!Init(void)").1.as_deref(), Some("Init"));
    }

    #[test]
    fn module_offset_and_bare_address() {
        assert_eq!(
            parse("emsmta+0x193ae3"),
            (Some("emsmta".into()), None, None, Some(0x193ae3))
        );
        let bare = CallSite::parse("0x7c812345").unwrap();
        assert_eq!((bare.address, bare.module), (Some(0x7c81_2345), None));
    }

    #[test]
    fn nosymbols_has_no_function() {
        assert_eq!(
            parse("emsmta!<nosymbols>"),
            (Some("emsmta".into()), None, None, None)
        );
    }

    #[test]
    fn prose_is_not_a_call_site() {
        for prose in [
            "Mapi32.dll",
            "5.5.2652.85",
            "click here!",
            "C++",
            "see kb!",
            "a b+0x5",
        ] {
            assert!(CallSite::parse(prose).is_none(), "{prose}");
        }
    }
}
