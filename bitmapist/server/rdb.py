"""DUMP payloads of string values, as Redis 7.0 writes and reads them (src/rdb.c,
src/cluster.c, src/crc64.c, src/lzf_c.c, src/lzf_d.c).

A payload is one RDB object (a type byte, 0 for a string, then the string's RDB
encoding), the RDB version (2 bytes, little-endian: 10 for Redis 7.0) and a CRC64 of
all that (Jones polynomial, reflected, 8 bytes little-endian). A string is written as a
32-bit integer when it is one in canonical form (at most 11 characters), LZF-compressed
when longer than 20 bytes and compression saves at least 4 bytes, else raw after its
length. The compressor is liblzf 3.6's, as Redis 7.0 builds it (HLOG 16, VERY_FAST), so
that payloads are byte-identical to Redis's (values over `MAX_COMPRESSED` excepted).
"""

from __future__ import annotations

from .resp import strict_int

RDB_VERSION = 10
STRING = 0
#: RDB object types Redis 7.0 can load (`rdbIsObjectType`): other values than strings.
OBJECT_TYPES = frozenset((*range(0, 8), *range(9, 20)))
#: Values longer than this are dumped uncompressed: the pure-Python compressor runs at a
#: few MB/s and the server waits for it (Redis restores either form).
MAX_COMPRESSED = 1 << 20


class BadPayload(ValueError):
    """A payload that is not a well-formed RDB string (Redis: "Bad data format")."""


# --- CRC64 (Redis's crc64: Jones polynomial, reflected in and out, no final xor)


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x95AC9329AC4BC9B5 if crc & 1 else 0)
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc64(data: bytes, crc: int = 0) -> int:
    """Redis's `crc64(crc, data)` (crc64("123456789") is 0xe9c6d914c4b8d9ca)."""
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


# --- LZF


def lzf_compress(data: bytes, out_len: int) -> bytes | None:
    """liblzf's `lzf_compress` with Redis's settings; None when the output would not fit
    in `out_len` bytes (as it returns 0)."""
    in_len = len(data)
    if not in_len or not out_len:
        return None
    htab: dict[int, int] = {}  # C's table starts as garbage: an unset slot never matches
    out = bytearray(out_len + 8)
    ip, op, lit = 0, 1, 0  # op 0 holds the first literal run's length
    hval = (data[0] << 8) | data[1]
    while ip < in_len - 2:
        hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
        slot = ((hval >> 8) - hval * 5) & 0xFFFF
        ref = htab.get(slot)
        htab[slot] = ip
        if (
            ref is not None
            and (off := ip - ref - 1) < 8192
            and ref > 0
            and data[ref] == data[ip]
            and data[ref + 1] == data[ip + 1]
            and data[ref + 2] == data[ip + 2]
        ):
            length = _match_length(data, ref, ip, min(in_len - ip - 2, 264))
            if op + 4 >= out_len and op - (not lit) + 4 >= out_len:
                return None
            out[op - lit - 1] = (lit - 1) & 0xFF  # stop the literal run
            op -= not lit  # undo an empty run
            length -= 2  # now the number of bytes - 1
            ip += 1
            if length < 7:
                out[op] = (off >> 8) + (length << 5)
                op += 1
            else:
                out[op] = (off >> 8) + (7 << 5)
                out[op + 1] = length - 7
                op += 2
            out[op] = off & 0xFF
            lit, op = 0, op + 2  # a new literal run starts
            ip += length + 1
            if ip >= in_len - 2:
                break
            ip -= 2  # VERY_FAST: hash the last two positions of the match
            hval = (data[ip] << 8) | data[ip + 1]
            for _ in range(2):
                hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
                htab[((hval >> 8) - hval * 5) & 0xFFFF] = ip
                ip += 1
        else:
            if op >= out_len:
                return None
            out[op] = data[ip]
            lit, op, ip = lit + 1, op + 1, ip + 1
            if lit == 32:
                out[op - lit - 1] = lit - 1
                lit, op = 0, op + 1
    if op + 3 > out_len:
        return None
    while ip < in_len:
        out[op] = data[ip]
        lit, op, ip = lit + 1, op + 1, ip + 1
        if lit == 32:
            out[op - lit - 1] = lit - 1
            lit, op = 0, op + 1
    out[op - lit - 1] = (lit - 1) & 0xFF
    op -= not lit
    return bytes(out[:op])


def _match_length(data: bytes, ref: int, ip: int, maxlen: int) -> int:
    """How many bytes at `ip` equal those at `ref` (3 are known to), as liblzf counts
    them: 16 unbounded steps first when `maxlen` > 16, then up to `maxlen`."""
    length = 2
    if maxlen > 16:
        for _ in range(16):
            length += 1
            if data[ref + length] != data[ip + length]:
                return length
    length += 1
    while length < maxlen and data[ref + length] == data[ip + length]:
        length += 1
    return length


def lzf_decompress(data: bytes, out_len: int) -> bytes:
    """liblzf's `lzf_decompress`: the `out_len` bytes `data` encodes, else BadPayload."""
    out = bytearray()
    ip, end = 0, len(data)
    while ip < end:
        ctrl = data[ip]
        ip += 1
        if ctrl < 32:  # a literal run of ctrl + 1 bytes
            ctrl += 1
            if ip + ctrl > end or len(out) + ctrl > out_len:
                raise BadPayload("LZF literal run past the end")
            out += data[ip : ip + ctrl]
            ip += ctrl
            continue
        length = ctrl >> 5
        ref = len(out) - ((ctrl & 0x1F) << 8) - 1
        if length == 7:
            if ip >= end:
                raise BadPayload("LZF reference past the end")
            length += data[ip]
            ip += 1
        if ip >= end:
            raise BadPayload("LZF reference past the end")
        ref -= data[ip]
        ip += 1
        length += 2
        if ref < 0 or len(out) + length > out_len:
            raise BadPayload("LZF reference out of range")
        for position in range(ref, ref + length):  # may overlap what it writes
            out.append(out[position])
    if len(out) != out_len:
        raise BadPayload("LZF output of the wrong length")
    return bytes(out)


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
    if 20 < size <= MAX_COMPRESSED:
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
