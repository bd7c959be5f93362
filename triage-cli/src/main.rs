//! `triage`: argument parsing and printing over `triage-lib`. All the work is in the library.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use triage::model::{Report, Status};
use triage::rules::{import_article, read_rule_file};
use triage::{print, Triage, TriageBuilder};

mod db;
mod scan;
mod symbols;

/// Triage Windows minidumps and pasted call stacks: walk every thread, symbolize, and name
/// known issues.
#[derive(Parser)]
#[command(name = "triage", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Triage one minidump.
    Dump {
        /// The .dmp file.
        file: PathBuf,
        #[command(flatten)]
        walking: Walking,
        #[command(flatten)]
        judging: Judging,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Triage call stacks pasted as text (WinDbg, Dr. Watson, LLDB, KB articles, ...).
    Stacks {
        /// File to read; `-` or nothing reads standard input.
        file: Option<PathBuf>,
        #[command(flatten)]
        judging: Judging,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Triage every dump under directories, in parallel, with a summary.
    Scan {
        #[command(flatten)]
        scan: scan::ScanArgs,
        #[command(flatten)]
        walking: Walking,
        #[command(flatten)]
        judging: Judging,
    },
    /// Query a crash database (`triage scan --db FILE`): report, rejudge, import, SQL.
    Db {
        #[command(subcommand)]
        action: db::DbAction,
    },
    /// Print the JSON Schema of the report (`dump`/`stacks --format json`, scan JSONL lines).
    Schema,
    /// List, show, check and import known-issue rules.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Build symbol indexes ahead of time, and prune the cache they live in.
    Symbols {
        #[command(subcommand)]
        action: symbols::SymbolsAction,
    },
    /// Print a shell completion script.
    ///
    /// For bash: `triage completions bash > ~/.local/share/bash-completion/completions/triage`.
    Completions {
        /// The shell the script is for.
        shell: clap_complete::Shell,
    },
    /// Print a man page, in roff.
    ///
    /// `triage man > triage.1` writes the page of triage, which lists the commands;
    /// `triage man dump` prints the page of `triage dump`, triage-dump(1).
    Man {
        /// The command whose page to print, e.g. `dump` or `rules show`; without it, the
        /// page of triage itself, which lists the commands.
        command: Vec<String>,
    },
}

/// Options for walking dumps, shared by `dump` and `scan`.
#[derive(Args)]
struct Walking {
    /// Symbol directory (symbol store or flat files: .sym, .pdb, .pd_, images), symbol
    /// server (`srv*DIR*URL`, `srv**URL`) or `cache*DIR`, or a `;`-separated list of them.
    /// Repeatable. Entries in `_NT_SYMBOL_PATH` are searched after these.
    #[arg(long = "symbols", value_name = "PATH")]
    symbols: Vec<String>,
    /// No network: symbol servers are not asked, only their local stores are searched.
    #[arg(long)]
    offline: bool,
    /// Keep no symbol indexes: parse (and convert) symbol files on every run instead of
    /// indexing them once into the cache directory.
    #[arg(long)]
    no_cache: bool,
    #[command(flatten)]
    cache: symbols::CacheArgs,
    /// MiB of symbol indexes held open at once; the least recently used are closed.
    #[arg(long, value_name = "MIB", default_value_t = triage::symbols::DEFAULT_MEMORY_BUDGET >> 20)]
    symbol_memory: usize,
    /// Seconds a module whose symbols were not found is not searched for again (0: always
    /// search). `triage symbols prune --forget-misses` forgets them at once.
    #[arg(long, value_name = "SECS", default_value_t = triage::symbols::DEFAULT_MISS_TTL.as_secs())]
    miss_ttl: u64,
    /// Seconds a symbol server may take to connect, to answer and for each read of a
    /// download; a server that misses it is not asked again in this run.
    #[arg(long, value_name = "SECS", default_value_t = triage::DEFAULT_SYMBOL_TIMEOUT.as_secs())]
    symbol_timeout: u64,
    /// Most frames kept per thread.
    #[arg(long, default_value_t = triage::Limits::DEFAULT_MAX_FRAMES_PER_THREAD)]
    max_frames: usize,
    /// Most candidate frames the walker may examine per dump, over all threads.
    #[arg(long, default_value_t = triage::Limits::DEFAULT_MAX_WALK_WORK)]
    max_walk_work: usize,
    /// Most threads whose frames are reported (the crashing thread always is).
    #[arg(long, default_value_t = triage::Limits::DEFAULT_MAX_THREADS)]
    max_threads: usize,
}

/// Options that decide findings, shared by every command that reports them.
#[derive(Args)]
struct Judging {
    /// Extra rule file or directory of `.toml` rules. Repeatable. A rule with a built-in
    /// rule's id replaces it.
    #[arg(long = "rules", value_name = "FILE|DIR")]
    rules: Vec<PathBuf>,
    /// Also show rules that matched only part of their pattern, and what was missing.
    #[arg(long)]
    explain: bool,
    /// Extra skip/prefix/sentinel/allocator list file or directory for crash signatures.
    /// Repeatable; adds to the built-in lists.
    #[arg(long = "signature-lists", value_name = "FILE|DIR")]
    signature_lists: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum RulesAction {
    /// One line per rule: id, product, title.
    List {
        /// Extra rule files or directories.
        #[arg(long = "rules", value_name = "FILE|DIR")]
        rules: Vec<PathBuf>,
    },
    /// A rule in full, as TOML.
    Show {
        /// Rule id, e.g. Q269588.
        id: String,
        /// Extra rule files or directories.
        #[arg(long = "rules", value_name = "FILE|DIR")]
        rules: Vec<PathBuf>,
    },
    /// Turn Microsoft KB articles into rules and print them as TOML.
    ImportKb {
        /// Article text files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Draft a rule from a bucket of a crash database: the frames its crashes share and
    /// the version evidence, printed as TOML to review and save.
    Draft {
        /// The database (`triage scan --db FILE`).
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// The bucket: its signature, or its bucket id, as `triage db report` lists it.
        #[arg(long, value_name = "SIGNATURE")]
        bucket: String,
    },
    /// Check rule files; errors are printed as FILE:LINE: message and exit with 1.
    ///
    /// Rules too generic to trust (fewer than three frames, or frames only in system
    /// modules) get FILE:LINE: warning: lines, which do not change the exit status.
    Check {
        /// Rule files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// The stable JSON report documented in the README.
    Json,
    /// A readable summary, crashing thread first.
    Text,
    /// Every thread as WinDbg `~*kb` prints it.
    Kb,
}

/// A failure that ends the command: bad arguments or inputs, exit code 2.
pub(crate) struct Fatal(String);

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(code) => code,
        Err(Fatal(message)) => {
            eprintln!("triage: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> Result<ExitCode, Fatal> {
    match command {
        Command::Dump {
            file,
            walking,
            judging,
            format,
        } => {
            let triage = dump_engine(walking, &judging)?;
            Ok(emit(&triage.dump_path(&file), format))
        }
        Command::Stacks {
            file,
            judging,
            format,
        } => {
            let (name, text) = read_text_input(file.as_deref())?;
            let triage = build(engine(&judging))?;
            Ok(emit(&triage.stacks(&name, &text), format))
        }
        Command::Scan {
            scan,
            walking,
            judging,
        } => scan::run(scan, dump_engine(walking, &judging)?),
        Command::Db { action } => db::run(action),
        Command::Schema => {
            let schema = serde_json::to_string_pretty(&triage::model::report_schema())
                .map_err(|e| Fatal(e.to_string()))?;
            say(schema);
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules { action } => rules_command(action),
        Command::Symbols { action } => symbols::run(action),
        Command::Completions { shell } => {
            say(completion_script(shell).trim_end());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { command } => {
            say(man_page(&command)?.trim_end());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The completion script for `shell`, generated from the clap definitions.
fn completion_script(shell: clap_complete::Shell) -> String {
    let mut cli = Cli::command();
    let name = cli.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cli, name, &mut script);
    String::from_utf8(script).expect("clap_complete writes UTF-8")
}

/// The man page of `triage` (no `path`) or of the command `triage PATH...`, generated from
/// the clap definitions. Each page's SUBCOMMANDS section names the pages of its commands,
/// `triage-rules(1)` for `triage man rules`.
fn man_page(path: &[String]) -> Result<String, Fatal> {
    // As clap_mangen::generate_to does: no page for `help`, and names set on subcommands.
    let mut cli = Cli::command().disable_help_subcommand(true);
    cli.build();
    let source = format!("triage {}", cli.get_version().unwrap_or_default());
    let mut command = &cli;
    for (depth, name) in path.iter().enumerate() {
        command = command
            .get_subcommands()
            .find(|sub| sub.get_name() == name)
            .ok_or_else(|| {
                Fatal(format!(
                    "no command `triage {}`; `triage man` lists the commands",
                    path[..=depth].join(" ")
                ))
            })?;
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .source(source)
        .render(&mut page)
        .map_err(|e| Fatal(format!("cannot render the man page: {e}")))?;
    Ok(String::from_utf8(page).expect("clap_mangen writes UTF-8"))
}

/// An engine for dumps: symbols from `--symbols` then `_NT_SYMBOL_PATH`, and limits.
fn dump_engine(walking: Walking, judging: &Judging) -> Result<Triage, Fatal> {
    let mut builder = walking
        .symbols
        .into_iter()
        .fold(engine(judging), |builder, entry| builder.symbol_path(entry))
        .nt_symbol_path_from_env()
        .offline(walking.offline)
        .symbol_server_timeout(std::time::Duration::from_secs(walking.symbol_timeout))
        .limits(triage::Limits {
            max_frames_per_thread: walking.max_frames,
            max_walk_work: walking.max_walk_work,
            max_threads: walking.max_threads,
        });
    builder = builder
        .cache_max_bytes(walking.cache.cache_max_size << 20)
        .symbol_memory(walking.symbol_memory << 20)
        .symbol_miss_ttl(std::time::Duration::from_secs(walking.miss_ttl));
    if let Some(dir) = walking.cache.cache_dir {
        builder = builder.cache_dir(dir);
    }
    if walking.no_cache {
        builder = builder.no_cache();
    }
    let triage = build(builder)?;
    for entry in triage.unsupported_symbol_entries() {
        eprintln!("triage: ignoring symbol path entry {entry:?}: not understood, or no cache directory for its store");
    }
    Ok(triage)
}

/// A builder with the built-in rules and signature lists plus the user's, and `--explain`.
fn engine(judging: &Judging) -> TriageBuilder {
    Triage::builder()
        .rule_files(&judging.rules)
        .signature_lists(&judging.signature_lists)
        .explain(judging.explain)
}

/// The engine, or the problems of the rule and list files that did not load.
fn build(builder: TriageBuilder) -> Result<Triage, Fatal> {
    builder.try_build().map_err(|e| Fatal(e.to_string()))
}

/// An engine for `rules list` and `rules show`: the built-in rules plus `--rules`.
fn rules_engine(paths: &[PathBuf]) -> Result<Triage, Fatal> {
    build(Triage::builder().rule_files(paths))
}

fn read_text_input(file: Option<&Path>) -> Result<(String, String), Fatal> {
    match file {
        None => read_stdin(),
        Some(path) if path == Path::new("-") => read_stdin(),
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Fatal(format!("cannot read {}: {e}", path.display())))?;
            Ok((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ))
        }
    }
}

fn read_stdin() -> Result<(String, String), Fatal> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Fatal(format!("cannot read standard input: {e}")))?;
    Ok((
        "-".to_string(),
        String::from_utf8_lossy(&bytes).into_owned(),
    ))
}

/// Prints a line to standard output. A closed pipe (`triage ... | head`) ends the
/// program quietly, as it does for other Unix tools.
fn say(text: impl std::fmt::Display) {
    use std::io::Write;
    if let Err(error) = writeln!(std::io::stdout().lock(), "{text}") {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("triage: cannot write to standard output: {error}");
        std::process::exit(2);
    }
}

/// Prints a report; exit 2 when the input could not be read at all.
fn emit(report: &Report, format: Format) -> ExitCode {
    let rendered = match format {
        Format::Json => print::json(report),
        Format::Text => print::text(report),
        Format::Kb => print::kb(report),
    };
    say(rendered.trim_end());
    if let Some(error) = &report.error {
        eprintln!(
            "triage: {}: {} ({})",
            report.path, error.message, error.kind
        );
    }
    if report.status == Status::Error {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn rules_command(action: RulesAction) -> Result<ExitCode, Fatal> {
    match action {
        RulesAction::List { rules } => {
            for compiled in rules_engine(&rules)?.rules().rules() {
                let rule = &compiled.rule;
                say(format!("{}\t{}\t{}", rule.id, rule.product, rule.title));
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesAction::Show { id, rules } => {
            let engine = rules_engine(&rules)?;
            let compiled = engine
                .rules()
                .get(&id)
                .ok_or_else(|| Fatal(format!("no rule {id:?}; see `triage rules list`")))?;
            say(format!("# from {}", compiled.source.display()));
            say(triage::rules::to_toml(&compiled.rule).trim_end());
            Ok(ExitCode::SUCCESS)
        }
        RulesAction::ImportKb { files } => {
            for file in &files {
                let (name, text) = read_text_input(Some(file))?;
                // An article without a KB number (a documentation page) is named by its file.
                let stem = file.file_stem().and_then(|stem| stem.to_str());
                let rule =
                    import_article(&text, stem).map_err(|e| Fatal(format!("{name}: {e}")))?;
                say(format!("# imported from {name}"));
                say(triage::rules::to_toml(&rule).trim_end());
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesAction::Draft { db, bucket } => db::draft(&db, &bucket),
        RulesAction::Check { files } => {
            let mut failed = false;
            for file in &files {
                match read_rule_file(file) {
                    Ok(rules) => {
                        let warnings: Vec<_> =
                            rules.iter().flat_map(|rule| rule.warnings()).collect();
                        for warning in &warnings {
                            eprintln!("{warning}");
                        }
                        let counted = match warnings.len() {
                            0 => String::new(),
                            n => format!(", {n} warning(s)"),
                        };
                        say(format!(
                            "{}: {} rule(s) ok{counted}",
                            file.display(),
                            rules.len()
                        ));
                    }
                    Err(error) => {
                        failed = true;
                        eprintln!("{error}");
                    }
                }
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap checks its definitions only when an argument is parsed; this checks them all.
    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    /// Every command, as the path of names after `triage`.
    fn command_paths(command: &clap::Command, prefix: &[String], paths: &mut Vec<Vec<String>>) {
        for sub in command.get_subcommands() {
            let path = [prefix, &[sub.get_name().to_string()]].concat();
            command_paths(sub, &path, paths);
            paths.push(path);
        }
    }

    #[test]
    fn every_command_has_a_man_page_and_every_completion_script_names_it() {
        let mut paths = Vec::new();
        command_paths(&Cli::command(), &[], &mut paths);
        assert!(paths.len() >= 11, "{paths:?}");
        for path in paths.iter().filter(|path| path.last().unwrap() != "help") {
            let page = man_page(path).unwrap_or_else(|Fatal(e)| panic!("{path:?}: {e}"));
            let title = format!(".TH triage-{} 1 ", path.join("-"));
            assert!(
                page.lines().any(|line| line.starts_with(&title)),
                "{path:?}: {page}"
            );
        }
        for shell in clap_complete::Shell::value_variants() {
            let script = completion_script(*shell);
            for path in &paths {
                let name = path.last().unwrap();
                assert!(
                    script.contains(name.as_str()),
                    "{shell} script lacks {path:?}"
                );
            }
        }
    }
}
