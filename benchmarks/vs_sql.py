"""Product questions on bitmaps vs the same questions in SQL (DuckDB and chDB), same data.

Run from the repo root, with any Python 3.11+::

    python benchmarks/vs_sql.py                      # 10M events, 1M users, 90 days
    python benchmarks/vs_sql.py --events 1000000     # a quicker run (users: events / 10)
    python benchmarks/vs_sql.py --quick              # a smoke run: 20,000 events, seconds
    python benchmarks/vs_sql.py --json

The engines (duckdb, chdb, numpy, pandas: the `bench` extra) run in a venv of their own,
`.bench/sql`, made on first use by `_sql_env.py` (about a minute; ~300 MB from PyPI, ~1 GB
installed), unless the interpreter running this already has them (``pip install -e
'.[bench]'``). Loading and every engine's answers run in that interpreter, bitmapist's too
(imported from this checkout), so all three meet the same Python. If the venv cannot be
made, the script says why and exits with status 3.

One synthetic data set (sign-ups growing over time, visits by users of three habits, and a
signup -> activate -> invite -> upgrade funnel with drop-off) is loaded into an embedded
bitmapist store (`mark_events`, daily/weekly/monthly bitmaps) and into DuckDB and chDB as one
events table (user_id, event, ts), sorted by time. The same six questions are asked of each:
trends with comparison, a 4-step funnel, lifecycle, stickiness, retention and rolling
DAU/WAU/MAU (see QUESTIONS); every engine's answers must be equal, or nothing is reported.

Each (engine, question) runs in `--processes` fresh processes: in each, the store or
database is opened and the question answered once ("cold": the open and the first answer,
imports excluded, OS file cache warm), then answered `--repeat` more times ("warm"). Medians
over all; ratios are SQL time / bitmapist time (higher is better).

A full run is not part of the test suite (it takes minutes); `--quick` is, as a smoke run
(tests/test_benchmarks_smoke.py): answers checked equal, timings meaningless at that size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _sql_env import SqlEnvError, sql_python

REPO_ROOT = Path(__file__).resolve().parents[1]
FIRST_DAY = datetime(2026, 8, 31, tzinfo=UTC)  # a Monday: 90 days are 12 weeks and 6 days
DAYS = 90
EVENTS = ("active", "signup", "activate", "invite", "upgrade")
ENGINES = ("bitmapist", "duckdb", "chdb")
QUESTIONS = {
    "trends": "daily active users of days 60-89 and of days 30-59 (the comparison)",
    "funnel": "signup -> activate -> invite -> upgrade, entry days 30-59, window 7 days",
    "lifecycle": "weekly active: new/returning/resurrecting/dormant, weeks 4-11, lookback 4",
    "stickiness": "weekly active users by days active (1..7), weeks 4-11",
    "retention": "weekly signup cohorts 0-7 x active 0..4 weeks later",
    "dau_wau_mau": "rolling DAU/WAU/MAU (7 and 30 days) for days 60-89",
}
GOALS = {"warm": 100.0, "cold": 20.0}


def day(n: int) -> datetime:
    return FIRST_DAY + timedelta(days=n)


# --- data ------------------------------------------------------------------------------


def generate(events: int, users: int, seed: int):
    """(user_id, event code, epoch seconds) arrays, sorted by time."""
    import numpy as np

    rng = np.random.default_rng(seed)
    signup = np.minimum(DAYS - 1, (DAYS * rng.random(users) ** 0.7).astype(np.int64))
    uids = np.arange(1, users + 1, dtype=np.int64)
    parts = [(uids, np.full(users, 1), signup)]
    # the funnel: half activate within 3 days, a fifth of them invite, a third upgrade
    activated = rng.random(users) < 0.5
    act_day = signup + rng.integers(0, 4, users)
    invited = activated & (rng.random(users) < 0.2)
    inv_day = act_day + rng.integers(0, 10, users)
    upgraded = invited & (rng.random(users) < 0.33)
    up_day = inv_day + rng.integers(0, 14, users)
    for code, mask, days in ((2, activated, act_day), (3, invited, inv_day), (4, upgraded, up_day)):
        keep = mask & (days < DAYS)
        parts.append((uids[keep], np.full(int(keep.sum()), code), days[keep]))
    rest = events - sum(len(p[0]) for p in parts)
    # visits: users weighted by habit (1 : 8 : 45), on days after they signed up
    habit = rng.choice(np.array([1.0, 8.0, 45.0]), users, p=[0.4, 0.4, 0.2])
    weight = habit * (DAYS - signup)
    who = rng.choice(users, rest, p=weight / weight.sum())
    when = signup[who] + (rng.random(rest) * (DAYS - signup[who])).astype(np.int64)
    parts.append((uids[who], np.zeros(rest, dtype=np.int64), when))
    user = np.concatenate([p[0] for p in parts])
    code = np.concatenate([p[1] for p in parts]).astype(np.int8)
    days = np.concatenate([p[2] for p in parts])
    seconds = int(FIRST_DAY.timestamp()) + days * 86400 + rng.integers(0, 86400, len(days))
    order = np.argsort(seconds, kind="stable")
    return user[order], code[order], seconds[order]


def load(workdir: Path, events: int, users: int, seed: int) -> dict[str, float]:
    """Write the data set into the three engines; returns load seconds per engine."""
    import numpy as np
    import pandas as pd

    user, code, seconds = generate(events, users, seed)
    took = {}
    started = time.perf_counter()
    sys.path.insert(0, str(REPO_ROOT))
    from bitmapist import Bitmapist

    client = Bitmapist(f"file://{workdir}/bitmapist.db")
    names = np.array(EVENTS, dtype=object)[code]
    moments = (datetime.fromtimestamp(s, UTC) for s in seconds.tolist())
    client.mark_events(zip(names.tolist(), user.tolist(), moments), track_hourly=False)
    # fold the journal into stored bitmaps now, as a long-running store does on its own
    client.store.checkpoint()
    client.close()
    took["bitmapist"] = time.perf_counter() - started

    frame = pd.DataFrame(  # noqa: F841 - DuckDB's SQL reads it by name
        {
            "user_id": user,
            "event": pd.Categorical.from_codes(code, EVENTS).astype(str),
            "ts": pd.to_datetime(seconds, unit="s"),
        }
    )
    started = time.perf_counter()
    import duckdb

    con = duckdb.connect(str(workdir / "events.duckdb"))
    con.execute("CREATE TABLE events AS SELECT user_id, event, ts FROM frame")
    con.execute(f"COPY events TO '{workdir / 'events.parquet'}' (FORMAT parquet)")
    con.close()
    took["duckdb"] = time.perf_counter() - started

    started = time.perf_counter()
    from chdb import session

    sess = session.Session(str(workdir / "chdb"))
    sess.query("CREATE DATABASE IF NOT EXISTS bench")
    sess.query(
        "CREATE TABLE bench.events (user_id UInt64, event LowCardinality(String), "
        "ts DateTime('UTC')) ENGINE = MergeTree ORDER BY (event, ts)"
    )
    sess.query(
        f"INSERT INTO bench.events SELECT user_id, event, toDateTime(ts, 'UTC') "
        f"FROM file('{workdir / 'events.parquet'}', Parquet)"
    )
    sess.close()
    took["chdb"] = time.perf_counter() - started
    return took


# --- the questions in SQL ---------------------------------------------------------------


class Dialect:
    """What differs between DuckDB's SQL and ClickHouse's for these questions."""

    def __init__(self, engine: str):
        self.engine = engine
        self.table = "events" if engine == "duckdb" else "bench.events"
        if engine == "duckdb":
            self.day = "(CAST(epoch(ts) AS BIGINT) // 86400)"
        else:
            self.day = "intDiv(toUnixTimestamp(ts), 86400)"
        self.week = f"{self.idiv(f'{self.day} + 3', 7)}"

    def idiv(self, a: str, b: int) -> str:
        return f"(({a}) // {b})" if self.engine == "duckdb" else f"intDiv({a}, {b})"

    def ts(self, n: int) -> str:
        text = day(n).strftime("%Y-%m-%d %H:%M:%S")
        return f"TIMESTAMP '{text}'" if self.engine == "duckdb" else f"toDateTime('{text}', 'UTC')"

    def where(self, event: str, first: int, last: int) -> str:
        """Rows of `event` on days first..last (indexes from FIRST_DAY)."""
        return f"event = '{event}' AND ts >= {self.ts(first)} AND ts < {self.ts(last + 1)}"

    def next_day(self, p: str, u: str) -> str:
        """The user's next active day after `p` (far in the future after the last one)."""
        if self.engine == "duckdb":
            return f"coalesce(lead({p}) OVER (PARTITION BY {u} ORDER BY {p}), {p} + 1000)"
        following = (
            f"leadInFrame({p}) OVER (PARTITION BY {u} ORDER BY {p} "
            "ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING)"
        )
        # leadInFrame gives 0, not NULL, after the last row
        return f"if({following} = 0, {p} + 1000, {following})"


DAY0 = int(FIRST_DAY.timestamp()) // 86400
WEEK0 = (DAY0 + 3) // 7


def sql_questions(d: Dialect) -> dict[str, list[str]]:
    t, D, W = d.table, d.day, d.week
    distinct = "SELECT DISTINCT user_id AS u, {x} AS p FROM " + t + " WHERE {w}"
    funnel_parts = [
        "s1 AS (" + distinct.format(x=D, w=d.where("signup", 30, 59)) + ")",
    ]
    for k, event in enumerate(("activate", "invite", "upgrade"), 2):
        funnel_parts.append(
            f"a{k} AS (" + distinct.format(x=D, w=d.where(event, 30, 59 + 7 * (k - 1))) + ")"
        )
        funnel_parts.append(
            f"s{k} AS (SELECT DISTINCT a{k}.u AS u, a{k}.p AS p FROM a{k} JOIN s{k - 1} "
            f"ON a{k}.u = s{k - 1}.u WHERE a{k}.p >= s{k - 1}.p AND a{k}.p <= s{k - 1}.p + 7)"
        )
    funnel = (
        "WITH "
        + ", ".join(funnel_parts)
        + " SELECT "
        + ", ".join(f"(SELECT count(DISTINCT u) FROM s{k})" for k in range(1, 5))
    )
    w4, w11 = WEEK0 + 4, WEEK0 + 11
    lifecycle = (
        "WITH aw AS (" + distinct.format(x=W, w=d.where("active", 0, 83)) + "), "
        "fw AS (SELECT u, min(p) AS f FROM aw GROUP BY u), "
        # (ClickHouse reads an alias in WHERE as the aliased expression: "w" is not "p")
        "flags AS (SELECT u, w, max(c) AS c, max(q) AS q FROM ("
        f"SELECT u, p AS w, 1 AS c, 0 AS q FROM aw WHERE p >= {w4} UNION ALL "
        f"SELECT u, p + 1 AS w, 0 AS c, 1 AS q FROM aw WHERE p >= {w4 - 1} AND p <= {w11 - 1}"
        ") AS both_sides GROUP BY u, w) "
        "SELECT flags.w, "
        "sum(CASE WHEN c = 1 AND f = flags.w THEN 1 ELSE 0 END), "
        "sum(CASE WHEN c = 1 AND q = 1 THEN 1 ELSE 0 END), "
        "sum(CASE WHEN c = 1 AND q = 0 AND f < flags.w THEN 1 ELSE 0 END), "
        "sum(CASE WHEN c = 0 AND q = 1 THEN 1 ELSE 0 END) "
        "FROM flags JOIN fw ON flags.u = fw.u GROUP BY flags.w ORDER BY flags.w"
    )
    stickiness = (
        f"SELECT p, n, count(*) FROM (SELECT user_id, {W} AS p, count(DISTINCT {D}) AS n "
        f"FROM {t} WHERE {d.where('active', 28, 83)} GROUP BY user_id, p) AS per_user "
        "GROUP BY p, n ORDER BY p, n"
    )
    retention = [
        f"SELECT {W} AS p, count(DISTINCT user_id) FROM {t} WHERE {d.where('signup', 0, 55)} "
        "GROUP BY p ORDER BY p",
        "WITH c AS (" + distinct.format(x=W, w=d.where("signup", 0, 55)) + "), "
        "a AS (" + distinct.format(x=W, w=d.where("active", 0, 83)) + ") "
        "SELECT c.p, a.p - c.p AS k, count(*) FROM c JOIN a ON c.u = a.u "
        "WHERE a.p >= c.p AND a.p <= c.p + 4 GROUP BY c.p, k ORDER BY c.p, k",
    ]
    # Rolling windows without a row per (user, day, window day): each active day covers
    # the days until the user's next active day (at most 6 / 29 later), as +1/-1 steps
    d60, d89 = DAY0 + 60, DAY0 + 89
    rolling = (
        "WITH ad AS (" + distinct.format(x=D, w=d.where("active", 31, 89)) + "), "
        f"nx AS (SELECT p, {d.next_day('p', 'u')} AS n FROM ad), "
        "iv AS (SELECT p, least(p + 29, n - 1) AS me, least(p + 6, n - 1) AS we FROM nx), "
        "deltas AS ("
        + " UNION ALL ".join(
            f"SELECT CAST({x} AS BIGINT) AS x, CAST({a} AS BIGINT) AS dd, "
            f"CAST({b} AS BIGINT) AS dw, CAST({c} AS BIGINT) AS dm FROM iv"
            for x, a, b, c in (
                ("p", 1, 1, 1),
                ("p + 1", -1, 0, 0),
                ("we + 1", 0, -1, 0),
                ("me + 1", 0, 0, -1),
            )
        )
        + "), "
        "per AS (SELECT x, sum(dd) AS dd, sum(dw) AS dw, sum(dm) AS dm FROM deltas GROUP BY x) "
        "SELECT x, dau, wau, mau FROM (SELECT x, "
        "sum(dd) OVER (ORDER BY x ROWS UNBOUNDED PRECEDING) AS dau, "
        "sum(dw) OVER (ORDER BY x ROWS UNBOUNDED PRECEDING) AS wau, "
        "sum(dm) OVER (ORDER BY x ROWS UNBOUNDED PRECEDING) AS mau FROM per) AS running "
        f"WHERE x >= {d60} AND x <= {d89} ORDER BY x"
    )
    trends = (
        f"SELECT {D} AS p, count(DISTINCT user_id) FROM {t} WHERE {d.where('active', 30, 89)} "
        "GROUP BY p ORDER BY p"
    )
    return {
        "trends": [trends],
        "funnel": [funnel],
        "lifecycle": [lifecycle],
        "stickiness": [stickiness],
        "retention": retention,
        "dau_wau_mau": [rolling],
    }


def sql_answer(question: str, results: list[list[tuple]]) -> list:
    """SQL rows in the shape `bitmap_answer` gives (missing groups are zeros)."""
    rows = results[0]
    if question == "trends":
        counts = dict(rows)
        return [counts.get(DAY0 + n, 0) for n in range(30, 90)]
    if question == "funnel":
        return list(rows[0])
    if question == "lifecycle":
        by_week = {r[0]: list(r[1:]) for r in rows}
        return [by_week.get(WEEK0 + w, [0, 0, 0, 0]) for w in range(4, 12)]
    if question == "stickiness":
        counts = {(r[0], r[1]): r[2] for r in rows}
        return [[counts.get((WEEK0 + w, n), 0) for n in range(1, 8)] for w in range(4, 12)]
    if question == "retention":
        sizes = dict(rows)
        cells = {(r[0], r[1]): r[2] for r in results[1]}
        return [
            [sizes.get(WEEK0 + c, 0)] + [cells.get((WEEK0 + c, k), 0) for k in range(5)]
            for c in range(8)
        ]
    return [list(r[1:]) for r in rows]


# --- the questions on bitmaps -----------------------------------------------------------


def bitmap_answer(question: str, client) -> list:
    import bitmapist as b

    now = day(DAYS) - timedelta(seconds=1)
    if question == "trends":
        table = b.trends("active", "day", day(60), day(89), system=client, now=now)
        return list(table.series[0].previous) + list(table.series[0].counts)
    if question == "funnel":
        table = b.funnel(
            ["signup", "activate", "invite", "upgrade"],
            "day",
            day(30),
            day(59),
            window=7,
            system=client,
            now=now,
        )
        return [row.count for row in table.rows]
    if question == "lifecycle":
        table = b.lifecycle("active", "week", day(28), day(83), system=client, now=now, lookback=4)
        return [[r.new, r.returning, r.resurrecting, -r.dormant] for r in table.rows]
    if question == "stickiness":
        table = b.stickiness("active", "week", "day", day(28), day(83), system=client, now=now)
        return [list(row.counts) for row in table.rows]
    if question == "retention":
        table = b.retention(
            "signup", "active", "week", day(0), cohorts=8, periods=4, system=client, now=now
        )
        return [[row.size] + [cell.count for cell in row.cells] for row in table.rows]
    rolling = b.active_users("active", day(60).date(), day(89).date(), system=client)
    return [[r.dau, r.wau, r.mau] for r in rolling]


# --- workers ----------------------------------------------------------------------------


def worker(engine: str, question: str, workdir: Path, repeat: int) -> dict:
    """In a fresh process: open + answer once (cold), then `repeat` warm answers."""
    if engine == "bitmapist":
        sys.path.insert(0, str(REPO_ROOT))
        from bitmapist import Bitmapist

        def open_():
            return Bitmapist(f"file://{workdir}/bitmapist.db?readonly=1")

        def ask(client):
            return bitmap_answer(question, client)
    else:
        if engine == "duckdb":
            import duckdb

            def open_():
                return duckdb.connect(str(workdir / "events.duckdb"), read_only=True)

            def run(con, sql):
                return con.execute(sql).fetchall()
        else:
            from chdb import session

            def open_():
                return session.Session(str(workdir / "chdb"))

            def run(con, sql):
                text = con.query(sql, "JSONCompact").bytes()
                return [tuple(int(v) for v in row) for row in json.loads(text)["data"]]

        statements = sql_questions(Dialect(engine))[question]

        def ask(con):
            return sql_answer(question, [run(con, sql) for sql in statements])

    started = time.perf_counter()
    handle = open_()
    answer = ask(handle)
    cold = time.perf_counter() - started
    warm = []
    for _ in range(repeat):
        started = time.perf_counter()
        again = ask(handle)
        warm.append(time.perf_counter() - started)
        assert again == answer, f"{engine} {question}: answers differ between runs"
    version = sys.modules[engine].__version__ if engine != "bitmapist" else None
    return {"cold": cold, "warm": warm, "answer": _plain(answer), "version": version}


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return int(value)


# --- driver -----------------------------------------------------------------------------


def measure(python: Path, workdir: Path, processes: int, repeat: int, questions: list[str]) -> dict:
    results: dict[str, dict[str, dict]] = {q: {} for q in questions}
    for question in questions:
        for _ in range(processes):
            for engine in ENGINES:  # interleaved: every engine meets the same machine load
                proc = subprocess.run(
                    [
                        str(python),
                        __file__,
                        "--worker",
                        engine,
                        question,
                        str(workdir),
                        str(repeat),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=1800,
                )
                if proc.returncode != 0:
                    raise RuntimeError(f"{engine} {question} failed:\n{proc.stderr[-4000:]}")
                out = json.loads(proc.stdout.strip().splitlines()[-1])
                slot = results[question].setdefault(
                    engine,
                    {"cold": [], "warm": [], "answer": out["answer"], "version": out["version"]},
                )
                slot["cold"].append(out["cold"])
                slot["warm"].extend(out["warm"])
                if out["answer"] != slot["answer"]:
                    raise RuntimeError(f"{engine} {question}: answers differ between processes")
        answers = {engine: results[question][engine]["answer"] for engine in ENGINES}
        if not answers["bitmapist"] == answers["duckdb"] == answers["chdb"]:
            raise RuntimeError(f"{question}: engines disagree:\n{json.dumps(answers)[:3000]}")
        # kept as they come: a long run stopped half-way still has its finished questions
        saved = workdir / "results.json"
        done = json.loads(saved.read_text()) if saved.exists() else {}
        done[question] = results[question]
        saved.write_text(json.dumps(done))
    return results


def fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def table(results: dict, goals: bool = True) -> str:
    lines = [
        "| question | bitmapist warm | DuckDB warm | chDB warm | warm ratio (DuckDB / chDB) "
        "| bitmapist cold | DuckDB cold | chDB cold | cold ratio (DuckDB / chDB) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for question, by_engine in results.items():
        cells = [question]
        for mode in ("warm", "cold"):
            ours = statistics.median(by_engine["bitmapist"][mode])
            others = [statistics.median(by_engine[e][mode]) for e in ("duckdb", "chdb")]
            ratios = [other / ours for other in others]
            met = "" if not goals or min(ratios) >= GOALS[mode] else " (goal missed)"
            cells += [fmt(ours), *(fmt(o) for o in others)]
            cells.append(f"{ratios[0]:.1f}x / {ratios[1]:.1f}x{met}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: `--quick`: a smoke run (every question, every engine, answers checked) in seconds.
QUICK = {"events": 20_000, "processes": 1, "repeat": 1}
#: Exit status when the engines' venv cannot be made (the smoke test skips, saying why).
EXIT_NO_ENGINES = 3


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        engine, question, workdir, repeat = sys.argv[2:6]
        print(json.dumps(worker(engine, question, Path(workdir), int(repeat))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        workdir, events, users, seed = sys.argv[2:6]
        print(json.dumps(load(Path(workdir), int(events), int(users), int(seed))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: " + str(QUICK))
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=None, help="default: events / 10")
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--processes", type=int, default=3, help="fresh processes per cell")
    parser.add_argument("--repeat", type=int, default=5, help="warm answers per process")
    parser.add_argument("--questions", default=",".join(QUESTIONS))
    parser.add_argument("--workdir", default=None, help="keep the data here (default: temp)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    users = args.users or max(1, args.events // 10)
    questions = [q for q in args.questions.split(",") if q]
    try:
        python = sql_python()
    except SqlEnvError as exc:
        print(f"vs_sql: DuckDB and chDB cannot be installed: {exc}", file=sys.stderr)
        sys.exit(EXIT_NO_ENGINES)
    with tempfile.TemporaryDirectory(prefix="bitmapist-vs-sql-") as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if not (workdir / "events.duckdb").exists():
            command = [str(python), __file__, "--load", str(workdir), str(args.events)]
            proc = subprocess.run(
                [*command, str(users), str(args.seed)], capture_output=True, text=True
            )
            if proc.returncode != 0:
                raise RuntimeError(f"loading failed:\n{proc.stderr[-4000:]}")
            loads = json.loads(proc.stdout.strip().splitlines()[-1])
            (workdir / "load.json").write_text(json.dumps(loads))
        elif (workdir / "load.json").exists():
            loads = json.loads((workdir / "load.json").read_text())
        else:
            loads = {}
        results = measure(python, workdir, args.processes, args.repeat, questions)
    first = results[questions[0]]
    meta = {
        "events": args.events,
        "users": users,
        "days": DAYS,
        "python": str(python),
        "duckdb": first["duckdb"]["version"],
        "chdb": first["chdb"]["version"],
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_seconds": {k: round(v, 1) for k, v in loads.items()},
        "processes": args.processes,
        "repeat": args.repeat,
    }
    if args.json:
        summary = {
            q: {e: {m: statistics.median(v[m]) for m in ("warm", "cold")} for e, v in r.items()}
            for q, r in results.items()
        }
        print(json.dumps({"meta": meta, "medians": summary}, indent=2))
        return
    for key, value in meta.items():
        print(f"{key}: {value}")
    for question in questions:
        print(f"  {question}: {QUESTIONS[question]}")
    print()
    if args.quick:
        print("--quick: a smoke run on a tiny data set; its timings are not measurements\n")
    print(table(results, goals=not args.quick))


if __name__ == "__main__":
    main()
