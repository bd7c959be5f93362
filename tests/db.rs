//! End-to-end tests of the crash database: `triage scan --db`, `triage db ...` and
//! `triage rules draft`, over generated shares in temporary directories.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{assert_no_panic, triage};

/// A generated share of `count` dumps, with the database and other outputs beside it.
struct Share {
    dir: tempfile::TempDir,
    stats: triage_corpus::ShareStats,
}

impl Share {
    fn new(count: usize) -> Share {
        let dir = tempfile::tempdir().unwrap();
        let stats =
            triage_corpus::generate_share(&dir.path().join("share"), count, 0, false).unwrap();
        Share { dir, stats }
    }

    fn dumps(&self) -> PathBuf {
        self.dir.path().join("share/dumps")
    }

    fn symbols(&self) -> PathBuf {
        self.dir.path().join("share/symbols")
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("crashes.db")
    }

    fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn scan_args(&self) -> Vec<String> {
        [
            "scan",
            self.dumps().to_str().unwrap(),
            "--symbols",
            self.symbols().to_str().unwrap(),
            "--db",
            self.db().to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    }

    /// `triage scan --db`; its first line of standard output.
    fn scan(&self) -> String {
        let args = self.scan_args();
        let output = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        stdout(&output).lines().next().unwrap().to_string()
    }

    fn case(&self, name: &str) -> usize {
        self.stats.cases.iter().find(|(n, _)| *n == name).unwrap().1
    }

    /// `triage db query DB SQL --format csv`, without its header.
    fn query(&self, sql: &str) -> Vec<String> {
        let output = run(&["db", "query", self.db().to_str().unwrap(), sql, "--format", "csv"]);
        stdout(&output).lines().skip(1).map(String::from).collect()
    }
}

/// Runs `triage` and fails unless it succeeded.
fn run(args: &[&str]) -> Output {
    let output = triage(args);
    assert_no_panic(&output);
    assert!(
        output.status.success(),
        "triage {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn a_rescan_triages_nothing_unchanged_and_knows_a_moved_dump_by_its_hash() {
    let share = Share::new(60);
    let dumps = share.stats.dumps;
    assert_eq!(share.scan(), format!("{dumps} triaged, 0 unchanged (0 moved)"));
    assert_eq!(share.scan(), format!("0 triaged, {dumps} unchanged (0 moved)"));

    let old = share.query("SELECT path FROM dumps ORDER BY path LIMIT 1")[0].clone();
    let new = share.dumps().join("renamed-by-hand.dmp");
    std::fs::rename(&old, &new).unwrap();
    assert_eq!(share.scan(), format!("0 triaged, {dumps} unchanged (1 moved)"));
    let paths = share.query(&format!(
        "SELECT count(*), sum(path = '{}'), sum(path = '{old}') FROM dumps",
        new.display()
    ));
    assert_eq!(paths, [format!("{dumps},1,0")]);

    // A changed file is triaged again, in place.
    std::fs::write(&new, b"MDMP but no longer a dump").unwrap();
    assert_eq!(share.scan(), format!("1 triaged, {} unchanged (0 moved)", dumps - 1));
    let row = share.query(&format!(
        "SELECT count(*), max(status) FROM dumps WHERE path = '{}'",
        new.display()
    ));
    assert_eq!(row, ["1,error"]);
}

#[test]
fn a_scan_killed_with_sigkill_keeps_what_it_committed_and_a_rescan_completes_it() {
    let share = Share::new(1500);
    let dumps = share.stats.dumps;
    let mut args = share.scan_args();
    args.extend(["--isolate", "thread", "--jobs", "1"].map(String::from));
    let mut child = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(&args)
        .env_remove("_NT_SYMBOL_PATH")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once at least one batch is committed, well before the end.
    let started = Instant::now();
    let committed = loop {
        std::thread::sleep(Duration::from_millis(50));
        let count = share.db().exists().then(|| {
            triage(&["db", "query", share.db().to_str().unwrap(), "SELECT count(*) FROM dumps"])
        });
        let n: usize = count
            .filter(|o| o.status.success())
            .and_then(|o| stdout(&o).lines().nth(2)?.trim().parse().ok())
            .unwrap_or(0);
        if n > 0 || started.elapsed() > Duration::from_secs(60) {
            break n;
        }
    };
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(status.code().is_none(), "the scan ended before it was killed");
    assert!(committed > 0 && committed < dumps, "{committed} of {dumps}");

    assert_eq!(share.query("PRAGMA integrity_check"), ["ok"]);
    let kept: usize = share.query("SELECT count(*) FROM dumps")[0].parse().unwrap();
    assert!(kept >= committed, "{kept} < {committed}");

    let line = share.scan();
    assert_eq!(line, format!("{} triaged, {kept} unchanged (0 moved)", dumps - kept));
    let counts = share.query("SELECT count(*), count(DISTINCT path), count(DISTINCT hash) FROM dumps");
    assert_eq!(counts, [format!("{dumps},{dumps},{dumps}")]);
}

#[test]
fn the_report_counts_known_issues_by_version_and_respects_since() {
    let share = Share::new(100);
    share.scan();
    let db = share.db();
    let html = share.out("report.html");
    let output = run(&["db", "report", db.to_str().unwrap(), "--html", html.to_str().unwrap()]);
    let text = stdout(&output);
    let below = share.case("q269588") + share.case("q269588_other_thread") + share.case("q269588_nosyms");
    let fixed = share.case("q269588_fixed");
    assert!(
        text.contains(&format!(
            "evidence: fixed in 5.5.2652.85: {below} crashes below it, {fixed} at or after it"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("{} dumps\n", share.stats.dumps)), "{text}");
    // Both cases take their NULL read in emsmta!HrQueueCopyMessage.
    let queue = share.case("queue_av") + share.case("plain_av");
    assert!(text.contains(&format!("{queue:>7}  HrQueueCopyMessage  (first seen ")), "{text}");

    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("HrQueueCopyMessage"), "{page}");
    for forbidden in ["https://", "<script", "<link", "src="] {
        assert!(!page.contains(forbidden), "{forbidden} in the HTML report");
    }
    assert_eq!(
        page.matches("http://").count(),
        page.matches("http://www.w3.org/2000/svg").count()
    );

    // Nothing was first seen tomorrow, so nothing is counted, evidence included.
    let tomorrow = share.query("SELECT date('now', '+1 day')")[0].clone();
    let output = run(&["db", "report", db.to_str().unwrap(), "--since", &tomorrow]);
    let text = stdout(&output);
    assert!(text.starts_with(&format!("0 dumps first seen since {tomorrow}\n")), "{text}");
    assert!(!text.contains("evidence"), "{text}");
    let bad = triage(&["db", "report", db.to_str().unwrap(), "--since", "last week"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a date"));
}

#[test]
fn a_drafted_rule_rejudged_without_the_share_changes_exactly_its_bucket() {
    let share = Share::new(100);
    share.scan();
    let db = share.db();
    let draft = run(&["rules", "draft", "--db", db.to_str().unwrap(), "--bucket", "HrQueueCopyMessage"]);
    let toml = stdout(&draft);
    assert!(toml.contains("\"emsmta!HrQueueCopyMessage\","), "{toml}");
    assert!(toml.contains("exception_codes = [\"0xc0000005\"]"), "{toml}");
    let rule_file = share.out("draft.toml");
    std::fs::write(&rule_file, &toml).unwrap();
    run(&["rules", "check", rule_file.to_str().unwrap()]);

    std::fs::remove_dir_all(share.dir.path().join("share")).unwrap();
    let same = run(&["db", "rejudge", db.to_str().unwrap()]);
    assert_eq!(
        stdout(&same).trim_end(),
        format!("{} reports judged again, 0 verdicts changed", share.stats.dumps)
    );
    let output = run(&["db", "rejudge", db.to_str().unwrap(), "--rules", rule_file.to_str().unwrap()]);
    let text = stdout(&output);
    // Both cases take their NULL read in emsmta!HrQueueCopyMessage.
    let queue = share.case("queue_av") + share.case("plain_av");
    assert!(
        text.starts_with(&format!("{} reports judged again, {queue} verdicts changed\n", share.stats.dumps)),
        "{text}"
    );
    assert_eq!(text.matches(": unknown HrQueueCopyMessage -> DRAFT-").count(), queue, "{text}");
    let id = toml.lines().find_map(|l| l.strip_prefix("id = ")).unwrap().trim_matches('"');
    assert_eq!(
        share.query(&format!("SELECT count(*) FROM findings WHERE rule = '{id}'")),
        [queue.to_string()]
    );
    let missing = triage(&["rules", "draft", "--db", db.to_str().unwrap(), "--bucket", "NoSuchSignature"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn importing_the_same_json_lines_twice_adds_each_dump_once() {
    let share = Share::new(40);
    let jsonl = share.out("scan.jsonl");
    run(&[
        "scan",
        share.dumps().to_str().unwrap(),
        "--symbols",
        share.symbols().to_str().unwrap(),
        "--format",
        "jsonl",
        "--output",
        jsonl.to_str().unwrap(),
    ]);
    let mut text = std::fs::read_to_string(&jsonl).unwrap();
    text.push_str("{\"this is\": \"not a report\"}\nnot even JSON\n");
    std::fs::write(&jsonl, text).unwrap();
    let db = share.db();
    let dumps = share.stats.dumps;
    let first = run(&["db", "import", db.to_str().unwrap(), jsonl.to_str().unwrap()]);
    let first = stdout(&first);
    assert!(
        first.starts_with(&format!("{dumps} added, 0 duplicates skipped, 2 malformed lines skipped\n")),
        "{first}"
    );
    assert!(first.contains(&format!("scan.jsonl:{}: ", dumps + 2)), "{first}");
    let again = run(&["db", "import", db.to_str().unwrap(), jsonl.to_str().unwrap()]);
    assert!(stdout(&again).starts_with(&format!("0 added, {dumps} duplicates skipped")));
    assert_eq!(
        share.query("SELECT count(*), count(DISTINCT hash) FROM dumps"),
        [format!("{dumps},{dumps}")]
    );
    // Imported rows carry the JSON Lines' engine, so a scan triages them again.
    assert_eq!(share.scan(), format!("{dumps} triaged, 0 unchanged (0 moved)"));
    assert_eq!(share.query("SELECT count(*) FROM dumps"), [dumps.to_string()]);
}

#[test]
fn db_query_is_read_only() {
    let share = Share::new(20);
    share.scan();
    let db = share.db();
    for sql in ["INSERT INTO dumps (path) VALUES ('x')", "DROP TABLE dumps", "DELETE FROM findings"] {
        let output = triage(&["db", "query", db.to_str().unwrap(), sql]);
        assert_eq!(output.status.code(), Some(2), "{sql}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("db query is read-only"), "{sql}: {stderr}");
    }
    let table = stdout(&run(&[
        "db",
        "query",
        db.to_str().unwrap(),
        "SELECT status, count(*) AS dumps FROM dumps GROUP BY status",
    ]));
    assert_eq!(table, format!("status  dumps\n------  -----\nok      {}\n", share.stats.dumps));
    let missing = triage(&["db", "query", share.out("none.db").to_str().unwrap(), "SELECT 1"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(!share.out("none.db").exists());
}

#[test]
fn the_database_may_not_lie_inside_the_scanned_share() {
    let share = Share::new(5);
    let inside = share.dumps().join("crashes.db");
    let output = triage(&["scan", share.dumps().to_str().unwrap(), "--db", inside.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!inside.exists());
}
