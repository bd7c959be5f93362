#!/usr/bin/env bash
# Regenerates docs/scan-report.png: a scan of the generated corpus plus ../shared/corpus,
# rendered by headless Chromium (Debian package `chromium`).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cargo run -q -p triage-corpus -- "$work/generated" > /dev/null
cargo run -q --bin triage -- scan "$work/generated" ../shared/corpus \
  --symbols "$work/generated/symbols" --html "$work/report.html" > /dev/null
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$work/profile" --window-size=1200,1400 \
  --screenshot=docs/scan-report.png "file://$work/report.html" 2> /dev/null
echo "wrote docs/scan-report.png"
