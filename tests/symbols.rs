//! Symbols from PDBs and symbol servers, end to end through the `triage` binary: PDBs in a
//! symbol store name the same frames as the Breakpad file dumped from them, symbol servers
//! (Python's `http.server` on 127.0.0.1) fill the local store, and a slow or unwanted server
//! costs at most one timeout or nothing.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{assert_no_panic, assert_valid_report, external_tool, shared};
use serde_json::Value;

const MINI_DUMP: &str = "symbolic/symbolic-testutils/fixtures/windows/mini.dmp";
const CRASH_PDB: &str = "symbolic/symbolic-testutils/fixtures/windows/crash.pdb";
const CRASH_SYM: &str = "symbolic/symbolic-testutils/fixtures/windows/crash.sym";
const CRASH_ID: &str = "3249D99D0C4049318610F4E4FB0B69361";
const SIGSEGV_DUMP: &str = "lldb/test/Shell/Minidump/Windows/Sigsegv/Inputs/sigsegv.dmp";
const SIGSEGV_PDB: &str = "lldb/test/Shell/Minidump/Windows/Sigsegv/Inputs/sigsegv.pdb";
const SIGSEGV_ID: &str = "7DD47A9FC2E8499AA78EC14AE2C965A21";

/// Runs `triage dump DUMP --format json ARGS...` with the cache under `cache_home` and no
/// proxy or `_NT_SYMBOL_PATH` from the host, and parses the report.
fn dump_json(dump: &Path, args: &[&str], cache_home: &Path) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["dump", dump.to_str().unwrap(), "--format", "json"])
        .args(args)
        .env("XDG_CACHE_HOME", cache_home)
        .env_remove("_NT_SYMBOL_PATH")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .expect("the triage binary runs");
    assert_no_panic(&output);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_valid_report(&report);
    report
}

/// `store/<debug_file>/<id>/<file_name>`, a copy of `source`.
fn put_in_store(store: &Path, debug_file: &str, id: &str, file_name: &str, source: &Path) {
    let dir = store.join(debug_file).join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(source, dir.join(file_name)).unwrap();
}

/// (module, function, trust) of each frame of the crashing thread.
fn crashing_frames(report: &Value) -> Vec<(Value, Value, String)> {
    let thread = report["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|thread| thread["crashed"] == true)
        .expect("a crashed thread");
    thread["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|frame| {
            (
                frame["module"].clone(),
                frame["function"].clone(),
                frame["trust"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn symbols_of(report: &Value, module: &str) -> String {
    let found = report["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == module);
    found.expect(module)["symbols"]
        .as_str()
        .unwrap()
        .to_string()
}

fn names_function(report: &Value, function: &str) -> bool {
    crashing_frames(report)
        .iter()
        .any(|(_, name, _)| name.as_str() == Some(function))
}

#[test]
fn a_pdb_in_a_symbol_store_names_the_frames_its_sym_names() {
    let dir = tempfile::tempdir().unwrap();
    let (pdb_store, sym_store) = (dir.path().join("pdb"), dir.path().join("sym"));
    put_in_store(
        &pdb_store,
        "crash.pdb",
        CRASH_ID,
        "crash.pdb",
        &shared(CRASH_PDB),
    );
    put_in_store(
        &sym_store,
        "crash.pdb",
        CRASH_ID,
        "crash.sym",
        &shared(CRASH_SYM),
    );

    let symbols = |store: &Path| ["--symbols".to_string(), store.display().to_string()];
    let from_pdb = dump_json(
        &shared(MINI_DUMP),
        &symbols(&pdb_store).each_ref().map(String::as_str),
        dir.path(),
    );
    let from_sym = dump_json(
        &shared(MINI_DUMP),
        &symbols(&sym_store).each_ref().map(String::as_str),
        dir.path(),
    );
    assert_eq!(symbols_of(&from_pdb, "crash.exe"), "loaded");

    let (inline, outer): (Vec<_>, Vec<_>) = crashing_frames(&from_pdb)
        .into_iter()
        .partition(|(_, _, trust)| trust == "inline");
    assert_eq!(outer, crashing_frames(&from_sym));
    assert!(names_function(&from_sym, "main"));
    // crash.sym predates INLINE records; the PDB has the inlined calls.
    let inline_names: Vec<&str> = inline.iter().filter_map(|(_, f, _)| f.as_str()).collect();
    assert!(
        inline_names.contains(&"`anonymous namespace'::crash()"),
        "{inline_names:?}"
    );
}

#[test]
fn an_x64_pdb_names_the_crashing_thread() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    put_in_store(
        &store,
        "sigsegv.pdb",
        SIGSEGV_ID,
        "sigsegv.pdb",
        &shared(SIGSEGV_PDB),
    );
    let without = dump_json(&shared(SIGSEGV_DUMP), &["--no-cache"], dir.path());
    let with = dump_json(
        &shared(SIGSEGV_DUMP),
        &["--symbols", store.to_str().unwrap(), "--no-cache"],
        dir.path(),
    );
    assert_eq!(report_cpu(&with), "amd64");
    assert!(!names_function(&without, "main"));
    assert_eq!(symbols_of(&with, "sigsegv.exe"), "loaded");
    let named: Vec<String> = crashing_frames(&with)
        .iter()
        .filter(|(module, _, _)| module == "sigsegv.exe")
        .map(|(_, function, _)| function.as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(
        named[..3],
        ["crash(bool)", "foo(int, float, char const*)", "main"]
    );
}

fn report_cpu(report: &Value) -> &str {
    report["system"]["cpu"].as_str().unwrap()
}

/// A Python HTTP server on 127.0.0.1, killed when dropped; its log lines are its requests.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    /// `python3 ARGS... PORT`, logging to `log`; `None` (test skipped) without python3.
    fn start(args: &[&str], log: PathBuf) -> Option<Server> {
        let python = external_tool("python3", "TRIAGE_REQUIRE_PYTHON")?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let child = Command::new(python)
            .arg("-u")
            .args(args)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("python3 starts");
        let server = Server { child, port, log };
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let ready = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(50));
            TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
        });
        assert!(ready, "the test server did not start");
        Some(server)
    }

    /// `python3 -m http.server` serving `dir`.
    fn serving(dir: &Path, log: PathBuf) -> Option<Server> {
        let dir = dir.to_str().unwrap();
        let args = [
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            "--directory",
            dir,
        ];
        Server::start(&args, log)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The request lines logged so far.
    fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains("GET "))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A symbol server on 127.0.0.1 whose store holds only `crash.pdb`; `None` when skipped.
fn serve_crash_pdb(dir: &Path) -> Option<Server> {
    let served = dir.join("served");
    put_in_store(
        &served,
        "crash.pdb",
        CRASH_ID,
        "crash.pdb",
        &shared(CRASH_PDB),
    );
    Server::serving(&served, dir.join("server.log"))
}

#[test]
fn a_symbol_server_fills_the_store_and_a_module_it_lacks_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = serve_crash_pdb(dir.path()) else {
        return;
    };
    let store = dir.path().join("store");
    let entry = format!("srv*{}*{}", store.display(), server.url());

    let report = dump_json(&shared(MINI_DUMP), &["--symbols", &entry], dir.path());
    assert!(
        names_function(&report, "main"),
        "{:?}",
        crashing_frames(&report)
    );
    assert_eq!(symbols_of(&report, "crash.exe"), "loaded");
    assert_eq!(symbols_of(&report, "ntdll.dll"), "missing");
    let downloaded = store.join("crash.pdb").join(CRASH_ID).join("crash.pdb");
    assert_eq!(
        std::fs::read(&downloaded).unwrap(),
        std::fs::read(shared(CRASH_PDB)).unwrap()
    );
    let leftovers: Vec<_> = std::fs::read_dir(downloaded.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["crash.pdb"], "temporary files left behind");
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|line| line.contains("GET /wntdll.pdb/") && line.contains(" 404 ")),
        "{requests:#?}"
    );

    // Offline, the downloaded PDB still serves, and the server hears nothing.
    let asked_before = server.requests().len();
    let offline = dump_json(
        &shared(MINI_DUMP),
        &["--symbols", &entry, "--offline", "--no-cache"],
        dir.path(),
    );
    assert!(names_function(&offline, "main"));
    assert_eq!(server.requests().len(), asked_before);
}

#[test]
fn offline_asks_no_server() {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = serve_crash_pdb(dir.path()) else {
        return;
    };
    let entry = format!(
        "srv*{}*{}",
        dir.path().join("store").display(),
        server.url()
    );
    let report = dump_json(
        &shared(MINI_DUMP),
        &["--symbols", &entry, "--offline"],
        dir.path(),
    );
    assert_eq!(symbols_of(&report, "crash.exe"), "missing");
    assert!(!dir.path().join("store").exists());
    // Control: the same entry online does reach the server.
    assert_eq!(server.requests(), Vec::<String>::new());
    dump_json(&shared(MINI_DUMP), &["--symbols", &entry], dir.path());
    assert!(!server.requests().is_empty());
}

#[test]
fn a_slow_server_costs_one_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // Answers nothing for 30 s: far past the 1 s timeout below.
    let script = "import http.server, sys, time\n\
        class Slow(http.server.BaseHTTPRequestHandler):\n\
        \x20   def do_GET(self):\n\
        \x20       print('GET ' + self.path, file=sys.stderr, flush=True)\n\
        \x20       time.sleep(30)\n\
        http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Slow).serve_forever()\n";
    let Some(server) = Server::start(&["-c", script], dir.path().join("server.log")) else {
        return;
    };
    let entry = format!(
        "srv*{}*{}",
        dir.path().join("store").display(),
        server.url()
    );
    let started = Instant::now();
    let report = dump_json(
        &shared(MINI_DUMP),
        &["--symbols", &entry, "--symbol-timeout", "1"],
        dir.path(),
    );
    let took = started.elapsed();
    assert_eq!(report["status"], "ok");
    assert_eq!(symbols_of(&report, "crash.exe"), "missing");
    // One timed-out request; after it the server is not asked again in this run.
    assert_eq!(server.requests().len(), 1, "{:#?}", server.requests());
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

#[test]
fn a_crafted_pdb_name_never_reaches_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let Some(server) = Server::serving(&served, dir.path().join("server.log")) else {
        return;
    };
    let mut dump = std::fs::read(shared(MINI_DUMP)).unwrap();
    let original = b"C:\\projects\\breakpad-tools\\windows\\Release\\crash.pdb\0";
    let at = dump
        .windows(original.len())
        .position(|window| window == original)
        .expect("crash.exe's CodeView record");
    let mut crafted = b"..\\..\\..\\..\\".to_vec();
    crafted.resize(original.len(), 0);
    dump[at..at + original.len()].copy_from_slice(&crafted);
    let crafted_dump = dir.path().join("crafted.dmp");
    std::fs::write(&crafted_dump, dump).unwrap();

    let entry = format!(
        "srv*{}*{}",
        dir.path().join("store").display(),
        server.url()
    );
    let report = dump_json(&crafted_dump, &["--symbols", &entry], dir.path());
    assert_eq!(symbols_of(&report, "crash.exe"), "missing");
    let requests = server.requests();
    assert!(!requests.is_empty(), "other modules are asked for");
    for line in requests {
        assert!(!line.contains(".."), "{line}");
        assert!(!line.contains("crash"), "{line}");
    }
}
