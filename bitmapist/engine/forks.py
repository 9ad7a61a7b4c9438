"""Which process this is, cheaply: a counter bumped in every forked child.

An engine remembers the generation it connected in; a different one means it was
inherited across fork() and must not touch its parent's SQLite connection. (Comparing
`os.getpid()` costs a system call on every write.)
"""

from __future__ import annotations

import os

generation = 0


def _forked() -> None:
    global generation
    generation += 1


os.register_at_fork(after_in_child=_forked)
