#!/usr/bin/env bash
# Set up a fresh machine and run the main job: the demo on the embedded default store
# (no server needed). Extra arguments go to `bitmapist demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check -e .
python3 -m bitmapist demo "$@"
