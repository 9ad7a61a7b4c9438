"""`RedisClusterStore`: bitmaps sharded by user id over a Redis Cluster.

Upstream bitmapist cannot run on a cluster: a BITOP over keys in different slots fails
with CROSSSLOT. Here each logical bitmap is split into S shard bitmaps (see `shards.py`),
and every key of one shard carries the shard's hash tag, so all of a shard's keys share a
slot. An expression is evaluated per shard (BITOPs into temporary keys of that shard) and
the shards' answers are combined on the client: counts add up, bitmaps interleave back.

Commands for all shards go out as one pipeline per node, every node in flight at once.
Writes run as one MULTI/EXEC per shard: atomic per shard, not across shards (a cluster
has no cross-slot transactions). Every command used is idempotent, so a node that fails
or loses its slots mid-batch is retried after refreshing the slot map, until
`retry_timeout`: a batch that returns was applied in full.

Durability: with `wait_replicas=N`, each node's part of a write batch (bits, deletes,
compaction) ends with `WAIT N`, and the batch returns only once N replicas of every
involved master have acknowledged it (otherwise it is retried, then `StoreError`). With
one replica per master this means: a write that returned survives the loss of any one
node, including a master whose replica is then promoted. While a master has fewer than N
replicas in sync (for example right after a failover), writes to its shards wait, then
fail; none is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis
from pyroaring import BitMap
from redis.cluster import ClusterNode, RedisCluster

from ..bitbytes import iter_offsets, to_bitmap, to_redis_string
from ..bitops import SizedBitmap
from ..errors import InvalidInput, StoreError
from ..expressions import Expr, Op, leaf_keys, ops_bottom_up
from .base import BitChange, Store
from .cluster_runner import Command, ShardRunner
from .redis_common import DELETE_CHUNK, binary_cluster, merge_commands, sized, worth_merging
from .shards import ShardLayout, check_shards

#: Where the layout (S and the shard tags) is stored, fixed at data-set creation.
LAYOUT_KEY = "bitmapist:cluster-layout"
#: S for new data sets: a multiple of 1, 2, 3, 4, 6, 8, 12 and 24 masters.
DEFAULT_SHARDS = 24

# The cluster's own threshold: one merged string becomes S shard merges (three commands
# each), so it pays off later than on a single Redis (256 there).
_MERGE_MAX_BYTES_PER_BIT = 64


# BITOP writes a new, exact-size string; it would drop a TTL, so the script puts it back.
_COMPACT_SCRIPT = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then return 0 end
redis.call('BITOP', 'OR', KEYS[1], KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""


class RedisClusterStore(Store):
    """A store on a Redis Cluster, sharding every bitmap by user id (see module docs).

    `client` is a `redis.cluster.RedisCluster`. `shards` (S) applies when the data set is
    new; an existing data set keeps the S it was created with, and asking for another
    raises `InvalidInput`. `bitop_ttl` is how long temporary BITOP results live (seconds;
    None keeps them). `wait_replicas` makes writes return only once that many replicas
    per master have them; `retry_timeout` bounds how long a batch keeps retrying through
    a failover or resharding before raising `StoreError`.
    """

    kind = "cluster"

    def __init__(
        self,
        client: RedisCluster,
        *,
        shards: int | None = None,
        bitop_ttl: float | None = 60.0,
        wait_replicas: int = 0,
        wait_timeout: float = 1.0,
        retry_timeout: float = 30.0,
    ):
        if shards is not None:
            check_shards(shards)
        if type(wait_replicas) is not int or wait_replicas < 0:
            raise InvalidInput(f"wait_replicas {wait_replicas!r} must be an integer >= 0")
        self.cluster: RedisCluster = binary_cluster(client)
        self.bitop_ttl_ms = None if bitop_ttl is None else max(1, int(bitop_ttl * 1000))
        # One layout per cluster: shard tags of two layouts could collide.
        self.layout_key = LAYOUT_KEY
        self.layout = self._load_layout(shards)
        self.runner = ShardRunner(
            self.cluster,
            [self.layout.slot(s) for s in range(self.layout.shards)],
            retry_timeout=retry_timeout,
            wait_replicas=wait_replicas,
            wait_timeout_ms=max(1, int(wait_timeout * 1000)),
        )
        self._run = self.runner.run

    @classmethod
    def from_url(
        cls, url: str, *, bitop_ttl: float | None = 60.0, **kwargs: Any
    ) -> RedisClusterStore:
        """Open `redis+cluster://host:port[,host:port...][?shards=24&wait_replicas=1]`
        (`rediss+cluster://` for TLS). Any listed node is enough to find the others."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("redis+cluster", "rediss+cluster"):
            raise InvalidInput(f"URL {url!r} is not a redis+cluster:// or rediss+cluster:// URL")
        options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        store_kwargs: dict[str, Any] = {}
        for name in ("shards", "wait_replicas"):
            if name in options:
                store_kwargs[name] = _int_option(url, name, options.pop(name))
        if options:
            raise InvalidInput(
                f"URL {url!r} has unknown options {sorted(options)}: expected shards, wait_replicas"
            )
        userinfo, _, hosts = parts.netloc.rpartition("@")
        username, _, password = userinfo.partition(":")
        nodes = []
        for hostport in hosts.split(","):
            host, _, port = hostport.rpartition(":")
            if not host or not port.isdigit():
                raise InvalidInput(f"URL {url!r}: node {hostport!r} is not host:port")
            nodes.append(ClusterNode(host.strip("[]"), int(port)))
        client_kwargs: dict[str, Any] = {"ssl": scheme == "rediss+cluster"}
        if username:
            client_kwargs["username"] = username
        if password:
            client_kwargs["password"] = password
        if "shards" in store_kwargs:
            check_shards(store_kwargs["shards"])  # before connecting: bad input first
        try:
            client = RedisCluster(startup_nodes=nodes, **client_kwargs, **kwargs)
        except redis.exceptions.RedisError as exc:
            raise StoreError(f"cannot connect to the redis cluster at {url!r}: {exc}") from exc
        return cls(client, bitop_ttl=bitop_ttl, **store_kwargs)

    def _load_layout(self, shards: int | None) -> ShardLayout:
        raw = self.cluster.get(self.layout_key)
        if raw is None:
            # SET NX: when two processes create the data set at once, one layout wins
            layout = ShardLayout.create(shards or DEFAULT_SHARDS)
            self.cluster.set(self.layout_key, layout.to_json(), nx=True)
            raw = self.cluster.get(self.layout_key)
        layout = ShardLayout.from_json(raw)
        if shards is not None and shards != layout.shards:
            raise InvalidInput(
                f"shards {shards} does not match this data set, created with {layout.shards} "
                f"shards (in {self.layout_key!r}): S is fixed at creation; open it with "
                f"shards={layout.shards} or None, or copy the data into a new cluster"
            )
        return layout

    # --- writes

    def set_bits(self, changes: Sequence[BitChange]) -> None:
        layout = self.layout
        shards = layout.shards
        programs: dict[int, list[Command]] = {}
        for key, offsets, value in changes:
            if value and worth_merging(offsets, _MERGE_MAX_BYTES_PER_BIT):
                # Dense: build the single-Redis string once; shard s's string is every S-th
                # byte of it from byte s (a C-speed slice), trailing zero bytes dropped.
                data = to_redis_string(offsets)
                for shard in range(shards):
                    part = data[shard::shards].rstrip(b"\0")
                    if part:
                        physical = layout.physical(shard, key)
                        programs.setdefault(shard, []).extend(merge_commands(physical, part))
                continue
            bit = 1 if value else 0
            for shard, local in layout.split(offsets).items():
                physical = layout.physical(shard, key)
                programs.setdefault(shard, []).extend(
                    ("SETBIT", physical, offset, bit) for offset in local
                )
        if programs:
            self._run(programs, atomic=True)

    # --- reads

    def get_bit(self, expr: Expr, offset: int) -> bool:
        shard = self.layout.shard_of(offset)
        local = self.layout.local(offset)
        replies = self._evaluate([expr], lambda key: ("GETBIT", key, local), only_shard=shard)
        return bool(replies[shard][0])

    def count(self, expr: Expr) -> int:
        return self.counts([expr])[0]

    def counts(self, exprs: Sequence[Expr]) -> list[int]:
        replies = self._evaluate(exprs, lambda key: ("BITCOUNT", key))
        return [sum(replies[shard][i] for shard in replies) for i in range(len(exprs))]

    def bitmap(self, expr: Expr) -> BitMap:
        return self.bitmaps([expr])[0]

    def bitmaps(self, exprs: Sequence[Expr]) -> list[BitMap]:
        return [to_bitmap(data) for data in self.strings(exprs)]

    def sized_bitmaps(self, exprs: Sequence[Expr]) -> list[SizedBitmap]:
        return sized(self.strings(exprs))

    def strings(self, exprs: Sequence[Expr]) -> list[bytes | None]:
        """The string a single Redis would hold for each expression (None where empty)."""
        replies = self._evaluate(exprs, lambda key: ("GET", key))
        shards = range(self.layout.shards)
        joined = [self.layout.join([replies[s][i] for s in shards]) for i in range(len(exprs))]
        return [data or None for data in joined]

    def ids(self, expr: Expr) -> Iterator[int]:
        data = self.strings([expr])[0]
        return iter_offsets(data) if data else iter(())

    def _evaluate(
        self,
        exprs: Sequence[Expr],
        read: Callable[[str], Command],
        only_shard: int | None = None,
    ) -> dict[int, list[Any]]:
        """Per shard: the BITOPs the expressions need, then `read(key)` of each result."""
        layout = self.layout
        not_lengths = self._not_lengths(exprs)
        shards = range(layout.shards) if only_shard is None else (only_shard,)
        programs: dict[int, list[Command]] = {}
        reads_start: dict[int, int] = {}
        for shard in shards:
            program: list[Command] = []
            done: set[str] = set()
            for expr in exprs:
                for op in ops_bottom_up(expr):
                    if op.name not in done:
                        done.add(op.name)
                        program.extend(self._op_commands(shard, op, not_lengths))
            reads_start[shard] = len(program)
            program.extend(read(layout.physical(shard, expr.name)) for expr in exprs)
            programs[shard] = program
        replies = self._run(programs, atomic=False)
        return {shard: replies[shard][reads_start[shard] :] for shard in shards}

    def _op_commands(self, shard: int, op: Op, not_lengths: dict[str, int]) -> list[Command]:
        physical = self.layout.physical
        dest = physical(shard, op.name)
        sources = [physical(shard, operand.name) for operand in op.operands]
        if op.op == "NOT":
            # Redis complements within the operand's byte length. A shard's string may be
            # shorter than its share of the logical length: copy, pad with zero bytes up to
            # that share (BITFIELD INCRBY 0 grows a string without changing a bit), negate.
            need = self.layout.shard_length(shard, not_lengths[op.name])
            commands: list[Command] = [("BITOP", "OR", dest, sources[0])]
            if need:
                commands.append(("BITFIELD", dest, "INCRBY", "u1", need * 8 - 1, 0))
            commands.append(("BITOP", "NOT", dest, dest))
        else:
            commands = [("BITOP", op.op, dest, *sources)]
        if self.bitop_ttl_ms is not None:
            commands.append(("PEXPIRE", dest, self.bitop_ttl_ms))
        return commands

    def _not_lengths(self, exprs: Sequence[Expr]) -> dict[str, int]:
        """For each NOT: the logical byte length of its operand, which is the longest of
        the operand's stored keys (AND/OR/XOR results are as long as their longest input)."""
        nots = {op.name: op for expr in exprs for op in ops_bottom_up(expr) if op.op == "NOT"}
        if not nots:
            return {}
        keys = sorted({key for op in nots.values() for key in leaf_keys(op.operands[0])})
        layout = self.layout
        programs = {
            shard: [("STRLEN", layout.physical(shard, key)) for key in keys]
            for shard in range(layout.shards)
        }
        replies = self._run(programs, atomic=False)
        key_length = {
            key: layout.global_length([replies[shard][i] for shard in range(layout.shards)])
            for i, key in enumerate(keys)
        }
        return {
            name: max(key_length[key] for key in leaf_keys(op.operands[0]))
            for name, op in nots.items()
        }

    # --- keys

    def scan_keys(self, pattern: str = "*") -> Iterator[str]:
        from ..engine.glob import compile_glob  # Redis's exact glob rules

        matches = compile_glob(pattern.encode())
        found: set[str] = set()

        def scan_all() -> None:
            # "{bm*}": every tag starts "bm"; the pattern is checked again on the logical key
            match = "{bm*}" + pattern
            for node in self.cluster.get_primaries():
                for physical in node.redis_connection.scan_iter(match=match, count=1000):
                    key = self.layout.logical(physical.decode("utf-8", "surrogateescape"))
                    if key is not None and matches(key.encode("utf-8", "surrogateescape")):
                        found.add(key)

        self.runner.with_retry(scan_all)
        return iter(found)

    def delete(self, keys: Iterable[str]) -> int:
        keys = list(dict.fromkeys(keys))
        layout = self.layout
        deleted = 0
        for start in range(0, len(keys), DELETE_CHUNK):
            chunk = keys[start : start + DELETE_CHUNK]
            programs = {
                shard: [("DEL", layout.physical(shard, key)) for key in chunk]
                for shard in range(layout.shards)
            }
            replies = self._run(programs, atomic=False, wait=True)
            deleted += sum(
                1 for i in range(len(chunk)) if any(replies[shard][i] for shard in replies)
            )
        return deleted

    def compact(self, keys: Iterable[str]) -> None:
        """Rewrite each key's shard strings at their exact size, keeping bits and TTL.

        Redis grows a string written bit by bit (SETBIT) with preallocation, up to twice
        its length below 1 MB; shard strings are usually that small. Run this on keys of
        closed periods (yesterday's days, last week, last month) to give that memory back.
        """
        layout = self.layout
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), DELETE_CHUNK):
            chunk = keys[start : start + DELETE_CHUNK]
            programs = {
                shard: [("EVAL", _COMPACT_SCRIPT, 1, layout.physical(shard, key)) for key in chunk]
                for shard in range(layout.shards)
            }
            self._run(programs, atomic=False, wait=True)

    def info(self) -> dict[str, Any]:
        shards_per_node: dict[str, int] = {}
        for shard in range(self.layout.shards):
            name = self.runner.node_of(shard).name
            shards_per_node[name] = shards_per_node.get(name, 0) + 1
        masters = []
        for node in self.cluster.get_primaries():
            conn = node.redis_connection
            memory = conn.info("memory")
            masters.append(
                {
                    "node": node.name,
                    "keys": conn.dbsize(),
                    "used_memory": memory.get("used_memory"),
                    "shards": shards_per_node.get(node.name, 0),
                }
            )
        return {
            "kind": self.kind,
            "shards": self.layout.shards,
            "keys": sum(m["keys"] for m in masters),
            "used_memory": sum(m["used_memory"] or 0 for m in masters),
            "masters": masters,
        }

    def close(self) -> None:
        self.cluster.close()


def _int_option(url: str, name: str, value: str) -> int:
    if not value.isdigit():
        raise InvalidInput(f"URL {url!r}: {name}={value!r} is not a non-negative integer")
    return int(value)
