"""Every example of the bitmapist 3.x README runs as written, on every store.

`reference_readme.md` is a verbatim copy of the README the project was created from. The
examples assume what a reader would have: bitmapist's public names imported (they use
`UniqueEvents`, `mark_unique`, `DailyEvents`, ... without importing them), user 123 active
last month as well as now (the bit-operation examples assert it), and a few names they never
define (`dt`, `cache`, `active`, `add_extra_karma`). The test supplies exactly those.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

import bitmapist

README = Path(__file__).with_name("reference_readme.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
SETUP, MARK = BLOCKS[0], BLOCKS[1]


class _Cache:
    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def set(self, key: str, value: object) -> None:
        self.values[key] = value


PRELUDE = "from bitmapist import *\nmark_event('active', 123, now=last_month)\n"


def _namespace() -> dict[str, object]:
    karma: list[int] = []
    return {
        "bitmapist": bitmapist,
        "dt": datetime(2020, 1, 15),
        "cache": _Cache(),
        "add_extra_karma": karma.append,
        "karma": karma,
    }


def test_the_readme_has_its_examples():
    assert len(BLOCKS) >= 15


@pytest.mark.usefixtures("default_system")
@pytest.mark.parametrize("index", range(2, len(BLOCKS)))
def test_readme_example(index: int):
    namespace = _namespace()
    exec(SETUP, namespace)
    exec(PRELUDE, namespace)
    exec(MARK, namespace)
    namespace["active"] = namespace["DayEvents"]("active")  # the A/B example's undefined name
    exec(BLOCKS[index], namespace)


@pytest.mark.usefixtures("default_system")
def test_readme_examples_in_order_give_the_documented_answers(capsys):
    namespace = _namespace()
    for index, block in enumerate(BLOCKS):
        if "cohort" in block:
            continue  # covered on its own above
        if "active_today = DailyEvents" in block:
            namespace["active"] = bitmapist.DailyEvents("active")
        exec(block, namespace)
        if index == 0:
            exec(PRELUDE, namespace)
    out = capsys.readouterr().out
    assert "Active users, signed up with classic form 0" in out
    assert bitmapist.get_event_names() == []  # the README ends by deleting everything
