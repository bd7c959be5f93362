#!/usr/bin/env bash
# Windows build of triage.exe and the WinDbg extension DLL, cross-compiled with MinGW,
# and its tests under Wine (issue 10).
#
#   scripts/windows.sh build   cross-build target/windows/.../triage.exe and triage_windbg.dll
#   scripts/windows.sh test    build, then run both under Wine and check them
#
# It stays out of the default `cargo build`: the Windows target is built with Debian's
# rustc and its std source (`-Zbuild-std`, since no prebuilt Windows std can be
# downloaded here) into its own target dir, the linker is given by environment rather
# than a committed .cargo/config, and triage-windbg/ is its own workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-pc-windows-gnu
TARGET_DIR=$PWD/target/windows
OUT=$TARGET_DIR/$TARGET/release
WINE=/usr/lib/wine/wine64
WINESERVER=/usr/lib/wine/wineserver64
PACKAGES="rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64 wine64"

need() {
  if [ ! -e "$1" ] && ! command -v "$1" > /dev/null; then
    echo "windows.sh: $1 is missing; install the Debian packages: apt-get install -y $PACKAGES (and python3 for the test)" >&2
    exit 1
  fi
}

xbuild() {
  env RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$TARGET_DIR" \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
    /usr/bin/cargo build --release -Zbuild-std=std,panic_abort --target "$TARGET" "$@"
}

run_build() {
  for tool in /usr/bin/rustc /usr/bin/cargo /usr/lib/rustlib/src/rust/library x86_64-w64-mingw32-gcc; do
    need "$tool"
  done
  xbuild -p triage-cli
  xbuild --manifest-path triage-windbg/Cargo.toml --workspace
}

# Wine 8 has no bcryptprimitives.dll!ProcessPrng, which Rust's std imports for its
# random numbers; a shim next to the executables forwards it to RtlGenRandom. Tests only:
# real Windows (10 and later) has the function.
prng_shim() {
  local src=$TARGET_DIR/bcryptprimitives.c
  cat > "$src" << 'EOF'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  while (length > 0) {
    ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    length -= chunk;
  }
  return TRUE;
}
EOF
  x86_64-w64-mingw32-gcc -shared -O2 -o "$OUT/bcryptprimitives.dll" "$src" -ladvapi32
}

passed=0
failed=0
check() { # NAME COMMAND...: runs a check, counts it, never stops the others
  local name=$1
  shift
  if "$@"; then
    echo "ok: $name"
    passed=$((passed + 1))
  else
    echo "FAILED: $name"
    failed=$((failed + 1))
  fi
}

# A throwaway prefix and symbol cache under target/, and no _NT_SYMBOL_PATH from the
# caller, so a run neither reads nor writes anything outside the tree.
wine() {
  env -u _NT_SYMBOL_PATH WINEDEBUG=-all WINEPREFIX="$TARGET_DIR/wineprefix" \
    XDG_CACHE_HOME="$TARGET_DIR/cache" "$WINE" "$@"
}

# One wineserver for the whole run: when each wine call starts and stops its own, a call
# that starts while the last one's server is shutting down can fail with "recvmsg:
# Connection reset by peer" (seen here once in a dozen runs).
start_wineserver() {
  env WINEPREFIX="$TARGET_DIR/wineprefix" "$WINESERVER" -p
  trap 'env WINEPREFIX="$TARGET_DIR/wineprefix" "$WINESERVER" -k 2> /dev/null || true' EXIT
}

# The Windows JSON report must be the Linux one; only `path` fields may differ.
same_json() { # DUMP [--symbols DIR]
  local dir=$TARGET_DIR/compare
  mkdir -p "$dir"
  wine "$OUT/triage.exe" dump "$@" --format json --offline --no-cache > "$dir/windows.json" || true
  target/release/triage dump "$@" --format json --offline --no-cache > "$dir/linux.json" || true
  [ -s "$dir/linux.json" ] &&
    diff <(without_paths < "$dir/linux.json") <(without_paths < "$dir/windows.json")
}

without_paths() {
  python3 -c '
import json, sys
def clear(value):
    if isinstance(value, dict):
        return {k: "PATH" if k == "path" else clear(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clear(v) for v in value]
    return value
print(json.dumps(clear(json.load(sys.stdin)), indent=1, sort_keys=True))'
}

host() { # COMMAND DUMP SYMBOL_PATH [ARGS...]
  wine "$OUT/triage-windbg-host.exe" "$OUT/triage_windbg.dll" "$@"
}

extension_finds_q269588() {
  local out
  out=$(host triage corpus/examples/q269588.dmp corpus/examples/symbols) || return 1
  echo "$out"
  grep -q '<link cmd=".browse https://support.microsoft.com/kb/269588">Q269588</link>' <<< "$out" &&
    grep -q 'cmd="~~\[0x4d8\]s; kb"' <<< "$out"
}

extension_finds_nothing_in_corpus_dump() {
  local out
  out=$(host triage "$SHARED/breakpad/src/processor/testdata/minidump2.dmp" \
    "$SHARED/breakpad/src/processor/testdata/symbols") || return 1
  echo "$out"
  grep -q 'known issues: none' <<< "$out" && ! grep -q 'known issue [A-Z]' <<< "$out"
}

extension_json_is_the_cli_json() {
  host triage corpus/examples/q269588.dmp corpus/examples/symbols -json > "$TARGET_DIR/compare/extension.json" &&
    wine "$OUT/triage.exe" dump corpus/examples/q269588.dmp --symbols corpus/examples/symbols \
      --format json > "$TARGET_DIR/compare/cli.json" &&
    diff "$TARGET_DIR/compare/cli.json" "$TARGET_DIR/compare/extension.json"
}

extension_verbose_marks_matched_frames() {
  local out
  out=$(host triage corpus/examples/q269588.dmp corpus/examples/symbols -v) || return 1
  grep -q 'MAPI32.dll!MAPIAllocateBuffer+0x28  \[frame_pointer\]  <b>&lt;- Q269588</b>' <<< "$out" &&
    grep -q 'thread <link cmd="~~\[0x444\]s; kb">1092 (0x444)</link>' <<< "$out"
}

# !triage -v is the text printer with DML markup: without the markup it is what
# `triage.exe dump --format text` prints.
extension_verbose_is_the_cli_text() {
  host triage corpus/examples/q269588.dmp corpus/examples/symbols -v > "$TARGET_DIR/compare/extension.dml" &&
    wine "$OUT/triage.exe" dump corpus/examples/q269588.dmp --symbols corpus/examples/symbols \
      > "$TARGET_DIR/compare/cli.txt" &&
    diff <(tr -d '\r' < "$TARGET_DIR/compare/cli.txt") <(without_dml < "$TARGET_DIR/compare/extension.dml")
}

without_dml() {
  python3 -c '
import html, re, sys
text = sys.stdin.read().replace("\r", "")
text = re.sub(r"<link cmd=\"~~\[0x[0-9a-f]+\]s; kb\">(\d+) \(0x[0-9a-f]+\)</link>", r"\1", text)
text = re.sub(r"<link cmd=\"[^\"]*\">(.*?)</link>", r"\1", text)
text = re.sub(r"  <b>&lt;- [^<]*</b>", "", text)
print(html.unescape(text).rstrip("\n"))'
}

# The crash database (SQLite, compiled in with MinGW): a scan stores the dump, a re-scan
# leaves it unchanged, and the stored finding says the fix is not installed.
crash_database_scans_and_reports() {
  local dir=$TARGET_DIR/crash-db first again found
  rm -rf "$dir" && mkdir -p "$dir/share" && cp corpus/examples/q269588.dmp "$dir/share/" || return 1
  first=$(wine "$OUT/triage.exe" scan "$dir/share" --symbols corpus/examples/symbols \
    --db "$dir/crashes.db" --isolate thread) || return 1
  again=$(wine "$OUT/triage.exe" scan "$dir/share" --symbols corpus/examples/symbols \
    --db "$dir/crashes.db" --isolate thread) || return 1
  found=$(wine "$OUT/triage.exe" db query "$dir/crashes.db" --format csv \
    "SELECT rule, fix_status, installed_version FROM findings") || return 1
  grep -q '^1 triaged, 0 unchanged (0 moved)' <<< "$first" &&
    grep -q '^0 triaged, 1 unchanged (0 moved)' <<< "$again" &&
    grep -q '^Q269588,not_installed,5.5.2652.57' <<< "$found"
}

extension_without_dump_fails_cleanly() {
  local out
  ! out=$(host triage "" "") && grep -q 'no dump file is open' <<< "$out"
}

# Live targets: the double serves a recorded process instead of a dump (host/src/main.rs).
extension_live_finds_q269588_unfixed() {
  local out json
  out=$(host triage live:q269588 "") || return 1
  echo "$out"
  json=$(host triage live:q269588 "" -json) || return 1
  grep -q '^live target$' <<< "$out" &&
    grep -q 'verdict: KNOWN ISSUE <link cmd=".browse https://support.microsoft.com/kb/269588">Q269588</link> (confirmed) on thread <link cmd="~~\[0x4d8\]s; kb">1240 (0x4d8)</link>; fix NOT installed: install Mapi32.dll 5.5.2652.85 or later$' <<< "$out" &&
    grep -q '^  known issue <link cmd=".browse https://support.microsoft.com/kb/269588">Q269588</link>: XADM: Heap Corruption' <<< "$out" &&
    python3 -c '
import json, sys
r = json.load(sys.stdin)
(f,) = r["findings"]
assert (f["rule"], f["confidence"], f["fix_installed"], f["thread_id"]) == ("Q269588", "confirmed", False, 0x4d8), f
assert f["matched_frames"] == list(range(11)), f
mapi = [m for m in r["modules"] if m["name"] == "MAPI32.dll"]
assert mapi and mapi[0]["version"] == "5.5.2652.57", mapi
(crashed,) = [t for t in r["threads"] if t["crashed"]]
assert crashed["thread_id"] == 0x4d8 and len(r["threads"]) == 2, r["threads"]
assert [f["address"] for f in crashed["frames"]][:2] == ["0x77f63eb0", "0x77f640fc"], crashed
' <<< "$json"
}

extension_live_sees_the_fix() {
  local out json
  out=$(host triage live:q269588-fixed "") || return 1
  echo "$out"
  json=$(host triage live:q269588-fixed "" -json) || return 1
  grep -q 'Q269588</link> (confirmed) on thread <link cmd="~~\[0x4d8\]s; kb">1240 (0x4d8)</link>; fix Mapi32.dll 5.5.2652.85 IS installed' <<< "$out" &&
    python3 -c '
import json, sys
(f,) = json.load(sys.stdin)["findings"]
assert f["fix_installed"] is True, f
' <<< "$json"
}

extension_live_verbose_marks_matched_frames() {
  local out
  out=$(host triage live:q269588 "" -v) || return 1
  grep -q 'MAPI32.dll!MAPIAllocateBuffer+0x28  \[none\]  <b>&lt;- Q269588</b>' <<< "$out" &&
    grep -q 'thread <link cmd="~~\[0x444\]s; kb">1092 (0x444)</link>$' <<< "$out"
}

extension_help() {
  host help "" "" | grep -q '!triage -json'
}

run_tests() {
  need "$WINE"
  need "$WINESERVER"
  need python3
  SHARED=$(cd .. && pwd)/shared/corpus
  run_build
  cargo build --release -p triage-cli
  prng_shim
  mkdir -p "$TARGET_DIR/compare" "$TARGET_DIR/wineprefix"
  start_wineserver
  check "triage.exe = Linux: q269588.dmp" same_json corpus/examples/q269588.dmp --symbols corpus/examples/symbols
  check "triage.exe = Linux: minidump2.dmp" same_json "$SHARED/breakpad/src/processor/testdata/minidump2.dmp" \
    --symbols "$SHARED/breakpad/src/processor/testdata/symbols"
  check "triage.exe = Linux: mini.dmp" same_json "$SHARED/symbolic/symbolic-testutils/fixtures/windows/mini.dmp"
  check "triage.exe scan --db, re-scan, db query" crash_database_scans_and_reports
  check "!triage finds Q269588" extension_finds_q269588
  check "!triage finds nothing in minidump2.dmp" extension_finds_nothing_in_corpus_dump
  check "!triage -json = triage.exe JSON" extension_json_is_the_cli_json
  check "!triage -v marks the matched frames" extension_verbose_marks_matched_frames
  check "!triage -v = triage.exe text without the DML" extension_verbose_is_the_cli_text
  check "!triage without a dump" extension_without_dump_fails_cleanly
  check "live !triage finds Q269588, fix not installed" extension_live_finds_q269588_unfixed
  check "live !triage sees MAPI32 5.5.2652.85 installed" extension_live_sees_the_fix
  check "live !triage -v marks the matched frames" extension_live_verbose_marks_matched_frames
  check "!help" extension_help
  echo "windows: $passed passed, $failed failed"
  [ "$failed" = 0 ]
}

case "${1:-}" in
  build) run_build ;;
  test) run_tests ;;
  *)
    echo "usage: scripts/windows.sh build|test" >&2
    exit 2
    ;;
esac
