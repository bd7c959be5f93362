#!/usr/bin/env bash
# Regenerates tests/golden/stackwalk/*.json from the reference walker, minidump-stackwalk 0.27
# (`cargo install minidump-stackwalk --version 0.27.0 --locked`). The goldens keep, per
# thread, each frame's module, function, trust and module offset: what tests/dump.rs compares.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=../shared/corpus
out=tests/golden/stackwalk
version=$(minidump-stackwalk --version)
[[ "$version" == *"0.27."* ]] || { echo "need minidump-stackwalk 0.27, have: $version" >&2; exit 1; }
syms=$(mktemp -d); trap 'rm -rf "$syms"' EXIT
# minidump-stackwalk cannot read .sym.xz; decompress Mozilla's symbols once.
(cd "$corpus/minidump-stackwalk/pgo_data/symbols" && find . -name '*.sym.xz' | while read -r f; do
  mkdir -p "$syms/pgo/$(dirname "$f")"; xz -dc "$f" > "$syms/pgo/${f%.xz}"; done)
# crash.sym lies flat beside mini.dmp; the reference only reads the store layout.
mini_sym="$corpus/symbolic/symbolic-testutils/fixtures/windows/crash.sym"
mini_id=$(head -1 "$mini_sym" | cut -d' ' -f4)
mkdir -p "$syms/mini/crash.pdb/$mini_id" && cp "$mini_sym" "$syms/mini/crash.pdb/$mini_id/"

walk() { # name dump symbols
  minidump-stackwalk --json --symbols-path "$3" "$corpus/$2" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
threads = [{"thread_id": t.get("thread_id"),
            "frames": [{"module": f.get("module"), "function": f.get("function"),
                        "trust": f["trust"], "module_offset": f.get("module_offset")}
                       for f in t["frames"]]} for t in d["threads"]]
json.dump({"tool": sys.argv[1], "dump": sys.argv[2], "threads": threads}, sys.stdout, indent=1)
' "$version" "$2" > "$out/$1.json"
  echo "wrote $out/$1.json"
}
walk minidump2 breakpad/src/processor/testdata/minidump2.dmp "$corpus/breakpad/src/processor/testdata/symbols"
walk symbolic-mini symbolic/symbolic-testutils/fixtures/windows/mini.dmp "$syms/mini"
walk windows-x86 minidump-stackwalk/pgo_data/minidumps/windows-x86.dmp "$syms/pgo"
