#!/usr/bin/env bash
# Set up a fresh machine and run the whole test suite (what CI runs): scripts/setup.sh
# (apt packages, then the package and its test extras in the active virtual environment or
# .venv), then ruff (lint and formatting) and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-browser
source scripts/python.sh
use_project_python || exit 1
# the tests, and what they start, find bitmapist and bitmapist-server as a user would
export PATH="$VENV/bin:$PATH"
"$PY" -m ruff check .
"$PY" -m ruff format --check .
"$PY" -m pytest "$@"
