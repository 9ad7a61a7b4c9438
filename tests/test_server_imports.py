"""How the server process starts: its flags, its use of redis-py through systems, its data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


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
