"""The sans-IO RESP codec on its own: parsing (whole, split anywhere), limits, encoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitmapist.server.request import ProtocolError, RequestParser, split_args
from bitmapist.server.resp import (
    NULL_ARRAY,
    Ack,
    Error,
    Later,
    Map,
    Set,
    Status,
    Verbatim,
    encode,
)

from .resp_client import command


def parse_all(data: bytes, **limits) -> list[list[bytes]]:
    parser = RequestParser(**limits)
    parser.feed(data)
    return parser.parse()


def test_multibulk_and_inline():
    data = command("SETBIT", "k", 7, 1) + b"PING\r\n" + b"ECHO  'a b'  \"c\\x41\"\n"
    assert parse_all(data) == [[b"SETBIT", b"k", b"7", b"1"], [b"PING"], [b"ECHO", b"a b", b"cA"]]


def test_empty_multibulks_and_blank_lines_are_skipped():
    assert parse_all(b"*0\r\n*-1\r\n\r\n\n   \r\n*1\r\n$4\r\nPING\r\n") == [[b"PING"]]


def test_binary_arguments_are_kept_exactly():
    value = bytes(range(256)) + b"\r\n\x00*$"
    assert parse_all(command("SET", "k", value)) == [[b"SET", b"k", value]]


def test_incomplete_commands_wait_for_more_bytes():
    parser = RequestParser()
    data = command("GETBIT", "key", 1)
    parser.feed(data[:-1])
    assert parser.parse() == []
    assert parser.buffered > 0
    parser.feed(data[-1:])
    assert parser.parse() == [[b"GETBIT", b"key", b"1"]]
    assert parser.buffered == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"*x\r\n", "invalid multibulk length"),
        (b"*01\r\n", "invalid multibulk length"),
        (b"*1\r\n$-1\r\n", "invalid bulk length"),
        (b"*1\r\n$01\r\n", "invalid bulk length"),
        (b"*1\r\n:1\r\n", "expected '$', got ':'"),
        (b'PING "open\r\n', "unbalanced quotes in request"),
        (b"P" * 70_000, "too big inline request"),
        (b"*1\r\n$" + b"1" * 70_000, "too big bulk count string"),
    ],
)
def test_protocol_errors(data, message):
    with pytest.raises(ProtocolError) as caught:
        parse_all(data)
    assert caught.value.reply == Error(f"ERR Protocol error: {message}")


def test_limits_are_configurable():
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        parse_all(command("SET", "k", "x" * 11), max_bulk_len=10)
    assert parse_all(command("SET", "k", "x" * 10), max_bulk_len=10)
    with pytest.raises(ProtocolError, match="invalid multibulk length"):
        parse_all(command("EXISTS", "a", "b", "c"), max_args=3)


def test_unauthenticated_limits():
    parser = RequestParser()
    parser.authenticated = False
    parser.feed(command("AUTH", *["x"] * 10))
    with pytest.raises(ProtocolError, match="unauthenticated multibulk length"):
        parser.parse()


def test_commands_before_a_protocol_error_are_returned_first():
    parser = RequestParser()
    parser.feed(command("PING") + b"*x\r\n" + command("PING"))
    assert parser.next_command() == [b"PING"]
    with pytest.raises(ProtocolError):
        parser.next_command()


@pytest.mark.parametrize(
    ("line", "args"),
    [
        (b"a b  c", [b"a", b"b", b"c"]),
        (b'"a b" c', [b"a b", b"c"]),
        (b"'it\\'s' x", [b"it's", b"x"]),
        (b'"\\n\\r\\t\\b\\a\\z\\x41"', [b"\n\r\t\b\az" + b"A"]),
        (b'"\\x4"', [b"x4"]),
        (b'"a"b', None),
        (b"'a", None),
        (b"a\x00b c", [b"a"]),
        (b"a\vb", [b"a\vb"]),
        (b"", []),
    ],
)
def test_split_args_like_sdssplitargs(line, args):
    assert split_args(line) == args


_ARGS = st.lists(st.binary(max_size=40), min_size=1, max_size=6)


@given(commands=st.lists(_ARGS, min_size=1, max_size=8), cuts=st.lists(st.integers(0, 500)))
def test_any_split_of_the_stream_parses_the_same(commands, cuts):
    data = b"".join(command(*args) for args in commands)
    parser = RequestParser()
    parsed: list[list[bytes]] = []
    position = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        parser.feed(data[position:cut])
        position = max(position, cut)
        parsed.extend(parser.parse())
    assert parsed == commands


@pytest.mark.parametrize(
    ("value", "resp2", "resp3"),
    [
        (5, b":5\r\n", b":5\r\n"),
        (-2, b":-2\r\n", b":-2\r\n"),
        (2**40, b":1099511627776\r\n", b":1099511627776\r\n"),
        (b"ab", b"$2\r\nab\r\n", b"$2\r\nab\r\n"),
        (None, b"$-1\r\n", b"_\r\n"),
        (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
        (Status("OK"), b"+OK\r\n", b"+OK\r\n"),
        (Error("ERR a\r\nb"), b"-ERR a  b\r\n", b"-ERR a  b\r\n"),
        ([1, b"x", None], b"*3\r\n:1\r\n$1\r\nx\r\n$-1\r\n", b"*3\r\n:1\r\n$1\r\nx\r\n_\r\n"),
        (Map({b"a": 1}), b"*2\r\n$1\r\na\r\n:1\r\n", b"%1\r\n$1\r\na\r\n:1\r\n"),
        (Set([b"a"]), b"*1\r\n$1\r\na\r\n", b"~1\r\n$1\r\na\r\n"),
        (Verbatim(b"hi"), b"$2\r\nhi\r\n", b"=6\r\ntxt:hi\r\n"),
        (True, b":1\r\n", b"#t\r\n"),
    ],
)
def test_encode_per_protocol(value, resp2, resp3):
    assert encode(value, 2) == resp2
    assert encode(value, 3) == resp3


def test_later_replies_encode_their_value():
    later = Later()
    later.value = [Status("OK"), 1]
    assert encode([later], 3) == b"*1\r\n*2\r\n+OK\r\n:1\r\n"


def test_unknown_reply_types_are_refused():
    with pytest.raises(TypeError):
        encode(object())


class _ExactParser(RequestParser):
    """The parser without its fast paths: the reference the fast paths must match."""

    __slots__ = ()

    def __init__(self, **limits) -> None:
        super().__init__(fast=False, **limits)


# Pieces a stream is made of: commands, other RESP types hiredis parses too (which Redis
# refuses or reads as inline commands), nulls, sizes and counts around the fast path's
# limits, and arguments holding those types' first bytes.
_PIECES = [
    command("SETBIT", "k", 1, 1),
    command("PING"),
    command("ECHO", "x" * 1500),
    command(*["a"] * 120),
    command("ECHO", "+=(~>|%"),
    command("A\r\nB"),
    b"*0\r\n",
    b"*-1\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n:1\r\n",
    b"*1\r\n_\r\n",
    b"*1\r\n#t\r\n",
    b"*1\r\n,1.5\r\n",
    b"*1\r\n+PING\r\n",
    b"*1\r\n(12\r\n",
    b"*1\r\n=6\r\ntxt:ab\r\n",
    b"*2\r\n$4\r\nECHO\r\n-ERR x\r\n",
    b"*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\na\r\n",
    b"~1\r\n$4\r\nPING\r\n",
    b">1\r\n$4\r\nPING\r\n",
    b"%1\r\n$1\r\na\r\n$1\r\nb\r\n",
    b"$3\r\nfoo\r\n",
    b":5\r\n",
    b"PING\r\n",
    b"*12345\r\n",
    # partial commands, which take what follows (the fast path's end-of-window check)
    b"*",
    b"*1\r\n$11\r\n",
    b"*2\r\n$1\r\na\r\n",
    command("ECHO", "*1\r\n$1\r\n!\r\n"),
]


def _parse_split(parser: RequestParser, data: bytes, cuts: list[int]) -> list:
    parsed: list = []
    position = 0
    try:
        for cut in sorted(set(cuts)) + [len(data)]:
            parser.feed(data[position:cut])
            position = max(position, cut)
            parsed.extend(parser.parse())
    except ProtocolError as exc:
        parsed.append(str(exc))
    return parsed


@given(
    pieces=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=10),
    cuts=st.lists(st.integers(0, 3000), max_size=4),
    max_args=st.sampled_from([100, 1024 * 1024]),
)
def test_fast_path_parses_like_the_exact_parser(pieces, cuts, max_args):
    data = b"".join(pieces)
    fast = _parse_split(RequestParser(max_args=max_args), data, cuts)
    exact = _parse_split(_ExactParser(max_args=max_args), data, cuts)
    assert fast == exact


def test_acks_encode_their_value_and_become_the_error_on_failure():
    ack = Ack(1)
    assert ack.data == encode(ack) == b":1\r\n"
    ack.fail(Error("ERR write failed: disk full"))
    assert ack.data == encode([ack])[4:] == b"-ERR write failed: disk full\r\n"


@pytest.mark.parametrize("piece", _PIECES, ids=range(len(_PIECES)))
@pytest.mark.parametrize("max_args", [100, 1024 * 1024])
def test_fast_path_parses_each_piece_between_commands_like_the_exact_parser(piece, max_args):
    data = command("PING") + piece + command("PING")
    for cuts in ([], [len(data) - 3]):
        fast = _parse_split(RequestParser(max_args=max_args), data, cuts)
        exact = _parse_split(_ExactParser(max_args=max_args), data, cuts)
        assert fast == exact


# --- runs: commands of one arity taken as argument columns (`take_run`)


class _AllBut:
    """Every command name but b"z": what `take_run` is asked for in these tests."""

    def __contains__(self, name: object) -> bool:
        return name != b"z"


_NAMES = _AllBut()

# Pieces that make runs (equal but for one argument, of one size there, or not), and
# near-misses: a CRLF or CR inside an argument, sizes that do not match their argument,
# non-canonical headers, arguments at the size limit, counts of 9 and 10, partial tails.
_RUN_PIECES = [
    command("GETBIT", "k", "12"),
    command("GETBIT", "k", "34"),
    command("GETBIT", "k", "5"),
    command("getbit", "kk", "12"),
    command("SETBIT", "k", "12", "1"),
    command("SETBIT", "k", "34", "0"),
    command("SETBIT", "k", "123", "1"),
    command("GETBIT", "k\r\nx", "12"),
    command("GETBIT", "k", "1\r"),
    command("GETBIT", "k", "x" * 999),
    command("GETBIT", "k", "x" * 1000),
    command("GETBIT", "", ""),
    command(*["a"] * 9),
    command(*["a"] * 10),
    b"*3\r\n$6\r\nGETBIT\r\n$1\r\nk\r\n$2\r\n123\r\n",
    b"*3\r\n$6\r\nGETBIT\r\n$1\r\nk\r\n$3\r\n12\r\n",
    b"*3\r\n$6\r\nGETBIT\r\n$1\r\nk\r\n$02\r\n12\r\n",
    b"*03\r\n$6\r\nGETBIT\r\n$1\r\nk\r\n$2\r\n12\r\n",
    b"*3\r\n$6\r\nGETBIT\r\n$1\r\nk\r\n$2\r\n12XY",
    b"*3\r\n$6\r\nGETBIT\r\n$1\r\nk\r\n$2\r\n12\n\n",
    b"*3\r\n$6\r\nGETBIT\r\n$1\r\nk\r\n$2\r\n1",
    b"*3\r\n$6\r\nGETBIT\r\n",
    b"*3\r\n$6\r\nGETBIT\r\n$1\r\n",
    b"*3\r",
]


def _parse_runs(parser: RequestParser, data: bytes, cuts: list[int], limit: int, vary: int) -> list:
    """`_parse_split` one command at a time (those before a protocol error are kept, as
    the server runs them), taking runs first (as the server does) unless `limit` is 0."""
    parsed: list = []
    position = 0
    try:
        for cut in sorted(set(cuts)) + [len(data)]:
            parser.feed(data[position:cut])
            position = max(position, cut)
            while True:
                columns = None
                if limit:
                    columns = parser.take_run(limit, vary, _NAMES)
                if columns is not None:
                    assert 2 <= len(columns[0]) <= limit
                    parsed.extend(map(list, zip(*columns, strict=True)))
                    continue
                args = parser.next_command()
                if args is None:
                    break
                parsed.append(args)
    except ProtocolError as exc:
        parsed.append(str(exc))
    return parsed


@given(
    pieces=st.lists(st.sampled_from(_RUN_PIECES + _PIECES), min_size=1, max_size=30),
    cuts=st.lists(st.integers(0, 3000), max_size=4),
    limit=st.sampled_from([2, 3, 7, 128]),
    vary=st.sampled_from([0, 1, 2, 3]),
)
def test_runs_parse_like_the_exact_parser(pieces, cuts, limit, vary):
    data = b"".join(pieces)
    runs = _parse_runs(RequestParser(), data, cuts, limit, vary)
    assert runs == _parse_runs(_ExactParser(), data, cuts, 0, 0)


@given(
    offsets=st.lists(st.integers(0, 10**7).map(str), min_size=2, max_size=40),
    key=st.sampled_from(["k", "key:1", "a\r\nb"]),
    cuts=st.lists(st.integers(0, 2000), max_size=3),
)
def test_runs_of_one_key_parse_like_the_exact_parser(offsets, key, cuts):
    # the shape runs usually have: the same command and key, offsets of one size or not
    data = b"".join(command("SETBIT", key, offset, 1) for offset in offsets)
    runs = _parse_runs(RequestParser(), data, cuts, 128, 2)
    assert runs == _parse_runs(_ExactParser(), data, cuts, 0, 0)


def test_runs_come_as_columns_and_stop_where_the_arity_changes():
    parser = RequestParser()
    parser.feed(command("GETBIT", "k", "1") + command("GETBIT", "k", "22") + command("PING"))
    assert parser.take_run(128, 2, _NAMES) == [[b"GETBIT", b"GETBIT"], [b"k", b"k"], [b"1", b"22"]]
    assert parser.take_run(128, 2, _NAMES) is None  # one command left: not a run
    assert parser.next_command() == [b"PING"]
    parser.feed(command("GETBIT", "k", "1") * 5)
    assert parser.take_run(2, 2, _NAMES) == [[b"GETBIT"] * 2, [b"k"] * 2, [b"1"] * 2]
    assert parser.buffered == len(command("GETBIT", "k", "1")) * 3


def test_runs_only_of_the_names_asked_for():
    parser = RequestParser()
    parser.feed(command("z", "k", "1") * 3)
    assert parser.take_run(128, 2, _NAMES) is None
    assert parser.buffered == len(command("z", "k", "1")) * 3
    assert [parser.next_command() for _ in range(3)] == [[b"z", b"k", b"1"]] * 3
    parser.feed(command("PING") * 2)
    assert parser.take_run(128, 2, _NAMES) == [[b"PING", b"PING"]]


def test_no_runs_before_authentication():
    parser = RequestParser()
    parser.authenticated = False
    parser.feed(command("GETBIT", "k", "1") * 3)
    assert parser.take_run(128, 2, _NAMES) is None


@pytest.mark.parametrize("piece", _RUN_PIECES, ids=range(len(_RUN_PIECES)))
@pytest.mark.parametrize("vary", [1, 2])
def test_runs_of_one_piece_parse_like_the_exact_parser(piece, vary):
    # a near-miss repeated is a run whose every column looks uniform
    for data in (piece * 3, piece * 3 + command("PING"), command("GETBIT", "k", "12") + piece * 3):
        for cuts in ([], [len(data) - 2]):
            runs = _parse_runs(RequestParser(), data, cuts, 128, vary)
            assert runs == _parse_runs(_ExactParser(), data, cuts, 0, 0)


# --- a request on its own (`lone`): one whole command parsed without buffering it


def _parse_lone(parser: RequestParser, chunks: list[bytes], lone: bool = True) -> list:
    """Feed `chunks` as the server does: a chunk that is one whole command with nothing
    buffered before it is taken by `lone` (unless `lone` is False), any other is fed and
    parsed one command at a time (those before a protocol error are kept)."""
    parsed: list = []
    try:
        for chunk in chunks:
            args = parser.lone(chunk) if lone else None
            if args is not None:
                parsed.append(args)
                continue
            parser.feed(chunk)
            while (args := parser.next_command()) is not None:
                parsed.append(args)
    except ProtocolError as exc:
        parsed.append(str(exc))
    return parsed


@given(
    pieces=st.lists(st.sampled_from(_RUN_PIECES + _PIECES), min_size=1, max_size=12),
    joined=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_lone_commands_parse_like_the_exact_parser(pieces, joined):
    # chunks of one piece each (the lone path's case), or several, or partial ones
    chunks: list[bytes] = []
    for piece, join in zip(pieces, joined, strict=False):
        if join and chunks:
            chunks[-1] += piece
        else:
            chunks.append(piece)
    assert _parse_lone(RequestParser(), chunks) == _parse_lone(_ExactParser(), chunks, False)


@pytest.mark.parametrize("piece", _RUN_PIECES + _PIECES, ids=range(len(_RUN_PIECES + _PIECES)))
def test_lone_takes_only_one_whole_canonical_command(piece):
    args = RequestParser().lone(piece)
    if args is not None:
        assert _parse_lone(_ExactParser(), [piece], False) == [args]
    parser = RequestParser()
    parser.feed(b"*1\r\n")  # a partial command buffered: what comes next belongs to it
    assert parser.lone(piece) is None


def test_lone_commands_of_each_size():
    parser = RequestParser()
    assert parser.lone(command("GET", "k")) == [b"GET", b"k"]
    assert parser.lone(command("SETBIT", "k", 7, 1)) == [b"SETBIT", b"k", b"7", b"1"]
    assert parser.lone(command("ECHO", "x" * 999)) == [b"ECHO", b"x" * 999]
    assert parser.lone(command("ECHO", "x" * 1000)) is None  # left to the other paths
    assert parser.lone(command("ECHO", "")) == [b"ECHO", b""]
    assert parser.lone(command("PING") * 2) is None  # a pipeline
    assert parser.lone(command("PING")[:-1]) is None  # not whole yet
    assert parser.lone(b"PING\r\n") is None  # inline
    assert parser.buffered == 0
