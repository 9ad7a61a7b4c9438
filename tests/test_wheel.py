"""A built wheel is a product (issue 12): installed into a fresh virtual environment outside
the checkout, it runs `bitmapist demo`, serves the dashboard with its templates and any asset
they reference, and starts `bitmapist-server`."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

from .servers import free_port
from .setup_env import REPO, SYSTEM_PATH, fresh_login, get, running


def _source_files() -> list[Path]:
    """The checkout's files as a fresh clone plus uncommitted work has them: no build/,
    .venv or egg-info leftovers (setuptools would pack a stale build/ into the wheel)."""
    if (REPO / ".git").exists():
        listed = subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "-z", "-co", "--exclude-standard"],
            check=True,
            capture_output=True,
        ).stdout.decode()
        return [Path(name) for name in listed.split("\0") if name and (REPO / name).is_file()]
    skip = {"build", "dist", ".venv", "__pycache__", ".git"}
    return [
        path.relative_to(REPO)
        for path in REPO.rglob("*")
        if path.is_file() and not skip & set(path.relative_to(REPO).parts)
    ]


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    for name in _source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(source)],
        check=True,
    )
    (wheel,) = dist.glob("bitmapist-*.whl")
    return wheel


def test_the_built_wheel_runs_the_demo_dashboard_and_server(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    # templates, styles, scripts, images: whatever lies under bitmapist/ beside the code
    data = {
        name.as_posix()
        for name in _source_files()
        if name.parts[0] == "bitmapist" and name.suffix != ".py"
    }
    assert "bitmapist/web/templates/base.html" in data
    missing = sorted(data - set(zipfile.ZipFile(wheel).namelist()))
    assert not missing, f"not in the wheel (pyproject package-data): {missing}"

    venv = tmp_path / "venv"
    home = tmp_path / "home"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = fresh_login(home, path=f"{venv}/bin:{SYSTEM_PATH}")
    install = [f"{venv}/bin/python", "-m", "pip", "install", "-q", f"{wheel}[web]"]
    subprocess.run(install, check=True, cwd=tmp_path, env=env)
    where = subprocess.run(
        ["python", "-c", "import bitmapist; print(bitmapist.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(f"{venv}/lib/"), where  # the wheel's, not the checkout's

    demo = subprocess.run(
        ["bitmapist", "demo"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert demo.stdout.startswith("Recorded 20,000 users over 90 days"), demo.stdout
    # the environment's bin is on PATH here, so the suggestions are the bare command
    assert "\nNext, try:\n    bitmapist count 'active:this-week & premium:u'\n" in demo.stdout

    _check_dashboard(tmp_path, env)
    _check_server(tmp_path, env)


def _check_dashboard(tmp_path: Path, env: dict[str, str]) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    dashboard = ["bitmapist", "dashboard", "--port", str(port)]
    with running(dashboard, lambda: get(f"{base}/")[0] == 200, tmp_path / "dash.log", env=env):
        status, kind, home = get(f"{base}/")
        assert status == 200 and kind.startswith("text/html") and b"song:played" in home
        status, _, page = get(f"{base}/retention?cohort=signup&returning=active&period=week")
        assert status == 200 and b"<svg" in page, page[:500]
        # every asset the pages reference (stylesheets, scripts, images) is served
        for asset in sorted(_assets(home) | _assets(page)):
            status, _, body = get(f"{base}{asset}")
            assert status == 200 and body, f"{asset}: {status}"


def _assets(page: bytes) -> set[str]:
    """Local URLs of the stylesheets, scripts and images a page loads."""
    pattern = rb'<(?:link|script|img)\b[^>]*?\b(?:href|src)="(/[^"/][^"]*)"'
    return {m.decode() for m in re.findall(pattern, page)}


def _check_server(tmp_path: Path, env: dict[str, str]) -> None:
    port = free_port()
    server = ["bitmapist-server", "--addr", f"127.0.0.1:{port}", "--db", str(tmp_path / "s.db")]

    def ping() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64) == b"+PONG\r\n"

    with running(server, ping, tmp_path / "server.log", env=env):
        assert ping()
