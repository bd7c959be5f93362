#!/usr/bin/env bash
# Runs every fuzz target for RUNS executions (default 250,000) from seeds taken in place
# from ../shared/corpus and our own corpus/ (copied into target/, never into the repo).
# cargo fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
# Sanitizers are off (-s none): the code under test is safe Rust, and the checks that
# matter here are panics, hangs (-timeout) and memory growth (-rss_limit_mb).
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
runs=${RUNS:-250000}
work=target/fuzz-work
shared=../../shared
mkdir -p "$work"/{dump,text_stacks,rule_file,kb_import,symbol_index}
find "$shared/corpus" ../corpus/examples -name '*.dmp' -size -2M -exec cp -n {} "$work/dump/" \; 2>/dev/null || true
cp -n ../tests/golden/text/*.txt "$shared/kb/Q269588.txt" "$work/text_stacks/" 2>/dev/null || true
cp -n "$shared/kb/Q269588.txt" "$work/kb_import/" 2>/dev/null || true
cp -n ../triage-lib/rules/*.toml ../triage-lib/classify/*.toml "$work/rule_file/" 2>/dev/null || true
# Seeds for symbol_index: the indexes of the shared corpus's smaller symbol files.
cargo run -q --release --manifest-path ../Cargo.toml -p triage-cli -- symbols index \
  "$shared/corpus/breakpad/src/processor/testdata/symbols" --cache-dir "$work/index-cache" >/dev/null || true
find "$work/index-cache" -name '*.index' -size -300k -exec cp -n {} "$work/symbol_index/" \; 2>/dev/null || true
for target in ${TARGETS:-text_stacks rule_file kb_import dump symbol_index}; do
  echo "== $target ($runs runs)"
  cargo fuzz run -s none "$target" "$work/$target" -- \
    -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
    | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done|==|SUMMARY|.*panicked)' || true
done
