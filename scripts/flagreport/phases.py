"""phases.py — where a run's wall time went: the phase account.

A run's whole-process wall time is split into seven parts along its
critical path, the chain of steps the run's end waited for (results/README.md,
"The phase account"):

  process    the process's start (fork) → the run's t0: loading libcurl and
             its libraries, initialising (the summary's process_start_us)
  transfers  t0 → the last request on the chain reached the server: starting
             threads, opening connections, and the gaps between one request
             and the next when they run one after another
  handshake  the TLS handshakes of the requests on the chain (the trace's
             handshake_us: after the TCP connection, before the request
             could be sent); 0 over HTTP
  waiting    the server's delay of each request on the chain — the only part
             the ideal counts, so "waiting" means this and nothing else. It is
             the configured delay (capped by what the trace allows: connect
             → done), not a measurement of the server; the report says so
  receiving  the rest of each request on the chain: response bytes, and the
             client noticing them (one busy thread notices late)
  saving     the files saved on the chain: after the last response, the tail
             until the last file was saved; one after another, every save
  exit       the last file saved → the process gone: winding down, writing
             the trace, unloading — the run's own wind-down, plus what a
             one-request run of the same binary spends after its t0 + wall

The chain: start from the last response; before a request comes the
latest request of the same thread that had ended (saved, or done when its
file was saved elsewhere) by the time it started, else the run's t0. A
one-at-a-time run's chain is every request; a concurrent run's, one request
per round of the server's delay.

Every part but exit is measured in the traced run. Exit is estimated from
the floor runs, so the parts' sum is an independent estimate of the wall
time measured outside the process, and adds_up() checks they agree (5%).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Optional, Sequence

from . import model

# The parts in the order they happen, with the words the report uses.
PHASES = ("process", "transfers", "handshake", "waiting", "receiving", "saving", "exit")
def shown(accounts) -> tuple[str, ...]:
    """The parts a table of these accounts shows: all but the TLS handshake
    when none made one (HTTP), so an HTTP report keeps its columns."""
    if any(a.parts.get("handshake") for a in accounts):
        return PHASES
    return tuple(p for p in PHASES if p != "handshake")


PHASE_WORDS = {
    "process": "starting the process",
    "transfers": "starting the transfers",
    "handshake": "TLS handshake",
    "waiting": "waiting (the configured server delay)",
    "receiving": "receiving",
    "saving": "saving",
    "exit": "exit",
}
# Within this share of the measured wall time the account is taken as
# adding up (the bar); beyond it the report says so.
TOLERANCE = 0.05


def _us(r, key: str) -> float:
    """A trace time in µs, or −1 where the step didn't happen (or the
    trace has no such column); takes model.TraceRow objects and
    csv.DictReader rows alike."""
    if isinstance(r, dict):
        v = r.get(key)
    else:  # a column model.TraceRow has no field for is in its extra
        v = getattr(r, key, None)
        if v is None:
            v = getattr(r, "extra", {}).get(key)
    try:
        return float(v)
    except (TypeError, ValueError):
        return -1.0


def _thread(r) -> str:
    v = r.get("thread") if isinstance(r, dict) else getattr(r, "thread", "")
    return str(v)


@dataclass
class Floor:
    """A one-request run of a back end, repeated: what any run of it costs
    besides its requests. start_s: process start → t0; exit_s: t0 + wall →
    the process gone; medians over runs."""
    start_s: float
    exit_s: float
    runs: int

    @property
    def total_s(self) -> float:
        return self.start_s + self.exit_s


def floor_from(process_walls: Sequence[float], run_walls: Sequence[float],
               starts_s: Sequence[float]) -> Optional[Floor]:
    """The floor of a back end from its one-request runs, in order: each
    run's whole-process wall (measured outside), its summary wall_s (t0 to
    the end of the downloads) and its start (−process_start_us, in s)."""
    k = min(len(process_walls), len(run_walls), len(starts_s))
    if k == 0:
        return None
    exits = [max(0.0, process_walls[i] - run_walls[i] - starts_s[i]) for i in range(k)]
    return Floor(start_s=statistics.median(starts_s[:k]), exit_s=statistics.median(exits), runs=k)


def ideal_wall(n: int, m: int, delay: float, floor: Optional[Floor]) -> float:
    """model.ideal_wall with a back end's floor (the one definition)."""
    return model.ideal_wall(n, m, delay, floor.total_s if floor else 0.0)


@dataclass
class Account:
    """The phase account of one traced run (seconds)."""
    backend: str
    parts: dict[str, float]
    measured_wall: Optional[float]   # the traced process's wall, timed outside it
    exit_estimated: bool             # exit from the floor (else: the remainder)
    requests: int
    threads: int
    chain: int                       # requests on the critical path
    connections: int                 # requests that opened a connection
    first_start: float               # s after t0
    last_start: float
    # t0 → the first request on the chain reached the server (s): what a
    # one-request run pays too, its connection included.
    first_transfer: float = 0.0
    details: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    @property
    def gap(self) -> Optional[float]:
        """(sum of parts − measured) ÷ measured."""
        if not self.measured_wall:
            return None
        return (self.total - self.measured_wall) / self.measured_wall

    def adds_up(self) -> bool:
        g = self.gap
        return g is None or abs(g) <= TOLERANCE


def _median(xs: list[float]) -> Optional[float]:
    return statistics.median(xs) if xs else None


def account(backend: str, trace: Sequence, wall_s: float, process_start_us: Optional[float],
            delay: float, threads: int, measured_wall: Optional[float] = None,
            floor: Optional[Floor] = None) -> Optional[Account]:
    """The phase account of a traced run: its trace rows, its summary's wall_s
    (t0 → end of the downloads), process_start_us (≤ 0), the server's delay,
    the threads it used; measured_wall is the whole process timed from
    outside, floor the back end's one-request runs. None when nothing in the
    trace finished."""
    rows = [r for r in trace if _us(r, "started_us") >= 0 and _us(r, "done_us") >= 0]
    if not rows:
        return None
    start = max(0.0, -(process_start_us or 0.0)) / 1e6
    parts = dict.fromkeys(PHASES, 0.0)
    parts["process"] = start
    delay_us = max(0.0, delay) * 1e6

    last = max(rows, key=lambda r: _us(r, "done_us"))
    t_done = _us(last, "done_us")
    t_end = max(t_done, max(_us(r, "saved_us") for r in rows))
    parts["saving"] += (t_end - t_done) / 1e6

    # Each thread's requests by the time they ended: the predecessor search.
    def end_before(r, t):
        saved, done = _us(r, "saved_us"), _us(r, "done_us")
        if 0 <= saved <= t:
            return saved
        return done if done <= t else None

    by_thread: dict[str, list] = {}
    for r in rows:
        by_thread.setdefault(_thread(r), []).append(r)

    r, chain = last, 0
    last_late_us = 0.0
    first_transfer_us = 0.0
    while r is not None:
        chain += 1
        s, done = _us(r, "started_us"), _us(r, "done_us")
        c = _us(r, "connected_us")
        c = c if c >= s else s
        # The handshake follows the TCP connection; the request goes out
        # after it, so the server's delay starts there.
        h = min(max(0.0, _us(r, "handshake_us")), max(0.0, done - c))
        parts["handshake"] += h / 1e6
        parts["transfers"] += (c - s) / 1e6
        c += h
        wait = min(delay_us, max(0.0, done - c))
        parts["waiting"] += wait / 1e6
        parts["receiving"] += (done - c - wait) / 1e6
        if chain == 1:
            last_late_us = done - c - wait
        best, best_end = None, None
        for p in by_thread.get(_thread(r), []):
            if p is r:
                continue
            e = end_before(p, s)
            if e is not None and (best_end is None or e > best_end):
                best, best_end = p, e
        if best is None:
            parts["transfers"] += s / 1e6
            first_transfer_us = c
            break
        parts["transfers"] += (s - best_end) / 1e6
        if best_end > _us(best, "done_us"):
            parts["saving"] += (best_end - _us(best, "done_us")) / 1e6
        r = best
        if chain > len(rows):  # a cycle would be a bug; never loop forever
            break

    # After the last event: the run's own wind-down (to t0 + wall_s), then
    # what follows every run — the floor's exit; without a floor, whatever
    # the measured wall leaves.
    wind_down = max(0.0, wall_s - t_end / 1e6)
    if floor is not None:
        parts["exit"] = wind_down + floor.exit_s
    elif measured_wall:
        parts["exit"] = max(0.0, measured_wall - sum(parts.values()))
    else:
        parts["exit"] = wind_down

    starts = sorted(_us(r, "started_us") for r in rows)
    connects = [_us(r, "connected_us") - _us(r, "started_us") for r in rows
                if _us(r, "connected_us") >= _us(r, "started_us")]
    to_done = [_us(r, "done_us") - _us(r, "first_byte_us") for r in rows if _us(r, "first_byte_us") >= 0]
    to_saved = [_us(r, "saved_us") - _us(r, "done_us") for r in rows if _us(r, "saved_us") >= 0]
    opened = [x for x in connects if x > 0]
    shakes = [_us(r, "handshake_us") for r in rows if _us(r, "handshake_us") > 0]
    details = {k: v / 1e3 for k, v in (
        ("connect_median_ms", _median(opened)), ("first_byte_to_done_median_ms", _median(to_done)),
        ("done_to_saved_median_ms", _median(to_saved)),
        ("done_to_saved_max_ms", max(to_saved) if to_saved else None),
        ("last_response_late_ms", last_late_us),
        ("handshake_median_ms", _median(shakes))) if v is not None}
    return Account(backend=backend, parts=parts, measured_wall=measured_wall,
                   exit_estimated=floor is not None, requests=len(rows), threads=threads,
                   chain=chain, connections=len(opened), first_start=starts[0] / 1e6,
                   last_start=starts[-1] / 1e6, first_transfer=first_transfer_us / 1e6,
                   details=details)


# ---------------------------------------------------------------- words


def decimals(x: float, steps: Sequence[tuple[float, int]], rest: int) -> str:
    """x with the decimals of the first (floor, decimals) step it reaches,
    else rest: fewer decimals for larger numbers."""
    return f"{x:.{next((d for floor, d in steps if x >= floor), rest)}f}"


def ms(x: float) -> str:
    """Seconds as a short duration: ms below 1 s, µs below 0.1 ms."""
    v = x * 1e3
    if x >= 1:
        return decimals(x, ((10, 1),), 2) + " s"
    if 0 < v < 0.01:
        return f"{v * 1e3:.1f} µs"
    if 0 < v < 0.1:
        return f"{v * 1e3:.0f} µs"
    return decimals(v, ((10, 0),), 1) + " ms"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def per_request_transfer(a: Account) -> Optional[float]:
    """Starting one request after another, each after the first (s): the
    first (t0 → its connection up) is what a one-request run pays too, so it
    is not divided among the others. None when the chain is one request."""
    if a.chain <= 1:
        return None
    return max(0.0, a.parts["transfers"] - a.first_transfer) / (a.chain - 1)


def transfers_words(a: Account) -> str:
    """What "starting the transfers" was in this run, from its shape."""
    if a.chain > 1:
        return (f"starting {_plural(a.chain, 'request')} one after another (the first, "
                f"its connection included, {ms(a.first_transfer)}; each of the other "
                f"{a.chain - 1}, {ms(per_request_transfer(a) or 0.0)})")
    if a.threads > 1:
        return (f"starting {a.threads} threads, each its request, the last "
                f"{ms(a.last_start)} after t0")
    what = (f"opening {_plural(a.connections, 'connection')}" if a.connections
            else f"starting {_plural(a.requests, 'transfer')}")
    return f"{what} on one thread"


def waiting_words(a: Account, delay: float) -> str:
    """The waiting part is the configured delay, not measured: say so."""
    return f"configured: {a.chain} × {delay:g} s"


def sentence(a: Account, wall_label: str = "") -> str:
    """One sentence: "of B's 163 ms: 14 ms starting the process, …"."""
    p = a.parts
    total = a.measured_wall if a.measured_wall else a.total
    bits = [f"{ms(p['process'])} starting the process",
            f"{ms(p['transfers'])} {transfers_words(a)}",
            *([f"{ms(p['handshake'])} in TLS handshakes"] if p.get("handshake") else []),
            f"{ms(p['waiting'])} waiting ({a.chain} × the configured delay)",
            f"{ms(p['receiving'])} receiving",
            f"{ms(p['saving'])} saving",
            f"{ms(p['exit'])} exiting"]
    out = f"of {a.backend}'s {ms(total)}{wall_label}: " + ", ".join(bits)
    g = a.gap
    if g is not None and not a.adds_up():
        out += (f" — these add to {ms(a.total)}, {abs(g) * 100:.0f}% "
                f"{'more' if g > 0 else 'less'} than the {ms(a.measured_wall)} measured, "
                f"so part of this run's time is not accounted for here")
    return out + "."


# ---------------------------------------------------------------- from a bench run


def floors(run) -> dict[str, Floor]:
    """Each back end's floor from a model.BenchRun's one-request runs."""
    out = {}
    for b, rows in run.floor_runs.items():
        walls = run.process_walls.get(("floor", "all1", b), [])
        starts = [-(s.process_start_us or 0.0) / 1e6 for s in rows]
        f = floor_from(walls, [s.wall_s for s in rows], starts)
        if f:
            out[b] = f
    return out


def accounts(run, w, fl: Optional[dict[str, Floor]] = None) -> dict[str, Account]:
    """The phase account of every back end's traced run on workload w."""
    fl = floors(run) if fl is None else fl
    out = {}
    for e in w.entries:
        a = account(e.backend, e.trace, e.summary.wall_s, e.summary.process_start_us, w.delay,
                    e.summary.threads, e.process_wall, fl.get(e.backend))
        if a:
            out[e.backend] = a
    return out
