//! Turning a Microsoft KB article into a rule: id, title, the SYMPTOMS stack, the fixed
//! file version and the workaround. Works on the usual multi-line text, on articles whose
//! line breaks were lost (the stack is then found by the text-stack parser's token scan),
//! and on articles as the web publishes them today (Markdown with front matter, HTML).
//!
//! The stack comes from [`parse_stacks`], the parser `triage stacks` uses, so a rule
//! imported from an article always matches that article. An article with several stacks
//! gives the rule of its crashing one (the thread the text marks as faulting, else the
//! longest): a known issue is one crash, and an article's other stacks (the lock owner,
//! idle threads, the same stack again) are context that would match unrelated crashes.

use std::sync::LazyLock;

use regex::Regex;

use super::{Rule, ThreadScope};
use crate::data_file::Located;
use crate::model::FixedIn;
use crate::module_name;
use crate::text::parse_stacks;

/// Why an article could not become a rule.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KbImportError {
    /// No `DOCUMENT:Qnnnnnn` / `Article: Qnnnnnn` line, and no other id was given.
    #[error("no KB article id (DOCUMENT:Qnnnnnn or Article: Qnnnnnn) found")]
    NoId,
    /// No symbolized call stack; the lines that looked like frames but were not read.
    #[error("no call stack with MODULE!Function frames found{}", unread_lines(.0))]
    NoStack(Vec<usize>),
}

fn unread_lines(lines: &[usize]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = lines.iter().take(10).map(ToString::to_string).collect();
    let more = if lines.len() > 10 { ", ..." } else { "" };
    format!(
        "; lines that look like frames but could not be read: {}{more}",
        shown.join(", ")
    )
}

/// Builds a rule from an article's text.
pub fn import_kb(article: &str) -> Result<Rule, KbImportError> {
    import_article(article, None)
}

/// Builds a rule from an article that may carry no KB number (a documentation page): its
/// id is then `fallback_id`, e.g. the file's name.
pub fn import_article(article: &str, fallback_id: Option<&str>) -> Result<Rule, KbImportError> {
    let patterns = &*PATTERNS;
    let id = capture(&patterns.id, article)
        .map(|digits| (format!("Q{digits}"), Some(digits)))
        .or_else(|| fallback_id.map(|id| (id.to_string(), None)))
        .ok_or(KbImportError::NoId)?;
    let (frames, max_gap) = stack_frames(article)?;
    let fixed_in = fixed_version(article, &frames);
    let title = capture(&patterns.title, article)
        .or_else(|| crate::text::article_title(article))
        .or_else(|| {
            let mut lines = article.lines().map(str::trim).filter(|l| !l.is_empty());
            lines
                .find(|l| !patterns.id_line.is_match(l) && !is_separator(l))
                .map(str::to_string)
        })
        .unwrap_or_default();
    let product = match (
        capture(&patterns.product, article),
        capture(&patterns.product_version, article),
    ) {
        (Some(product), Some(version)) => format!("{product} {version}"),
        (product, _) => product.unwrap_or_default(),
    };
    let workaround = section(article, "WORKAROUND").map(|text| {
        cut_at(
            &text,
            &["For additional information", "For more information"],
        )
    });
    let resolution = section(article, "RESOLUTION").map(|text| {
        let first = first_sentence(&text);
        match &fixed_in {
            Some(fixed) => format!(
                "{first} Fixed in {} {} or later.",
                fixed.module, fixed.version
            ),
            None => first,
        }
    });
    Ok(Rule {
        reference: id
            .1
            .map(|digits| format!("https://support.microsoft.com/kb/{digits}"))
            .unwrap_or_default(),
        id: id.0,
        title: title.trim().to_string(),
        product: product.trim().to_string(),
        frames: frames.into_iter().map(unspanned).collect(),
        max_gap,
        anchor_top: false,
        threads: ThreadScope::Any,
        exception_codes: Vec::new(),
        cause: section(article, "CAUSE").unwrap_or_default(),
        resolution: resolution.unwrap_or_default(),
        workaround: workaround.unwrap_or_default(),
        fixed_in: fixed_in.map(unspanned),
    })
}

fn unspanned<T>(value: T) -> Located<T> {
    Located::new(0..0, value)
}

/// The article patterns, compiled once.
struct Patterns {
    id: Regex,
    id_line: Regex,
    title: Regex,
    product: Regex,
    product_version: Regex,
    /// `| Mapi32.dll | 5.5.2652.85 |` rows, which survive lost line breaks.
    piped_file: Regex,
    /// Column lines with a date, version, size and file name.
    column_file: Regex,
    /// A `HEADING` underlined with `=`.
    heading: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let file = r"([\w.-]+\.(?:dll|exe|sys|ocx))";
    let version = r"(\d+\.\d+\.\d+(?:\.\d+)?)";
    let regex = |pattern: &str| Regex::new(pattern).expect("patterns in this file are valid");
    Patterns {
        id: regex(r"(?i)(?:DOCUMENT\s*:|Article(?:\s+ID)?\s*:)\s*Q?(\d{5,7})"),
        id_line: regex(r"(?i)^\s*(?:DOCUMENT|Article(?:\s+ID)?)\s*:"),
        title: regex(r"(?m)TITLE\s*:\s*(.+?)(?:\s+PRODUCT\s*:|\s*$)"),
        product: regex(r"(?m)PRODUCT\s*:\s*(.+?)(?:\s+PROD/VER|\s*$)"),
        product_version: regex(r"PROD/VER\s*:+\s*([\d.]+)"),
        piped_file: regex(&format!(r"(?i)\|\s*{file}\s*\|\s*{version}\s*\|")),
        column_file: regex(&format!(r"(?im)^.*?\b{version}\b.*?\b{file}\s*$")),
        heading: regex(r"\b([A-Z][A-Z ]{2,}[A-Z])\s*={4,}"),
    }
});

fn capture(regex: &Regex, text: &str) -> Option<String> {
    Some(regex.captures(text)?.get(1)?.as_str().to_string())
}

/// `---`, `===`, `***`: a Markdown or text separator, never a title.
fn is_separator(line: &str) -> bool {
    line.chars()
        .all(|c| matches!(c, '-' | '=' | '*' | '_' | ' '))
}

/// The crashing stack (see the module docs) as `MODULE!Function` entries innermost first,
/// and the longest run of frames without a name between two entries, which becomes the
/// rule's `max_gap` so that the rule matches the stack it came from.
fn stack_frames(article: &str) -> Result<(Vec<String>, usize), KbImportError> {
    let parsed = parse_stacks(article);
    let named =
        |t: &&crate::model::Thread| t.frames.iter().filter(|f| f.function.is_some()).count();
    let thread = parsed
        .threads
        .iter()
        .filter(|t| named(t) > 0)
        .max_by_key(|t| (t.crashed, named(t)))
        .ok_or_else(|| KbImportError::NoStack(parsed.suspect_lines.clone()))?;
    let mut frames = Vec::new();
    let (mut gap, mut max_gap) = (0, 0);
    for frame in &thread.frames {
        match (&frame.module, &frame.function) {
            // Names are matched as globs; C++ names such as `operator[]` stay literal. A
            // managed frame (SOS) names no module: `*` matches it.
            (module, Some(function)) => {
                if !frames.is_empty() {
                    max_gap = max_gap.max(gap);
                }
                gap = 0;
                let module = module.as_deref().map_or("*".to_string(), globset::escape);
                frames.push(format!("{module}!{}", globset::escape(function)));
            }
            (_, None) => gap += 1,
        }
    }
    Ok((frames, max_gap))
}

/// The fixed file version of a module on the stack (else of the first file listed). KB
/// file tables come as `| Mapi32.dll | 5.5.2652.85 |` rows (which survive lost line
/// breaks) or as column lines with a date, version, size and file name.
fn fixed_version(article: &str, frames: &[String]) -> Option<FixedIn> {
    let mut rows: Vec<FixedIn> = PATTERNS
        .piped_file
        .captures_iter(article)
        .map(|c| FixedIn {
            module: c[1].to_string(),
            version: c[2].to_string(),
        })
        .collect();
    if rows.is_empty() {
        rows = PATTERNS
            .column_file
            .captures_iter(article)
            .map(|c| FixedIn {
                module: c[2].to_string(),
                version: c[1].to_string(),
            })
            .collect();
    }
    let on_stack = |fixed: &&FixedIn| {
        frames.iter().any(|f| {
            f.split('!')
                .next()
                .is_some_and(|module| module_name::same_module(module, &fixed.module))
        })
    };
    // A version a rule cannot compare (a part too large for a number) is no version.
    rows.retain(|row| super::verdict::parse_version(&row.version).is_some());
    rows.iter().find(on_stack).or(rows.first()).cloned()
}

/// The text under a `HEADING` underlined with `=`, up to the next such heading, with
/// whitespace folded.
fn section(article: &str, heading: &str) -> Option<String> {
    let mut found = PATTERNS.heading.captures_iter(article).map(|c| {
        let whole = c.get(0).expect("group 0 always exists");
        (c[1].trim().to_string(), whole.start(), whole.end())
    });
    let (_, _, start) = found.find(|(name, _, _)| name == heading)?;
    let end = found.next().map_or(article.len(), |(_, next, _)| next);
    let text = article[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // A trailing row of `=` closes the article's last section.
    Some(text.trim_end_matches(['=', ' ']).to_string()).filter(|t| !t.is_empty())
}

fn cut_at(text: &str, markers: &[&str]) -> String {
    let end = markers
        .iter()
        .filter_map(|marker| text.find(marker))
        .min()
        .unwrap_or(text.len());
    text[..end].trim().to_string()
}

fn first_sentence(text: &str) -> String {
    match text.find(". ") {
        Some(end) => text[..=end].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    #[test]
    fn the_seed_article_imports_as_the_builtin_rule() {
        let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/kb/Q269588.txt");
        let article = std::fs::read_to_string(seed).expect("../shared/kb is beside the repo");
        let imported = import_kb(&article).unwrap();
        let builtin = RuleSet::builtin();
        assert_eq!(imported, builtin.get("Q269588").unwrap().rule);
    }

    #[test]
    fn a_multi_line_article_with_a_column_file_table() {
        let article = "Article ID: 123456 - Last Review: June 1, 2001\n\
XADM: Store Stops Responding in RtlFreeHeap\n\n\
SYMPTOMS\n========\n\nThe store may stop responding with this stack:\n\n\
ChildEBP RetAddr  Args to Child\n\
0012f0f4 77f8e3ab 00000000 00000000 00000000 NTDLL!RtlFreeHeap+0x1d\n\
0012f110 0040a1b2 00140000 00000000 00000000 STORE!FreeRowSet+0x2f\n\n\
CAUSE\n=====\n\nA row set is freed twice.\n\n\
RESOLUTION\n==========\n\nApply the fix. The English version has these attributes:\n\n\
   Date      Time   Version      Size     File name\n\
   -------------------------------------------------\n\
   6/20/2001 10:12  5.5.2653.12  4,321,000  Store.exe\n\n\
WORKAROUND\n==========\n\nRestart the service. For more information, see Q1.\n\n\
STATUS\n======\n\nConfirmed.\n";
        let rule = import_kb(article).unwrap();
        assert_eq!(rule.id, "Q123456");
        assert_eq!(rule.title, "XADM: Store Stops Responding in RtlFreeHeap");
        let frames: Vec<&str> = rule.frames.iter().map(|f| f.get_ref().as_str()).collect();
        assert_eq!(frames, ["NTDLL!RtlFreeHeap", "STORE!FreeRowSet"]);
        let fixed = rule.fixed_in.unwrap().into_inner();
        assert_eq!(
            (fixed.module.as_str(), fixed.version.as_str()),
            ("Store.exe", "5.5.2653.12")
        );
        assert_eq!(rule.workaround, "Restart the service.");
        assert_eq!(rule.cause, "A row set is freed twice.");
    }

    /// Inputs the fuzzer found (fuzz/run.sh), kept as regression tests: each must import
    /// into a rule that reads back.
    #[test]
    fn fuzzer_findings_import_into_rules_that_read_back() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../corpus/regressions");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if !path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("kb_import-")
            {
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            if let Ok(rule) = import_kb(&text) {
                let toml = crate::rules::to_toml(&rule);
                crate::rules::parse_rules(&toml, &path).unwrap();
            }
            checked += 1;
        }
        assert!(checked >= 1);
    }

    #[test]
    fn an_article_without_a_stack_is_refused() {
        assert_eq!(
            import_kb("DOCUMENT:Q1234567 no stack here"),
            Err(KbImportError::NoStack(Vec::new()))
        );
        assert_eq!(import_kb("no id at all"), Err(KbImportError::NoId));
    }

    #[test]
    fn a_stack_that_cannot_be_read_is_named_by_its_lines() {
        let article = "DOCUMENT:Q1234567\nSYMPTOMS\n\n0514efcc MAPI32!Foo+0x12\n";
        let error = import_kb(article).unwrap_err();
        assert_eq!(error, KbImportError::NoStack(vec![4]));
        assert!(
            error.to_string().ends_with("could not be read: 4"),
            "{error}"
        );
    }

    #[test]
    fn markdown_articles_take_their_front_matter_title_and_file_name() {
        let article = "---\ntitle: Debugging a Stack Overflow\nms.date: 05/23/2017\n---\n\n\
                       ```\n0:000> k\nChildEBP RetAddr\n0012f8a8 77b3c30a app!Recurse+0x12\n\
                       0012f8b8 77b3c30a app!Recurse+0x12\n0012f8c8 00401000 app!main+0x5\n```\n";
        let rule = import_article(article, Some("stack-overflow")).unwrap();
        assert_eq!(rule.title, "Debugging a Stack Overflow");
        assert_eq!(rule.id, "stack-overflow");
        assert_eq!(rule.reference, "");
        assert_eq!(rule.frames.len(), 3);
        assert_eq!(import_article(article, None), Err(KbImportError::NoId));
    }
}
