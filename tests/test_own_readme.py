"""The Python examples of our own README run as written (on every store kind).

Blocks that connect to a Redis server at a fixed address are shown for illustration and
skipped here; everything else runs against the test's default system.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parent.parent.joinpath("README.md").read_text()
BLOCKS = [b for b in re.findall(r"```python\n(.*?)```", README, flags=re.S) if "redis://" not in b]


def test_the_readme_has_runnable_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.usefixtures("default_system")
def test_own_readme_examples_run_in_order():
    namespace: dict[str, object] = {}
    for block in BLOCKS:
        exec(block, namespace)
