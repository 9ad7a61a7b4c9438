"""`RedisStore` talks to Redis on one connection per thread (per process after a fork).

These pin what that must not break: threads never share a reply stream, a dropped
connection is replaced transparently, an error reply leaves the stream in step, a forked
child never uses its parent's socket, and a pipeline store only queues.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

import pytest

import bitmapist
from bitmapist import Bitmapist, StoreError
from bitmapist.stores.redis import RedisStore

from .servers import RedisServer

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


@pytest.fixture
def store(redis_client) -> RedisStore:
    store = RedisStore(redis_client)
    yield store
    store.close()


def _named_connections(redis_client, name: str) -> int:
    return sum(1 for client in redis_client.client_list() if client.get("name") == name)


def _named_connections_settled(redis_client, name: str, expected: int) -> int:
    """The count once Redis has seen a close: it drops a client when its event loop reads
    the end of the socket, which may come after our next command on a loaded machine."""
    deadline = time.monotonic() + 10  # only catches a connection that never closes
    while (count := _named_connections(redis_client, name)) != expected:
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    return count


def test_threads_each_get_their_own_reply_stream(store: RedisStore) -> None:
    client = Bitmapist(store)
    errors: list[BaseException] = []

    def work(thread_no: int) -> None:
        try:
            for uuid in range(thread_no * 1000, thread_no * 1000 + 200):
                client.mark_event(f"t{thread_no}", uuid, now=NOW)
                # a reply meant for another thread would show up as a wrong answer here
                assert uuid in client.DayEvents(f"t{thread_no}", 2026, 11, 28)
                assert len(client.DayEvents(f"t{thread_no}", 2026, 11, 28)) == uuid % 1000 + 1
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(client.get_event_names()) == [f"t{n}" for n in range(6)]


def test_a_killed_connection_is_replaced(store: RedisStore, redis_server: RedisServer) -> None:
    client = Bitmapist(store)
    client.mark_event("active", 7, now=NOW)
    assert len(client.MonthEvents("active", 2026, 11)) == 1
    admin = redis_server.client()  # its own pool: never the store's connection
    killed = admin.client_kill_filter(_type="normal", skipme=True)
    admin.close()
    assert killed >= 1
    client.mark_event("active", 8, now=NOW)  # the first attempt meets a closed socket
    assert list(client.MonthEvents("active", 2026, 11)) == [7, 8]


def test_an_error_reply_leaves_the_stream_in_step(store: RedisStore, redis_client) -> None:
    client = Bitmapist(store)
    client.mark_event("active", 3, now=NOW)
    redis_client.rpush("trackist_broken_2026-11", "not a bitmap")
    broken = client.MonthEvents("broken", 2026, 11) & client.MonthEvents("active", 2026, 11)
    with pytest.raises(StoreError, match="WRONGTYPE"):
        len(broken)
    with pytest.raises(StoreError, match="WRONGTYPE"):
        client.mark_event("broken", 1, now=NOW)  # inside MULTI/EXEC
    # the replies after each error were read: the next answers are this query's own
    assert len(client.MonthEvents("active", 2026, 11)) == 1
    assert 3 in client.DayEvents("active", 2026, 11, 28)
    assert 4 not in client.DayEvents("active", 2026, 11, 28)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
def test_a_forked_child_opens_its_own_connection(store: RedisStore) -> None:
    client = Bitmapist(store)
    client.mark_event("active", 1, now=NOW)
    assert len(client.MonthEvents("active", 2026, 11)) == 1  # the parent's connection exists
    pid = os.fork()
    if pid == 0:  # child: write and read through the inherited store, report by exit code
        code = 1
        try:
            client.mark_event("active", 2, now=NOW)
            code = 0 if list(client.MonthEvents("active", 2026, 11)) == [1, 2] else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # the parent's stream was not disturbed by the child
    client.mark_event("active", 3, now=NOW)
    assert list(client.MonthEvents("active", 2026, 11)) == [1, 2, 3]


def test_close_closes_this_threads_connection(redis_server: RedisServer, redis_client) -> None:
    store = RedisStore(redis_server.client(client_name="close-test"))
    store.count(Bitmapist(store).MonthEvents("active", 2026, 11).expression)
    assert _named_connections(redis_client, "close-test") == 1
    store.close()
    assert _named_connections_settled(redis_client, "close-test", 0) == 0


def test_a_pipeline_store_only_queues(redis_client) -> None:
    pipe = redis_client.pipeline(transaction=False)
    bitmapist.mark_event("active", 5, system=pipe, now=NOW, use_pipeline=False)
    assert redis_client.dbsize() == 0
    pipe.execute()
    assert redis_client.getbit("trackist_active_2026-11-28", 5) == 1
    # reads through a pipeline system go straight to the server
    assert 5 in bitmapist.DayEvents("active", 2026, 11, 28, system=pipe)


def test_one_client_per_pipeline_and_the_pipeline_is_still_collected(redis_client) -> None:
    import gc
    import weakref

    pipe = redis_client.pipeline(transaction=False)
    assert bitmapist.get_client(pipe) is bitmapist.get_client(pipe)
    for uuid in range(3):
        bitmapist.mark_event("active", uuid, system=pipe, now=NOW, use_pipeline=False)
    pipe.execute()
    assert list(bitmapist.DayEvents("active", 2026, 11, 28, system=redis_client)) == [0, 1, 2]
    collected = weakref.ref(pipe)
    del pipe
    gc.collect()
    assert collected() is None
