//! Crash triage for Windows minidumps.
//!
//! The data flow is the module layout: `dump` opens the file and reads the machine, the
//! exception and the modules; `walk` walks every thread with `minidump-processor`, naming
//! frames through [`symbols`]; everything lands in the neutral [`model`]; [`print`](mod@print)
//! renders it. [`Triage`] wires the stages together and is the one entry point. `dump` and
//! `walk` are private: what they read and walk reaches embedders only as the model, so
//! `minidump` and `minidump-processor` types are not part of this crate's API. Text stacks
//! enter through [`text::parse_stacks`], rules through [`rules`], share scans through
//! [`scan`](mod@scan).
//!
//! ```
//! use triage::Triage;
//!
//! let triage = Triage::builder()
//!     .symbol_path("../corpus/examples/symbols")
//!     .build();
//! let report = triage.dump_path("../corpus/examples/q269588.dmp".as_ref());
//! let crashed = report.crashing_thread().expect("the example crashed");
//! assert_eq!(crashed.thread_id, 1240);
//! assert_eq!(
//!     crashed.frames[0].function.as_deref(),
//!     Some("RtlpFindAndCommitPages")
//! );
//! ```

pub mod classify;
mod data_file;
#[cfg(feature = "db")]
pub mod db;
mod dump;
pub mod error;
mod exploit;
mod file_bytes;
mod frame_glob;
pub mod model;
pub mod module_name;
pub mod print;
pub mod rules;
pub mod scan;
pub mod symbols;
pub mod text;
mod walk;

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Duration;

use minidump::MinidumpModuleList;

// The facade: what an embedder needs, at the crate root. The modules stay public for the
// rest of their items; `dump`, `walk` and every dependency type stay inside.
pub use classify::Classifier;
pub use error::TriageError;
pub use model::Report;
pub use rules::{Diagnostic, RuleSet};
pub use scan::{scan, ScanOptions};
pub use text::{parse_stacks, ParsedStacks};
pub use walk::Limits;

use dump::Dump;
use file_bytes::FileBytes;
use model::{Status, SymbolState};
use symbols::{
    default_cache_root, parse_search_path, SearchSettings, ServerSettings, SymbolCache,
    SymbolSource, Symbols,
};

/// Default bound on connecting to a symbol server, waiting for its answer and each read of
/// a download ([`TriageBuilder::symbol_server_timeout`], `triage --symbol-timeout`).
pub const DEFAULT_SYMBOL_TIMEOUT: Duration = Duration::from_secs(30);

/// A configured triage engine. Build one with [`Triage::builder`] and reuse it: symbol
/// files are parsed once and shared by every dump it triages.
pub struct Triage {
    symbols: Symbols,
    rules: RuleSet,
    classifier: Classifier,
    limits: Limits,
    explain: bool,
    unsupported_symbol_entries: Vec<String>,
}

/// Collects symbol locations, rules, signature lists and limits for a [`Triage`].
#[derive(Debug)]
pub struct TriageBuilder {
    symbol_entries: Vec<SymbolEntry>,
    server: ServerSettings,
    /// `None`: [`default_cache_root`].
    cache_root: Option<PathBuf>,
    keep_conversions: bool,
    cache_max_bytes: u64,
    miss_ttl: Duration,
    symbol_memory: usize,
    rules: RuleSet,
    classifier: Classifier,
    /// Loaded into `rules` by [`TriageBuilder::try_build`].
    rule_files: Vec<PathBuf>,
    /// Loaded into `classifier` by [`TriageBuilder::try_build`].
    signature_lists: Vec<PathBuf>,
    limits: Limits,
    explain: bool,
}

/// Rule files or signature lists given to a [`TriageBuilder`] did not load: the one
/// data-file error ([`rules::DataFileError`]), every problem of every file listed.
pub type BuildError = rules::DataFileError;

impl Default for TriageBuilder {
    fn default() -> Self {
        TriageBuilder {
            symbol_entries: Vec::new(),
            server: ServerSettings::default(),
            cache_root: None,
            keep_conversions: true,
            cache_max_bytes: symbols::DEFAULT_CACHE_MAX_BYTES,
            miss_ttl: symbols::DEFAULT_MISS_TTL,
            symbol_memory: symbols::DEFAULT_MEMORY_BUDGET,
            rules: RuleSet::builtin(),
            classifier: Classifier::builtin(),
            rule_files: Vec::new(),
            signature_lists: Vec::new(),
            limits: Limits::default(),
            explain: false,
        }
    }
}

impl TriageBuilder {
    /// Adds a symbol search entry: a directory, or a `;`-separated list in
    /// `_NT_SYMBOL_PATH` syntax. Searched in the order added.
    /// Entries may be symbol servers (`srv*DIR*URL`) and caches (`cache*DIR`), see
    /// [`parse_search_path`].
    pub fn symbol_path(mut self, entry: impl AsRef<str>) -> Self {
        self.symbol_entries
            .push(SymbolEntry::Path(entry.as_ref().to_string()));
        self
    }

    /// Adds a symbol source of the embedding program's own (a database, an archive, ...),
    /// searched after the ones added before it.
    pub fn symbol_source(mut self, source: Box<dyn SymbolSource>) -> Self {
        self.symbol_entries.push(SymbolEntry::Source(source));
        self
    }

    /// No network: symbol servers are not asked, only their local stores are searched.
    pub fn offline(mut self, offline: bool) -> Self {
        self.server.offline = offline;
        self
    }

    /// Bound on connecting to a symbol server, waiting for its answer and each read of a
    /// download (default [`DEFAULT_SYMBOL_TIMEOUT`]). A server that misses it is not asked
    /// again in this run.
    pub fn symbol_server_timeout(mut self, timeout: Duration) -> Self {
        self.server.timeout = timeout;
        self
    }

    /// Where symbol indexes and remembered misses (`triage-v<N>/`, see [`SymbolCache`])
    /// and the downloads of `srv**URL` entries (`symbols/`) are kept, instead of
    /// [`default_cache_root`].
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_root = Some(dir.into());
        self
    }

    /// Keeps no symbol indexes: each run parses (and converts) its symbol files again and
    /// holds their indexes in memory.
    pub fn no_cache(mut self) -> Self {
        self.keep_conversions = false;
        self
    }

    /// Caps the symbol indexes in the cache directory at `bytes` in all (default
    /// [`symbols::DEFAULT_CACHE_MAX_BYTES`]); the least recently used go first.
    pub fn cache_max_bytes(mut self, bytes: u64) -> Self {
        self.cache_max_bytes = bytes;
        self
    }

    /// How long a module whose symbols were not found is not searched for again (default
    /// [`symbols::DEFAULT_MISS_TTL`]; zero: always search).
    pub fn symbol_miss_ttl(mut self, ttl: Duration) -> Self {
        self.miss_ttl = ttl;
        self
    }

    /// Bytes of symbol indexes held open at once (default
    /// [`symbols::DEFAULT_MEMORY_BUDGET`]), so memory stays flat however many builds a
    /// scan meets.
    pub fn symbol_memory(mut self, bytes: usize) -> Self {
        self.symbol_memory = bytes;
        self
    }

    /// Appends the entries of the `_NT_SYMBOL_PATH` environment variable, if set.
    pub fn nt_symbol_path_from_env(self) -> Self {
        match std::env::var("_NT_SYMBOL_PATH") {
            Ok(value) => self.symbol_path(value),
            Err(_) => self,
        }
    }

    /// Replaces the rules (by default the built-in pack, [`RuleSet::builtin`]).
    pub fn rules(mut self, rules: RuleSet) -> Self {
        self.rules = rules;
        self
    }

    /// Adds rule files, or directories of `.toml` rule files (`triage --rules`), loaded by
    /// [`try_build`](TriageBuilder::try_build) in the order given after the rules (the
    /// built-in pack, or those given to [`rules`](TriageBuilder::rules)); a rule with an
    /// id already loaded replaces it.
    pub fn rule_files<P: AsRef<Path>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.rule_files
            .extend(paths.into_iter().map(|p| p.as_ref().to_path_buf()));
        self
    }

    /// Replaces the frame lists behind class, signature and blame (by default the
    /// built-in lists, [`Classifier::builtin`]).
    pub fn classifier(mut self, classifier: Classifier) -> Self {
        self.classifier = classifier;
        self
    }

    /// Adds signature list files (skip, prefix, sentinel, allocator), or directories of
    /// `.toml` list files (`triage --signature-lists`), loaded by
    /// [`try_build`](TriageBuilder::try_build) into the classifier's lists (the built-in
    /// ones, or those of [`classifier`](TriageBuilder::classifier)).
    pub fn signature_lists<P: AsRef<Path>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.signature_lists
            .extend(paths.into_iter().map(|p| p.as_ref().to_path_buf()));
        self
    }

    /// Also reports rules that matched only part of their pattern (`near_misses`).
    pub fn explain(mut self, explain: bool) -> Self {
        self.explain = explain;
        self
    }

    /// Replaces the default work limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Builds the engine.
    ///
    /// # Panics
    /// When a file given to [`rule_files`](TriageBuilder::rule_files) or
    /// [`signature_lists`](TriageBuilder::signature_lists) does not load. Files named by a
    /// user go through [`try_build`](TriageBuilder::try_build), which reports why.
    pub fn build(self) -> Triage {
        self.try_build()
            .unwrap_or_else(|error| panic!("data files of the triage engine: {error}"))
    }

    /// Loads the rule files and signature lists, then builds the engine; `Err` lists every
    /// problem of every file that did not load (rule files first, then signature lists,
    /// each in the order given).
    pub fn try_build(mut self) -> Result<Triage, BuildError> {
        let mut problems = Vec::new();
        for path in &self.rule_files {
            if let Err(error) = self.rules.load(path) {
                problems.extend(error.0);
            }
        }
        for path in &self.signature_lists {
            if let Err(error) = self.classifier.load(path) {
                problems.extend(error.0);
            }
        }
        if !problems.is_empty() {
            return Err(rules::DataFileError(problems));
        }
        let cache_root = self.cache_root.or_else(default_cache_root);
        let settings = SearchSettings {
            server: self.server,
            default_store: cache_root
                .as_ref()
                .map(|root| root.join(symbols::DOWNLOADS_DIR)),
        };
        let mut sources = Vec::new();
        let mut unsupported_symbol_entries = Vec::new();
        for entry in self.symbol_entries {
            match entry {
                SymbolEntry::Path(path) => {
                    let parsed = parse_search_path([path.as_str()], &settings);
                    sources.extend(parsed.sources);
                    unsupported_symbol_entries.extend(parsed.unsupported);
                }
                SymbolEntry::Source(source) => sources.push(source),
            }
        }
        let cache = cache_root.filter(|_| self.keep_conversions).map(|root| {
            SymbolCache::new(root)
                .with_max_bytes(self.cache_max_bytes)
                .with_miss_ttl(self.miss_ttl)
        });
        Ok(Triage {
            symbols: Symbols::new(sources, cache).with_memory_budget(self.symbol_memory),
            rules: self.rules,
            classifier: self.classifier,
            explain: self.explain,
            limits: self.limits,
            unsupported_symbol_entries,
        })
    }
}

/// A symbol search entry as given; paths are parsed at [`TriageBuilder::build`], once
/// network and cache settings are known.
#[derive(Debug)]
enum SymbolEntry {
    Path(String),
    Source(Box<dyn SymbolSource>),
}

impl Triage {
    /// Starts a builder with no symbols, the built-in rules and default limits.
    pub fn builder() -> TriageBuilder {
        TriageBuilder::default()
    }

    /// The rules findings come from.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Symbol path entries that could not be used (unknown `*` syntax, or an empty store
    /// with no default cache directory), so that a front end can say they were ignored.
    pub fn unsupported_symbol_entries(&self) -> &[String] {
        &self.unsupported_symbol_entries
    }

    /// How many PDB, PE, ELF or Mach-O files were converted to Breakpad text so far; zero
    /// when every index came from the cache.
    pub fn symbol_conversions(&self) -> usize {
        self.symbols.conversions()
    }

    /// The engine's symbol lookup: its counters, and indexing ahead of time
    /// ([`symbols::index_files`]).
    pub fn symbols(&self) -> &Symbols {
        &self.symbols
    }

    /// Triages the dump at `path`. Never fails: an unreadable dump gives a report with
    /// status `error`, a damaged one a `partial` report.
    pub fn dump_path(&self, path: &Path) -> Report {
        let name = path.display().to_string();
        self.guarded(&name, || Dump::open(path))
    }

    /// Triages a dump that is already in memory; `name` becomes the report's `path`.
    pub fn dump_bytes(&self, name: &str, bytes: Vec<u8>) -> Report {
        self.guarded(name, || Dump::from_bytes(FileBytes::Owned(bytes)))
    }

    /// Triages call stacks pasted as text; `name` becomes the report's `path`. Text has
    /// no modules or versions, so `fix_installed` stays unknown.
    pub fn stacks(&self, name: &str, text: &str) -> Report {
        let parsed = text::parse_stacks(text);
        let mut report = if parsed.threads.is_empty() {
            error_report(&TriageError::NoStack)
        } else {
            Report {
                threads: parsed.threads,
                ..Report::default()
            }
        };
        report.path = name.to_string();
        report.unparsed_lines = Some(parsed.unparsed_lines);
        self.judge(&mut report);
        report
    }

    /// Runs the rules and the classifier over a report built elsewhere (say from a live
    /// debugger's threads and modules) and returns it with findings, class and signature.
    pub fn judge_report(&self, mut report: Report) -> Report {
        self.judge(&mut report);
        report
    }

    /// Runs the whole pipeline with any panic in a dependency turned into an error report.
    fn guarded(&self, name: &str, open: impl FnOnce() -> Result<Dump, TriageError>) -> Report {
        let outcome = catch_unwind(AssertUnwindSafe(|| open().map(|dump| self.report(&dump))));
        let mut report = match outcome {
            Ok(Ok(report)) => report,
            Ok(Err(error)) => error_report(&error),
            Err(panic) => error_report(&TriageError::Panic(panic_message(&*panic))),
        };
        report.path = name.to_string();
        report
    }

    fn report(&self, dump: &Dump) -> Report {
        let mut facts = dump.facts();
        let threads = match walk::walk_threads(dump, &self.symbols, &self.limits) {
            Ok(walked) => {
                facts.problems.extend(walked.cut_short);
                walked.threads
            }
            Err(problem) => {
                facts.problems.push(problem);
                Vec::new()
            }
        };
        // Only modules this dump's frames point into count as used. The symbol cache is
        // shared by every dump of a run, so asking it about other modules would make one
        // dump's report depend on which dumps ran before it.
        let used: HashSet<&str> = threads
            .iter()
            .flat_map(|thread| &thread.frames)
            .filter_map(|frame| frame.module.as_deref())
            .collect();
        if let Ok(list) = dump.minidump.get_stream::<MinidumpModuleList>() {
            for (module, raw) in facts.modules.iter_mut().zip(list.iter()) {
                module.symbols = match self.symbols.state_of(raw) {
                    _ if !used.contains(module.name.as_str()) => SymbolState::Unused,
                    // Used, yet never handed to a source: it had no usable debug id.
                    SymbolState::Unused => SymbolState::Missing,
                    searched => searched,
                };
            }
        }
        let error = summarize(&facts.problems);
        let mut report = Report {
            status: if error.is_some() {
                Status::Partial
            } else {
                Status::Ok
            },
            error,
            process_id: facts.process_id,
            system: facts.system,
            crash: facts.crash,
            modules: facts.modules,
            threads,
            ..Report::default()
        };
        self.judge(&mut report);
        report.exploitability = report.crash.as_ref().and_then(|crash| {
            let facts = dump.fault_facts()?;
            let frames = report.crashing_thread().map_or(&[][..], |t| &t.frames);
            Some(exploit::assess(&facts, crash.access(), frames))
        });
        report
    }

    /// Runs the rules and the classifier over a finished report.
    fn judge(&self, report: &mut Report) {
        report.findings = self.rules.evaluate(report);
        let classification = self.classifier.classify(report);
        report.class = Some(classification.class);
        report.signature = classification.signature;
        report.bucket = classification.bucket;
        report.blame = classification.blame;
        if self.explain {
            report.near_misses = self.rules.near_misses(report);
        }
    }
}

/// One error entry for all problems: the first one's kind, every message.
fn summarize(problems: &[TriageError]) -> Option<model::ErrorInfo> {
    let first = problems.first()?;
    let message = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    Some(model::ErrorInfo::new(first.kind(), message))
}

pub(crate) fn error_report(error: &TriageError) -> Report {
    Report {
        status: Status::Error,
        error: Some(error.to_info()),
        ..Report::default()
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Addr, FixStatus};
    use model::{Confidence, Frame, Module, Thread};

    #[test]
    fn judge_report_runs_rules_on_a_built_report() {
        let names = [
            "NTDLL!RtlpFindAndCommitPages",
            "NTDLL!RtlpExtendHeap",
            "NTDLL!RtlAllocateHeap",
            "EXCHMEM!MpHeapAlloc",
            "EXCHMEM!ExchMHeapAlloc",
            "MAPI32!LH_IntHeapAlloc",
            "MAPI32!LH_ExtHeapAlloc",
            "MAPI32!MAPIAllocateBufferExt",
            "MAPI32!MAPIAllocateBuffer",
            "EMSMTA!HrStrAToStrW",
            "EMSMTA!HrTrackWriteLogA",
        ];
        let frames = names
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let (module, function) = name.split_once('!').unwrap();
                Frame {
                    index,
                    address: Some(Addr(0x1000 + index as u64)),
                    module: Some(module.to_string()),
                    function: Some(function.to_string()),
                    ..Frame::default()
                }
            })
            .collect();
        let report = Report {
            path: "live".to_string(),
            threads: vec![Thread {
                thread_id: 0x4d8,
                crashed: true,
                frames,
                ..Thread::default()
            }],
            modules: vec![Module {
                name: "MAPI32.dll".to_string(),
                path: "MAPI32.dll".to_string(),
                base: Addr(0x6fa9_0000),
                size: 0,
                version: Some("5.5.2652.57".to_string()),
                debug_file: None,
                debug_id: None,
                code_id: None,
                symbols: SymbolState::Loaded,
            }],
            ..Report::default()
        };
        let judged = Triage::builder().build().judge_report(report);
        assert_eq!(judged.findings.len(), 1);
        assert_eq!(judged.findings[0].rule, "Q269588");
        assert_eq!(judged.findings[0].confidence, Confidence::Confirmed);
        assert_eq!(judged.findings[0].fix_installed, FixStatus::NotInstalled);
        assert!(judged.class.is_some());
    }

    #[test]
    fn the_builder_loads_rule_files_and_signature_lists_after_the_builtin_ones() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("site.toml");
        std::fs::write(
            &rules,
            "[[rule]]\nid = \"SITE-1\"\ntitle = \"t\"\nframes = [\"a!b\", \"c!d\"]\n",
        )
        .unwrap();
        let lists = dir.path().join("skip.toml");
        std::fs::write(&lists, "skip = [\"mta!Inner\"]\n").unwrap();
        let text = "ChildEBP RetAddr\n0012ff00 00401000 mta!Inner+0x10\n0012ff10 00401100 mta!Outer+0x20\n";
        let plain = Triage::builder().build().stacks("-", text);
        assert_eq!(
            plain.signature.as_deref().map(|s| s.starts_with("Inner")),
            Some(true)
        );

        let triage = Triage::builder()
            .rule_files([&rules])
            .signature_lists([&lists])
            .try_build()
            .unwrap();
        let ids: Vec<&str> = triage
            .rules()
            .rules()
            .iter()
            .map(|r| r.rule.id.as_str())
            .collect();
        assert_eq!(ids, ["Q269588", "SITE-1"]);
        let report = triage.stacks("-", text);
        assert_eq!(
            report.signature.as_deref().map(|s| s.starts_with("Outer")),
            Some(true)
        );
    }

    #[test]
    fn try_build_lists_the_problems_of_every_file_that_did_not_load() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("bad.toml");
        std::fs::write(
            &rules,
            "[[rule]]\nid = \"BAD\"\ntitle = \"bad\"\nframes = [\"NTDLL\"]\n",
        )
        .unwrap();
        let lists = dir.path().join("lists.toml");
        std::fs::write(&lists, "skip = [\"ok!fine\"]\nbogus = []\n").unwrap();
        let missing = dir.path().join("missing.toml");
        let error = Triage::builder()
            .signature_lists([&lists])
            .rule_files([&rules, &missing])
            .try_build()
            .err()
            .expect("the files are bad");
        let located: Vec<(PathBuf, usize)> =
            error.0.iter().map(|d| (d.file.clone(), d.line)).collect();
        assert_eq!(located, [(rules, 4), (missing, 0), (lists, 2)]);
        assert_eq!(error.to_string().lines().count(), 3, "{error}");
    }
}
