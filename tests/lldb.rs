//! The LLDB `triage` command (`extensions/lldb/triage.py`) run inside a real `lldb-19`.
//!
//! Needs `lldb-19` and its Python module (Debian `lldb-19`, `python3-lldb-19`). Without
//! them each test prints `SKIPPED` and passes, unless `TRIAGE_REQUIRE_LLDB=1` (set by CI).

use std::path::Path;
use std::process::Command;

use crate::common::{self, repo, shared};
use serde_json::Value;

const LLDB: &str = "lldb-19";
const EXAMPLE: &str = "corpus/examples/q269588.dmp";
const SIGSEGV: &str = "lldb/test/Shell/Minidump/Windows/Sigsegv/Inputs/sigsegv.dmp";

/// Runs `lldb-19` in batch mode from the repository root: imports the script, opens `dump`
/// (if any), runs `commands`, and returns everything printed. `None` when skipped. Batch
/// mode stops at the first command that fails, so an error can only be the last command.
fn lldb(dump: Option<&Path>, commands: &[&str], triage_bin: &str) -> Option<String> {
    let mut lldb = Command::new(common::external_tool(LLDB, "TRIAGE_REQUIRE_LLDB")?);
    lldb.current_dir(repo())
        .env("TRIAGE_BIN", triage_bin)
        .env_remove("_NT_SYMBOL_PATH")
        .args(["--no-lldbinit", "-b"])
        .args(["-o", "command script import extensions/lldb/triage.py"]);
    if let Some(dump) = dump {
        lldb.arg("-o")
            .arg(format!("target create --core '{}'", dump.display()));
    }
    for command in commands {
        lldb.args(["-o", command]);
    }
    let output = lldb.output().expect("lldb-19 runs");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        !printed.contains("Traceback"),
        "the script raised:\n{printed}"
    );
    Some(printed)
}

/// `lldb` with the binary under test.
fn run(dump: Option<&Path>, commands: &[&str]) -> Option<String> {
    lldb(dump, commands, env!("CARGO_BIN_EXE_triage"))
}

fn assert_prints(printed: &str, expected: &[&str]) {
    for line in expected {
        assert!(printed.contains(line), "missing {line:?} in:\n{printed}");
    }
}

#[test]
fn walk_with_symbols_confirms_q269588_on_thread_1240_fix_not_installed() {
    let Some(printed) = run(
        Some(Path::new(EXAMPLE)),
        &["triage --walk --symbols corpus/examples/symbols"],
    ) else {
        return;
    };
    assert_prints(
        &printed,
        &[
            "known issue Q269588 (confirmed) on thread 1240 (#3): XADM: Heap Corruption in MAPI",
            "  fix: Mapi32.dll 5.5.2652.85 not installed",
            "  advice: Known issue Q269588: install Mapi32.dll 5.5.2652.85 or later.",
            "* thread #3: tid = 0x4d8, crashed",
            "    frame #0: 0x77f63eb0 ntdll.dll`RtlpFindAndCommitPages + 222",
            "    frame #1: 0x77f640fc ntdll.dll`RtlpExtendHeap + 86",
            "    frame #10: 0x00593ae3 emsmta.exe`HrTrackWriteLogA + 391",
            "  thread #1: tid = 0x444",
        ],
    );
    assert!(
        printed.find("known issue").unwrap() < printed.find("thread #1:").unwrap(),
        "findings come before the stacks:\n{printed}"
    );
}

/// LLDB has no symbols for these modules (it rejects the example's Breakpad files with
/// "does not match any existing module"), so every frame it hands over names only its
/// module. The crashing thread still starts in ntdll and passes through ntdll, EXCHMEM,
/// MAPI32 and emsmta in the rule's order, which the library calls `probable`: the advice
/// says the evidence is module-level only. Text stacks carry no module versions, so the
/// fix status is unknown.
#[test]
fn lldb_frames_without_symbols_give_a_probable_q269588() {
    let Some(printed) = run(Some(Path::new(EXAMPLE)), &["triage"]) else {
        return;
    };
    assert_prints(
        &printed,
        &[
            "known issue Q269588 (probable) on thread 1240 (#3):",
            "  fix: Mapi32.dll 5.5.2652.85 unknown (no module version to compare)",
            "Only module-level evidence",
            "* thread #3: tid = 0x4d8, crashed",
            "    frame #0: 0x77f63eb0 ntdll.dll\n",
            "    frame #3: 0x6fff1921 EXCHMEM.DLL\n",
            "    frame #9: 0x00593ce1 emsmta.exe\n",
        ],
    );
    assert!(!printed.contains("(confirmed)"), "{printed}");
}

/// The JSON handed over survives the trip: callers keep their return addresses and
/// module offsets (the script undoes minidump-stackwalk's return-address − 1).
#[test]
fn json_report_keeps_lldb_addresses() {
    let Some(printed) = run(Some(Path::new(EXAMPLE)), &["triage --json"]) else {
        return;
    };
    let json = &printed[printed.find("\n{").expect("a JSON report") + 1..];
    let end = json.find("\n}").expect("the report ends") + 2;
    let report: Value = serde_json::from_str(&json[..end]).unwrap();
    let crashed = &report["threads"][2];
    assert_eq!(crashed["thread_id"], 1240);
    assert_eq!(crashed["crashed"], true);
    let frames = &crashed["frames"];
    assert_eq!(frames[0]["address"], "0x77f63eb0");
    assert_eq!(frames[0]["trust"], "context");
    assert_eq!(frames[1]["address"], "0x77f640fc");
    assert_eq!(frames[1]["module"], "ntdll.dll");
    assert_eq!(frames[1]["module_offset"], "0x40fc");
    assert_eq!(report["findings"][0]["confidence"], "probable");
}

#[test]
fn shared_dumps_have_no_finding_and_print_their_stacks() {
    let cases = [
        (
            "breakpad/src/processor/testdata/minidump2.dmp",
            "* thread #1: tid = 0xbf4, crashed",
            "    frame #0: 0x0040429e test_app.exe\n",
        ),
        (
            "symbolic/symbolic-testutils/fixtures/windows/mini.dmp",
            "* thread #1: tid = 0x664, crashed",
            "    frame #0: 0x002a2a3d crash.exe\n",
        ),
        (
            SIGSEGV,
            "* thread #1: tid = 0x2a6c, crashed",
            "    frame #0: 0x00007ff7a13110d9 sigsegv.exe\n",
        ),
    ];
    for (dump, thread, frame) in cases {
        let Some(printed) = run(Some(&shared(dump)), &["triage", "triage --walk"]) else {
            return;
        };
        assert_eq!(
            printed.matches("known issues: none").count(),
            2,
            "{dump}: no finding from LLDB's frames nor from the walk:\n{printed}"
        );
        assert!(!printed.contains("known issue "), "{dump}:\n{printed}");
        assert_eq!(printed.matches(thread).count(), 2, "{dump}:\n{printed}");
        assert_eq!(printed.matches(frame).count(), 2, "{dump}:\n{printed}");
    }
}

/// A walked dump carries the exception record and memory, so the command prints Breakpad's
/// rating; LLDB's own frames are a text stack, with no crash to rate.
#[test]
fn walk_prints_the_exploitability_line() {
    let dump = shared("breakpad/src/processor/testdata/ascii_write_av.dmp");
    let Some(walked) = run(Some(&dump), &["triage --walk"]) else {
        return;
    };
    assert_prints(
        &walked,
        &["exploitability: high (write to wild address 0x41414141 through [eax]"],
    );
    let Some(frames) = run(Some(&dump), &["triage"]) else {
        return;
    };
    assert!(!frames.contains("exploitability:"), "{frames}");
}

/// Names LLDB finds (here from the PDB beside the dump) reach the rules and the printout.
#[test]
fn lldb_symbols_name_the_frames() {
    let pdb = shared(SIGSEGV).with_extension("pdb");
    let add = format!("target symbols add '{}'", pdb.display());
    let Some(printed) = run(Some(&shared(SIGSEGV)), &[&add, "triage"]) else {
        return;
    };
    assert_prints(
        &printed,
        &["    frame #0: 0x00007ff7a13110d9 sigsegv.exe`crash + 41 at sigsegv.cpp:22"],
    );
}

#[test]
fn errors_and_help_are_clear() {
    let cases: [(Option<&Path>, &[&str], &[&str]); 3] = [
        (
            None,
            &["triage --help", "triage"],
            &[
                "usage: triage [-h] [--walk] [--symbols DIR] [--rules FILE] [--json]",
                "  --walk ",
                "error: triage: no process: open a dump first with `target create --core FILE`",
            ],
        ),
        (
            Some(Path::new(EXAMPLE)),
            &["triage --symbols x"],
            &["error: triage: --symbols needs --walk"],
        ),
        (
            Some(Path::new(EXAMPLE)),
            &["triage --bogus"],
            &[
                "error: triage: unrecognized arguments: --bogus",
                "usage: triage",
            ],
        ),
    ];
    for (dump, commands, expected) in cases {
        let Some(printed) = run(dump, commands) else {
            return;
        };
        assert_prints(&printed, expected);
    }
    let Some(printed) = lldb(Some(Path::new(EXAMPLE)), &["triage"], "/nonexistent/triage") else {
        return;
    };
    assert_prints(
        &printed,
        &["error: triage: TRIAGE_BIN=/nonexistent/triage is not an executable file"],
    );
}
