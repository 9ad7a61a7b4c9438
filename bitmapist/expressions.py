"""Expression trees over stored bitmaps: what an event or a bit operation *means*.

Event objects build these; stores evaluate them. A leaf is a stored key; an `Op` combines
its operands with AND/OR/XOR/NOT and carries the key that bitmapist 3.x would have stored
its result under (`trackist_bitop_<OP>_<keys>`), which Redis uses for its temporary key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from .errors import InvalidInput

OpName = Literal["AND", "OR", "XOR", "NOT"]
OP_NAMES: tuple[OpName, ...] = ("AND", "OR", "XOR", "NOT")

#: How deeply bit operations may nest: `reduce(or_, days)` over a year of days is 364 levels.
#: Trees are built bottom-up and walked with stacks, so depth costs no Python recursion; the
#: limit bounds the 3.x key names, which grow with every level (~12 MB of names at 1,000
#: levels, ~390 MB at 5,000). Width is free: `BitOpOr(*events)` is one level.
MAX_DEPTH = 1000


def check_depth(depth: int) -> int:
    """`depth` if it is at most `MAX_DEPTH`, else `InvalidInput` naming both."""
    if depth > MAX_DEPTH:
        raise InvalidInput(
            f"bit operations nest {depth} levels deep: at most {MAX_DEPTH} are allowed; "
            "give one operation many operands instead, e.g. BitOpOr(*events) rather "
            "than a | b | c | ..."
        )
    return depth


@dataclass(frozen=True, slots=True)
class Key:
    """A stored bitmap, by key."""

    name: str
    #: A stored key is no operation deep (see `Op.depth`).
    depth: ClassVar[int] = 0


@dataclass(frozen=True, slots=True)
class Op:
    """A bit operation over other expressions.

    Semantics are Redis's BITOP: NOT takes exactly one operand and complements it within
    its length rounded up to whole bytes; a missing key is an empty bitmap.
    """

    op: OpName
    operands: tuple[Expr, ...]
    name: str
    #: Levels of operations, this one included (1 over keys only); at most `MAX_DEPTH`.
    depth: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.op not in OP_NAMES:
            raise ValueError(f"bit operation {self.op!r} is unknown: expected one of {OP_NAMES}")
        if self.op == "NOT" and len(self.operands) != 1:
            raise ValueError(f"NOT takes exactly one operand, got {len(self.operands)}")
        if not self.operands:
            raise ValueError(f"{self.op} needs at least one operand")
        below = max([operand.depth for operand in self.operands])
        object.__setattr__(self, "depth", check_depth(below + 1))


Expr = Key | Op


def leaf_keys(expr: Expr) -> Iterator[str]:
    """Every stored key an expression reads, depth first (duplicates included)."""
    stack = [expr]  # a stack, not recursion: no walk here depends on the tree's depth
    while stack:
        node = stack.pop()
        if isinstance(node, Key):
            yield node.name
        else:
            stack.extend(reversed(node.operands))


def ops_bottom_up(expr: Expr) -> Iterator[Op]:
    """The operations of a tree, each after its operands (the order BITOPs must run in)."""
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, operands_done = stack.pop()
        if isinstance(node, Key):
            continue
        if operands_done:
            yield node
        else:
            stack.append((node, True))
            stack.extend((operand, False) for operand in reversed(node.operands))
