"""Redis BITOP on roaring bitmaps: the one copy of the rule the embedded store, the shared
analytics reader and bitmapist-server all use.

A Redis string is seen as its set bits (offset 0 = most significant bit of byte 0) and its
length in bytes: `SizedBitmap(bits, length)`, every bit below `length * 8`. A missing key is
`(BitMap(), 0)`. Redis 7.0's rules, which answers on every store must match:

- AND, OR and XOR results are as long as their longest source; a shorter source counts as
  padded with zero bytes (so AND with a short or missing source clears the bits past it).
- NOT complements its one source within that source's length: `length * 8` bits, so
  trailing zero bytes (written by clearing a bit) become ones.

Sources may be any `(bits, length)` pair, the engine's `Value` included. Results always
hold a fresh bitmap the caller may modify; the sources are never modified.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from pyroaring import BitMap

from .expressions import Expr, Key, Op, ops_bottom_up


class SizedBitmap(NamedTuple):
    """A Redis string as roaring bits plus its byte length (see the module docstring)."""

    bits: BitMap
    length: int


#: What a missing key reads as. Shared: never modify its bitmap.
MISSING = SizedBitmap(BitMap(), 0)

#: How an expression's stored keys are read: key name -> (bits, length), MISSING if absent.
LeafReader = Callable[[str], tuple[BitMap, int]]


def bitop(op: str, sources: Sequence[tuple[BitMap, int]]) -> SizedBitmap:
    """BITOP `op` ("AND", "OR", "XOR" or "NOT") over at least one source."""
    length = max(source[1] for source in sources)
    if op == "NOT":
        return SizedBitmap(sources[0][0].flip(0, length * 8), length)
    first, *rest = (source[0] for source in sources)
    if op == "AND":
        if not all(source[0] for source in sources):
            return SizedBitmap(BitMap(), length)  # an empty source clears every bit
        bits = first.intersection(*rest)
    elif op == "OR":
        bits = first.union(*rest)
    elif op == "XOR":
        bits = BitMap(first)
        for other in rest:
            bits ^= other
    else:
        raise ValueError(f"bit operation {op!r} is unknown: expected AND, OR, XOR or NOT")
    return SizedBitmap(bits, length)


def bitop_count(op: str, sources: Sequence[tuple[BitMap, int]]) -> int:
    """`len(bitop(op, sources).bits)`, without building the result where roaring can."""
    if op == "NOT":
        bits, length = sources[0]
        return length * 8 - len(bits)
    if len(sources) == 2:
        first, second = sources[0][0], sources[1][0]
        if op == "AND":
            return first.intersection_cardinality(second)
        if op == "OR":
            return first.union_cardinality(second)
        if op == "XOR":
            return first.symmetric_difference_cardinality(second)
    return len(bitop(op, sources).bits)


def evaluate(
    expr: Expr, leaf: LeafReader, results: dict[str, SizedBitmap] | None = None
) -> tuple[BitMap, int]:
    """What `expr` evaluates to, reading stored keys through `leaf`.

    A `Key` gives `leaf`'s own answer (not a copy); an `Op` gives a fresh result. `results`
    caches operations by name across calls (a stored key may carry an operation's name,
    so keys are never looked up there); each operation of the tree is computed once.
    """
    if isinstance(expr, Key):
        return leaf(expr.name)
    if results is None:
        results = {}
    else:
        cached = results.get(expr.name)
        if cached is not None:
            return cached
    for op in ops_bottom_up(expr):
        if op.name not in results:
            results[op.name] = bitop(op.op, _sources(op, leaf, results))
    return results[expr.name]


def count(expr: Expr, leaf: LeafReader, results: dict[str, SizedBitmap] | None = None) -> int:
    """How many bits `expr` has: `evaluate`, minus building the outermost result."""
    if isinstance(expr, Key):
        return len(leaf(expr.name)[0])
    if results is None:
        results = {}
    elif expr.name in results:
        return len(results[expr.name].bits)
    # stored keys read straight through `leaf`: a count over keys (the usual case) builds
    # nothing but the sources' list
    sources = [
        leaf(operand.name) if isinstance(operand, Key) else evaluate(operand, leaf, results)
        for operand in expr.operands
    ]
    return bitop_count(expr.op, sources)


def _sources(op: Op, leaf: LeafReader, results: dict[str, SizedBitmap]) -> list[tuple[BitMap, int]]:
    return [
        leaf(operand.name) if isinstance(operand, Key) else results[operand.name]
        for operand in op.operands
    ]
