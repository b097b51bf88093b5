"""tls.py — what TLS does to each model: HTTP and HTTPS side by side
(bench.sh --tls-compare; make bench-tls), or a run wholly over HTTPS
(bench.sh --tls; make bench TLS=1).

From the run's tls-plan.csv (which label ran over which scheme), the timed
rounds (hyperfine-<workload>-<label>.json) and the traced runs
(trace-<label>-<workload>.csv, summary-<label>-<workload>.csv for the HTTPS
side of a comparison). For each workload:

- each back end's speedup over the baseline over HTTP and over HTTPS, each
  against the baseline on its own scheme, measured in the same rounds;
- the HTTPS phase account with its "TLS handshake" part (phases.py);
- for each one-thread back end, how much of the server's delay its one thread
  spent busy, from the trace's CPU stamps (the CPU-busy strip's data), and
  whether that thread was the bottleneck: busy for BOTTLENECK of the delay or
  more, it had no time left to wait in, so the requests it starts or the
  responses it reads wait for it instead of for the server.
No back end is named here except through the data.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Sequence

from . import phases
from .markdown import fmt_x, md_table, text_table
from .model import BenchRun, Summary, Timing, Workload, load_trace, num, read_csv, speedup

# A thread busy for this share of the server's delay or more is the bottleneck.
BOTTLENECK = 0.9


@dataclass
class Side:
    """One back end on one scheme and workload."""
    backend: str
    scheme: str
    timing: Optional[Timing]
    summary: Optional[Summary]
    trace: list


def busy_in_window(trace: Sequence, lo_us: float, hi_us: float) -> Optional[float]:
    """CPU µs the run's one thread used between lo_us and hi_us, from the
    thread CPU stamps at each transfer's start and end (started_cpu_us,
    done_cpu_us), interpolated linearly between stamps. None without
    stamps."""
    pts = []
    for r in trace:
        for t_key, c_key in (("started_us", "started_cpu_us"), ("done_us", "done_cpu_us")):
            t = phases._us(r, t_key)
            c = num((r.extra if hasattr(r, "extra") else r).get(c_key), -1.0)
            if t >= 0 and c >= 0:
                pts.append((t, c))
    if len(pts) < 2:
        return None
    pts.sort()

    def cpu_at(t: float) -> float:
        if t <= pts[0][0]:
            return pts[0][1]
        for (t0, c0), (t1, c1) in zip(pts, pts[1:]):
            if t0 <= t <= t1:
                return c0 if t1 == t0 else c0 + (c1 - c0) * (t - t0) / (t1 - t0)
        return pts[-1][1]
    return max(0.0, cpu_at(hi_us) - cpu_at(lo_us))


def busy_sentence(side: Side, delay: float) -> Optional[str]:
    """"epoll's one thread was busy 97 ms of the server's first 100 ms delay
    (97%): it was the bottleneck." None for a run with no stamps."""
    starts = [phases._us(r, "started_us") for r in side.trace if phases._us(r, "started_us") >= 0]
    if not starts or delay <= 0:
        return None
    lo = min(starts)
    busy = busy_in_window(side.trace, lo, lo + delay * 1e6)
    if busy is None:
        return None
    share = busy / (delay * 1e6)
    shakes = sorted(phases._us(r, "handshake_us") for r in side.trace
                    if phases._us(r, "handshake_us") > 0)
    median = shakes[len(shakes) // 2] / 1e6 if shakes else 0.0
    hs = f"; it made {len(shakes)} TLS handshakes, a median {phases.ms(median)} each" if shakes else ""
    if share >= BOTTLENECK:
        verdict = f"its one thread was the bottleneck (busy {BOTTLENECK:.0%} of the delay or more)"
    else:
        verdict = f"its one thread was not the bottleneck: idle {1 - share:.0%} of the delay"
        # A handshake far longer than the CPU the thread had for each one
        # waited for the other side.
        if shakes and median > 5 * busy / 1e6 / len(shakes):
            verdict += ", so its handshakes' time went waiting for the server's side of them"
    ends = [phases._us(r, "done_us") for r in side.trace if phases._us(r, "done_us") >= 0]
    whole = busy_in_window(side.trace, lo, max(ends)) if ends and max(ends) > lo else None
    run = (f"; over the run, {phases.ms(whole / 1e6)} of {phases.ms((max(ends) - lo) / 1e6)} "
           f"from its first request's start to its last one's end" if whole is not None else "")
    return (f"over {side.scheme.upper()}, {side.backend}'s one thread was busy "
            f"{phases.ms(busy / 1e6)} of the server's first {phases.ms(delay)} delay "
            f"({share:.0%}){hs}{run} — {verdict}.")


def _load_side(d: str, wl: str, backend: str, label: str, scheme: str, w: Workload) -> Side:
    if label == backend:  # the main run's own entry
        e = w.get(backend)
        return Side(backend, scheme, e.timing if e else None, e.summary if e else None,
                    e.trace if e else [])
    path = os.path.join(d, f"hyperfine-{wl}-{label}.json")
    timing = Timing.load(path) if os.path.exists(path) else None
    rows = read_csv(os.path.join(d, f"summary-{label}-{wl}.csv"), missing_ok=True)
    trace_path = os.path.join(d, f"trace-{label}-{wl}.csv")
    return Side(backend, scheme, timing, Summary.from_row(rows[0]) if rows else None,
                load_trace(trace_path) if os.path.exists(trace_path) else [])


def report(run: BenchRun, floors: dict) -> Optional[tuple[str, str]]:
    """(text, markdown) of the TLS section; None when the run had no HTTPS."""
    plan = read_csv(os.path.join(run.directory, "tls-plan.csv"), missing_ok=True)
    if not plan:
        return None
    md = ["## What TLS does to each model\n"]
    text = ["What TLS does to each model:"]
    compare = any(p["label"] != p["backend"] for p in plan)
    if compare:
        md.append("HTTP and HTTPS in the same rounds: each back end ran against an HTTP and an "
                  "HTTPS flagserver with the same delay, its runs interleaved with the others'. "
                  "Each speedup is over the baseline on the same scheme. Over HTTPS every "
                  "connection costs a TLS handshake (the client verifies flagserver's certificate); "
                  "a run's later connections resume the session of an earlier one.\n")
    else:
        md.append("Every run of this report was over HTTPS (bench.sh --tls): the clients verified "
                  "flagserver's certificate, and a run's later connections resumed the session of "
                  "an earlier one.\n")
    for w in run.workloads:
        sides: dict[tuple[str, str], Side] = {}
        for p in plan:
            if p["workload"] != w.name:
                continue
            sides[(p["backend"], p["scheme"])] = _load_side(run.directory, w.name, p["backend"],
                                                            p["label"], p["scheme"], w)
        if not sides:
            continue
        backends = [b for b in run.backends if any(k[0] == b for k in sides)]
        schemes = [s for s in ("http", "https") if any(k[1] == s for k in sides)]
        rows = []
        for b in backends:
            row = [b]
            for s in schemes:
                side, base = sides.get((b, s)), sides.get((backends[0], s))
                x = (speedup(base.timing.mean, side.timing.mean)
                     if side and base and side.timing and base.timing else None)
                wall = side.timing.mean if side and side.timing else None
                row += [f"{wall:.3f}" if wall else "—", fmt_x(x) if x else "—"]
            rows.append(row)
        names = ["back end"] + [f"{s.upper()} {h}" for s in schemes for h in ("wall", "speedup")]
        units = [""] + ["s", "x"] * len(schemes)
        md_head = [f"{h} ({u})" if u else h for h, u in zip(names, units)]
        md += [f"### {w.name}: {w.requests} requests, {w.delay:g} s delay\n", md_table(md_head, rows), ""]
        text += ["", f"  {w.name}:", text_table([names, units], rows)]
        lines = []
        for b in backends:
            side = sides.get((b, "https"))
            if side and side.trace and side.summary:
                a = phases.account(b, side.trace, side.summary.wall_s,
                                   side.summary.process_start_us, w.delay, side.summary.threads,
                                   None, floors.get(b))
                if a and a.parts.get("handshake"):
                    lines.append(f"Over HTTPS, {phases.sentence(a)}")
        for b in backends[1:]:
            for s in schemes:
                side = sides.get((b, s))
                if side and side.summary and side.summary.threads == 1:
                    sent = busy_sentence(side, w.delay)
                    if sent:
                        lines.append(sent[0].upper() + sent[1:])
        md += [f"- {s}" for s in lines] + [""]
        text += [f"  {s}" for s in lines]
    return "\n".join(text), "\n".join(md)

