"""The server process stays lean: what it does not use, it does not import or map.

redis-py (~17 MB of RSS), ssl (libssl + libcrypto, ~4 MB) and hashlib (libcrypto) were
each part of the idle server's memory before; these tests fail if any of them comes back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .bitmapist_server import BitmapistServerProcess

REPO_ROOT = Path(__file__).resolve().parents[1]
UNWANTED = ("redis", "ssl", "_ssl", "hashlib", "_hashlib")
# Modules behind bitmapist's public names (calendar and zoneinfo come only with them).
PUBLIC_API_MODULES = (
    "api",
    "client",
    "events",
    "periods",
    "ranges",
    "retention",
    "stores",
    "systems",
)


def _module_names_after(code: str) -> set[str]:
    """Every module loaded by a fresh interpreter (run from the repo root) after `code`."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def _modules_after(code: str) -> set[str]:
    """Top-level modules loaded by a fresh interpreter (run from the repo root) after `code`."""
    return {name.partition(".")[0] for name in _module_names_after(code)}


def test_importing_the_server_entry_point_loads_no_redis_py():
    loaded = _modules_after("import bitmapist.server.main")
    assert "bitmapist" in loaded  # the probe itself works
    assert not loaded & set(UNWANTED), sorted(loaded & set(UNWANTED))


def test_the_server_imports_asyncio_without_ssl():
    loaded = _modules_after(
        "import bitmapist.server.main as m\n"
        "m._import_asyncio_without_ssl()\n"
        "import asyncio, bitmapist.server.app"
    )
    assert "asyncio" in loaded
    assert not loaded & set(UNWANTED), sorted(loaded & set(UNWANTED))


def test_the_server_loads_none_of_the_public_api():
    """`bitmapist` imports its public names on first use: the server, which imports the
    package only to reach `bitmapist.server`, does not pay for them (~1.2 MB of RSS)."""
    loaded = _module_names_after(
        "import bitmapist.server.main as m\n"
        "m._import_asyncio_without_ssl()\n"
        "import asyncio, bitmapist.server.app"
    )
    assert "bitmapist.engine" in loaded  # the probe itself works
    unwanted = {f"bitmapist.{name}" for name in PUBLIC_API_MODULES} | {"calendar", "zoneinfo"}
    assert not loaded & unwanted, sorted(loaded & unwanted)


def test_argparse_is_unloaded_and_freed_once_the_flags_are_parsed():
    """argparse serves only at start-up (flags); the server unloads it (~0.35 MB of RSS):
    no module object or module namespace of it is left."""
    loaded = _module_names_after(
        "import gc, types\n"
        "import bitmapist.server.main as m\n"
        "flags = m.parse_flags(['-addr', ':7000', '--maxclients', '5'])\n"
        "assert (flags.addr, flags.maxclients, flags.db) == (':7000', 5, 'bitmapist.db'), flags\n"
        "alive = {o.__name__ for o in gc.get_objects() if isinstance(o, types.ModuleType)}\n"
        "alive |= {o.get('__name__') for o in gc.get_objects() if isinstance(o, dict)}\n"
        "assert 'bitmapist.server.main' in alive  # the probe itself works\n"
        "assert not alive & {'argparse', 'gettext'}, alive\n"
    )
    assert "bitmapist.server.main" in loaded
    assert not loaded & {"argparse", "gettext"}


def test_asyncio_without_ssl_leaves_ssl_importable():
    """Only asyncio's TLS is off: SLURP's redis-py client imports ssl later and works."""
    loaded = _modules_after(
        "import bitmapist.server.main as m\n"
        "m._import_asyncio_without_ssl()\n"
        "import asyncio, ssl\n"
        "assert asyncio.base_events.ssl is None and ssl.PROTOCOL_TLS_CLIENT"
    )
    assert {"asyncio", "ssl"} <= loaded


def test_the_bitmapist_package_alone_loads_no_redis_py():
    loaded = _modules_after("import bitmapist")
    assert "redis" not in loaded


def test_a_redis_client_still_works_as_a_system():
    """The lazy redis-py checks in systems.py still recognise a client once it exists."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import bitmapist, redis\n"
            "from bitmapist.systems import get_client, get_redis\n"
            "r = redis.Redis(port=1)\n"
            "assert get_redis(r) is r and get_client(r).store.kind == 'redis'\n"
            "try:\n"
            "    get_client(object())\n"
            "except bitmapist.UnknownSystem:\n"
            "    pass\n"
            "else:\n"
            "    raise AssertionError('an object is not a system')\n",
        ],
        cwd=REPO_ROOT,
        check=True,
        timeout=60,
    )


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc (Linux)")
def test_a_running_server_maps_no_openssl(tmp_path):
    server = BitmapistServerProcess(tmp_path)
    try:
        client = server.client()
        client.setbit("k", 7, 1)
        client.scan(0)  # SCAN hashes keys with blake2b
        assert client.bitcount("k") == 1
        client.close()
        assert server.process is not None
        maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    finally:
        server.stop()
    assert "libpython" in maps or "python" in maps  # the probe reads the right process
    assert "libssl" not in maps and "libcrypto" not in maps


def test_command_docs_entries_decode_to_their_own_bytes():
    """COMMAND INFO/DOCS data is kept as RESP3 bytes (cheap to import) and decoded per
    request: every entry must decode completely and re-encode to the same bytes."""
    from bitmapist.server.command_docs import _decode
    from bitmapist.server.command_docs_data import DOCS, INFO
    from bitmapist.server.resp import encode

    assert len(INFO) > 40 and len(DOCS) > 40
    for table in (INFO, DOCS):
        for name, data in table.items():
            value, end = _decode(data)
            assert end == len(data), name
            assert encode(value, 3) == data, name
