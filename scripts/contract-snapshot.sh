#!/usr/bin/env bash
# Writes the JSON report of every shared-corpus dump and every text sample under DIR, one
# file each, so two builds' JSON contracts can be compared with `contract-diff.py`.
# Usage: scripts/contract-snapshot.sh TRIAGE_BINARY DIR
set -euo pipefail
triage=$1
out=$2
cd "$(dirname "$0")/.."
mkdir -p "$out"
shared=../shared/corpus
find "$shared" -type f \( -iname '*.dmp' -o -iname '*.mdmp' \) | sort | while read -r dump; do
  name=$(echo "${dump#"$shared"/}" | tr '/' '_')
  "$triage" dump "$dump" --format json --offline --no-cache \
    --symbols "$shared/breakpad/src/processor/testdata/symbols" > "$out/$name.json" 2>/dev/null || true
done
"$triage" dump corpus/examples/q269588.dmp --format json --symbols corpus/examples/symbols \
  > "$out/q269588.json"
find tests/golden/text tests/samples -type f \( -name '*.txt' -o -name '*.md' -o -name '*.html' \) 2>/dev/null \
  | sort | while read -r sample; do
  name=$(echo "$sample" | tr '/' '_')
  "$triage" stacks "$sample" --format json > "$out/$name.json" 2>/dev/null || true
done
echo "$(ls "$out" | wc -l) reports in $out"
