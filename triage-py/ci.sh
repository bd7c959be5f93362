#!/usr/bin/env bash
# Builds the `triage` Python wheel and runs its pytest suite; exits non-zero on failure.
# A debug wheel: the tests triage a handful of small inputs, so optimizing costs more
# build time than it saves.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/pyenv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# pip through the venv's python, not bin/pip: the scripts' #! lines name the directory the
# venv was made in, so in a copied target/ (a second worktree) bin/pip would install into
# the original tree's venv.
"$venv/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.9.4,<2" pytest

rm -f target/wheels/triage-*.whl
"$venv/bin/maturin" build -q -m triage-py/Cargo.toml -i "$venv/bin/python" -o target/wheels
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps target/wheels/triage-*.whl

# The CLI whose JSON the module must reproduce.
cargo build -q -p triage-cli
TRIAGE_CLI=target/debug/triage "$venv/bin/python" -m pytest -q triage-py/tests
