#!/usr/bin/env bash
# Set up a fresh machine and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-browser
python3 -m ruff check bitmapist tests benchmarks
python3 -m pytest "$@"
