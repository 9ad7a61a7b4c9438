# Sourced (from the repo root) by demo.sh, setup.sh and test.sh: find a Python 3.11+ and the
# virtual environment to install into. The active one when a virtual environment is active,
# else the project's own `.venv`, created here. The system Python is only ever used to create
# `.venv`: nothing is pip-installed into it (Debian and Ubuntu forbid that, PEP 668).
# After `use_project_python`: $PY is the environment's python, $VENV its directory.

# Run a command as root: directly when root, through sudo when it exists.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  else
    sudo "$@"
  fi
}

# Install Debian/Ubuntu packages; without root or sudo, print the exact command and fail.
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "setup: install $* with your system's package manager, then run this again" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
    echo "setup: these packages are missing: $*. As root (e.g. after \`su -\`), run:" >&2
    echo "    apt-get update && apt-get install -y $*" >&2
    echo "then run this again." >&2
    return 1
  fi
  echo "setup: apt-get install $*" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || return 1
}

# Exit status 0 when the interpreter $1 runs and is new enough for bitmapist.
python_ok() {
  "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

python_version() {
  "$1" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo "unknown"
}

# The first Python 3.11+ on PATH: python3 itself, else a versioned one (Ubuntu 22.04's
# python3 is 3.10, and `apt-get install python3.11` adds python3.11 beside it).
find_base_python() {
  local name path
  for name in python3 python3.14 python3.13 python3.12 python3.11; do
    path=$(command -v "$name") || continue
    if python_ok "$path"; then
      echo "$path"
      return 0
    fi
  done
  return 1
}

python_too_old() {
  local found="none on PATH"
  if command -v python3 >/dev/null; then
    found="$(python_version python3) ($(command -v python3))"
  fi
  echo "setup: bitmapist needs Python 3.11 or newer (3.11, 3.12 and 3.13 work); python3 here is $found." >&2
  if grep -qs '^VERSION_ID="22.04"' /etc/os-release; then
    echo "    Ubuntu 22.04 has Python 3.11 in its own archive:" >&2
    echo "    sudo apt-get install python3.11 python3.11-venv   (then run this again: it finds python3.11)" >&2
  else
    echo "    Install Python 3.11+ (your distribution's python3.11 or newer, python.org, pyenv or uv)," >&2
    echo "    put it on PATH as python3 or python3.11 (3.12, 3.13), and run this again." >&2
  fi
}

# Create the virtual environment $VENV with the interpreter $1, installing the distribution's
# venv package first when `python -m venv` cannot (Debian and Ubuntu ship venv without ensurepip).
create_venv() {
  local base=$1 out version prefix
  version=$("$base" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  echo "setup: creating $VENV with $base (Python $(python_version "$base"))" >&2
  if out=$("$base" -m venv "$VENV" 2>&1); then
    return 0
  fi
  rm -rf "$VENV"
  prefix=$("$base" -c 'import sys; print(sys.base_prefix)')
  if [ "$prefix" != /usr ] || ! command -v apt-get >/dev/null; then
    echo "$out" >&2
    echo "setup: $base -m venv failed (above); fix that Python's venv module, or use another" >&2
    return 1
  fi
  apt_install "python$version-venv" || return 1
  "$base" -m venv "$VENV"
}

# Set PY and VENV: the active virtual environment, else `.venv` here (made when missing).
use_project_python() {
  local base
  if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
    VENV=$VIRTUAL_ENV
    PY=$VENV/bin/python
    if ! python_ok "$PY"; then
      echo "setup: the active virtual environment $VENV runs Python $(python_version "$PY");" \
        "bitmapist needs 3.11+: deactivate it (this script then makes .venv) or activate another" >&2
      return 1
    fi
    if ! "$PY" -m pip --version >/dev/null 2>&1; then
      echo "setup: the active virtual environment $VENV has no pip: $PY -m ensurepip" >&2
      return 1
    fi
    return 0
  fi
  VENV=$PWD/.venv
  PY=$VENV/bin/python
  if [ -x "$PY" ] && python_ok "$PY" && "$PY" -m pip --version >/dev/null 2>&1; then
    return 0
  fi
  if [ -e "$VENV" ]; then
    # an interrupted earlier run, a venv whose Python is gone, or one older than 3.11
    echo "setup: $VENV is incomplete or its Python is too old; making it again" >&2
    rm -rf "$VENV"
  fi
  base=$(find_base_python) || {
    python_too_old
    return 1
  }
  create_venv "$base"
}

# pip install this checkout (editable) with the extras $1 into $VENV, unless it already is
# for this very pyproject.toml: re-running a script then costs no pip run.
install_project() {
  local extras=$1 stamp want
  stamp="$VENV/.bitmapist-installed-$extras"
  want="$PWD $(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  echo "setup: pip install -e .[$extras] into $VENV" >&2
  "$PY" -m pip install -q --disable-pip-version-check -e ".[$extras]" || return 1
  echo "$want" >"$stamp"
}
