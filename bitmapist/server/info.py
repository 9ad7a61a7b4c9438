"""INFO text and CLIENT LIST lines, in Redis's layout (`# Section` + `field:value` lines).

The `keyspace` section is byte-compatible with Redis's; other sections carry the fields
clients commonly read (redis_version, used_memory, connected_clients, ...) with this
server's own numbers. `INFO keys` is Doist bitmapist-server's extension: total keys and
bitmaps loaded in memory.
"""

from __future__ import annotations

import os
import resource
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .session import REDIS_VERSION

if TYPE_CHECKING:
    from .session import ServerState, Session

_PAGE = os.sysconf("SC_PAGE_SIZE")
#: INFO replication's master_replid: random per process, as Redis's.
_REPLID = secrets.token_hex(20)


def rss_bytes() -> int:
    """This process's resident set size."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def human_bytes(count: int) -> str:
    """Redis's `bytesToHuman`."""
    for unit, size in (("P", 1 << 50), ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20)):
        if count >= size:
            return f"{count / size:.2f}{unit}"
    if count >= 1024:
        return f"{count / 1024:.2f}K"
    return f"{count}B"


def _server(state: ServerState) -> list[str]:
    uptime = int(time.monotonic() - state.started_monotonic)
    return [
        f"redis_version:{REDIS_VERSION}",
        "redis_mode:standalone",
        "bitmapist_server:1",
        f"os:{os.uname().sysname} {os.uname().release} {os.uname().machine}",
        "arch_bits:64",
        "multiplexing_api:asyncio",
        f"python_version:{sys.version.split()[0]}",
        f"process_id:{os.getpid()}",
        f"tcp_port:{state.port}",
        f"uptime_in_seconds:{uptime}",
        f"uptime_in_days:{uptime // 86400}",
        f"executable:{sys.argv[0]}",
    ]


def _clients(state: ServerState) -> list[str]:
    return [
        f"connected_clients:{len(state.clients)}",
        f"maxclients:{state.settings.maxclients}",
        "blocked_clients:0",
    ]


def _memory(state: ServerState) -> list[str]:
    rss = rss_bytes()
    stats = state.keyspace.stats()
    return [
        f"used_memory:{rss}",
        f"used_memory_human:{human_bytes(rss)}",
        f"used_memory_rss:{rss}",
        f"used_memory_rss_human:{human_bytes(rss)}",
        f"bitmap_cache_bytes:{stats.get('cached_bytes', 0)}",
        f"loaded_bitmaps:{stats.get('loaded_bitmaps', 0)}",
        f"packed_bitmaps:{stats.get('packed_bitmaps', 0)}",
        "maxmemory:0",
        "maxmemory_human:0B",
        "maxmemory_policy:noeviction",
    ]


def _persistence(state: ServerState) -> list[str]:
    stats = state.keyspace.stats()
    return [
        "loading:0",
        f"rdb_changes_since_last_save:{state.changes_since_save}",
        f"rdb_bgsave_in_progress:{int(state.saving)}",
        f"rdb_last_save_time:{state.lastsave}",
        "rdb_last_bgsave_status:ok",
        "aof_enabled:0",
        f"journal_rows:{stats.get('journal_rows', 0)}",
        f"journal_bytes:{stats.get('journal_bytes', 0)}",
        f"db_file_bytes:{stats.get('file_bytes', 0)}",
    ]


def _stats(state: ServerState) -> list[str]:
    return [
        f"total_connections_received:{state.connections_received}",
        f"total_commands_processed:{state.commands_processed}",
        f"instantaneous_ops_per_sec:{state.ops_per_sec}",
        f"rejected_connections:{state.rejected_connections}",
        "evicted_keys:0",
        f"keyspace_hits:{state.keyspace_hits}",
        f"keyspace_misses:{state.keyspace_misses}",
        f"total_error_replies:{sum(state.error_replies.values())}",
        f"write_batches_committed:{state.batcher.commits}",
    ]


def _replication(state: ServerState) -> list[str]:
    """A master without replicas nor backlog, as Redis 7.0 reports one."""
    return [
        "role:master",
        "connected_slaves:0",
        "master_failover_state:no-failover",
        f"master_replid:{_REPLID}",
        "master_replid2:0000000000000000000000000000000000000000",
        "master_repl_offset:0",
        "second_repl_offset:-1",
        "repl_backlog_active:0",
        "repl_backlog_size:1048576",
        "repl_backlog_first_byte_offset:0",
        "repl_backlog_histlen:0",
    ]


def _cpu(state: ServerState) -> list[str]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return [f"used_cpu_sys:{usage.ru_stime:.6f}", f"used_cpu_user:{usage.ru_utime:.6f}"]


def _modules(state: ServerState) -> list[str]:
    return []


def _commandstats(state: ServerState) -> list[str]:
    """Calls per command; usec is not measured (0), an approximation."""
    names = set(state.command_calls) | set(state.rejected_calls) | set(state.failed_calls)
    return [
        f"cmdstat_{name}:calls={state.command_calls.get(name, 0)},usec=0,usec_per_call=0.00,"
        f"rejected_calls={state.rejected_calls.get(name, 0)},"
        f"failed_calls={state.failed_calls.get(name, 0)}"
        for name in sorted(names)
    ]


def _errorstats(state: ServerState) -> list[str]:
    return [
        f"errorstat_{code}:count={count}" for code, count in sorted(state.error_replies.items())
    ]


def _cluster(state: ServerState) -> list[str]:
    return ["cluster_enabled:0"]


def _keyspace(state: ServerState) -> list[str]:
    lines = []
    keyspace = state.keyspace
    now = time.time_ns() // 1_000_000
    for db in range(16):
        keys = keyspace.dbsize(db)
        if not keys:
            continue
        expiries = keyspace.expiries(db)
        avg_ttl = sum(max(0, at - now) for at in expiries) // len(expiries) if expiries else 0
        lines.append(f"db{db}:keys={keys},expires={len(expiries)},avg_ttl={avg_ttl}")
    return lines


def _keys(state: ServerState) -> list[str]:
    stats = state.keyspace.stats()
    return [f"keys:{stats.get('keys', 0)}", f"cached_keys:{stats.get('loaded_bitmaps', 0)}"]


SECTIONS: dict[bytes, tuple[str, Callable[[ServerState], list[str]]]] = {
    b"server": ("Server", _server),
    b"clients": ("Clients", _clients),
    b"memory": ("Memory", _memory),
    b"persistence": ("Persistence", _persistence),
    b"stats": ("Stats", _stats),
    b"replication": ("Replication", _replication),
    b"cpu": ("CPU", _cpu),
    b"modules": ("Modules", _modules),
    b"commandstats": ("Commandstats", _commandstats),
    b"errorstats": ("Errorstats", _errorstats),
    b"cluster": ("Cluster", _cluster),
    b"keyspace": ("Keyspace", _keyspace),
    b"keys": ("Keys", _keys),
}
_DEFAULT = [name for name in SECTIONS if name not in (b"keys", b"commandstats")]


def render(state: ServerState, names: Sequence[bytes]) -> bytes:
    """The INFO text for the requested section names (lowercase; empty = default), in
    Redis's order of sections whatever the order asked."""
    wanted: set[bytes] = set()
    for name in names or [b"default"]:
        if name == b"default":
            wanted.update(_DEFAULT)
        elif name in (b"all", b"everything"):
            wanted.update(SECTIONS)
        elif name in SECTIONS:
            wanted.add(name)
    blocks = []
    for name in SECTIONS:
        if name not in wanted:
            continue
        title, lines = SECTIONS[name]
        blocks.append("".join([f"# {title}\r\n"] + [line + "\r\n" for line in lines(state)]))
    return "\r\n".join(blocks).encode()


def client_line(state: ServerState, session: Session) -> str:
    """One CLIENT LIST / CLIENT INFO line."""
    age = int(time.monotonic() - session.created)
    name = (session.name or b"").decode("utf-8", "replace")
    multi = -1 if session.multi is None else len(session.multi)
    return (
        f"id={session.id} addr={session.addr} laddr={session.laddr} fd=-1 name={name} "
        f"age={age} idle=0 flags=N db={session.db} sub=0 psub=0 ssub=0 multi={multi} "
        f"qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 "
        f"tot-mem=0 events=r cmd={session.last_command.decode('utf-8', 'replace')} "
        f"user=default redir=-1 resp={session.protocol}"
    )
