#!/usr/bin/env bash
# Install what bitmapist, its tests and its benchmarks need on a fresh Debian or Ubuntu
# machine: redis-server and redis-tools (chromium and fonts with --with-browser) with apt,
# as root or through sudo; then the package with its test extras, editable, into the active
# virtual environment, else into .venv here (made, with apt's python3-venv if need be).
# Safe to re-run: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python.sh

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)
if [ "${1:-}" = "--with-browser" ]; then
  if command -v chromium >/dev/null; then
    : # installed
  elif grep -qs '^ID=ubuntu' /etc/os-release; then
    # Ubuntu has no chromium .deb: its chromium-browser package only installs the snap
    echo "setup: the browser tests need /usr/bin/chromium, which Ubuntu's apt does not have;" \
      "without one they fail saying so (the other tests run)" >&2
  else
    need_apt+=(chromium)
  fi
  dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need_apt+=(fonts-dejavu-core) # legible screenshots
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  apt_install "${need_apt[@]}" || exit 1
fi
# redis-server from Debian starts a system instance on 6379; tests start their own.

use_project_python || exit 1
install_project test || exit 1
