//! A readable terminal summary: the verdict first, then the crashing thread, then the rest.

use std::fmt::Write;

use super::{frame_symbol, ModuleStyle};
use crate::model::{Finding, FixStatus, Report, Status, SymbolState, Thread};

/// The answer in one line: known issue or not, which thread, whether the fix is installed,
/// and what to do; or what the crash is when no rule knows it; or why the input was unread.
pub fn verdict(report: &Report) -> String {
    if let (Status::Error, Some(error)) = (report.status, &report.error) {
        return format!("unreadable: {} ({})", error.message, error.kind);
    }
    // A contained finding is part of a larger one's stack: the larger one is the verdict.
    let standing = report.findings.iter().find(|f| f.contained_in.is_none());
    if let Some(finding) = standing.or(report.findings.first()) {
        return known_issue(finding);
    }
    match (&report.class, &report.signature) {
        (Some(class), Some(signature)) => {
            format!("not a known issue: {class} in {signature}")
        }
        (Some(class), None) => format!("not a known issue: {class}"),
        _ => "not a known issue".to_string(),
    }
}

fn known_issue(finding: &Finding) -> String {
    let confidence = finding.confidence;
    let fix = match (finding.fix_installed, &finding.fixed_in) {
        (FixStatus::Installed, Some(fixed)) => format!(
            "fix {} {} IS installed, so this is a different bug or a regression",
            fixed.module, fixed.version
        ),
        (FixStatus::NotInstalled, Some(fixed)) => {
            format!(
                "fix NOT installed: install {} {} or later",
                fixed.module, fixed.version
            )
        }
        (FixStatus::Unknown, Some(fixed)) => format!(
            "fix status unknown: check that {} is {} or later",
            fixed.module, fixed.version
        ),
        (_, None) => "no fixed version known".to_string(),
    };
    format!(
        "KNOWN ISSUE {} ({confidence}) on thread {}; {fix}",
        finding.rule, finding.thread_id
    )
}

/// Summary for people: the verdict, crash, findings, threads (crashing first), modules
/// without symbols.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", report.path);
    let _ = writeln!(out, "  verdict: {}", verdict(report));
    if let Some(error) = &report.error {
        let label = if report.status == Status::Error {
            "error"
        } else {
            "partial"
        };
        let _ = writeln!(out, "  {label}: {} ({})", error.message, error.kind);
    }
    if report.status == Status::Error {
        // Nothing was read, so there is nothing more to say.
        return out;
    }
    if let Some(system) = &report.system {
        let version = system.os_version.as_deref().unwrap_or("");
        let _ = writeln!(out, "  system: {} {version}, {}", system.os, system.cpu);
    }
    match &report.crash {
        Some(crash) => {
            let _ = writeln!(
                out,
                "  crash: {} ({}) at {} on thread {}",
                crash.reason, crash.code, crash.address, crash.thread_id
            );
        }
        None => out.push_str("  crash: none recorded\n"),
    }
    if let Some(line) = exploitability_line(report) {
        let _ = writeln!(out, "  {line}");
    }
    if let Some(class) = report.class {
        let signature = report.signature.as_deref().unwrap_or("none");
        let _ = writeln!(out, "  class: {class}  signature: {signature}");
    }
    if let Some(note) = report.blame.as_ref().and_then(|blame| blame.note.as_ref()) {
        let _ = writeln!(out, "    {note}");
    }
    if report.findings.is_empty() {
        out.push_str("  known issues: none\n");
    }
    for finding in &report.findings {
        let contained = finding
            .contained_in
            .as_ref()
            .map(|outer| format!(" (contained in {outer})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  known issue {}: {}{contained}\n    {}",
            finding.rule, finding.title, finding.advice
        );
    }
    for miss in &report.near_misses {
        let _ = writeln!(out, "  near miss {miss}");
    }
    if let Some(unparsed) = report.unparsed_lines.filter(|&n| n > 0) {
        let _ = writeln!(out, "  {unparsed} line(s) of the text were not understood");
    }
    let crashed = report.threads.iter().filter(|t| t.crashed);
    let others = report.threads.iter().filter(|t| !t.crashed);
    for thread in crashed.chain(others) {
        write_thread(&mut out, thread);
    }
    let missing: Vec<&str> = report
        .modules
        .iter()
        .filter(|m| matches!(m.symbols, SymbolState::Missing | SymbolState::Corrupt))
        .map(|m| m.name.as_str())
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(out, "\n  no usable symbols for: {}", missing.join(", "));
    }
    out
}

/// `exploitability: high (write to wild address 0x41414141 through [ebx])`, for reports
/// with a crash.
pub fn exploitability_line(report: &Report) -> Option<String> {
    let rated = report.exploitability.as_ref()?;
    Some(format!(
        "exploitability: {} ({})",
        rated.rating, rated.reason
    ))
}

fn write_thread(out: &mut String, thread: &Thread) {
    let state = if thread.crashed { " (crashed)" } else { "" };
    let name = thread
        .name
        .as_deref()
        .map(|n| format!(" \"{n}\""))
        .unwrap_or_default();
    let _ = writeln!(out, "\n  thread {}{name}{state}", thread.thread_id);
    for frame in &thread.frames {
        let trust = serde_json::to_value(frame.trust).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:3}  {}  [{}]",
            frame.index,
            frame_symbol(frame, ModuleStyle::FileName),
            trust.as_str().unwrap_or("?")
        );
    }
    if thread.truncated {
        out.push_str("       ... more frames cut at the frame limit\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Crash, Exploitability, Rating};

    #[test]
    fn a_crash_gets_one_exploitability_line_and_text_stacks_none() {
        let mut report = Report {
            crash: Some(Crash::default()),
            exploitability: Some(Exploitability {
                rating: Rating::High,
                reason: "write to wild address 0x41414141 through [ebx]".to_string(),
                ..Exploitability::default()
            }),
            ..Report::default()
        };
        let printed = text(&report);
        let lines: Vec<&str> = printed
            .lines()
            .filter(|line| line.contains("exploitability"))
            .collect();
        assert_eq!(
            lines,
            ["  exploitability: high (write to wild address 0x41414141 through [ebx])"]
        );
        report.crash = None;
        report.exploitability = None;
        assert!(!text(&report).contains("exploitability"));
    }
}
