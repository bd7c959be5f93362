#!/usr/bin/env bash
# Builds the `triage` Python wheel and runs its pytest suite; exits non-zero on failure.
# Installs it the way the README tells users to, `pip install ./triage-py[dask]` (maturin
# builds the extension; dask.distributed comes from PyPI), so that command is what is tested.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/pyenv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# pip through the venv's python, not bin/pip: the scripts' #! lines name the directory the
# venv was made in, so in a copied target/ (a second worktree) bin/pip would install into
# the original tree's venv.
"$venv/bin/python" -m pip install -q --disable-pip-version-check pytest
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall "./triage-py[dask]"

# The CLI whose JSON the module must reproduce.
cargo build -q -p triage-cli
TRIAGE_CLI=target/debug/triage "$venv/bin/python" -m pytest -q triage-py/tests
