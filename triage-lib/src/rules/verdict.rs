//! From a matched pattern to a finding: confidence, fix status from module versions, advice.

use crate::model::{Confidence, Finding, FixStatus, Frame, Report, SymbolState, Thread, Trust};
use crate::module_name;

use super::CompiledRule;

/// The rule's strongest finding in `report`: confirmed beats probable, then the crashing
/// thread beats the others, then thread order.
pub(crate) fn best_finding(rule: &CompiledRule, report: &Report) -> Option<Finding> {
    let spec = &rule.rule;
    let mut candidates: Vec<(Confidence, &Thread, Vec<usize>)> = rule
        .scoped_threads(report)
        .filter_map(|thread| {
            if let Some(frames) = rule
                .pattern
                .full_match(thread, spec.max_gap, spec.anchor_top)
            {
                return Some((Confidence::Confirmed, thread, frames));
            }
            let frames = rule.pattern.module_match(thread, spec.max_gap, |frame| {
                unnamed_is_evidence(report, frame)
            })?;
            Some((Confidence::Probable, thread, frames))
        })
        .collect();
    candidates
        .sort_by_key(|(confidence, thread, _)| (std::cmp::Reverse(*confidence), !thread.crashed));
    let (confidence, thread, matched_frames) = candidates.into_iter().next()?;
    let fixed_in = spec.fixed_in.as_ref().map(|f| f.get_ref().clone());
    let fix_installed = FixStatus::from(fixed_in.as_ref().and_then(|fixed| {
        let installed = installed_version(report, &fixed.module)?;
        Some(compare_versions(&installed, &fixed.version)? != std::cmp::Ordering::Less)
    }));
    Some(Finding {
        rule: spec.id.clone(),
        title: spec.title.clone(),
        confidence,
        thread_id: thread.thread_id,
        matched_frames,
        fix_installed,
        advice: advice(rule, confidence, fix_installed, report),
        fixed_in,
        contained_in: None,
    })
}

/// Orders one report's findings by how much of the stack each explains (see
/// [`super::RuleSet::evaluate`]) and marks each finding whose matched frames lie inside a
/// higher-ranked one's on the same thread as contained in it. The first such container is
/// never contained itself (its own container would contain this one too and rank higher),
/// so `contained_in` always names a finding that stands on its own.
pub(crate) fn rank(mut findings: Vec<Finding>, report: &Report) -> Vec<Finding> {
    let on_crashing_thread = |finding: &Finding| {
        report
            .threads
            .iter()
            .any(|thread| thread.crashed && thread.thread_id == finding.thread_id)
    };
    // A stable sort: findings equal on every key keep the rules' load order.
    findings.sort_by_key(|finding| {
        (
            std::cmp::Reverse(finding.matched_frames.len()),
            std::cmp::Reverse(finding.confidence),
            !on_crashing_thread(finding),
        )
    });
    for inner in 1..findings.len() {
        let container = findings[..inner]
            .iter()
            .find(|outer| contains(outer, &findings[inner]))
            .map(|outer| outer.rule.clone());
        findings[inner].contained_in = container;
    }
    findings
}

/// Whether `outer` matched every frame `inner` matched, on the same thread.
fn contains(outer: &Finding, inner: &Finding) -> bool {
    outer.thread_id == inner.thread_id
        && inner
            .matched_frames
            .iter()
            .all(|frame| outer.matched_frames.contains(frame))
}

/// Whether an unnamed frame is module-level evidence. It must have been walked: a frame
/// read from text (`Trust::Text`) names a module only because someone wrote it down, often
/// on a line cut short, so without a function it says nothing. And its module's symbols
/// must not be loaded: an unnamed frame in a symbolized module lies outside every known
/// function (a scanned stray address), not in a function whose name is missing. A module
/// the report does not list (a front end that passes no module list) is not known to have
/// symbols.
fn unnamed_is_evidence(report: &Report, frame: &Frame) -> bool {
    if frame.function.is_some() || frame.trust == Trust::Text {
        return false;
    }
    let Some(name) = frame.module.as_deref() else {
        return false;
    };
    !report
        .modules
        .iter()
        .any(|m| module_name::same_module(&m.name, name) && m.symbols == SymbolState::Loaded)
}

/// The loaded version of `module` (matched by file name, with or without extension).
pub(crate) fn installed_version(report: &Report, module: &str) -> Option<String> {
    report
        .modules
        .iter()
        .find(|m| module_name::same_module(&m.name, module))?
        .version
        .clone()
}

/// Parses `5.5.2652.85` into its numeric parts.
pub(crate) fn parse_version(text: &str) -> Option<Vec<u64>> {
    let parts: Option<Vec<u64>> = text.trim().split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty())
}

/// Orders two dotted versions numerically (`5.5.2652.9` < `5.5.2652.85`; missing parts are
/// zeros); `None` when either is not numeric.
pub(crate) fn compare_versions(installed: &str, fixed: &str) -> Option<std::cmp::Ordering> {
    let (mut a, mut b) = (parse_version(installed)?, parse_version(fixed)?);
    let len = a.len().max(b.len());
    a.resize(len, 0);
    b.resize(len, 0);
    Some(a.cmp(&b))
}

fn advice(
    rule: &CompiledRule,
    confidence: Confidence,
    fix_installed: FixStatus,
    report: &Report,
) -> String {
    let spec = &rule.rule;
    let fixed = spec.fixed_in.as_ref().map(|f| f.get_ref());
    let mut parts = Vec::new();
    match (fix_installed, fixed) {
        (FixStatus::Installed, Some(fixed)) => parts.push(format!(
            "The stack matches {} but {} {} is installed (fixed in {}): this is a different bug or a regression, not {}.",
            spec.id,
            fixed.module,
            installed_version(report, &fixed.module).unwrap_or_default(),
            fixed.version,
            spec.id
        )),
        (FixStatus::NotInstalled, Some(fixed)) => parts.push(format!(
            "Known issue {}: install {} {} or later.",
            spec.id, fixed.module, fixed.version
        )),
        (FixStatus::Unknown, Some(fixed)) => parts.push(format!(
            "Known issue {}: check the {} version; it is fixed in {} or later.",
            spec.id, fixed.module, fixed.version
        )),
        (_, None) => parts.push(format!("Known issue {}.", spec.id)),
    }
    if fix_installed != FixStatus::Installed && !spec.workaround.is_empty() {
        parts.push(format!("Workaround: {}", spec.workaround));
    }
    if confidence == Confidence::Probable {
        parts.push(
            "Only module-level evidence: symbols are missing; add them to confirm.".to_string(),
        );
    }
    parts.join(" ")
}
