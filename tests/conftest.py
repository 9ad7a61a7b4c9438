"""Shared fixtures: a real redis-server for the session, and stores parametrized by kind.

Every API test that takes `store` (or `client`) runs once per kind in STORE_KINDS.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import bitmapist
from bitmapist import Bitmapist
from bitmapist.stores.base import Store
from bitmapist.stores.redis import RedisStore

from .servers import RedisCluster, RedisServer

# Store kinds the shared API/contract tests run over. Each backend adds itself here and in
# STORE_FACTORIES (a function of the pytest request returning a fresh, empty store).
STORE_KINDS = ["redis", "cluster", "embedded", "server"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer):
    client = redis_server.client()
    client.flushall()
    yield client
    client.close()


def _redis_store(request: pytest.FixtureRequest) -> Store:
    return RedisStore(request.getfixturevalue("redis_client"))


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A real 3-master Redis Cluster for the session (no replicas: see test_cluster_failover)."""
    cluster = RedisCluster(tmp_path_factory.mktemp("cluster"), masters=3)
    yield cluster
    cluster.stop()


def _cluster_store(request: pytest.FixtureRequest) -> Store:
    from bitmapist.stores.cluster import RedisClusterStore

    cluster = request.getfixturevalue("redis_cluster")
    cluster.flush()  # every master: a fresh store must be empty (and gets a new layout)
    return RedisClusterStore(cluster.client())


def _embedded_store(request: pytest.FixtureRequest) -> Store:
    from bitmapist.stores.embedded import EmbeddedStore

    return EmbeddedStore(request.getfixturevalue("tmp_path") / "embedded.db")


@pytest.fixture(scope="session")
def bitmapist_server(tmp_path_factory: pytest.TempPathFactory):
    """A real bitmapist-server subprocess for the session (see tests/bitmapist_server.py),
    with Redis's own limits so that differential tests compare like with like. No timed
    background checkpoints: like a SAVE, one resets INFO's changes since the last save,
    which tests compare with a redis-server that saves only when told."""
    from .bitmapist_server import BitmapistServerProcess

    server = BitmapistServerProcess(
        tmp_path_factory.mktemp("bitmapist-server"),
        "--max-args",
        str(2**31 - 1),
        "--checkpoint-interval",
        "0",
    )
    yield server
    server.stop()


def _server_store(request: pytest.FixtureRequest) -> Store:
    client = request.getfixturevalue("bitmapist_server").client()
    client.flushall()
    return RedisStore(client)


STORE_FACTORIES = {
    "redis": _redis_store,
    "cluster": _cluster_store,
    "embedded": _embedded_store,
    "server": _server_store,
}


def make_store(kind: str, request: pytest.FixtureRequest) -> Store:
    return STORE_FACTORIES[kind](request)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    store = make_store(request.param, request)
    yield store
    store.close()


@pytest.fixture
def client(store: Store) -> Bitmapist:
    return Bitmapist(store)


@pytest.fixture
def default_system(client: Bitmapist) -> Iterator[Bitmapist]:
    """Point the 3.x module-level API (system "default") at `client` for one test."""
    saved = dict(bitmapist.SYSTEMS)
    saved_flags = bitmapist.TRACK_HOURLY, bitmapist.TRACK_UNIQUE
    bitmapist.SYSTEMS.clear()
    bitmapist.SYSTEMS["default"] = client
    yield client
    bitmapist.SYSTEMS.clear()
    bitmapist.SYSTEMS.update(saved)
    bitmapist.TRACK_HOURLY, bitmapist.TRACK_UNIQUE = saved_flags
