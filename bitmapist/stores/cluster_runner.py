"""Run per-shard command lists on a Redis Cluster: one pipeline per node, all nodes in
flight at once, retried through failovers and slot moves.

`ShardRunner.run({shard: [command, ...]})` returns `{shard: [reply, ...]}`. A shard is
one slot (all its keys share a hash tag), so its commands all go to the node serving that
slot. The callers only send idempotent commands (SETBIT, BITOP, GET, DEL, ...), which is
what makes "refresh the slot map and run the failed shards again" safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any, TypeVar

import redis
from redis.cluster import ClusterNode, RedisCluster

from ..errors import StoreError

Command = tuple[Any, ...]
T = TypeVar("T")

# Answers meaning "this node cannot serve the slot right now": refresh the map and retry.
_RETRY_PREFIXES = ("MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "LOADING", "READONLY", "MASTERDOWN")
_RETRY_ERRORS = (
    redis.exceptions.MovedError,
    redis.exceptions.AskError,
    redis.exceptions.TryAgainError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.ReadOnlyError,
)
NETWORK_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class _Retry(Exception):
    """A shard's commands must run again once the slot map is refreshed."""


class ShardRunner:
    """Runs command lists for shards living in `slots[shard]` of `cluster`.

    `retry_timeout`: how long failed shards keep being retried before `StoreError`.
    `wait_replicas`: atomic runs end each node's pipeline with `WAIT wait_replicas`, and a
    node whose replicas do not all acknowledge within `wait_timeout_ms` counts as failed.
    """

    def __init__(
        self,
        cluster: RedisCluster,
        slots: Sequence[int],
        *,
        retry_timeout: float,
        wait_replicas: int = 0,
        wait_timeout_ms: int = 1000,
    ):
        self.cluster = cluster
        self.slots = list(slots)
        self.retry_timeout = retry_timeout
        self.wait_replicas = wait_replicas
        self.wait_timeout_ms = wait_timeout_ms

    def run(
        self, programs: dict[int, list[Command]], *, atomic: bool, wait: bool | None = None
    ) -> dict[int, list[Any]]:
        """Run each shard's commands; return each shard's replies.

        `atomic` wraps each shard in MULTI/EXEC. `wait` (default: `atomic`, i.e. writes)
        ends each node's pipeline with WAIT when `wait_replicas` is set.
        Shards whose node failed, moved the slot or missed the WAIT run again after a
        slot-map refresh, until `retry_timeout`. A command the server refuses (wrong type,
        ...) raises `StoreError` at once: retrying would not help.
        """
        results: dict[int, list[Any]] = {}
        pending = dict(programs)
        deadline = time.monotonic() + self.retry_timeout
        delay = 0.02
        wait = atomic if wait is None else wait
        while pending:
            failed: dict[int, BaseException] = {}
            refused: list[StoreError] = []
            for node, conn, shards in self._send(pending, atomic, wait, failed):
                self._receive(node, conn, shards, pending, atomic, wait, results, failed, refused)
            if refused:
                raise refused[0]
            for shard in results:
                pending.pop(shard, None)
            if not failed:
                break
            if time.monotonic() > deadline:
                error = next(iter(failed.values()))
                raise StoreError(
                    f"redis cluster could not run the commands of {len(failed)} shard(s) within "
                    f"{self.retry_timeout}s: {error}"
                ) from error
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
            self.refresh()
        return results

    def with_retry(self, work: Callable[[], T]) -> T:
        """`work()`, run again after a slot-map refresh while the cluster is failing over."""
        deadline = time.monotonic() + self.retry_timeout
        while True:
            try:
                return work()
            except (*NETWORK_ERRORS, redis.exceptions.ResponseError) as exc:
                if time.monotonic() > deadline or not retriable(exc):
                    raise StoreError(f"redis cluster failed: {exc}") from exc
            time.sleep(0.1)
            self.refresh()

    def refresh(self) -> None:
        """Reload the slot map (no node answering yet is fine: the next try reloads again)."""
        with suppress(redis.exceptions.RedisError):
            self.cluster.nodes_manager.initialize()

    def node_of(self, shard: int) -> ClusterNode:
        return self.cluster.nodes_manager.get_node_from_slot(self.slots[shard])

    def _send(
        self,
        pending: dict[int, list[Command]],
        atomic: bool,
        wait: bool,
        failed: dict[int, BaseException],
    ) -> list[tuple[ClusterNode, Any, list[int]]]:
        by_node: dict[str, tuple[ClusterNode, list[int]]] = {}
        for shard in pending:
            try:
                node = self.node_of(shard)
            except redis.exceptions.RedisError as exc:  # the slot has no master right now
                failed[shard] = exc
                continue
            by_node.setdefault(node.name, (node, []))[1].append(shard)
        in_flight = []
        for node, shards in by_node.values():
            commands: list[Command] = []
            for shard in shards:
                if atomic:
                    commands.append(("MULTI",))
                commands.extend(pending[shard])
                if atomic:
                    commands.append(("EXEC",))
            if wait and self.wait_replicas:
                commands.append(("WAIT", self.wait_replicas, self.wait_timeout_ms))
            pool = node.redis_connection.connection_pool
            conn = None
            try:
                conn = pool.get_connection()
                conn.send_packed_command(conn.pack_commands(commands), check_health=False)
            except NETWORK_ERRORS as exc:
                if conn is not None:
                    conn.disconnect()
                    pool.release(conn)
                failed.update((shard, exc) for shard in shards)
                continue
            in_flight.append((node, conn, shards))
        return in_flight

    def _receive(
        self,
        node: ClusterNode,
        conn: Any,
        shards: list[int],
        pending: dict[int, list[Command]],
        atomic: bool,
        wait: bool,
        results: dict[int, list[Any]],
        failed: dict[int, BaseException],
        refused: list[StoreError],
    ) -> None:
        """Read every reply of one node's pipeline (even after an error, to stay in step)."""
        pool = node.redis_connection.connection_pool
        done: dict[int, list[Any]] = {}
        try:
            for shard in shards:
                try:
                    done[shard] = _read_shard(conn, len(pending[shard]), atomic)
                except _Retry as exc:
                    failed[shard] = exc.__cause__ or exc
                except StoreError as exc:
                    refused.append(exc)
            if wait and self.wait_replicas:
                acked = conn.read_response()
                if acked < self.wait_replicas:
                    error = StoreError(
                        f"node {node.name} got {acked} of {self.wait_replicas} replica "
                        f"acknowledgements within {self.wait_timeout_ms} ms"
                    )
                    failed.update((shard, error) for shard in done)
                    done.clear()
        except NETWORK_ERRORS as exc:
            conn.disconnect()
            failed.update((shard, exc) for shard in shards if shard not in failed)
            done.clear()
        finally:
            pool.release(conn)
        results.update(done)


def _read_shard(conn: Any, count: int, atomic: bool) -> list[Any]:
    """Read one shard's replies off `conn` (always all of them, to keep it in step)."""
    errors: list[BaseException] = []

    def read() -> Any:
        try:
            return conn.read_response()
        except redis.exceptions.ResponseError as exc:
            errors.append(exc)
            return exc

    if atomic:
        read()  # MULTI
        for _ in range(count):
            read()  # QUEUED, or an error that aborts the transaction
        replies = read()  # EXEC
    else:
        replies = [read() for _ in range(count)]
    if isinstance(replies, list):
        errors.extend(r for r in replies if isinstance(r, BaseException))
    for error in errors:
        if retriable(error):
            raise _Retry() from error
    if errors:
        raise StoreError(f"redis cluster refused the operation: {errors[0]}") from errors[0]
    return replies


def retriable(error: BaseException) -> bool:
    """Whether an error means "try again once the slot map is fresh"."""
    if isinstance(error, NETWORK_ERRORS + _RETRY_ERRORS):
        return True
    return str(error).startswith(_RETRY_PREFIXES)
