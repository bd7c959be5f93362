//! Function names as signatures and signature lists compare them: without what differs
//! between builds of the same code. Its own module because both the signature builder and
//! the lists use it, and neither should depend on the other for it.

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
}
