"""answer.py — the first screen of report.md: the question, and the answer
in at most six lines, in numbers, before any table: per workload the
speedups with their intervals, the one-sentence reason, the one-sentence
limit, and Fluent Python's own figures beside ours.

Other report sections add to the limit line through LIMIT_HOOKS (a function
of the run that returns a clause, or None): HTTPS, CPU-bound work and the
like each say there what they found, in one clause, without editing this
module's sentences.
"""
from __future__ import annotations

import statistics
from typing import Callable, Optional

from . import stats
from .model import BenchRun, BackendRun, Workload, speedup

QUESTION = "How can one thread be 20× faster than another one thread?"

# Fluent Python, 2nd ed., the flags chapter: the one-at-a-time script and
# the two concurrent ones downloading the same 20 flags over the internet
# (seconds; the book's own runs, not ours).
BOOK_SECONDS = {"flags.py": 7.18, "flags_threadpool.py": 1.40, "flags_asyncio.py": 1.35}
BOOK_BASELINE = "flags.py"

# Clauses for the limit line: fn(run) -> "HTTPS: …" or None.
LIMIT_HOOKS: list[Callable[[BenchRun], Optional[str]]] = []

MAX_LINES = 6


def and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _x(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def fmt_speedup_iv(iv: Optional[stats.Interval]) -> str:
    if iv is None:
        return "–"
    s = f"{_x(iv.estimate)}×"
    if iv.low is not None and iv.high is not None:
        s += f" ({_x(iv.low)}–{_x(iv.high)})"
    return s


def speedup_iv(w: Workload, e: BackendRun) -> Optional[stats.Interval]:
    return stats.ratio_interval(w.baseline.timing.times or [w.baseline.wall],
                                e.timing.times or [e.wall])


def label(e: BackendRun) -> str:
    """'epoll (flags_asyncio.py)', or the name alone."""
    return f"{e.backend} ({e.book})" if e.book else e.backend


def book_line(busy: bool = False) -> str:
    base = BOOK_SECONDS[BOOK_BASELINE]
    others = ", ".join(f"{k} {v:.2f} s ({base / v:.1f}×)" for k, v in BOOK_SECONDS.items()
                       if k != BOOK_BASELINE)
    return (f"*Fluent Python*'s 20 flags over the internet: {BOOK_BASELINE} {base:.2f} s, "
            f"{others}. Ours, on a local server with a fixed delay (timed means, 95% "
            f"intervals{'; the machine was busy: see the warning below' if busy else ''}):")


def workload_line(w: Workload, ideal: Optional[dict[str, float]] = None) -> str:
    base = w.baseline
    runs = sorted({e.runs for e in w.entries})
    bits = [f"{label(base)} {fmt_s(base.wall)} s"]
    for e in w.entries[1:]:
        bit = f"{label(e)} {fmt_speedup_iv(speedup_iv(w, e))}"
        bits.append(bit)
    line = (f"- **{w.name}** ({w.requests} requests, {w.delay:g} s delay, "
            f"{'/'.join(str(r) for r in runs)} runs each): " + "; ".join(bits))
    if ideal:
        lo, hi = _x(min(ideal.values())), _x(max(ideal.values()))
        line += f" — ideal {lo if lo == hi else f'{lo}–{hi}'}×"
    return line + "."


def fmt_s(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}" if x >= 1 \
        else f"{x:.3f}"


def reason_line(run: BenchRun) -> Optional[str]:
    """The mechanism, with the run's own figures: the waits overlap."""
    ws = [w for w in run.workloads if w.delay > 0 and len(w.entries) > 1]
    if not ws:
        return None
    w = ws[0]
    base = w.baseline
    threads = [e for e in w.entries[1:] if e.summary.threads > 1]
    pool = (f"; {label(threads[0])} does it with {threads[0].summary.threads} threads and no "
            f"event loop, at {_x(w.speedup(threads[0]) or 0)}×" if threads else "")
    ms = sorted({e.summary.max_req for e in w.entries[1:]})
    return (f"- **Why**: overlapping the waits. Each request waits {w.delay:g} s for the "
            f"server; {base.backend} waits {w.requests} × {w.delay:g} s one after another, the "
            f"others start up to {'/'.join(str(m) for m in ms)} at once and wait about once"
            f"{pool}. The CPU each used was under "
            f"{100 * max(e.cpu / e.wall for e in w.entries if e.wall):.0f}% of its wall time.")


def nodelay_clause(run: BenchRun) -> Optional[str]:
    if not run.nodelay_runs or not run.backends:
        return None
    base = run.backends[0]
    wl = next((k[1] for k in run.process_walls if k[0] == "nodelay"), "")
    med = {b: statistics.median(v) for b in run.backends
           if (v := run.process_walls.get(("nodelay", wl, b)))}
    if base not in med or len(med) < 2:
        return None
    sps = [speedup(med[base], med[b]) or 0 for b in med if b != base]
    lo, hi = min(sps), max(sps)
    span = f"{lo:.2f}–{hi:.2f}×" if abs(hi - lo) >= 0.01 else f"{hi:.2f}×"
    w = next((w for w in run.workloads if w.name == wl and w.delay > 0), None)
    delayed = [v for e in w.entries[1:] if (v := w.speedup(e))] if w else []
    against = (f", against {_x(min(delayed))}–{_x(max(delayed))}× with the delay"
               if delayed else "")
    return (f"with no server delay ({wl}) there are no waits to overlap, and the others ran at "
            f"{span} {base}'s speed (whole process, medians){against}")


def limit_line(run: BenchRun) -> Optional[str]:
    clauses = [c for c in [nodelay_clause(run)] + [h(run) for h in LIMIT_HOOKS] if c]
    if not clauses:
        return None
    text = "; ".join(clauses)
    return f"- **Limit**: {text[0].lower()}{text[1:]}."


def lines(run: BenchRun, ideals: Optional[dict[str, dict[str, float]]] = None) -> list[str]:
    """The answer block: at most MAX_LINES lines, the question first."""
    busy = bool(((run.env or {}).get("load") or {}).get("busy"))
    out = [f"# {QUESTION}", book_line(busy)]
    budget = MAX_LINES - 2 - 2  # the reason and the limit lines
    for w in run.workloads[:budget]:
        out.append(workload_line(w, (ideals or {}).get(w.name)))
    for line in (reason_line(run), limit_line(run)):
        if line:
            out.append(line)
    return out[:MAX_LINES]
