"""The id-sharded key layout of `RedisClusterStore`: pure arithmetic, no I/O.

User ids are split into S shards by *byte*: the byte `b = id >> 3` of a logical bitmap
lives in shard `b % S`, as byte `b // S` of that shard's bitmap. So

- sequential ids spread evenly (eight consecutive ids per shard, round robin), and each
  shard's bitmap stays dense;
- a logical bitmap is exactly the byte-interleave of its shard bitmaps, so the single
  Redis string (and its length, which BITOP NOT depends on) can be rebuilt exactly.

A shard's physical key is `{<tag>}<logical key>`: the tag is the first `{...}` of the key,
so every key of one shard hashes to the tag's slot, whatever braces the logical key holds.
Tags are chosen so that shard s hashes into the s-th of S equal slot ranges: with masters
owning equal slot ranges (what `redis-cli --cluster create` does) and S a multiple of the
number of masters, every master holds S / masters shards.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from redis.crc import key_slot

from ..errors import InvalidInput

SLOTS = 16384
MAX_SHARDS = 1024  # tag search cost grows with S squared; 1024 shards is far beyond need
LAYOUT_VERSION = 1


@dataclass(frozen=True)
class ShardLayout:
    """S shards and their hash tags (fixed when a data set is created)."""

    shards: int
    tags: tuple[str, ...]

    def __post_init__(self) -> None:
        check_shards(self.shards)
        if len(self.tags) != self.shards or len(set(self.tags)) != self.shards:
            raise InvalidInput(f"shard layout needs {self.shards} distinct tags, got {self.tags!r}")
        object.__setattr__(self, "_tag_set", frozenset(self.tags))

    @classmethod
    def create(cls, shards: int) -> ShardLayout:
        """A new layout whose shard s hashes into the s-th of `shards` equal slot ranges."""
        check_shards(shards)
        return cls(shards, tuple(_pick_tag(s, shards) for s in range(shards)))

    # --- persistence (the layout key's value)

    def to_json(self) -> str:
        return json.dumps({"version": LAYOUT_VERSION, "shards": self.shards, "tags": self.tags})

    @classmethod
    def from_json(cls, text: str | bytes) -> ShardLayout:
        data = json.loads(text)
        if data.get("version") != LAYOUT_VERSION:
            raise InvalidInput(
                f"cluster layout version {data.get('version')!r} is unknown: "
                f"this bitmapist reads version {LAYOUT_VERSION}"
            )
        return cls(int(data["shards"]), tuple(data["tags"]))

    # --- keys

    def slot(self, shard: int) -> int:
        """The cluster slot every key of `shard` lives in."""
        return key_slot(self.tags[shard].encode())

    def physical(self, shard: int, key: str) -> str:
        """The key holding `shard`'s part of the logical bitmap `key`."""
        return "{" + self.tags[shard] + "}" + key

    def logical(self, physical: str) -> str | None:
        """The logical key of a physical key of this layout, else None."""
        if not physical.startswith("{"):
            return None
        end = physical.find("}")
        if end < 0 or physical[1:end] not in self._tag_set:
            return None
        return physical[end + 1 :]

    # --- offsets

    def shard_of(self, offset: int) -> int:
        return (offset >> 3) % self.shards

    def local(self, offset: int) -> int:
        """The bit offset of global id `offset` inside its shard's bitmap."""
        return ((offset >> 3) // self.shards) << 3 | (offset & 7)

    def split(self, offsets: Iterable[int]) -> dict[int, list[int]]:
        """Global offsets grouped by shard, as local offsets (order kept)."""
        shards = self.shards
        by_shard: dict[int, list[int]] = defaultdict(list)
        for offset in offsets:
            byte = offset >> 3
            by_shard[byte % shards].append((byte // shards) << 3 | (offset & 7))
        return by_shard

    # --- lengths and strings

    def global_length(self, shard_lengths: Sequence[int]) -> int:
        """The logical bitmap's byte length, given each shard string's byte length."""
        shards = self.shards
        return max(
            (
                (length - 1) * shards + shard + 1
                for shard, length in enumerate(shard_lengths)
                if length
            ),
            default=0,
        )

    def shard_length(self, shard: int, global_length: int) -> int:
        """How many bytes of `shard` a logical string of `global_length` bytes spans."""
        if global_length <= shard:
            return 0
        return (global_length - shard + self.shards - 1) // self.shards

    def join(self, parts: Sequence[bytes | None]) -> bytes:
        """The logical Redis string from each shard's string (None: missing key)."""
        shards = self.shards
        lengths = [len(part) if part else 0 for part in parts]
        total = self.global_length(lengths)
        if not total:
            return b""
        width = max(lengths)
        out = bytearray(width * shards)
        for shard, part in enumerate(parts):
            if part:
                out[shard::shards] = part.ljust(width, b"\0")  # bytes interleave at C speed
        del out[total:]
        return bytes(out)


def check_shards(shards: object) -> int:
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS:
        raise InvalidInput(
            f"shards {shards!r} is out of range: expected an integer in [1, {MAX_SHARDS}]"
        )
    return shards


def _pick_tag(shard: int, shards: int) -> str:
    """The first tag `bm<shard>.<n>` hashing into the middle half of the shard's slot range
    (the middle, so the tag stays with the right master even if range edges are off by one)."""
    low = shard * SLOTS / shards
    width = SLOTS / shards
    lo, hi = int(low + width / 4), int(low + 3 * width / 4)
    hi = max(hi, lo)  # one-slot window when ranges are narrower than 4 slots
    n = 0
    while True:
        tag = f"bm{shard}.{n}"
        if lo <= key_slot(tag.encode()) <= hi:
            return tag
        n += 1
