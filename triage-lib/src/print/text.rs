//! A readable terminal summary: the verdict first, then the crashing thread, then the rest.
//!
//! The same printer serves outputs richer than a terminal through [`TextMarkup`]: the
//! WinDbg extension prints it as DML, with links on threads and rules.

use std::borrow::Cow;
use std::fmt::Write;

use super::{frame_symbol, ModuleStyle};
use crate::model::{Finding, FixStatus, NearMiss, Report, Status, SymbolState, Thread};

/// How the text printer marks up what it prints. Every method defaults to plain text, so an
/// implementation overrides only what its output needs; [`PlainText`] overrides nothing.
pub trait TextMarkup {
    /// Text taken from the report (paths, names, messages), made safe for the output.
    fn escape<'a>(&self, text: &'a str) -> Cow<'a, str> {
        Cow::Borrowed(text)
    }

    /// A thread id wherever a thread is named (the verdict, the crash, thread headers).
    fn thread(&self, thread_id: u32) -> String {
        thread_id.to_string()
    }

    /// A rule id wherever a finding is named.
    fn rule(&self, rule: &str) -> String {
        self.escape(rule).into_owned()
    }

    /// Appended to a frame's line: `rules` are the findings on its thread whose pattern
    /// matched the frame, in finding order (empty when none did).
    fn frame_marker(&self, rules: &[&str]) -> String {
        let _ = rules;
        String::new()
    }
}

/// Plain text, as [`text`] and [`verdict`] print it.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainText;

impl TextMarkup for PlainText {}

/// How much [`text_with`] prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextDetail {
    /// Everything but the threads' stacks.
    Summary,
    /// Everything, as [`text`] prints it.
    Full,
}

/// The answer in one line: known issue or not, which thread, whether the fix is installed,
/// and what to do; or what the crash is when no rule knows it; or why the input was unread.
pub fn verdict(report: &Report) -> String {
    verdict_with(report, &PlainText)
}

/// [`verdict`] with `markup`.
pub fn verdict_with(report: &Report, markup: &dyn TextMarkup) -> String {
    if let (Status::Error, Some(error)) = (report.status, &report.error) {
        return format!(
            "unreadable: {} ({})",
            markup.escape(&error.message),
            error.kind
        );
    }
    // A contained finding is part of a larger one's stack: the larger one is the verdict.
    let standing = report.findings.iter().find(|f| f.contained_in.is_none());
    if let Some(finding) = standing.or(report.findings.first()) {
        return known_issue(finding, markup);
    }
    match (&report.class, &report.signature) {
        (Some(class), Some(signature)) => {
            format!("not a known issue: {class} in {}", markup.escape(signature))
        }
        (Some(class), None) => format!("not a known issue: {class}"),
        _ => "not a known issue".to_string(),
    }
}

fn known_issue(finding: &Finding, markup: &dyn TextMarkup) -> String {
    let confidence = finding.confidence;
    let fix = match (finding.fix_installed, &finding.fixed_in) {
        (FixStatus::Installed, Some(fixed)) => format!(
            "fix {} {} IS installed, so this is a different bug or a regression",
            markup.escape(&fixed.module),
            markup.escape(&fixed.version)
        ),
        (FixStatus::NotInstalled, Some(fixed)) => {
            format!(
                "fix NOT installed: install {} {} or later",
                markup.escape(&fixed.module),
                markup.escape(&fixed.version)
            )
        }
        (FixStatus::Unknown, Some(fixed)) => format!(
            "fix status unknown: check that {} is {} or later",
            markup.escape(&fixed.module),
            markup.escape(&fixed.version)
        ),
        (_, None) => "no fixed version known".to_string(),
    };
    format!(
        "KNOWN ISSUE {} ({confidence}) on thread {}; {fix}",
        markup.rule(&finding.rule),
        markup.thread(finding.thread_id)
    )
}

/// Summary for people: the verdict, crash, findings, threads (crashing first), modules
/// without symbols.
pub fn text(report: &Report) -> String {
    text_with(report, &PlainText, TextDetail::Full)
}

/// [`text`] with `markup`, with or without the threads' stacks.
pub fn text_with(report: &Report, markup: &dyn TextMarkup, detail: TextDetail) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", markup.escape(&report.path));
    let _ = writeln!(out, "  verdict: {}", verdict_with(report, markup));
    if let Some(error) = &report.error {
        let label = if report.status == Status::Error {
            "error"
        } else {
            "partial"
        };
        let _ = writeln!(
            out,
            "  {label}: {} ({})",
            markup.escape(&error.message),
            error.kind
        );
    }
    if report.status == Status::Error {
        // Nothing was read, so there is nothing more to say.
        return out;
    }
    if let Some(system) = &report.system {
        let version = system.os_version.as_deref().unwrap_or("");
        let _ = writeln!(
            out,
            "  system: {} {}, {}",
            markup.escape(&system.os),
            markup.escape(version),
            markup.escape(&system.cpu)
        );
    }
    match &report.crash {
        Some(crash) => {
            let _ = writeln!(
                out,
                "  crash: {} ({}) at {} on thread {}",
                markup.escape(&crash.reason),
                crash.code,
                crash.address,
                markup.thread(crash.thread_id)
            );
        }
        None => out.push_str("  crash: none recorded\n"),
    }
    if let Some(class) = report.class {
        let signature = report.signature.as_deref().unwrap_or("none");
        let _ = writeln!(
            out,
            "  class: {class}  signature: {}",
            markup.escape(signature)
        );
    }
    if let Some(note) = report.blame.as_ref().and_then(|blame| blame.note.as_ref()) {
        let _ = writeln!(out, "    {}", markup.escape(note));
    }
    if report.findings.is_empty() {
        out.push_str("  known issues: none\n");
    }
    for finding in &report.findings {
        let contained = finding
            .contained_in
            .as_ref()
            .map(|outer| format!(" (contained in {})", markup.rule(outer)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  known issue {}: {}{contained}\n    {}",
            markup.rule(&finding.rule),
            markup.escape(&finding.title),
            markup.escape(&finding.advice)
        );
    }
    for miss in &report.near_misses {
        let _ = writeln!(out, "  near miss {}", near_miss(miss, markup));
    }
    if let Some(unparsed) = report.unparsed_lines.filter(|&n| n > 0) {
        let _ = writeln!(out, "  {unparsed} line(s) of the text were not understood");
    }
    if detail == TextDetail::Full {
        let crashed = report.threads.iter().filter(|t| t.crashed);
        let others = report.threads.iter().filter(|t| !t.crashed);
        for thread in crashed.chain(others) {
            write_thread(&mut out, report, thread, markup);
        }
    }
    let missing: Vec<Cow<str>> = report
        .modules
        .iter()
        .filter(|m| matches!(m.symbols, SymbolState::Missing | SymbolState::Corrupt))
        .map(|m| markup.escape(&m.name))
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(out, "\n  no usable symbols for: {}", missing.join(", "));
    }
    out
}

/// A near miss as its `Display` spells it, with the rule and thread marked up.
fn near_miss(miss: &NearMiss, markup: &dyn TextMarkup) -> String {
    let mut line = format!(
        "{}: thread {}: {} of {} frames matched",
        markup.rule(&miss.rule),
        markup.thread(miss.thread_id),
        miss.matched,
        miss.total
    );
    for missing in &miss.missing {
        let _ = write!(line, "; {}", markup.escape(missing));
    }
    line
}

fn write_thread(out: &mut String, report: &Report, thread: &Thread, markup: &dyn TextMarkup) {
    let state = if thread.crashed { " (crashed)" } else { "" };
    let name = thread
        .name
        .as_deref()
        .map(|n| format!(" \"{}\"", markup.escape(n)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "\n  thread {}{name}{state}",
        markup.thread(thread.thread_id)
    );
    for frame in &thread.frames {
        let trust = serde_json::to_value(frame.trust).unwrap_or_default();
        let rules: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.thread_id == thread.thread_id && f.matched_frames.contains(&frame.index))
            .map(|f| f.rule.as_str())
            .collect();
        let _ = writeln!(
            out,
            "  {:3}  {}  [{}]{}",
            frame.index,
            markup.escape(&frame_symbol(frame, ModuleStyle::FileName)),
            trust.as_str().unwrap_or("?"),
            markup.frame_marker(&rules)
        );
    }
    if thread.truncated {
        out.push_str("       ... more frames cut at the frame limit\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Confidence, Frame, Thread};

    /// Marks every hook so the tests see where each one is used.
    struct Brackets;

    impl TextMarkup for Brackets {
        fn escape<'a>(&self, text: &'a str) -> Cow<'a, str> {
            Cow::Owned(text.replace('<', "&lt;"))
        }
        fn thread(&self, thread_id: u32) -> String {
            format!("[t{thread_id}]")
        }
        fn rule(&self, rule: &str) -> String {
            format!("[r{rule}]")
        }
        fn frame_marker(&self, rules: &[&str]) -> String {
            match rules {
                [] => String::new(),
                _ => format!("  <-{}", rules.join(",")),
            }
        }
    }

    fn report() -> Report {
        let frames = ["Inner<int>", "Middle", "Outer"]
            .iter()
            .enumerate()
            .map(|(index, function)| Frame {
                index,
                module: Some("m.dll".to_string()),
                function: Some(function.to_string()),
                ..Frame::default()
            })
            .collect();
        let thread = Thread {
            thread_id: 7,
            crashed: true,
            frames,
            ..Thread::default()
        };
        let finding = Finding {
            rule: "R1".to_string(),
            title: "a <title>".to_string(),
            confidence: Confidence::Confirmed,
            thread_id: 7,
            matched_frames: vec![0, 1],
            advice: "advice".to_string(),
            ..Finding::default()
        };
        let inner = Finding {
            rule: "R2".to_string(),
            matched_frames: vec![1],
            contained_in: Some("R1".to_string()),
            ..finding.clone()
        };
        let miss = NearMiss {
            rule: "R3".to_string(),
            thread_id: 7,
            matched: 1,
            total: 2,
            missing: vec!["missing m!X between frames 0 and 2".to_string()],
        };
        Report {
            path: "<stdin>".to_string(),
            threads: vec![thread],
            findings: vec![finding, inner],
            near_misses: vec![miss],
            signature: Some("Inner<int>".to_string()),
            ..Report::default()
        }
    }

    #[test]
    fn plain_markup_is_the_plain_text() {
        let report = report();
        let plain = text(&report);
        assert_eq!(text_with(&report, &PlainText, TextDetail::Full), plain);
        assert!(plain.contains("  near miss R3: thread 7: 1 of 2 frames matched; missing m!X between frames 0 and 2\n"), "{plain}");
        assert_eq!(
            format!("  near miss {}\n", report.near_misses[0]),
            plain
                .lines()
                .find(|l| l.contains("near miss"))
                .unwrap()
                .to_string()
                + "\n"
        );
        assert!(
            plain.contains("    0  m.dll!Inner<int>  [text]\n"),
            "{plain}"
        );
    }

    #[test]
    fn markup_marks_threads_rules_frames_and_escapes_text() {
        let marked = text_with(&report(), &Brackets, TextDetail::Full);
        let expected = "&lt;stdin>
  verdict: KNOWN ISSUE [rR1] (confirmed) on thread [t7]; no fixed version known
  crash: none recorded
  known issue [rR1]: a &lt;title>
    advice
  known issue [rR2]: a &lt;title> (contained in [rR1])
    advice
  near miss [rR3]: thread [t7]: 1 of 2 frames matched; missing m!X between frames 0 and 2

  thread [t7] (crashed)
    0  m.dll!Inner&lt;int>  [text]  <-R1
    1  m.dll!Middle  [text]  <-R1,R2
    2  m.dll!Outer  [text]
";
        assert_eq!(marked, expected);
    }

    #[test]
    fn the_summary_leaves_out_the_stacks() {
        let summary = text_with(&report(), &PlainText, TextDetail::Summary);
        assert!(summary.contains("near miss"), "{summary}");
        assert!(!summary.contains("thread 7 (crashed)"), "{summary}");
    }
}
