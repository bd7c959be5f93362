//! Frame patterns: ordered `MODULE!FUNCTION` globs matched against a thread's frames.

use crate::data_file::Located;
use crate::frame_glob::FrameGlob;
use crate::model::{Frame, NearMiss, Thread};

/// Module-level evidence needs the thread to show at least this many distinct modules of
/// the rule, in the rule's order: one module alone says little (many rules share ntdll).
pub(crate) const MIN_EVIDENCE_MODULES: usize = 2;

/// Module-level evidence needs at least this many unnamed frames that count as evidence:
/// a single unnamed frame is never enough for a finding.
pub(crate) const MIN_UNNAMED_FRAMES: usize = 2;

/// A rule's frame list, compiled.
#[derive(Debug, Clone)]
pub(crate) struct CompiledPattern {
    frames: Vec<FrameGlob>,
}

impl CompiledPattern {
    /// Compiles every entry, collecting all errors with their byte offsets.
    pub(crate) fn new(frames: &[Located<String>]) -> Result<Self, Vec<(usize, String)>> {
        if frames.is_empty() {
            return Err(vec![(0, "frames is empty".to_string())]);
        }
        let mut problems = Vec::new();
        let compiled: Vec<FrameGlob> = frames
            .iter()
            .filter_map(|entry| {
                FrameGlob::parse(entry.get_ref())
                    .map_err(|message| problems.push((entry.span().start, message)))
                    .ok()
            })
            .collect();
        if problems.is_empty() {
            Ok(CompiledPattern { frames: compiled })
        } else {
            Err(problems)
        }
    }

    /// Frame indexes of the whole pattern on `thread`, in order, each within `max_gap` of
    /// the previous; the earliest such match.
    pub(crate) fn full_match(
        &self,
        thread: &Thread,
        max_gap: usize,
        anchor_top: bool,
    ) -> Option<Vec<usize>> {
        chain(&thread.frames, &self.frames, max_gap, anchor_top)
    }

    /// Module-level evidence for a thread whose frames lack names, or `None`.
    ///
    /// The thread must pass through the pattern's module sequence in order, starting at its
    /// innermost frame, each module within `max_gap` frames of the previous one; the
    /// sequence must hold at least [`MIN_EVIDENCE_MODULES`] distinct modules; at least
    /// [`MIN_UNNAMED_FRAMES`] frames along the way must be unnamed frames that
    /// `unnamed_is_evidence` accepts; and no named frame along the way may contradict the
    /// pattern. An unnamed frame it rejects (read from text, or in a module whose symbols
    /// are loaded) is in none of the rule's modules here: it says nothing, so it only
    /// counts against `max_gap`.
    pub(crate) fn module_match(
        &self,
        thread: &Thread,
        max_gap: usize,
        unnamed_is_evidence: impl Fn(&Frame) -> bool,
    ) -> Option<Vec<usize>> {
        let runs = self.module_runs();
        let mut distinct: Vec<&str> = runs.iter().map(|run| run.module_key()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < MIN_EVIDENCE_MODULES {
            return None;
        }
        let frames = &thread.frames;
        let shows = |run: &FrameGlob, frame: &Frame| {
            run.module_fits(frame) && (frame.function.is_some() || unnamed_is_evidence(frame))
        };
        let mut matched = Vec::new();
        let mut next = 0;
        for (position, run) in runs.iter().enumerate() {
            let start = if position == 0 {
                // The innermost frame must already be in the first module.
                (frames.first().is_some_and(|f| shows(run, f))).then_some(0)?
            } else {
                (next..frames.len().min(next + max_gap + 1)).find(|&i| shows(run, &frames[i]))?
            };
            let end = (start..frames.len())
                .find(|&i| !shows(run, &frames[i]))
                .unwrap_or(frames.len());
            matched.extend(start..end);
            next = end;
        }
        let contradicted = matched.iter().any(|&i| {
            let frame = &frames[i];
            frame.function.is_some() && !self.frames.iter().any(|m| m.fits(frame))
        });
        let unnamed = matched
            .iter()
            .filter(|&&i| frames[i].function.is_none())
            .count();
        (unnamed >= MIN_UNNAMED_FRAMES && !contradicted).then_some(matched)
    }

    /// The pattern's entries with consecutive same-module entries collapsed.
    fn module_runs(&self) -> Vec<&FrameGlob> {
        let mut runs: Vec<&FrameGlob> = Vec::new();
        for matcher in &self.frames {
            let same = runs
                .last()
                .is_some_and(|last| last.module_key() == matcher.module_key());
            if !same {
                runs.push(matcher);
            }
        }
        runs
    }

    /// How many entries the pattern has.
    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }

    /// Each entry's module part, lowercase and without extension, in pattern order.
    pub(crate) fn module_keys(&self) -> impl Iterator<Item = &str> {
        self.frames.iter().map(|m| m.module_key())
    }

    /// The longest in-order partial match over `threads` (ignoring gaps), if it found at
    /// least two frames but not all of them.
    pub(crate) fn near_miss<'t>(
        &self,
        rule: &str,
        threads: impl Iterator<Item = &'t Thread>,
    ) -> Option<NearMiss> {
        let (thread, pairs) = threads
            .map(|thread| (thread, longest_common(&thread.frames, &self.frames)))
            .max_by_key(|(_, pairs)| pairs.len())?;
        let total = self.frames.len();
        if pairs.len() < 2 || pairs.len() == total {
            return None;
        }
        let missing = (0..total)
            .filter(|p| !pairs.iter().any(|&(_, q)| q == *p))
            .map(|p| {
                let before = pairs.iter().rev().find(|&&(_, q)| q < p).map(|&(f, _)| f);
                let after = pairs.iter().find(|&&(_, q)| q > p).map(|&(f, _)| f);
                let place = match (before, after) {
                    (Some(b), Some(a)) => format!("between frames {b} and {a}"),
                    (Some(b), None) => format!("after frame {b}"),
                    (None, Some(a)) => format!("before frame {a}"),
                    (None, None) => "anywhere".to_string(),
                };
                format!("missing {} {place}", self.frames[p].text())
            })
            .collect();
        Some(NearMiss {
            rule: rule.to_string(),
            thread_id: thread.thread_id,
            matched: pairs.len(),
            total,
            missing,
        })
    }
}

/// Dynamic programming over (pattern entry, frame): `reach[j][i]` holds the previous
/// frame of a valid chain ending with entry `j` at frame `i`. Linear in frames × entries ×
/// gap, so a hostile thread of many look-alike frames cannot blow up.
fn chain(
    frames: &[Frame],
    matchers: &[FrameGlob],
    max_gap: usize,
    anchor_top: bool,
) -> Option<Vec<usize>> {
    let n = frames.len();
    let mut reach: Vec<Vec<Option<usize>>> = Vec::with_capacity(matchers.len());
    for (j, matcher) in matchers.iter().enumerate() {
        let row: Vec<Option<usize>> = (0..n)
            .map(|i| {
                if !matcher.fits(&frames[i]) {
                    return None;
                }
                if j == 0 {
                    return (!anchor_top || i == 0).then_some(i);
                }
                let lowest = i.saturating_sub(max_gap + 1);
                (lowest..i).find(|&k| reach[j - 1][k].is_some())
            })
            .collect();
        reach.push(row);
    }
    let last = reach.last()?;
    let mut at = (0..n).find(|&i| last[i].is_some())?;
    let mut indexes = vec![at];
    for j in (1..matchers.len()).rev() {
        at = reach[j][at]?;
        indexes.push(at);
    }
    indexes.reverse();
    Some(indexes)
}

/// Longest in-order pairing of frames with pattern entries, as `(frame, entry)` pairs.
fn longest_common(frames: &[Frame], matchers: &[FrameGlob]) -> Vec<(usize, usize)> {
    let (n, m) = (frames.len(), matchers.len());
    let mut table = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if matchers[j].fits(&frames[i]) {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut pairs) = (0, 0, Vec::new());
    while i < n && j < m {
        if matchers[j].fits(&frames[i]) && table[i][j] == table[i + 1][j + 1] + 1 {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if table[i + 1][j] >= table[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}
