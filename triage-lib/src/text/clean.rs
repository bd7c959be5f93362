//! What mail clients, web pages, Markdown and issue trackers do to a pasted stack, undone
//! before any reader sees a line: quote markers, Markdown escapes, HTML entities and line
//! breaks, table pipes, zero-width spaces, log prefixes. Only decoration is removed; a line
//! that holds none is passed through unchanged.

use std::borrow::Cow;

/// An article or page published as HTML, as plain text: block ends and `<br>` become line
/// breaks, other tags go, entities are decoded line by line later. `None` when `input`
/// is not HTML.
pub(super) fn html_to_text(input: &str) -> Option<String> {
    let head = input.trim_start().get(..512).unwrap_or(input.trim_start());
    let head = head.to_ascii_lowercase();
    if !(head.starts_with("<!doctype html") || head.starts_with("<html") || head.contains("<body"))
    {
        return None;
    }
    let mut text = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = &rest[open..];
            break;
        };
        let tag = rest[open + 1..open + close].to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/', '\t', '\n'])
            .next();
        if matches!(
            name,
            Some("br" | "p" | "div" | "pre" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "title")
        ) {
            text.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    Some(text)
}

/// The title of an HTML page (`<title>` or the first `<h1>`), tags removed.
pub(super) fn html_title(input: &str) -> Option<String> {
    let lower = input.to_ascii_lowercase();
    for (open, close) in [("<title", "</title>"), ("<h1", "</h1>")] {
        let Some(start) = lower.find(open) else {
            continue;
        };
        let Some(body) = lower[start..].find('>').map(|at| start + at + 1) else {
            continue;
        };
        let Some(end) = lower[body..].find(close).map(|at| body + at) else {
            continue;
        };
        let title = decode_entities(input[body..end].trim());
        if !title.is_empty() {
            return Some(title.into_owned());
        }
    }
    None
}

/// One line with its decoration removed.
pub(super) fn clean_line(line: &str) -> Cow<'_, str> {
    let mut text: Cow<str> = Cow::Borrowed(line);
    if text.contains('&') {
        text = Cow::Owned(decode_entities(&text).into_owned());
    }
    if text.contains(['\u{200b}', '\u{feff}', '\u{a0}']) {
        text = Cow::Owned(
            text.replace(['\u{200b}', '\u{feff}'], "")
                .replace('\u{a0}', " "),
        );
    }
    let stripped = strip_decoration(&text);
    if stripped.len() != text.len() {
        text = Cow::Owned(stripped.to_string());
    }
    if text.contains('\\') {
        text = Cow::Owned(unescape_markdown(&text));
    }
    text
}

/// Quote markers (`> `, `>> `), log prefixes such as Flutter's `[        ] `, trailing
/// `<BR/>`, and the pipes of a table cell.
fn strip_decoration(line: &str) -> &str {
    let mut text = line;
    loop {
        let trimmed = text.trim_start();
        if let Some(rest) = trimmed.strip_prefix('>') {
            // A prompt like `0:000>` starts with a digit, never with `>`.
            text = rest;
        } else if let Some(rest) = log_prefix(trimmed) {
            text = rest;
        } else if let Some(rest) = trimmed.strip_prefix("| ") {
            text = rest;
        } else if let Some(rest) = line_number(trimmed) {
            text = rest;
        } else {
            break;
        }
    }
    let mut end = text.trim_end();
    loop {
        let lower = end.to_ascii_lowercase();
        let cut = ["<br/>", "<br />", "<br>", " |"]
            .iter()
            .find(|suffix| lower.ends_with(**suffix));
        match cut {
            Some(suffix) => end = end[..end.len() - suffix.len()].trim_end(),
            None => break,
        }
    }
    end
}

/// A paste site's line number, `  3. `, before the line.
fn line_number(text: &str) -> Option<&str> {
    let (number, rest) = text.split_once(". ")?;
    let is_number = (1..=4).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit());
    is_number.then_some(rest)
}

/// `[        ] ` or `[  +12 ms] `: a bracketed field of spaces, digits, `+` and `ms`.
fn log_prefix(text: &str) -> Option<&str> {
    let inner_end = text.strip_prefix('[')?.find(']')? + 1;
    let inner = &text[1..inner_end];
    let is_prefix = inner.len() >= 4
        && inner.starts_with(' ')
        && inner
            .chars()
            .all(|c| c == ' ' || c == '+' || c.is_ascii_digit() || c == 'm' || c == 's');
    is_prefix.then(|| &text[inner_end + 1..])
}

/// Markdown escapes: `` \` `` `\_` `\#` `\*` `\[` `\]` `\<` `\>`. Other backslashes (paths
/// such as `c:\src\app.c`) stay.
fn unescape_markdown(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next) = chars.peek() {
                if matches!(next, '`' | '_' | '#' | '*' | '[' | ']' | '<' | '>' | '!') {
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// `&lt;` `&gt;` `&amp;` `&quot;` `&#39;` `&nbsp;` and numeric entities.
fn decode_entities(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.bytes().take(12).position(|b| b == b';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" | "#39" => Some('\''),
            "nbsp" => Some(' '),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some('\u{200b}') => {}
            Some(c) => out.push(c),
            None => out.push_str(&rest[..=end]),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoration_goes_and_rows_stay() {
        let cases = [
            (
                "> ffffd001\\`528e3fb0 fffff802\\`cfbc2c33 : nt!A+0xf",
                "ffffd001`528e3fb0 fffff802`cfbc2c33 : nt!A+0xf",
            ),
            (
                "[        ]     frame #38: 0x1 CF`Run + 28",
                "frame #38: 0x1 CF`Run + 28",
            ),
            ("frame #&#8203;3: 0x1 a`b", "frame #3: 0x1 a`b"),
            (
                "0012ff70 004053ec app!main+0x4f<BR/>",
                "0012ff70 004053ec app!main+0x4f",
            ),
            (
                "| 01 0012ff70 004053ec app!main+0x4f |",
                "01 0012ff70 004053ec app!main+0x4f",
            ),
            (
                "  3. 00 fffff804`46a09169 : nt!KeBugCheckEx",
                "00 fffff804`46a09169 : nt!KeBugCheckEx",
            ),
            (
                "app!std::vector&lt;int&gt;::push_back",
                "app!std::vector<int>::push_back",
            ),
            (
                "app!my\\_function+0x5 [c:\\src\\app.c @ 65]",
                "app!my_function+0x5 [c:\\src\\app.c @ 65]",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(clean_line(input).trim_start(), expected, "{input}");
        }
        assert!(matches!(clean_line("0:000> kb"), Cow::Borrowed(_)));
        assert_eq!(clean_line("0:000> kb"), "0:000> kb");
    }

    #[test]
    fn html_pages_become_lines() {
        let page = "<html><head><title>Q1: A &amp; B</title></head><body><pre>77f6f9d8 \
                    77f640fc NTDLL!A+0xde<br>77f640fc 00000000 NTDLL!B+0x56</pre></body></html>";
        let text = html_to_text(page).unwrap();
        assert!(text.lines().any(|l| l == "77f6f9d8 77f640fc NTDLL!A+0xde"));
        assert_eq!(html_title(page).as_deref(), Some("Q1: A & B"));
        assert!(html_to_text("plain 0:000> kb").is_none());
    }
}
