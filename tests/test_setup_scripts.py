"""The README's first command on a fresh clone with only the system Python (issue 12), and
the branches of scripts/python.sh a stock machine takes: no venv module yet (apt, as root,
through sudo, or a printed command), and a Python older than 3.11."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bitmapist import Bitmapist
from bitmapist.demo import demo_answers, record_demo

from .servers import free_port
from .setup_env import REPO, fresh_login, get, running


def _clone_head(into: Path) -> Path:
    """A fresh clone of this checkout's HEAD commit (what CI checks out)."""
    if not (REPO / ".git").exists():
        pytest.skip(f"{REPO} is not a git checkout")
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    clone = into / "bitmapist"
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", head], check=True)
    return clone


def _next_commands(output: str) -> list[str]:
    lines = output.splitlines()
    start = lines.index("Next, try:") + 1
    commands = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        commands.append(line.strip())
    return commands


def test_readme_demo_command_on_a_fresh_clone_with_the_system_python(tmp_path: Path) -> None:
    clone = _clone_head(tmp_path)
    home = tmp_path / "home"
    env = fresh_login(home)
    demo = subprocess.run(
        ["bash", "scripts/demo.sh"], cwd=clone, env=env, capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert (clone / ".venv" / "bin" / "bitmapist").is_file(), "no project virtual environment"
    out = demo.stdout
    store = home / ".local" / "share" / "bitmapist" / "bitmapist.db"
    first = out.splitlines()[0]
    assert first.startswith("Recorded 20,000 users over 90 days"), out
    assert first.endswith(f" events in the embedded store at {store}."), out
    sample = Bitmapist("memory://")
    record_demo(sample, users=50, days=3)
    for answer in demo_answers(sample):
        assert f"\n{answer.question} " in out, f"{answer.question!r} unanswered:\n{out}"

    commands = _next_commands(out)
    assert commands == [
        ".venv/bin/bitmapist count 'active:this-week & premium:u'",
        ".venv/bin/bitmapist retention signup active --period week",
        ".venv/bin/bitmapist dashboard",
    ]
    # each suggestion, as printed, in the terminal that ran the demo (same directory, login)
    count = subprocess.run(["bash", "-c", commands[0]], cwd=clone, env=env, capture_output=True)
    assert count.returncode == 0 and int(count.stdout) > 0, count
    table = subprocess.run(
        ["bash", "-c", commands[1]], cwd=clone, env=env, capture_output=True, text=True
    )
    assert table.returncode == 0 and "Average" in table.stdout, table
    port = free_port()  # not 8000: the machine may be serving something there
    url = f"http://127.0.0.1:{port}/"
    dashboard = ["bash", "-c", f"exec {commands[2]} --port {port}"]
    with running(dashboard, lambda: get(url)[0] == 200, tmp_path / "dash.log", cwd=clone, env=env):
        status, _, body = get(url)
        assert status == 200 and b"song:played" in body

    # the way to the commands the demo's closing lines (and the README) give
    assert "source .venv/bin/activate" in out
    activated = "source .venv/bin/activate && bitmapist --help && bitmapist-server --help"
    assert subprocess.run(["bash", "-c", activated], cwd=clone, env=env).returncode == 0
    # running it again installs nothing
    again = subprocess.run(
        ["bash", "scripts/demo.sh", "--users", "100", "--days", "2"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 and "setup:" not in again.stderr, again.stderr


# --- scripts/python.sh on machines this one is not: stand-in commands on PATH -------------

# Debian/Ubuntu's python3 without python3-venv: `-m venv` fails until apt-get installed it.
_PYTHON_WITHOUT_VENV = """#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ] && ! /bin/grep -qs "apt-get install" "$APT_LOG"; then
  echo "The virtual environment was not successfully created because ensurepip is not"
  echo "available.  On Debian/Ubuntu systems, you need to install the python3-venv package"
  exit 1
fi
exec /usr/bin/python3 "$@"
"""
_APT_GET = '#!/bin/sh\necho "DEBIAN_FRONTEND=$DEBIAN_FRONTEND apt-get $*" >> "$APT_LOG"\n'
_SUDO = '#!/bin/sh\necho "sudo $*" >> "$APT_LOG"\nexec "$@"\n'
# Ubuntu 22.04's python3, as the scripts see it (they only ask it `-c` questions)
_PYTHON_3_10 = f"""#!{sys.executable}
import sys
sys.version_info = (3, 10, 12, "final", 0)
sys.version = "3.10.12 (main, Nov 20 2023, 15:14:05) [GCC 11.4.0]"
exec(sys.argv[2])
"""
_TOOLS = ("rm", "grep", "env", "cat", "cut", "sha256sum")


def _machine(tmp_path: Path, uid: int, **commands: str) -> tuple[Path, dict[str, str]]:
    """A project folder with scripts/python.sh and a PATH of only the tools it uses, `id -u`
    answering `uid`, and `commands` (name -> script) standing in for the machine's own."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in _TOOLS:
        (bin_dir / tool).symlink_to(shutil.which(tool, path="/usr/bin:/bin"))
    commands["id"] = f"#!/bin/sh\necho {uid}\n"
    for name, text in commands.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "python.sh", project / "scripts")
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "APT_LOG": str(tmp_path / "apt.log")}
    return project, env


def _use_project_python(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    script = 'source scripts/python.sh && use_project_python && echo "PY=$PY"'
    return subprocess.run(
        ["/bin/bash", "-c", script], cwd=project, env=env, capture_output=True, text=True
    )


def _venv_package() -> str:
    return "python{}.{}-venv".format(*_system_python_version())


def _system_python_version() -> tuple[int, int]:
    code = "import sys; print(*sys.version_info[:2])"
    out = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True)
    return tuple(map(int, out.stdout.split()))  # type: ignore[return-value]


@pytest.mark.parametrize("as_root", [True, False], ids=["root", "sudo"])
def test_a_missing_venv_module_is_installed_with_apt(tmp_path: Path, as_root: bool) -> None:
    commands = {"python3": _PYTHON_WITHOUT_VENV, "apt-get": _APT_GET}
    if not as_root:
        commands["sudo"] = _SUDO
    project, env = _machine(tmp_path, 0 if as_root else 1000, **commands)
    result = _use_project_python(project, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"PY={project}/.venv/bin/python"
    apt = "DEBIAN_FRONTEND=noninteractive apt-get"
    calls = [f"{apt} update -qq", f"{apt} install -y -qq {_venv_package()}"]
    if not as_root:
        sudo = "sudo env DEBIAN_FRONTEND=noninteractive apt-get"
        calls = [calls[0].replace(apt, sudo), calls[0], calls[1].replace(apt, sudo), calls[1]]
    assert (tmp_path / "apt.log").read_text().splitlines() == calls
    pip = subprocess.run([f"{project}/.venv/bin/python", "-m", "pip", "--version"])
    assert pip.returncode == 0


def test_without_root_or_sudo_the_apt_command_is_printed(tmp_path: Path) -> None:
    project, env = _machine(tmp_path, 1000, python3=_PYTHON_WITHOUT_VENV, **{"apt-get": _APT_GET})
    result = _use_project_python(project, env)
    assert result.returncode != 0
    assert f"    apt-get update && apt-get install -y {_venv_package()}\n" in result.stderr
    assert not (tmp_path / "apt.log").exists() and not (project / ".venv").exists()


def test_python_older_than_3_11_stops_with_the_versions_that_work(tmp_path: Path) -> None:
    project, env = _machine(tmp_path, 1000, python3=_PYTHON_3_10)
    result = _use_project_python(project, env)
    assert result.returncode != 0 and not (project / ".venv").exists()
    assert (
        "bitmapist needs Python 3.11 or newer (3.11, 3.12 and 3.13 work); "
        f"python3 here is 3.10.12 ({tmp_path}/bin/python3)."
    ) in result.stderr, result.stderr


def test_python_older_than_3_11_beside_a_newer_one_uses_the_newer(tmp_path: Path) -> None:
    """Ubuntu 22.04 after `apt-get install python3.11 python3.11-venv`."""
    newer = '#!/bin/sh\nexec /usr/bin/python3 "$@"\n'
    project, env = _machine(tmp_path, 1000, python3=_PYTHON_3_10, **{"python3.11": newer})
    result = _use_project_python(project, env)
    assert result.returncode == 0, result.stderr
    assert f"creating {project}/.venv with {tmp_path}/bin/python3.11" in result.stderr
    py = f"{project}/.venv/bin/python"
    code = "import sys; print(sys.version_info >= (3, 11))"
    assert subprocess.run([py, "-c", code], capture_output=True, text=True).stdout == "True\n"
