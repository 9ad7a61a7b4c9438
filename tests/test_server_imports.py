"""How the server process starts: its use of redis-py through systems, its data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


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
