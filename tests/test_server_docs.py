"""docs/server.md documents every command the server implements, and the flags."""

from __future__ import annotations

import re
from pathlib import Path

from bitmapist.server.commands import TABLE
from bitmapist.server.main import build_parser

DOC = (Path(__file__).resolve().parents[1] / "docs" / "server.md").read_text()


def test_every_command_is_documented():
    documented = {word.lower() for word in re.findall(r"`([A-Z_]+)[ `]", DOC)}
    for name, cmd in TABLE.items():
        assert name.decode() in documented, f"{name!r} is missing from docs/server.md"
        for sub in cmd.subcommands or {}:
            assert sub.decode().upper() in DOC, f"{name!r} {sub!r} is missing"


def test_every_flag_is_documented():
    for action in build_parser()._actions:
        for option in action.option_strings:
            if option.startswith("--") and option not in ("--help", "--version"):
                assert f"`{option}" in DOC or f"{option} " in DOC, f"{option} is missing"
