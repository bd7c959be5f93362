//! `triage rules draft --db FILE --bucket SIGNATURE`: a rule to review, from the frames a
//! bucket's crashing threads share and the version evidence.

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension};

use super::report::{bucket_evidence, Evidence};
use super::{Database, DbError};
use crate::model::FixedIn;
use crate::rules::{to_toml, Located, Rule, ThreadScope};

/// Most frames a drafted rule lists.
const MAX_FRAMES: usize = 12;

/// The unexplained crashes of one bucket.
const IN_BUCKET: &str = "d.unknown_key = ?1";

/// A drafted rule and what it was drawn from.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The rule: frames every crash of the bucket shares, on the crashing thread, in order;
    /// the exception code when they all have the same one. No `fixed_in`: that is for the
    /// reviewer to decide from [`evidence`](Draft::evidence).
    pub rule: Rule,
    /// Crashes in the bucket.
    pub dumps: usize,
    /// The bucket's version evidence, when its top frame's module has versions.
    pub evidence: Option<Evidence>,
    /// How the dumps name that module, e.g. `Mapi32.dll`.
    pub module: Option<String>,
}

impl Draft {
    /// The rule file to review and save: the rule as TOML, with the evidence and a
    /// suggested `fixed_in` as comments.
    pub fn toml(&self) -> String {
        let mut out = format!(
            "# Drafted from {} unexplained crashes of one bucket; review before use.\n",
            self.dumps
        );
        if let (Some(evidence), Some(module)) = (&self.evidence, &self.module) {
            out.push_str(&format!("# Evidence, {module}: {evidence}.\n"));
        }
        out.push_str(&to_toml(&self.rule));
        if let (
            Some(Evidence::Range {
                later,
                next: Some(next),
                ..
            }),
            Some(module),
        ) = (&self.evidence, &self.module)
        {
            if *later > 0 {
                out.push_str(&format!(
                    "# Suggested by the evidence above; uncomment if that version fixed it:\n\
                     # [rule.fixed_in]\n# module = {module:?}\n# version = {next:?}\n"
                ));
            }
        }
        out
    }
}

/// Drafts a rule for the bucket whose signature (or bucket id) is `bucket`.
pub fn draft_rule(db: &Database, bucket: &str) -> Result<Draft, DbError> {
    draft(&db.conn, bucket)
        .map_err(|e| db.error(e))?
        .ok_or_else(|| DbError::NoSuchBucket(bucket.to_string()))
}

fn draft(conn: &Connection, bucket: &str) -> rusqlite::Result<Option<Draft>> {
    let stacks = crashing_stacks(conn, bucket)?;
    if stacks.is_empty() {
        return Ok(None);
    }
    let frames = common_frames(&stacks);
    let codes: Vec<Option<String>> = conn
        .prepare(&format!(
            "SELECT DISTINCT d.crash_code FROM dumps d WHERE {IN_BUCKET}"
        ))?
        .query_map([bucket], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let exception_codes = match codes.as_slice() {
        [Some(code)] => vec![Located::new(0..0, code.clone())],
        _ => Vec::new(),
    };
    let (module_key, _, evidence) = bucket_evidence(conn, bucket)?;
    let module = match &module_key {
        Some(key) => conn
            .query_row(
                "SELECT name FROM modules WHERE key = ?1 LIMIT 1",
                [key],
                |r| r.get(0),
            )
            .optional()?,
        None => None,
    };
    let id = format!(
        "DRAFT-{:08x}",
        xxhash_rust::xxh3::xxh3_64(bucket.as_bytes()) as u32
    );
    let rule = Rule {
        id,
        title: format!("Unexplained crash {}", crate::print::shorten(bucket, 80)),
        reference: String::new(),
        product: String::new(),
        max_gap: max_gap(&stacks, &frames),
        frames: frames.into_iter().map(|f| Located::new(0..0, f)).collect(),
        anchor_top: false,
        threads: ThreadScope::Crashing,
        exception_codes,
        cause: String::new(),
        resolution: String::new(),
        workaround: String::new(),
        fixed_in: None::<Located<FixedIn>>,
    };
    Ok(Some(Draft {
        rule,
        dumps: stacks.len(),
        evidence,
        module,
    }))
}

/// Each crash's crashing-thread frames as `MODULE!function`, innermost first; frames
/// without a function are left out.
fn crashing_stacks(conn: &Connection, bucket: &str) -> rusqlite::Result<Vec<Vec<String>>> {
    let mut select = conn.prepare(&format!(
        "SELECT f.dump, f.module, f.function FROM frames f JOIN dumps d ON d.id = f.dump \
         WHERE {IN_BUCKET} AND f.crashed = 1 ORDER BY f.dump, f.idx"
    ))?;
    let mut rows = select.query(params![bucket])?;
    let mut stacks: Vec<Vec<String>> = Vec::new();
    let mut current = None;
    while let Some(row) = rows.next()? {
        let dump: i64 = row.get(0)?;
        if current != Some(dump) {
            current = Some(dump);
            stacks.push(Vec::new());
        }
        let (module, function): (Option<String>, Option<String>) = (row.get(1)?, row.get(2)?);
        if let (Some(module), Some(function), Some(stack)) = (module, function, stacks.last_mut()) {
            stack.push(format!("{}!{function}", crate::module_name::stem(&module)));
        }
    }
    Ok(stacks)
}

/// The frames of the first stack that every stack has, in its order, at most
/// [`MAX_FRAMES`].
fn common_frames(stacks: &[Vec<String>]) -> Vec<String> {
    let sets: Vec<HashSet<&String>> = stacks.iter().map(|s| s.iter().collect()).collect();
    let mut seen = HashSet::new();
    stacks[0]
        .iter()
        .filter(|frame| sets.iter().all(|set| set.contains(frame)) && seen.insert(*frame))
        .take(MAX_FRAMES)
        .cloned()
        .collect()
}

/// The most unmatched frames any stack has between two consecutive `frames`.
fn max_gap(stacks: &[Vec<String>], frames: &[String]) -> usize {
    let mut widest = 0;
    for stack in stacks {
        let mut last: Option<usize> = None;
        let mut from = 0;
        for frame in frames {
            let Some(offset) = stack[from..].iter().position(|f| f == frame) else {
                break;
            };
            let at = from + offset;
            if let Some(last) = last {
                widest = widest.max(at - last - 1);
            }
            last = Some(at);
            from = at + 1;
        }
    }
    widest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(frames: &[&str]) -> Vec<String> {
        frames.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn keeps_the_frames_every_stack_shares_and_the_widest_gap() {
        let stacks = [
            stack(&["a!x", "b!y", "c!z", "d!w"]),
            stack(&["a!x", "q!extra", "q!more", "b!y", "d!w"]),
        ];
        let frames = common_frames(&stacks);
        assert_eq!(frames, ["a!x", "b!y", "d!w"]);
        assert_eq!(max_gap(&stacks, &frames), 2);
    }
}
