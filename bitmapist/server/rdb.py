"""DUMP payloads of string values, as Redis 7.0 writes and reads them (src/rdb.c,
src/cluster.c, src/crc64.c, src/lzf_c.c, src/lzf_d.c).

A payload is one RDB object (a type byte, 0 for a string, then the string's RDB
encoding), the RDB version (2 bytes, little-endian: 10 for Redis 7.0) and a CRC64 of
all that (Jones polynomial, reflected, 8 bytes little-endian). A string is written as a
32-bit integer when it is one in canonical form (at most 11 characters), LZF-compressed
when longer than 20 bytes and compression saves at least 4 bytes, else raw after its
length. CRC64 and LZF run in C (anycrc; python-neo-lzf, a binding of liblzf with the
settings Redis 7.0 builds it with: HLOG 16, VERY_FAST), so that payloads are
byte-identical to Redis's at C speed.
"""

from __future__ import annotations

import anycrc
import lzf

from .resp import strict_int

RDB_VERSION = 10
STRING = 0
#: RDB object types Redis 7.0 can load (`rdbIsObjectType`): other values than strings.
OBJECT_TYPES = frozenset((*range(0, 8), *range(9, 20)))


class BadPayload(ValueError):
    """A payload that is not a well-formed RDB string (Redis: "Bad data format")."""


# --- CRC64 and LZF, in C: both run on the event loop for every DUMP and RESTORE, and
# in Python they ran at a few MB/s (a 1 MiB DUMP took 0.4 s, every client waiting).

_CRC64 = anycrc.Model("CRC64-REDIS")


def crc64(data: bytes) -> int:
    """Redis's `crc64(0, data)`: Jones polynomial, reflected in and out, no final xor
    (crc64("123456789") is 0xe9c6d914c4b8d9ca)."""
    return _CRC64.calc(data)


def lzf_compress(data: bytes, out_len: int) -> bytes | None:
    """liblzf's `lzf_compress(data, out_len)` (Redis embeds liblzf 3.6 with its default
    settings, as the binding does); None when the output would not fit in `out_len` bytes,
    by liblzf's own conservative checks (as it returns 0)."""
    if not data or out_len < 2:
        return None
    # The binding hands liblzf one byte more room than it is asked for, and takes only
    # read-only bytes (a value may come as a bytearray or a memoryview).
    return lzf.compress(data if type(data) is bytes else bytes(data), out_len - 1)


def lzf_decompress(data: bytes, out_len: int) -> bytes:
    """liblzf's `lzf_decompress`, as Redis checks it: the `out_len` bytes `data` encodes,
    else BadPayload."""
    if out_len == 0:  # liblzf returns 0 whatever the input, which is the length asked
        return b""
    if out_len > 90 * len(data):  # past LZF's most (264 bytes from 3): never allocated
        raise BadPayload("LZF output longer than its input can encode")
    try:
        out = lzf.decompress(data if type(data) is bytes else bytes(data), out_len)
    except (ValueError, MemoryError) as error:  # a reference before the start; no room
        raise BadPayload("bad LZF data") from error
    if out is None or len(out) != out_len:
        raise BadPayload("LZF output of the wrong length")
    return out


# --- RDB strings


def _length(size: int) -> bytes:
    """`rdbSaveLen`."""
    if size < 64:
        return bytes((size,))
    if size < 16384:
        return bytes((0x40 | (size >> 8), size & 0xFF))
    if size <= 0xFFFFFFFF:
        return b"\x80" + size.to_bytes(4, "big")
    return b"\x81" + size.to_bytes(8, "big")


def encode_string(data: bytes) -> bytes:
    """`rdbSaveRawString` (and `rdbSaveStringObject`, which gives the same bytes)."""
    size = len(data)
    if size <= 11:
        number = strict_int(data)
        if number is not None and str(number).encode() == data:
            if -(2**7) <= number < 2**7:
                return b"\xc0" + number.to_bytes(1, "little", signed=True)
            if -(2**15) <= number < 2**15:
                return b"\xc1" + number.to_bytes(2, "little", signed=True)
            if -(2**31) <= number < 2**31:
                return b"\xc2" + number.to_bytes(4, "little", signed=True)
    if size > 20:
        packed = lzf_compress(data, size - 4)
        if packed is not None:
            return b"\xc3" + _length(len(packed)) + _length(size) + packed
    return _length(size) + data


def dump_payload(data: bytes) -> bytes:
    """DUMP's reply for a string value."""
    body = bytes((STRING,)) + encode_string(data) + RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def verify_payload(payload: bytes) -> bool:
    """`verifyDumpPayload`: a version Redis 7.0 reads and a matching checksum."""
    if len(payload) < 10:
        return False
    if int.from_bytes(payload[-10:-8], "little") > RDB_VERSION:
        return False
    return crc64(payload[:-8]).to_bytes(8, "little") == payload[-8:]


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.position = data, 0

    def take(self, size: int) -> bytes:
        if self.position + size > len(self.data):
            raise BadPayload("payload ends early")
        chunk = self.data[self.position : self.position + size]
        self.position += size
        return chunk

    def length(self) -> tuple[int, int | None]:
        """`rdbLoadLen`: (length, None) or (0, encoding) for an encoded string."""
        first = self.take(1)[0]
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, None
        if kind == 1:
            return ((first & 0x3F) << 8) | self.take(1)[0], None
        if kind == 3:
            return 0, first & 0x3F
        if first == 0x80:
            return int.from_bytes(self.take(4), "big"), None
        if first == 0x81:
            return int.from_bytes(self.take(8), "big"), None
        raise BadPayload(f"unknown length encoding {first:#x}")


def load_string(payload: bytes) -> bytes:
    """The string value of a verified payload (`rdbLoadObject` of a string), else
    BadPayload; a payload of another type raises TypeError with its RDB type. As in
    Redis, the object is read from the whole payload: a string may run into the footer,
    and bytes after it are ignored."""
    reader = _Reader(payload)
    kind = reader.take(1)[0]
    if kind != STRING:
        if kind in OBJECT_TYPES:
            raise TypeError(kind)
        raise BadPayload(f"unknown object type {kind}")
    size, encoding = reader.length()
    if encoding is None:
        return reader.take(size)
    if encoding in (0, 1, 2):
        width = 1 << encoding
        return str(int.from_bytes(reader.take(width), "little", signed=True)).encode()
    if encoding == 3:
        packed_size, packed_encoding = reader.length()
        size, size_encoding = reader.length()
        if packed_encoding is not None or size_encoding is not None:
            raise BadPayload("bad LZF lengths")
        return lzf_decompress(reader.take(packed_size), size)
    raise BadPayload(f"unknown string encoding {encoding}")
