"""Start real redis-server processes for tests: free loopback ports, temp dirs, no skipping."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not installed: run `apt-get install -y redis-server` "
            "(scripts/test.sh does this for you)"
        )
    return binary


class RedisServer:
    """One redis-server on 127.0.0.1, in its own directory, killed on `stop()`."""

    def __init__(self, workdir: Path, *extra_args: str, port: int | None = None):
        self.port = port or free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--logfile",
            str(workdir / "redis.log"),
            *extra_args,
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.workdir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{log}")
            try:
                if self.client(socket_timeout=1).ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not answer within {timeout}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def redis_cli_binary() -> str:
    binary = shutil.which("redis-cli")
    if binary is None:
        raise RuntimeError(
            "redis-cli is not installed: run `apt-get install -y redis-tools` "
            "(it comes with the redis-server package)"
        )
    return binary


class RedisCluster:
    """A real Redis Cluster on 127.0.0.1: `masters` masters with `replicas` replicas each.

    Each node is a `redis-server --cluster-enabled yes` in its own directory (its
    nodes.conf survives a `kill_node` so `restart_node` rejoins the cluster, as a
    replica if its replica was promoted meanwhile). `node_timeout_ms` is the cluster's
    failure-detection time: short, so failover tests run in seconds.
    """

    def __init__(
        self, workdir: Path, *, masters: int = 3, replicas: int = 0, node_timeout_ms: int = 1000
    ):
        self.workdir = workdir
        self.node_timeout_ms = node_timeout_ms
        self.ports = [free_port() for _ in range(masters * (1 + replicas))]
        self.bus_ports = [free_port() for _ in self.ports]
        self.nodes: list[RedisServer | None] = [self._start(i) for i in range(len(self.ports))]
        try:
            subprocess.run(
                [
                    redis_cli_binary(),
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{port}" for port in self.ports),
                    "--cluster-replicas",
                    str(replicas),
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _start(self, index: int) -> RedisServer:
        return RedisServer(
            self.workdir / f"node{index}",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            str(self.node_timeout_ms),
            "--cluster-port",
            str(self.bus_ports[index]),
            port=self.ports[index],
        )

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def client(self, **kwargs) -> redis.cluster.RedisCluster:
        import redis.cluster

        alive = [port for port, node in zip(self.ports, self.nodes) if node is not None]
        return redis.cluster.RedisCluster(
            startup_nodes=[redis.cluster.ClusterNode("127.0.0.1", port) for port in alive],
            **kwargs,
        )

    def node_client(self, index: int, **kwargs) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.ports[index], **kwargs)

    def master_indexes(self) -> list[int]:
        """Indexes of the running nodes that are currently masters."""
        return [
            i
            for i, node in enumerate(self.nodes)
            if node is not None and self.node_client(i).info("replication")["role"] == "master"
        ]

    def flush(self) -> None:
        """Empty every master (replicas follow)."""
        for i in self.master_indexes():
            self.node_client(i).flushall()

    def kill_node(self, index: int) -> None:
        """SIGKILL one node, as a crash would."""
        node = self.nodes[index]
        if node is not None:
            node.stop()
            self.nodes[index] = None

    def restart_node(self, index: int) -> None:
        """Start a killed node again on its port, with its nodes.conf."""
        if self.nodes[index] is None:
            self.nodes[index] = self._start(index)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Wait until every running node reports cluster_state:ok and sees the same
        masters, and every running replica is in sync with its master."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                last = self._health_problem()
            except redis.exceptions.RedisError as exc:
                last = repr(exc)
            if not last:
                return
            time.sleep(0.1)
        raise RuntimeError(f"redis cluster not healthy after {timeout}s: {last}")

    def _health_problem(self) -> str:
        for i, node in enumerate(self.nodes):
            if node is None:
                continue
            client = self.node_client(i, socket_timeout=2)
            state = client.cluster("info")
            if state.get("cluster_state") != "ok":
                return f"node {i} not ok: {state}"
            replication = client.info("replication")
            if replication["role"] == "slave" and replication.get("master_link_status") != "up":
                return f"replica {i} not in sync"
            if state.get("cluster_slots_ok") != "16384":
                return f"node {i} does not see every slot served"
        return ""

    def stop(self) -> None:
        for i in range(len(self.nodes)):
            self.kill_node(i)
