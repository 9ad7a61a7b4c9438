#!/usr/bin/env bash
# Install what bitmapist, its tests and its benchmarks need on a fresh Debian machine.
# Safe to re-run: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)
if [ "${1:-}" = "--with-browser" ]; then
  command -v chromium >/dev/null || need_apt+=(chromium)
  dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need_apt+=(fonts-dejavu-core)  # legible screenshots
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# redis-server from Debian starts a system instance on 6379; tests start their own.

python3 -m pip install -q --disable-pip-version-check -e ".[test]"
