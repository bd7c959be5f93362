//! A self-contained HTML scan report: summary, inline-SVG bar chart, and a table whose rows
//! link to each dump's details. No scripts, fonts or images are loaded from anywhere.

use std::fmt::Write;

use super::{frame_symbol, ModuleStyle};
use crate::model::Report;
use crate::scan::Summary;

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0;max-width:100%}td.path{word-break:break-all;max-width:40em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f0f0f0}.error{color:#b00}.known{color:#060;font-weight:bold}code,pre{font:12px ui-monospace,monospace}\
section{border-top:1px solid #ddd;margin-top:1em;padding-top:.5em}\
.rating-high{color:#b00;font-weight:bold}.rating-medium{color:#c60;font-weight:bold}.rating-low{color:#a80}";

/// The whole report page. `reports` may arrive in any order; rows are sorted by path.
pub fn html(summary: &Summary, reports: &[Report]) -> String {
    let mut sorted: Vec<&Report> = reports.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut out = page_start("triage scan");
    let _ = write!(
        out,
        "<h1>Crash triage</h1><p>{} dumps: {} ok, {} partial, {} unreadable; {} other files skipped.</p>",
        summary.dumps, summary.ok, summary.partial, summary.errors, summary.not_dumps
    );
    out.push_str("<h2>Known issues</h2>");
    if summary.known_issues.is_empty() {
        out.push_str("<p>None.</p>");
    } else {
        out.push_str("<table><tr><th>rule</th><th>dumps</th><th>fix missing</th><th>fix installed</th><th>version unknown</th><th>probable only</th><th>title</th></tr>");
        for (rule, tally) in &summary.known_issues {
            let _ = write!(
                out,
                "<tr><td class=\"known\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(rule),
                tally.dumps,
                tally.fix_missing,
                tally.fix_installed,
                tally.fix_unknown,
                tally.probable,
                escape(&tally.title)
            );
        }
        out.push_str("</table>");
    }
    out.push_str("<h2>Exploitability</h2>");
    if summary.exploitability.is_empty() {
        out.push_str("<p>No crashes.</p>");
    } else {
        out.push_str("<table><tr><th>rating</th><th>dumps</th></tr>");
        for (rating, count) in &summary.exploitability {
            let _ = write!(
                out,
                "<tr><td class=\"rating-{rating}\">{rating}</td><td>{count}</td></tr>"
            );
        }
        out.push_str("</table>");
    }
    let mut bars: Vec<(String, usize)> = summary
        .known_issues
        .iter()
        .map(|(rule, tally)| (format!("{rule} (known)"), tally.dumps))
        .collect();
    bars.extend(
        summary
            .unknown_buckets
            .iter()
            .take(10)
            .map(|b| (b.key.clone(), b.dumps)),
    );
    out.push_str("<h2>Findings and top buckets</h2>");
    out.push_str(&bar_chart(&bars));
    out.push_str("<h2>Dumps</h2><table><tr><th>#</th><th>dump</th><th>status</th><th>crash</th><th>exploitability</th><th>known issue</th><th>fix installed</th></tr>");
    for (n, report) in sorted.iter().enumerate() {
        let finding = report.findings.first();
        let rating = report
            .exploitability
            .as_ref()
            .map_or("", |e| e.rating.as_str());
        let _ = write!(
            out,
            "<tr><td>{n}</td><td class=\"path\"><a href=\"#d{n}\">{}</a></td><td class=\"{}\">{}</td><td>{}</td><td class=\"rating-{}\">{}</td><td class=\"known\">{}</td><td>{}</td></tr>",
            escape(&report.path),
            if report.error.is_some() { "error" } else { "" },
            status_text(report),
            escape(&report.crash.as_ref().map(|c| c.reason.clone()).unwrap_or_default()),
            rating, rating,
            escape(&finding.map(|f| f.rule.clone()).unwrap_or_default()),
            finding.and_then(|f| f.fix_installed.as_bool()).map_or("", |fixed| if fixed { "yes" } else { "no" }),
        );
    }
    out.push_str("</table>");
    for (n, report) in sorted.iter().enumerate() {
        details(&mut out, n, report);
    }
    out.push_str("</body></html>\n");
    out
}

/// The page up to its `<body>`: the title and the one style sheet, inline.
pub(super) fn page_start(title: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(title)
    )
}

fn status_text(report: &Report) -> String {
    let status = report.status.as_str();
    match &report.error {
        Some(error) => format!("{status}: {}", error.kind),
        None => status.to_string(),
    }
}

fn details(out: &mut String, n: usize, report: &Report) {
    let _ = write!(
        out,
        "<section id=\"d{n}\"><h3>{}</h3>",
        escape(&report.path)
    );
    if let Some(error) = &report.error {
        let _ = write!(
            out,
            "<p class=\"error\">{}: {}</p>",
            error.kind,
            escape(&error.message)
        );
    }
    if let Some(crash) = &report.crash {
        let _ = write!(
            out,
            "<p>{} ({}) at {} on thread {}</p>",
            escape(&crash.reason),
            crash.code,
            crash.address,
            crash.thread_id
        );
    }
    if let Some(rated) = &report.exploitability {
        let _ = write!(
            out,
            "<p>exploitability: <span class=\"rating-{}\">{}</span> ({})</p>",
            rated.rating,
            rated.rating,
            escape(&rated.reason)
        );
        if let Some(instruction) = &rated.instruction {
            let _ = write!(
                out,
                "<p>faulting instruction: <code>{}</code></p>",
                escape(instruction)
            );
        }
    }
    for finding in &report.findings {
        let _ = write!(
            out,
            "<p class=\"known\">{} on thread {}: {}</p><p>{}</p>",
            escape(&finding.rule),
            finding.thread_id,
            escape(&finding.title),
            escape(&finding.advice)
        );
    }
    if let Some(thread) = report.crashing_thread() {
        out.push_str("<pre>");
        for frame in &thread.frames {
            let _ = writeln!(
                out,
                "{:3}  {}",
                frame.index,
                escape(&frame_symbol(frame, ModuleStyle::FileName))
            );
        }
        out.push_str("</pre>");
    }
    out.push_str("<p><a href=\"#\">top</a></p></section>");
}

/// Horizontal bars, one per entry, scaled to the largest count.
pub(super) fn bar_chart(bars: &[(String, usize)]) -> String {
    if bars.is_empty() {
        return "<p>No crashes to chart.</p>".to_string();
    }
    let (row, label_width, bar_width) = (22, 420, 360);
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let height = row * bars.len() + 4;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\">",
        label_width + bar_width + 60
    );
    for (i, (label, count)) in bars.iter().enumerate() {
        let y = i * row + 2;
        let width = (count * bar_width).div_ceil(max);
        let color = if label.ends_with("(known)") {
            "#2a7"
        } else {
            "#58c"
        };
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\">{}</text>\
             <rect x=\"{label_width}\" y=\"{y}\" width=\"{width}\" height=\"{}\" fill=\"{color}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{count}</text>",
            label_width - 6,
            y + 14,
            escape(&shorten(label, 60)),
            row - 6,
            label_width + width + 4,
            y + 14
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `text` cut to `max` characters, with `…` when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// `text` safe inside HTML elements and attribute values.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
