"""The classic bitmapist 3.x key layout, with a configurable prefix.

| what | key |
| month | `<prefix><event>_<Y>-<m>` |
| ISO week | `<prefix><event>_W<isoY>-<isoW>` |
| day | `<prefix><event>_<Y>-<m>-<d>` |
| hour | `<prefix><event>_<Y>-<m>-<d>-<H>` |
| unique | `<prefix><event>_u` |
| bit operation | `<prefix>bitop_<OP>_<input keys joined by ->` |
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_PREFIX = "trackist_"


@dataclass(frozen=True, slots=True)
class KeyScheme:
    """Builds and parses keys for one key prefix."""

    prefix: str = DEFAULT_PREFIX

    def month(self, event: str, year: int, month: int) -> str:
        return f"{self.prefix}{event}_{year}-{month}"

    def week(self, event: str, iso_year: int, iso_week: int) -> str:
        return f"{self.prefix}{event}_W{iso_year}-{iso_week}"

    def day(self, event: str, year: int, month: int, day: int) -> str:
        return f"{self.prefix}{event}_{year}-{month}-{day}"

    def hour(self, event: str, year: int, month: int, day: int, hour: int) -> str:
        return f"{self.prefix}{event}_{year}-{month}-{day}-{hour}"

    def unique(self, event: str) -> str:
        return f"{self.prefix}{event}_u"

    def bitop(self, op: str, input_keys: Iterable[str]) -> str:
        return f"{self.prefix}bitop_{op}_{'-'.join(input_keys)}"

    @property
    def all_pattern(self) -> str:
        """A SCAN/KEYS pattern matching every key of this prefix."""
        return f"{glob_escape(self.prefix)}*"

    @property
    def bitop_pattern(self) -> str:
        return f"{glob_escape(self.prefix)}bitop_*"

    def event_name(self, key: str) -> str | None:
        """The event a stored key belongs to, or None for bit-operation and foreign keys."""
        if not key.startswith(self.prefix):
            return None
        rest = key[len(self.prefix) :]
        if rest.startswith("bitop_") or "_" not in rest:
            return None
        return rest.rsplit("_", 1)[0]


def glob_escape(text: str) -> str:
    """Escape Redis glob metacharacters so `text` matches only itself."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
