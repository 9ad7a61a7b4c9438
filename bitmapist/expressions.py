"""Expression trees over stored bitmaps: what an event or a bit operation *means*.

Event objects build these; stores evaluate them. A leaf is a stored key; an `Op` combines
its operands with AND/OR/XOR/NOT and carries the key that bitmapist 3.x would have stored
its result under (`trackist_bitop_<OP>_<keys>`), which Redis uses for its temporary key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

OpName = Literal["AND", "OR", "XOR", "NOT"]
OP_NAMES: tuple[OpName, ...] = ("AND", "OR", "XOR", "NOT")


@dataclass(frozen=True, slots=True)
class Key:
    """A stored bitmap, by key."""

    name: str


@dataclass(frozen=True, slots=True)
class Op:
    """A bit operation over other expressions.

    Semantics are Redis's BITOP: NOT takes exactly one operand and complements it within
    its length rounded up to whole bytes; a missing key is an empty bitmap.
    """

    op: OpName
    operands: tuple[Expr, ...]
    name: str

    def __post_init__(self) -> None:
        if self.op not in OP_NAMES:
            raise ValueError(f"bit operation {self.op!r} is unknown: expected one of {OP_NAMES}")
        if self.op == "NOT" and len(self.operands) != 1:
            raise ValueError(f"NOT takes exactly one operand, got {len(self.operands)}")
        if not self.operands:
            raise ValueError(f"{self.op} needs at least one operand")


Expr = Key | Op


def leaf_keys(expr: Expr) -> Iterator[str]:
    """Every stored key an expression reads, depth first (duplicates included)."""
    if isinstance(expr, Key):
        yield expr.name
    else:
        for operand in expr.operands:
            yield from leaf_keys(operand)


def ops_bottom_up(expr: Expr) -> Iterator[Op]:
    """The operations of a tree, each after its operands (the order BITOPs must run in)."""
    if isinstance(expr, Op):
        for operand in expr.operands:
            yield from ops_bottom_up(operand)
        yield expr
