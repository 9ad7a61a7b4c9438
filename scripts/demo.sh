#!/usr/bin/env bash
# Set up a fresh machine and run the main job: the demo on the embedded default store
# (no server needed). Installs bitmapist (with the dashboard's extras) into the active
# virtual environment, else into .venv here (made, with apt's python3-venv if need be).
# Extra arguments go to `bitmapist demo`.
set -euo pipefail
here=$PWD
cd "$(dirname "$0")/.."
source scripts/python.sh
use_project_python || exit 1
install_project web || exit 1
# From the caller's directory: the demo prints its suggestions as runnable from there.
cd "$here"
"$VENV/bin/bitmapist" demo "$@"
if [ -z "${VIRTUAL_ENV:-}" ]; then
  venv=$(printf '%q' "${VENV#"$here"/}") # relative to the caller's directory when under it
  echo
  echo "bitmapist and bitmapist-server are installed in $venv: run them as $venv/bin/bitmapist"
  echo "and $venv/bin/bitmapist-server, or first \`source $venv/bin/activate\` (then just bitmapist)."
fi
