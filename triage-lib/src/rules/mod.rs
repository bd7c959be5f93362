//! Known-issue rules: TOML data that users write and import, matched on every thread.
//!
//! The engine knows nothing about any product. A rule file holds `[[rule]]` tables (see the
//! README for an annotated example); the built-in pack is such a file, compiled in.

mod kb_import;
mod lint;
mod pattern;
mod verdict;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data_file::{read_text, toml_files, Source};
use crate::model::{Finding, FixedIn, NearMiss, Report};
use pattern::CompiledPattern;

pub use crate::data_file::{DataFileError, Diagnostic, Located};

pub use kb_import::{import_article, import_kb, KbImportError};
pub use lint::{is_system_module, MIN_SPECIFIC_FRAMES, SYSTEM_MODULES};
pub(crate) use verdict::{compare_versions, installed_version};

/// The built-in rule files, as `(name, TOML)`.
const BUILTIN: &[(&str, &str)] = &[("q269588.toml", include_str!("../../rules/q269588.toml"))];

/// One known issue, exactly as written in a rule file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Short unique id, e.g. a KB number: `Q269588`.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// KB number or URL.
    #[serde(default)]
    pub reference: String,
    /// Affected product.
    #[serde(default)]
    pub product: String,
    /// The crashing stack, innermost first, as `MODULE!FUNCTION` case-insensitive globs.
    pub frames: Vec<Located<String>>,
    /// How many unmatched frames may sit between two matched ones.
    #[serde(default)]
    pub max_gap: usize,
    /// Whether the first pattern frame must be the thread's innermost frame.
    #[serde(default)]
    pub anchor_top: bool,
    /// Which threads to search.
    #[serde(default)]
    pub threads: ThreadScope,
    /// Exception codes (e.g. `"0xc0000005"`) the crash must have; empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exception_codes: Vec<Located<String>>,
    /// Why it happens.
    #[serde(default)]
    pub cause: String,
    /// How to fix it.
    #[serde(default)]
    pub resolution: String,
    /// What to do until it is fixed.
    #[serde(default)]
    pub workaround: String,
    /// The module version that fixes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_in: Option<Located<FixedIn>>,
}

/// Which threads a rule searches.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ThreadScope {
    /// Every thread: a hang or a second victim can show the pattern off the crashing thread.
    #[default]
    Any,
    /// Only the thread that raised the exception.
    Crashing,
}

/// The on-disk shape of a rule file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The rules, in file order.
    #[serde(default)]
    pub rule: Vec<Rule>,
}

/// Rules failed to load: the data-file error every data file gives.
pub type RuleError = DataFileError;

/// A rule checked and ready to match.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// The rule as written.
    pub rule: Rule,
    /// Where it came from (`builtin:<name>` for the built-in pack).
    pub source: PathBuf,
    pattern: CompiledPattern,
    exception_codes: Vec<u32>,
    warnings: Vec<Diagnostic>,
}

/// An ordered set of rules; a later rule with the same id replaces an earlier one, so a
/// user file can override a built-in rule.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
}

impl RuleSet {
    /// The built-in pack.
    pub fn builtin() -> RuleSet {
        let mut set = RuleSet::default();
        for (name, text) in BUILTIN {
            let rules = parse_rules(text, Path::new(&format!("builtin:{name}")))
                .expect("built-in rules are checked by the test suite");
            set.extend(rules);
        }
        set
    }

    /// Adds every rule of a `.toml` file, or of every `.toml` file in a directory (sorted).
    pub fn load(&mut self, path: &Path) -> Result<(), RuleError> {
        let files = toml_files(path).map_err(|d| DataFileError(vec![d]))?;
        let mut problems = Vec::new();
        for file in files {
            match read_rule_file(&file) {
                Ok(rules) => self.extend(rules),
                Err(DataFileError(mut found)) => problems.append(&mut found),
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(DataFileError(problems))
        }
    }

    /// Adds every rule of rule-file text, for programs that keep a rule inline rather
    /// than in a file; `label` stands for the file name in diagnostics and `source`.
    pub fn add_toml(&mut self, text: &str, label: &str) -> Result<(), RuleError> {
        self.extend(parse_rules(text, Path::new(label))?);
        Ok(())
    }

    fn extend(&mut self, rules: Vec<CompiledRule>) {
        for rule in rules {
            self.rules.retain(|known| known.rule.id != rule.rule.id);
            self.rules.push(rule);
        }
    }

    /// The rules, in load order.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The rule with `id` (case-insensitive).
    pub fn get(&self, id: &str) -> Option<&CompiledRule> {
        self.rules
            .iter()
            .find(|r| r.rule.id.eq_ignore_ascii_case(id))
    }

    /// Every rule's best finding in `report`, one per rule, the finding that explains most
    /// of its stack first: more matched frames, then confirmed before probable, then the
    /// crashing thread before others, then rule load order. A finding whose matched frames
    /// all lie inside an earlier one's on the same thread names it in `contained_in`.
    pub fn evaluate(&self, report: &Report) -> Vec<Finding> {
        let findings = self
            .rules
            .iter()
            .filter(|rule| rule.exception_code_fits(report))
            .filter_map(|rule| verdict::best_finding(rule, report))
            .collect();
        verdict::rank(findings, report)
    }

    /// Partial matches of rules that found nothing, for `--explain`.
    pub fn near_misses(&self, report: &Report) -> Vec<NearMiss> {
        let found = self.evaluate(report);
        self.rules
            .iter()
            .filter(|rule| !found.iter().any(|f| f.rule == rule.rule.id))
            .filter_map(|rule| {
                rule.pattern
                    .near_miss(&rule.rule.id, rule.scoped_threads(report))
            })
            .collect()
    }
}

impl CompiledRule {
    /// Why the rule is too generic to trust (too few frames, frames only in system
    /// modules), as `FILE:LINE: warning: ...` diagnostics; empty for a specific rule.
    /// Warnings do not keep a rule from loading.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// True when the rule names no exception code, the crash is unknown (text stacks), or
    /// the crash code is one of the rule's.
    fn exception_code_fits(&self, report: &Report) -> bool {
        let crash_code = report.crash.as_ref().map(|crash| crash.code.0);
        match crash_code {
            Some(code) if !self.exception_codes.is_empty() => self.exception_codes.contains(&code),
            _ => true,
        }
    }

    fn scoped_threads<'r>(
        &self,
        report: &'r Report,
    ) -> impl Iterator<Item = &'r crate::model::Thread> {
        let scope = self.rule.threads;
        report
            .threads
            .iter()
            .filter(move |thread| scope == ThreadScope::Any || thread.crashed)
    }
}

fn parse_u32(text: &str) -> Option<u32> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// A rule as a rule file holding just it, the way `rules show` and `import-kb` print it.
pub fn to_toml(rule: &Rule) -> String {
    let file = RuleFile {
        rule: vec![rule.clone()],
    };
    toml::to_string_pretty(&file).expect("rules always serialize to TOML")
}

/// Reads and checks one rule file.
pub fn read_rule_file(file: &Path) -> Result<Vec<CompiledRule>, RuleError> {
    let text = read_text(file).map_err(|d| DataFileError(vec![d]))?;
    parse_rules(&text, file)
}

/// Parses and checks rule-file text; `file` only labels diagnostics.
pub fn parse_rules(text: &str, file: &Path) -> Result<Vec<CompiledRule>, RuleError> {
    let source = Source { text, file };
    let parsed: RuleFile = source.parse().map_err(|d| DataFileError(vec![d]))?;
    let mut problems = Vec::new();
    let mut compiled = Vec::new();
    for rule in parsed.rule {
        match compile(&rule) {
            Ok((pattern, exception_codes)) => {
                let warnings = lint::warnings(&rule, &pattern)
                    .into_iter()
                    .map(|(offset, message)| source.at(offset, message))
                    .collect();
                compiled.push(CompiledRule {
                    rule,
                    source: file.to_path_buf(),
                    pattern,
                    exception_codes,
                    warnings,
                })
            }
            Err(found) => problems.extend(
                found
                    .into_iter()
                    .map(|(offset, message)| source.at(offset, message)),
            ),
        }
    }
    if problems.is_empty() {
        Ok(compiled)
    } else {
        Err(DataFileError(problems))
    }
}

/// Problems found in a rule's values, each at a byte offset into the file.
pub(crate) type Problems = Vec<(usize, String)>;

/// Checks the values serde cannot: patterns, codes, versions.
fn compile(rule: &Rule) -> Result<(CompiledPattern, Vec<u32>), Problems> {
    let mut problems = Vec::new();
    if rule.id.trim().is_empty() {
        problems.push((0, "rule id is empty".to_string()));
    }
    let pattern =
        CompiledPattern::new(&rule.frames).map_err(|mut found| problems.append(&mut found));
    let codes: Vec<u32> = rule
        .exception_codes
        .iter()
        .filter_map(|code| {
            let parsed = parse_u32(code.get_ref());
            if parsed.is_none() {
                problems.push((
                    code.span().start,
                    format!(
                        "{:?} is not an exception code like \"0xc0000005\"",
                        code.get_ref()
                    ),
                ));
            }
            parsed
        })
        .collect();
    if let Some(fixed) = &rule.fixed_in {
        if verdict::parse_version(&fixed.get_ref().version).is_none() {
            problems.push((
                fixed.span().start,
                format!(
                    "fixed_in.version {:?} is not a dotted version like \"5.5.2652.85\"",
                    fixed.get_ref().version
                ),
            ));
        }
    }
    match pattern {
        Ok(pattern) if problems.is_empty() => Ok((pattern, codes)),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Addr, Confidence, FixStatus};
    use crate::model::{Frame, Module, SymbolState, Thread, Trust};

    fn frame(index: usize, module: &str, function: Option<&str>) -> Frame {
        Frame {
            index,
            module: Some(module.to_string()),
            function: function.map(str::to_string),
            ..Frame::default()
        }
    }

    fn thread(id: u32, crashed: bool, frames: &[(&str, Option<&str>)]) -> Thread {
        Thread {
            thread_id: id,
            crashed,
            frames: frames
                .iter()
                .enumerate()
                .map(|(i, (m, f))| frame(i, m, *f))
                .collect(),
            ..Thread::default()
        }
    }

    const RULE: &str = r#"
[[rule]]
id = "T1"
title = "test"
frames = ["NTDLL!RtlAllocateHeap", "MAPI32!LH_*HeapAlloc", "EMSMTA!Hr*"]
max_gap = 1

[rule.fixed_in]
module = "mapi32.dll"
version = "5.5.2652.85"
"#;

    fn rules() -> RuleSet {
        let mut set = RuleSet::default();
        set.extend(parse_rules(RULE, Path::new("t.toml")).unwrap());
        set
    }

    fn report(threads: Vec<Thread>, mapi_version: Option<&str>) -> Report {
        Report {
            threads,
            modules: vec![Module {
                name: "MAPI32.DLL".into(),
                path: "C:\\x\\MAPI32.DLL".into(),
                base: Addr(0),
                size: 0,
                version: mapi_version.map(str::to_string),
                debug_file: None,
                debug_id: None,
                code_id: None,
                symbols: SymbolState::Loaded,
            }],
            ..Report::default()
        }
    }

    #[test]
    fn inline_rules_join_the_set_and_are_checked_like_files() {
        let mut set = RuleSet::builtin();
        set.add_toml(RULE, "inline").unwrap();
        assert!(set.get("Q269588").is_some());
        assert_eq!(set.get("t1").unwrap().source, Path::new("inline"));

        let broken = "[[rule]]\nid = \"T2\"\ntitle = \"bad\"\nframes = [\"NTDLL\"]\n";
        let DataFileError(problems) = set.add_toml(broken, "inline").unwrap_err();
        assert_eq!(
            problems[0].to_string(),
            "inline:4: \"NTDLL\" is not MODULE!FUNCTION"
        );
        assert!(set.get("T2").is_none());
    }

    #[test]
    fn globs_are_case_insensitive_and_gaps_are_bounded() {
        let matching = thread(
            7,
            false,
            &[
                ("ntdll.dll", Some("RtlAllocateHeap")),
                ("mapi32.dll", Some("lh_extheapalloc")),
                ("other.dll", Some("Wrapper")),
                ("emsmta.exe", Some("HrTrackWriteLogA")),
            ],
        );
        let findings = rules().evaluate(&report(vec![matching.clone()], Some("5.5.2652.57")));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].matched_frames, [0, 1, 3]);
        assert_eq!(findings[0].thread_id, 7);
        assert_eq!(findings[0].fix_installed, FixStatus::NotInstalled);

        let mut too_far = matching;
        too_far
            .frames
            .insert(2, frame(2, "other.dll", Some("Another")));
        assert!(rules().evaluate(&report(vec![too_far], None)).is_empty());
    }

    #[test]
    fn fixed_version_is_compared_numerically_and_still_reported() {
        let t = thread(
            1,
            true,
            &[
                ("ntdll.dll", Some("RtlAllocateHeap")),
                ("MAPI32.dll", Some("LH_IntHeapAlloc")),
                ("EMSMTA.exe", Some("HrX")),
            ],
        );
        let fixed = rules().evaluate(&report(vec![t.clone()], Some("5.5.2652.100")));
        assert_eq!(fixed[0].fix_installed, FixStatus::Installed);
        assert!(fixed[0].advice.contains("different bug or a regression"));
        let unknown = rules().evaluate(&report(vec![t], None));
        assert_eq!(unknown[0].fix_installed, FixStatus::Unknown);
    }

    /// `thread` as a stack walker found it, rather than as a text stack gives it.
    fn walked(mut thread: Thread) -> Thread {
        for frame in &mut thread.frames {
            frame.trust = Trust::FramePointer;
        }
        thread
    }

    /// A dump's report: the modules of the tests' stacks, all with symbols in `symbols`.
    fn dump(threads: Vec<Thread>, symbols: SymbolState) -> Report {
        let modules = ["ntdll.dll", "MAPI32.dll", "EMSMTA.exe", "other.dll"]
            .into_iter()
            .map(|name| Module {
                name: name.to_string(),
                symbols,
                ..Module::default()
            })
            .collect();
        Report {
            threads,
            modules,
            ..Report::default()
        }
    }

    /// What tells findings apart: rule, confidence, thread, matched frames, container.
    type Seen<'f> = (&'f str, Confidence, u32, Vec<usize>, Option<&'f str>);

    fn summary(findings: &[Finding]) -> Vec<Seen<'_>> {
        findings
            .iter()
            .map(|f| {
                (
                    f.rule.as_str(),
                    f.confidence,
                    f.thread_id,
                    f.matched_frames.clone(),
                    f.contained_in.as_deref(),
                )
            })
            .collect()
    }

    fn rule_set(text: &str) -> RuleSet {
        let mut set = RuleSet::default();
        set.add_toml(text, "t.toml").unwrap();
        set
    }

    /// The rule's stack walked in a dump without symbols: three modules, no names.
    fn unnamed_walked_thread() -> Thread {
        walked(thread(
            3,
            true,
            &[
                ("ntdll.dll", None),
                ("ntdll.dll", None),
                ("MAPI32.dll", None),
                ("EMSMTA.exe", None),
            ],
        ))
    }

    #[test]
    fn unnamed_walked_frames_in_the_rules_modules_without_symbols_are_probable() {
        let findings = rules().evaluate(&dump(vec![unnamed_walked_thread()], SymbolState::Missing));
        assert_eq!(
            summary(&findings),
            [("T1", Confidence::Probable, 3, vec![0, 1, 2, 3], None)]
        );
        assert!(findings[0].advice.contains("Only module-level evidence"));
    }

    #[test]
    fn unnamed_text_frames_are_never_evidence() {
        // The same stack as a text input gives it: the frames name modules, not functions.
        let text = thread(
            3,
            true,
            &[
                ("ntdll.dll", None),
                ("ntdll.dll", None),
                ("MAPI32.dll", None),
                ("EMSMTA.exe", None),
            ],
        );
        assert_eq!(text.frames[0].trust, Trust::Text);
        assert!(rules()
            .evaluate(&dump(vec![text.clone()], SymbolState::Missing))
            .is_empty());
        // Named text frames around one unnamed one: still nothing.
        let mut mixed = text;
        mixed.frames[0].function = Some("RtlAllocateHeap".into());
        mixed.frames[3].function = Some("HrTrackWriteLogA".into());
        assert!(rules()
            .evaluate(&dump(vec![mixed.clone()], SymbolState::Missing))
            .is_empty());
        // A text stack with every frame named is confirmed as before.
        mixed.frames.remove(1);
        mixed.frames[1].function = Some("LH_IntHeapAlloc".into());
        assert_eq!(
            summary(&rules().evaluate(&dump(vec![mixed], SymbolState::Missing))),
            [("T1", Confidence::Confirmed, 3, vec![0, 1, 2], None)]
        );
    }

    #[test]
    fn unnamed_frames_in_a_module_with_symbols_are_not_evidence() {
        // MAPI32's symbols are loaded, so its unnamed frame lies outside every function.
        let mut report = dump(vec![unnamed_walked_thread()], SymbolState::Missing);
        report.modules[1].symbols = SymbolState::Loaded;
        assert!(rules().evaluate(&report).is_empty());
        // The same with MAPI32 unlisted (a front end without a module list): probable.
        report.modules.remove(1);
        assert_eq!(
            summary(&rules().evaluate(&report)),
            [("T1", Confidence::Probable, 3, vec![0, 1, 2, 3], None)]
        );
    }

    #[test]
    fn a_rule_in_one_module_is_never_probable() {
        let one_module = r#"
[[rule]]
id = "MAPI-ONLY"
title = "one module"
frames = ["MAPI32!LH_IntHeapAlloc", "MAPI32!LH_ExtHeapAlloc", "MAPI32!MAPIAllocateBuffer"]
"#;
        let unnamed = walked(thread(
            1,
            true,
            &[
                ("MAPI32.dll", None),
                ("MAPI32.dll", None),
                ("MAPI32.dll", None),
            ],
        ));
        let set = rule_set(one_module);
        assert!(set
            .evaluate(&dump(vec![unnamed], SymbolState::Missing))
            .is_empty());
        // The rule itself matches: named, it is confirmed.
        let named = walked(thread(
            1,
            true,
            &[
                ("MAPI32.dll", Some("LH_IntHeapAlloc")),
                ("MAPI32.dll", Some("LH_ExtHeapAlloc")),
                ("MAPI32.dll", Some("MAPIAllocateBuffer")),
            ],
        ));
        assert_eq!(
            summary(&set.evaluate(&dump(vec![named], SymbolState::Missing))),
            [("MAPI-ONLY", Confidence::Confirmed, 1, vec![0, 1, 2], None)]
        );
    }

    #[test]
    fn a_thread_showing_one_of_the_rules_modules_is_not_probable() {
        let only_ntdll = walked(thread(
            4,
            true,
            &[
                ("ntdll.dll", None),
                ("ntdll.dll", None),
                ("ntdll.dll", None),
                ("other.dll", None),
            ],
        ));
        assert!(rules()
            .evaluate(&dump(vec![only_ntdll], SymbolState::Missing))
            .is_empty());
        // ntdll and MAPI32 but no EMSMTA: two of the three modules are not enough either.
        let no_emsmta = walked(thread(
            4,
            true,
            &[
                ("ntdll.dll", None),
                ("MAPI32.dll", None),
                ("MAPI32.dll", None),
            ],
        ));
        assert!(rules()
            .evaluate(&dump(vec![no_emsmta], SymbolState::Missing))
            .is_empty());
    }

    #[test]
    fn a_single_unnamed_frame_is_never_a_finding() {
        // Named frames fit the rule's first and last entries; only MAPI32's frame is
        // unnamed. One unnamed frame: no finding.
        let one = walked(thread(
            5,
            true,
            &[
                ("ntdll.dll", Some("RtlAllocateHeap")),
                ("MAPI32.dll", None),
                ("EMSMTA.exe", Some("HrTrackWriteLogA")),
            ],
        ));
        assert!(rules()
            .evaluate(&dump(vec![one], SymbolState::Missing))
            .is_empty());
        // A thread of one unnamed frame in a module of the rule: nothing.
        let lone = walked(thread(5, true, &[("ntdll.dll", None)]));
        assert!(rules()
            .evaluate(&dump(vec![lone], SymbolState::Missing))
            .is_empty());
        // A second unnamed MAPI32 frame makes it probable.
        let two = walked(thread(
            5,
            true,
            &[
                ("ntdll.dll", Some("RtlAllocateHeap")),
                ("MAPI32.dll", None),
                ("MAPI32.dll", None),
                ("EMSMTA.exe", Some("HrTrackWriteLogA")),
            ],
        ));
        assert_eq!(
            summary(&rules().evaluate(&dump(vec![two], SymbolState::Missing))),
            [("T1", Confidence::Probable, 5, vec![0, 1, 2, 3], None)]
        );
    }

    #[test]
    fn named_frames_that_contradict_the_pattern_are_not_probable() {
        let t = thread(
            3,
            true,
            &[
                ("ntdll.dll", Some("NtWaitForSingleObject")),
                ("MAPI32.dll", None),
                ("EMSMTA.exe", None),
            ],
        );
        assert!(rules().evaluate(&report(vec![t], None)).is_empty());
    }

    #[test]
    fn near_misses_say_what_is_missing_and_where() {
        let t = thread(
            9,
            true,
            &[
                ("ntdll.dll", Some("RtlAllocateHeap")),
                ("x.dll", Some("Y")),
                ("emsmta.exe", Some("HrTrackWriteLogA")),
            ],
        );
        let misses = rules().near_misses(&report(vec![t], None));
        assert_eq!(
            misses[0].to_string(),
            "T1: thread 9: 2 of 3 frames matched; missing MAPI32!LH_*HeapAlloc between frames 0 and 2"
        );
    }

    #[test]
    fn check_reports_lines_of_bad_values() {
        let text =
            "[[rule]]\nid = \"X\"\ntitle = \"t\"\nframes = [\n  \"ntdll!A\",\n  \"no-bang\",\n]\n";
        let DataFileError(problems) = parse_rules(text, Path::new("bad.toml")).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 6);
        assert!(problems[0].to_string().starts_with("bad.toml:6: "));

        let unknown_key = "[[rule]]\nid = \"X\"\ntitle = \"t\"\nframes = [\"a!b\"]\nmax_gapp = 1\n";
        let DataFileError(problems) = parse_rules(unknown_key, Path::new("k.toml")).unwrap_err();
        assert_eq!(problems[0].line, 5, "{}", problems[0]);
    }

    #[test]
    fn builtin_pack_loads_and_user_rules_replace_by_id() {
        let mut set = RuleSet::builtin();
        assert!(set.get("q269588").is_some());
        let override_text = RULE.replace("T1", "Q269588");
        set.extend(parse_rules(&override_text, Path::new("user.toml")).unwrap());
        assert_eq!(set.rules().len(), 1);
        assert_eq!(set.get("Q269588").unwrap().rule.title, "test");
    }

    /// Rules on four stacks of their own: two confirmed, two probable, of 3 to 5 frames,
    /// loaded smallest and weakest first so the order must come from ranking, not loading.
    const RANKED: &str = r#"
[[rule]]
id = "PROBABLE-3"
title = "t"
frames = ["ddd!One", "eee!Two", "eee!Three"]

[[rule]]
id = "CONFIRMED-3"
title = "t"
frames = ["aaa!One", "bbb!Two", "ccc!Three"]

[[rule]]
id = "PROBABLE-4"
title = "t"
frames = ["fff!One", "fff!Two", "ggg!Three", "ggg!Four"]

[[rule]]
id = "CONFIRMED-5"
title = "t"
frames = ["hhh!One", "hhh!Two", "iii!Three", "iii!Four", "jjj!Five"]
"#;

    #[test]
    fn findings_are_ordered_by_matched_frames_then_confidence() {
        let named = |id, names: &[(&'static str, &'static str)]| {
            let frames: Vec<(&str, Option<&str>)> =
                names.iter().map(|&(m, f)| (m, Some(f))).collect();
            walked(thread(id, false, &frames))
        };
        let unnamed = |id, modules: &[&'static str]| {
            let frames: Vec<(&str, Option<&str>)> = modules.iter().map(|&m| (m, None)).collect();
            walked(thread(id, false, &frames))
        };
        let threads = vec![
            named(1, &[("aaa", "One"), ("bbb", "Two"), ("ccc", "Three")]),
            unnamed(2, &["ddd", "eee", "eee"]),
            unnamed(3, &["fff", "fff", "ggg", "ggg"]),
            named(
                4,
                &[
                    ("hhh", "One"),
                    ("hhh", "Two"),
                    ("iii", "Three"),
                    ("iii", "Four"),
                    ("jjj", "Five"),
                ],
            ),
        ];
        let findings = rule_set(RANKED).evaluate(&dump(threads, SymbolState::Missing));
        assert_eq!(
            summary(&findings),
            [
                (
                    "CONFIRMED-5",
                    Confidence::Confirmed,
                    4,
                    vec![0, 1, 2, 3, 4],
                    None
                ),
                (
                    "PROBABLE-4",
                    Confidence::Probable,
                    3,
                    vec![0, 1, 2, 3],
                    None
                ),
                ("CONFIRMED-3", Confidence::Confirmed, 1, vec![0, 1, 2], None),
                ("PROBABLE-3", Confidence::Probable, 2, vec![0, 1, 2], None),
            ]
        );
    }

    #[test]
    fn equal_findings_keep_load_order_unless_one_is_on_the_crashing_thread() {
        let two = r#"
[[rule]]
id = "FIRST"
title = "t"
frames = ["aaa!One", "bbb!Two", "ccc!Three"]

[[rule]]
id = "SECOND"
title = "t"
frames = ["ddd!One", "eee!Two", "fff!Three"]
"#;
        let stack = |id, crashed, m: [&'static str; 3]| {
            walked(thread(
                id,
                crashed,
                &[
                    (m[0], Some("One")),
                    (m[1], Some("Two")),
                    (m[2], Some("Three")),
                ],
            ))
        };
        let order = |threads: Vec<Thread>| -> Vec<String> {
            rule_set(two)
                .evaluate(&dump(threads, SymbolState::Missing))
                .into_iter()
                .map(|f| f.rule)
                .collect()
        };
        // Thread order does not matter; load order does.
        let first = stack(1, false, ["aaa", "bbb", "ccc"]);
        let second = stack(2, false, ["ddd", "eee", "fff"]);
        assert_eq!(
            order(vec![second.clone(), first.clone()]),
            ["FIRST", "SECOND"]
        );
        assert_eq!(
            order(vec![first.clone(), second.clone()]),
            ["FIRST", "SECOND"]
        );
        // The crashing thread's finding goes first.
        let crashed = stack(2, true, ["ddd", "eee", "fff"]);
        assert_eq!(order(vec![first, crashed]), ["SECOND", "FIRST"]);
    }

    /// An article's stack published again inside a longer article's stack.
    const NESTED: &str = r#"
[[rule]]
id = "SHORT"
title = "the inner stack"
frames = ["NTDLL!RtlAllocateHeap", "MAPI32!LH_IntHeapAlloc", "MAPI32!MAPIAllocateBuffer"]

[[rule]]
id = "LONG"
title = "the whole stack"
frames = [
    "NTDLL!RtlpExtendHeap",
    "NTDLL!RtlAllocateHeap",
    "MAPI32!LH_IntHeapAlloc",
    "MAPI32!MAPIAllocateBuffer",
    "EMSMTA!HrTrackWriteLogA",
]
"#;

    fn nested_stack(id: u32, crashed: bool) -> Thread {
        walked(thread(
            id,
            crashed,
            &[
                ("ntdll.dll", Some("RtlpExtendHeap")),
                ("ntdll.dll", Some("RtlAllocateHeap")),
                ("MAPI32.dll", Some("LH_IntHeapAlloc")),
                ("MAPI32.dll", Some("MAPIAllocateBuffer")),
                ("EMSMTA.exe", Some("HrTrackWriteLogA")),
            ],
        ))
    }

    #[test]
    fn a_pattern_inside_a_longer_match_on_the_same_thread_is_contained_in_it() {
        let mut report = dump(vec![nested_stack(7, true)], SymbolState::Loaded);
        report.findings = rule_set(NESTED).evaluate(&report);
        assert_eq!(
            summary(&report.findings),
            [
                ("LONG", Confidence::Confirmed, 7, vec![0, 1, 2, 3, 4], None),
                (
                    "SHORT",
                    Confidence::Confirmed,
                    7,
                    vec![1, 2, 3],
                    Some("LONG")
                ),
            ]
        );
        let verdict = crate::print::verdict(&report);
        assert!(
            verdict.starts_with("KNOWN ISSUE LONG (confirmed) on thread 7"),
            "{verdict}"
        );
        let text = crate::print::text(&report);
        assert!(
            text.contains("  known issue SHORT: the inner stack (contained in LONG)\n"),
            "{text}"
        );
        assert!(
            text.contains("  known issue LONG: the whole stack\n"),
            "{text}"
        );
        // Absent, the field stays out of the JSON.
        let json = serde_json::to_value(&report.findings).unwrap();
        assert_eq!(json[0].get("contained_in"), None);
        assert_eq!(json[1]["contained_in"], "LONG");
    }

    #[test]
    fn the_same_frames_on_another_thread_or_overlapping_are_not_contained() {
        // SHORT matches only on thread 8, LONG only on thread 7: two findings of their own.
        let short_only = walked(thread(
            8,
            false,
            &[
                ("ntdll.dll", Some("Caller")),
                ("ntdll.dll", Some("RtlAllocateHeap")),
                ("MAPI32.dll", Some("LH_IntHeapAlloc")),
                ("MAPI32.dll", Some("MAPIAllocateBuffer")),
            ],
        ));
        let report = dump(
            vec![nested_stack(7, true), short_only.clone()],
            SymbolState::Loaded,
        );
        // LONG's best thread is 7; SHORT's is the crashing thread 7 too, inside LONG.
        assert_eq!(
            summary(&rule_set(NESTED).evaluate(&report)),
            [
                ("LONG", Confidence::Confirmed, 7, vec![0, 1, 2, 3, 4], None),
                (
                    "SHORT",
                    Confidence::Confirmed,
                    7,
                    vec![1, 2, 3],
                    Some("LONG")
                ),
            ]
        );
        let mut crashing_short = short_only;
        crashing_short.crashed = true;
        let apart = dump(
            vec![crashing_short, nested_stack(7, false)],
            SymbolState::Loaded,
        );
        assert_eq!(
            summary(&rule_set(NESTED).evaluate(&apart)),
            [
                ("LONG", Confidence::Confirmed, 7, vec![0, 1, 2, 3, 4], None),
                ("SHORT", Confidence::Confirmed, 8, vec![1, 2, 3], None),
            ]
        );
        // Overlapping patterns on one thread, neither inside the other.
        let overlapping = r#"
[[rule]]
id = "INNER-HALF"
title = "t"
frames = ["ntdll!A", "mapi32!B", "mapi32!C"]

[[rule]]
id = "OUTER-HALF"
title = "t"
frames = ["mapi32!C", "emsmta!D", "emsmta!E"]
"#;
        let t = walked(thread(
            9,
            true,
            &[
                ("ntdll.dll", Some("A")),
                ("MAPI32.dll", Some("B")),
                ("MAPI32.dll", Some("C")),
                ("EMSMTA.exe", Some("D")),
                ("EMSMTA.exe", Some("E")),
            ],
        ));
        assert_eq!(
            summary(&rule_set(overlapping).evaluate(&dump(vec![t], SymbolState::Loaded))),
            [
                ("INNER-HALF", Confidence::Confirmed, 9, vec![0, 1, 2], None),
                ("OUTER-HALF", Confidence::Confirmed, 9, vec![2, 3, 4], None),
            ]
        );
    }

    #[test]
    fn rules_too_generic_to_trust_load_with_warnings_at_their_frames() {
        let text = r#"[[rule]]
id = "SHORT"
title = "two frames"
frames = ["mapi32!A", "emsmta!B"]

[[rule]]
id = "SYSTEM"
title = "system modules only"
frames = [
    "NTDLL!RtlpFindAndCommitPages",
    "ntdll.dll!RtlAllocateHeap",
    "KERNEL32!HeapAlloc",
    "msvcrt!malloc",
]

[[rule]]
id = "BOTH"
title = "both"
frames = ["user32!A", "kernelbase!B"]

[[rule]]
id = "GOOD"
title = "specific"
frames = ["ntdll!RtlAllocateHeap", "ntdll!RtlpExtendHeap", "mapi32!LH_IntHeapAlloc"]
"#;
        let rules = parse_rules(text, Path::new("g.toml")).unwrap();
        let warnings: Vec<(&str, Vec<String>)> = rules
            .iter()
            .map(|r| {
                (
                    r.rule.id.as_str(),
                    r.warnings().iter().map(ToString::to_string).collect(),
                )
            })
            .collect();
        let short = "warning: rule SHORT is too generic to trust: 2 frame(s), fewer than 3; \
                     a stack this short recurs in unrelated crashes";
        let system = "warning: rule SYSTEM is too generic to trust: its frames are only in \
                      system modules (ntdll, kernel32, msvcrt), which are on most stacks; add a \
                      frame of the product's own code";
        assert_eq!(
            warnings,
            [
                ("SHORT", vec![format!("g.toml:4: {short}")]),
                ("SYSTEM", vec![format!("g.toml:10: {system}")]),
                (
                    "BOTH",
                    vec![
                        "g.toml:19: warning: rule BOTH is too generic to trust: 2 frame(s), \
                         fewer than 3; a stack this short recurs in unrelated crashes"
                            .to_string(),
                        "g.toml:19: warning: rule BOTH is too generic to trust: its frames are \
                         only in system modules (user32, kernelbase), which are on most stacks; \
                         add a frame of the product's own code"
                            .to_string(),
                    ]
                ),
                ("GOOD", vec![]),
            ]
        );
        // The built-in pack is specific.
        assert!(RuleSet::builtin()
            .rules()
            .iter()
            .all(|r| r.warnings().is_empty()));
    }
}
