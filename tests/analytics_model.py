"""A brute-force model of the product questions, computed from raw events (per-user sets).

The tests mark random events into a store, then compare each question's table with what
this module computes from the same list of (event, user, moment) tuples, by walking hours
and collecting sets: it shares no code with `bitmapist.analytics`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

# How long a random data set spans, per period kind (enough periods to be interesting).
SPANS = {"hour": timedelta(days=4), "day": timedelta(days=40), "week": timedelta(weeks=20)}
SPANS["month"] = timedelta(days=400)
ORIGIN = datetime(2025, 12, 20, tzinfo=UTC)


def period_key(kind: str, moment: datetime) -> tuple[int, ...]:
    """The period containing `moment`, as a tuple that sorts in time order."""
    if kind == "hour":
        return (moment.year, moment.month, moment.day, moment.hour)
    if kind == "day":
        return (moment.year, moment.month, moment.day)
    if kind == "week":
        return tuple(moment.isocalendar()[:2])
    return (moment.year, moment.month)


class Model:
    """Random events and the sets they make: `users(event, kind, key)`."""

    def __init__(self, kind: str, seed: int, users: int = 40, events: int = 900):
        rng = random.Random(seed)
        self.kind = kind
        self.start = ORIGIN
        self.end = ORIGIN + SPANS[kind]
        seconds = int((self.end - self.start).total_seconds())
        names = ["a", "b", "c", "d"]
        self.events = [
            (
                rng.choice(names),
                rng.randrange(users),
                self.start + timedelta(seconds=rng.randrange(seconds)),
            )
            for _ in range(events)
        ]
        self.flags = {
            "premium": {u for u in range(users) if rng.random() < 0.4},
            "beta": {u for u in range(users) if rng.random() < 0.3},
        }
        # every period of every kind from well before to well after the data, in order
        self.keys: dict[str, list[tuple[int, ...]]] = defaultdict(list)
        hour = self.start - timedelta(days=800)
        while hour < self.end + timedelta(days=400):
            for k in ("hour", "day", "week", "month"):
                key = period_key(k, hour)
                if not self.keys[k] or self.keys[k][-1] != key:
                    self.keys[k].append(key)
            hour += timedelta(hours=1)
        self.index = {k: {key: i for i, key in enumerate(keys)} for k, keys in self.keys.items()}
        self.sets: dict[tuple[str, str, tuple[int, ...]], set[int]] = defaultdict(set)
        for name, user, moment in self.events:
            for k in ("hour", "day", "week", "month"):
                self.sets[(name, k, period_key(k, moment))].add(user)

    def mark(self, client) -> None:
        client.mark_events(self.events, track_hourly=True)
        for flag, users in self.flags.items():
            for user in users:
                client.mark_unique(flag, user)

    def users(self, event: str, kind: str, key: tuple[int, ...]) -> set[int]:
        return self.sets.get((event, kind, key), set())

    def between(self, kind: str, start: datetime, end: datetime) -> list[tuple[int, ...]]:
        """Keys of the periods containing `start` .. `end`, both included."""
        return self.keys[kind][self.position(kind, start) : self.position(kind, end) + 1]

    def position(self, kind: str, moment: datetime) -> int:
        return self.index[kind][period_key(kind, moment)]

    def moment(self, fraction: float) -> datetime:
        """A moment `fraction` of the way through the data."""
        return self.start + (self.end - self.start) * fraction

    def after(self, kind: str, key: tuple[int, ...], periods: int) -> tuple[int, ...]:
        return self.keys[kind][self.index[kind][key] + periods]
