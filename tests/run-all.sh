#!/usr/bin/env bash
# Runs every test: Rust (unit, store conformance, end-to-end with aws-sdk-ecs) and the Python suite (boto3 and the
# aws CLI against a real berth process). Installs the Python packages it needs into .venv when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import boto3, botocore, awscli, pytest" 2>/dev/null \
   || ! cmp -s tests/python/requirements.txt "$venv/.requirements"; then
  "$venv/bin/pip" install -q -r tests/python/requirements.txt
  cp tests/python/requirements.txt "$venv/.requirements"
fi
export PATH="$PWD/$venv/bin:$PATH"

cargo build --workspace --all-targets
# The end-to-end suites (Rust and Python) run this binary; without BERTH_BIN the Rust harness would build it itself.
export BERTH_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/berth"
cargo test --workspace
python -m pytest -q tests/python
