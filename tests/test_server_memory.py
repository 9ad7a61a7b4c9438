"""The server under budgets far below its data: every key is evicted (packed or dropped)
and reloaded again and again between pipelined SETBITs, and nothing is lost or wrong,
also across kill -9."""

from __future__ import annotations

import random
import threading
import time

from .bitmapist_server import BitmapistServerProcess
from .resp_client import EOF, RawConnection, command

# A few sparse keys' decoded size each: every turn evicts some of them.
TINY = ("--hot-bytes", "30000", "--cache-bytes", "60000", "--checkpoint-interval", "0")
KEYS = 30


def _batches(seed: int):
    """Pipelined batches of SETBITs over many keys, ~1 id per CRoaring container."""
    rng = random.Random(seed)
    while True:
        yield [(b"k%d" % rng.randrange(KEYS), rng.randrange(2**24)) for _ in range(60)]


def _writer(port: int, seed: int, acked: list, stop: threading.Event) -> None:
    """Pipelines SETBIT batches and records each (key, offset) whose reply arrived."""
    try:
        with RawConnection(port, timeout=10) as conn:
            for batch in _batches(seed):
                if stop.is_set():
                    return
                conn.send(b"".join(command("SETBIT", key, offset, "1") for key, offset in batch))
                for key, offset in batch:
                    if conn.reply() == EOF:
                        return
                    acked.append((key, offset))
    except OSError:
        return


def _missing(server: BitmapistServerProcess, bits: dict[bytes, set[int]]) -> list:
    """The (key, offset) pairs of `bits` that the server does not have set."""
    client = server.client()
    try:
        pipe = client.pipeline(transaction=False)
        pairs = [(key, offset) for key, offsets in bits.items() for offset in offsets]
        for key, offset in pairs:
            pipe.getbit(key, offset)
        return [pair for pair, bit in zip(pairs, pipe.execute()) if bit != 1]
    finally:
        client.close()


def _counts(server: BitmapistServerProcess) -> dict[bytes, int]:
    client = server.client()
    try:
        return {key: client.bitcount(key) for key in (b"k%d" % n for n in range(KEYS))}
    finally:
        client.close()


def test_pipelined_setbits_under_tiny_budgets_read_back_exactly(tmp_path):
    server = BitmapistServerProcess(tmp_path, *TINY)
    try:
        model: dict[bytes, set[int]] = {}
        with RawConnection(server.port) as conn:
            for batch, _ in zip(_batches(1), range(150)):
                conn.send(b"".join(command("SETBIT", key, offset, "1") for key, offset in batch))
                for key, offset in batch:
                    before = offset in model.setdefault(key, set())
                    assert conn.reply() == b":%d\r\n" % before  # the previous bit, right
                    model[key].add(offset)
        info = server.client().info("memory")
        assert info["bitmap_cache_bytes"] <= 60_000
        assert info["loaded_bitmaps"] < KEYS  # the coldest were dropped, not only packed
        for _ in range(2):  # (then again after a checkpoint and a restart)
            assert not _missing(server, model)
            assert _counts(server) == {key: len(model.get(key, ())) for key in _counts(server)}
            server.client().save()
            server.terminate()
            server.start()
    finally:
        server.stop()


def test_acknowledged_setbits_on_evicted_keys_survive_kill_9(tmp_path):
    server = BitmapistServerProcess(tmp_path, *TINY)
    rng = random.Random(11)
    try:
        all_acked: list[tuple[bytes, int]] = []
        for round_ in range(3):
            acked: list[tuple[bytes, int]] = []
            stop = threading.Event()
            writers = [
                threading.Thread(target=_writer, args=(server.port, round_ * 10 + n, acked, stop))
                for n in range(2)
            ]
            for thread in writers:
                thread.start()
            time.sleep(rng.uniform(0.3, 0.8))
            server.kill()
            stop.set()
            for thread in writers:
                thread.join(10)
            all_acked.extend(acked)
            server.start()
            acked_bits: dict[bytes, set[int]] = {}
            for key, offset in all_acked:
                acked_bits.setdefault(key, set()).add(offset)
            missing = _missing(server, acked_bits)
            assert not missing, f"{len(missing)} acknowledged bits lost"
        assert len(all_acked) > 1000  # the writers really wrote
    finally:
        server.stop()
