//! The text path on real pastes and articles that other people wrote
//! (`tests/samples/real/`, each with its source and licence in `MANIFEST.toml`, frame lines
//! and threads counted by hand). Run with `--nocapture` to see the per-sample table and the
//! totals the README and BENCHMARKS quote.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use triage::text::parse_stacks;

#[derive(Deserialize)]
struct Manifest {
    sample: Vec<Sample>,
}

#[derive(Deserialize)]
struct Sample {
    file: String,
    source: String,
    licence: String,
    threads: usize,
    frame_lines: usize,
    /// Samples cut from the same article share an origin.
    #[serde(default)]
    origin: Option<String>,
}

impl Sample {
    fn related(&self, other: &Sample) -> bool {
        self.file == other.file || (self.origin.is_some() && self.origin == other.origin)
    }
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/samples/real")
}

fn manifest() -> Vec<Sample> {
    let text = std::fs::read_to_string(samples_dir().join("MANIFEST.toml")).unwrap();
    toml::from_str::<Manifest>(&text).unwrap().sample
}

fn read(sample: &Sample) -> String {
    let bytes = std::fs::read(samples_dir().join(&sample.file)).unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn every_sample_has_a_source_and_a_licence() {
    let samples = manifest();
    assert!(samples.len() >= 40, "{} samples", samples.len());
    for sample in &samples {
        assert!(!sample.source.trim().is_empty(), "{}", sample.file);
        assert!(!sample.licence.trim().is_empty(), "{}", sample.file);
        assert!(
            samples_dir().join(&sample.file).is_file(),
            "{}",
            sample.file
        );
    }
}

/// Frame lines read over all samples, against the hand count; threads per sample.
#[test]
fn frame_lines_and_threads_match_the_hand_count() {
    let (mut present, mut read_right, mut threads_right) = (0, 0, 0);
    let samples = manifest();
    let mut misses = Vec::new();
    for sample in &samples {
        let parsed = parse_stacks(&read(sample));
        let frames = parsed.frame_lines;
        present += sample.frame_lines;
        // Lines read beyond the hand count are lines that are not frames: they count
        // against the sample as much as frames missed.
        read_right += frames
            .min(sample.frame_lines)
            .saturating_sub(frames.saturating_sub(sample.frame_lines));
        threads_right += usize::from(parsed.threads.len() == sample.threads);
        let mark = if frames == sample.frame_lines && parsed.threads.len() == sample.threads {
            ""
        } else {
            misses.push(sample.file.clone());
            "  <- differs"
        };
        println!(
            "{:64} frame lines {:3}/{:3}  threads {:2}/{:2}{mark}",
            sample.file,
            frames,
            sample.frame_lines,
            parsed.threads.len(),
            sample.threads
        );
    }
    let ratio = read_right as f64 / present as f64;
    println!(
        "frame lines read: {read_right} of {present} ({:.1} %); samples with the right thread \
         count: {threads_right} of {}",
        100.0 * ratio,
        samples.len()
    );
    assert!(
        ratio >= 0.99,
        "{:.3} of frame lines read; differing: {misses:?}",
        ratio
    );
}

/// `rules import-kb` on every collected article and `!analyze` paste: each imported rule
/// must match the text it came from, and no rule may match an unrelated sample. Findings
/// of the built-in rules count as cross findings too.
#[test]
fn imported_rules_match_their_own_article_and_nothing_else() {
    use triage::rules::{import_article, to_toml, RuleSet};
    let samples = manifest();
    let is_article = |s: &Sample| s.file.starts_with("articles/") || s.file.starts_with("analyze/");
    let mut rules = RuleSet::builtin();
    let mut imported = Vec::new();
    for sample in samples.iter().filter(|s| is_article(s)) {
        let stem = Path::new(&sample.file)
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap();
        let rule = import_article(&read(sample), Some(stem))
            .unwrap_or_else(|e| panic!("{}: {e}", sample.file));
        rules.add_toml(&to_toml(&rule), &sample.file).unwrap();
        imported.push((sample.file.clone(), rule.id.clone()));
    }
    let engine = triage::Triage::builder().rules(rules).build();
    let origin_of = |id: &str| {
        let file = &imported.iter().find(|(_, rule)| rule == id)?.0;
        samples.iter().find(|s| &s.file == file)
    };
    let (mut own, mut between_articles, mut elsewhere) = (0, Vec::new(), Vec::new());
    for sample in &samples {
        let report = engine.stacks(&sample.file, &read(sample));
        for finding in &report.findings {
            match origin_of(&finding.rule) {
                Some(origin) if origin.file == sample.file => own += 1,
                Some(origin) if origin.related(sample) => {}
                _ => {
                    let line =
                        format!("{}: {} ({})", sample.file, finding.rule, finding.confidence);
                    if is_article(sample) {
                        between_articles.push(line);
                    } else {
                        elsewhere.push(line);
                    }
                }
            }
        }
    }
    println!(
        "imported rules matching their own article: {own} of {}; findings between unrelated \
         articles and pastes: {}; findings on the {} other samples: {} {elsewhere:?}",
        imported.len(),
        between_articles.len(),
        samples.iter().filter(|s| !is_article(s)).count(),
        elsewhere.len()
    );
    assert_eq!(own, imported.len(), "a rule did not match its own article");
    assert!(between_articles.is_empty(), "{between_articles:#?}");
}

/// The two layouts no public sample was found for (`tests/samples/handmade/README.md`).
#[test]
fn handmade_layouts_callee_sp_and_html() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/samples/handmade");
    let kernel = std::fs::read_to_string(dir.join("kernel-callee-sp.txt")).unwrap();
    let parsed = parse_stacks(&kernel);
    assert_eq!((parsed.frame_lines, parsed.threads.len()), (4, 1));
    let frames = &parsed.threads[0].frames;
    assert_eq!(frames[0].function.as_deref(), Some("KeBugCheckEx"));
    assert_eq!(frames[3].function.as_deref(), Some("KiTrap0E"));
    // The one column is the callee's stack pointer, not a return address.
    assert_eq!(frames[1].frame_base, Some(triage::model::Addr(0xf8af_9b6c)));
    assert_eq!(frames[1].address, None);

    let page = std::fs::read_to_string(dir.join("q269588.html")).unwrap();
    let rule = triage::rules::import_kb(&page).unwrap();
    assert_eq!(rule.id, "Q269588");
    assert_eq!(
        rule.title,
        "XADM: Heap Corruption in MAPI Causes MTA to Stop Responding"
    );
    assert_eq!(rule.frames.len(), 11);
    let report = triage::Triage::builder()
        .build()
        .stacks("q269588.html", &page);
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    assert_eq!(report.findings[0].rule, "Q269588");
}
