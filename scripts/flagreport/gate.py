"""gate.py — the bench-ci gate: the figures of a bench_ci.sh work folder, and
their check against results/baseline.csv."""
from __future__ import annotations

import os
import statistics
import sys

from .model import Figure, callgrind_total, load_figures, load_summaries, speedup

# figure -> (check, tolerance) that --update writes; the baseline file rules.
CI_CHECKS = {
    "speedup": ("at_least", 0.7),
    "efficiency": ("at_least", 0.9),
    "inflight_peak": ("at_least", 0.9),
    "threads": ("exact", 1),
    "instructions_per_request": ("at_most", 1.15),
}


def ci_figures(d: str, n: int, delay: float, backends: list[str]) -> list[Figure]:
    """The measured figures of a bench_ci.sh work folder; backends in the
    list's order, the baseline first."""
    rows: list[Figure] = []

    def add(fig: str, b: str, v: float) -> None:
        check, tol = CI_CHECKS[fig]
        rows.append(Figure(fig, b, v, check, tol))

    base, others = backends[0], backends[1:]
    timed = {b: load_summaries(os.path.join(d, f"timed-{b}.csv")) for b in backends}
    # The fastest run: scheduling noise only ever adds time.
    fastest = {b: min(s.wall_s for s in timed[b]) for b in backends}
    add("efficiency", base, round(n * delay / fastest[base], 4))
    for b in others:
        add("speedup", b, round(speedup(fastest[base], fastest[b]) or 0.0, 2))
    for b in others:
        add("inflight_peak", b, int(statistics.median(s.inflight_peak for s in timed[b])))
    for b in backends:
        add("threads", b, int(statistics.median(s.threads for s in timed[b])))
    for b in backends:
        reqs = load_summaries(os.path.join(d, f"cg-{b}.csv"))[-1].requests or 1
        add("instructions_per_request", b,
            round(callgrind_total(os.path.join(d, f"callgrind.{b}")) / reqs))
    return rows


def _g(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 1e4 else f"{x:.4g}"


def compare(baseline_path: str, measured_path: str) -> int:
    """Check measured figures against the baseline; 1 naming each regression."""
    base = load_figures(baseline_path)
    meas = {(r.figure, r.backend): r.value for r in load_figures(measured_path)}
    if not base:
        print(f"report: error: {baseline_path} has no figures", file=sys.stderr)
        return 1
    failures = []
    lines = []
    for r in base:
        b, check, tol = r.value, r.check, r.tolerance
        m = meas.get((r.figure, r.backend))
        if m is None:
            failures.append(f"{r.name}: not measured")
            lines.append(f"  FAIL {r.name}: not measured")
            continue
        if check == "at_least":
            limit, ok, rule = tol * b, m >= tol * b, f">= {tol:g} × {_g(b)}"
        elif check == "at_most":
            limit, ok, rule = tol * b, m <= tol * b, f"<= {tol:g} × {_g(b)}"
        else:
            limit, ok, rule = b, m == b, f"== {_g(b)}"
        msg = f"{r.name} = {_g(m)}, want {rule}" + (f" = {_g(limit)}" if check != "exact" else "")
        lines.append(f"  {'ok  ' if ok else 'FAIL'} {msg}")
        if not ok:
            failures.append(msg)
    print("\n".join(lines))
    if failures:
        for f in failures:
            print(f"bench-ci: regression: {f}", file=sys.stderr)
        return 1
    print(f"bench-ci: {len(base)} figures within tolerance of {baseline_path}")
    return 0
