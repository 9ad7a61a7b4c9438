"""A do-nothing RESP server on asyncio (or uvloop): the floor of any Python asyncio server.

    python benchmarks/_floor_server.py PORT [asyncio|uvloop]

It answers each read of its socket with one reply and does no other work: `+PONG` when the
bytes hold PING, HELLO's map (redis-py's handshake), `+OK` for anything else. It reads into
a buffer it owns (`asyncio.BufferedProtocol`, as bitmapist-server does), so the event loop
does not allocate a receive buffer per read. Timed next to redis-server and
bitmapist-server (`_roundtrips.measure_reads`), its PING says how much of a round trip is
the event loop and the kernel, and how much is the server's own work per request.
"""

from __future__ import annotations

import asyncio
import sys

_HELLO = b"%1\r\n$5\r\nproto\r\n:3\r\n"


class _Floor(asyncio.BufferedProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = bytearray(1 << 16)

    def get_buffer(self, sizehint: int) -> bytearray:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        data = self.buffer[:nbytes]
        reply = b"+PONG\r\n" if b"PING" in data else _HELLO if b"HELLO" in data else b"+OK\r\n"
        self.transport.write(reply)  # type: ignore[attr-defined]


async def _serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Floor, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    port, loop = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "asyncio"
    if loop == "uvloop":
        import uvloop

        uvloop.run(_serve(port))
    else:
        asyncio.run(_serve(port))


if __name__ == "__main__":
    main()
