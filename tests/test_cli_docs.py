"""Every command is documented in docs/cli.md and has an example in its --help."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bitmapist.cli import cli

DOCS = Path(__file__).parent.parent / "docs" / "cli.md"
COMMANDS = sorted(cli.commands)


def test_the_issue_s_commands_all_exist() -> None:
    expected = [
        "demo",
        "mark",
        "unmark",
        "count",
        "ids",
        "events",
        "retention",
        "trend",
        "funnel",
        "lifecycle",
        "stickiness",
        "import",
        "export",
        "copy",
        "info",
        "serve",
        "dashboard",
    ]
    assert sorted(expected) == COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_documented(name: str) -> None:
    text = DOCS.read_text()
    assert f"## `bitmapist {name}`" in text
    section = text.split(f"## `bitmapist {name}`", 1)[1].split("\n## ", 1)[0]
    assert f"$ bitmapist {name}" in section, f"docs/cli.md has no example of {name}"


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_an_example(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"], prog_name="bitmapist")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert f"  bitmapist {name}" in result.stdout.split("Example", 1)[1]


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - {"copy"}))
def test_command_takes_store(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"], prog_name="bitmapist")
    assert "--store URL" in result.stdout
