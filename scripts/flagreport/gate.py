"""gate.py — the bench-ci gate: the figures of a bench_ci.sh work folder, and
their check against results/baseline.csv.

Every figure is relative to the same run, or to the run's own parameters
(n requests, m in flight), never a machine's absolute speed: speedup against
the ideal n / ceil(n/m), in-flight peak against m, threads as m + 1 or 1,
instructions per request as the difference between an n-request and an
n/2-request run under callgrind at the same few requests in flight (start-up,
thread and connection set-up cancel), the other back ends'
relative to the baseline's of the same run. A baseline value may be such an
expression; --update writes them.
"""
from __future__ import annotations

import ast
import math
import operator
import os
import statistics
import sys
from typing import Optional

from .env import load_phrase
from .model import Figure, ReportError, callgrind_total, load_figures, load_summaries, speedup

# figure -> (check, tolerance, the baseline value --update writes: an
# expression in n and m, or None for the measured value).
CI_CHECKS: dict[str, tuple[str, float, Optional[str]]] = {
    "efficiency": ("at_least", 0.9, "1"),
    "speedup": ("at_least", 0.6, "n / ceil(n / m)"),
    "inflight_peak": ("at_least", 0.9, "m"),
    "threads": ("exact", 1, None),
    "instructions_per_request": ("at_most", 1.15, None),
    # Event loops' counts move ±6% between identical runs (how many
    # responses one wake-up finds depends on timing); the baseline's ±1.5%.
    "instructions_vs_baseline": ("at_most", 1.25, None),
}

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv}


def evaluate(expr: str, variables: dict[str, float]) -> float:
    """A baseline value: a number, or + - * / and ceil() over the run's
    variables (n, m). Nothing else is evaluated."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in variables:
            return float(variables[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "ceil" and len(node.args) == 1):
            return float(math.ceil(ev(node.args[0])))
        raise ValueError(node)
    try:
        return ev(ast.parse(expr, mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError):
        raise ReportError(f"baseline value '{expr}' is not a number or an expression in "
                          f"{', '.join(sorted(variables))}")


def _fmt_value(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.4g}"


def ci_figures(d: str, n: int, delay: float, backends: list[str],
               only: Optional[str] = None) -> list[Figure]:
    """The measured figures of a bench_ci.sh work folder; backends in the
    list's order, the baseline first. Files: timed-<b>.csv (--summary rows of
    the timed runs), callgrind-<k>.<b> and cg-<k>-<b>.csv for k requests.
    only: "timed" or "instructions" when only those runs were made."""
    rows: list[Figure] = []

    def add(fig: str, b: str, v: float) -> None:
        check, tol, _ = CI_CHECKS[fig]
        rows.append(Figure(fig, b, _fmt_value(v), check, tol))

    base, others = backends[0], backends[1:]
    if only != "instructions":
        _timed_figures(d, n, delay, base, others, add)
    if only != "timed":
        _instruction_figures(d, n, base, others, add)
    return rows


def _timed_figures(d: str, n: int, delay: float, base: str, others: list[str], add) -> None:
    backends = [base] + others
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


def _instruction_figures(d: str, n: int, base: str, others: list[str], add) -> None:
    backends = [base] + others
    # Instructions per request without start-up and exit: an n-request run
    # minus an n/2-request one, over the n/2 requests between them.
    per_req = {}
    for b in backends:
        counts = {}
        for k in (n // 2, n):
            reqs = load_summaries(os.path.join(d, f"cg-{k}-{b}.csv"))[-1].requests
            counts[reqs] = callgrind_total(os.path.join(d, f"callgrind-{k}.{b}"))
        (k1, c1), (k2, c2) = sorted(counts.items())
        if k2 <= k1:
            raise ReportError(f"{d}: the two callgrind runs of {b} made {k1} and {k2} requests")
        per_req[b] = (c2 - c1) / (k2 - k1)
    add("instructions_per_request", base, round(per_req[base]))
    for b in others:
        add("instructions_vs_baseline", b, round(per_req[b] / per_req[base], 4))


def baseline_form(measured: list[Figure], n: int, m: int) -> list[Figure]:
    """What --update writes: measured figures with the values that follow
    from the run's parameters written as expressions of them."""
    out = []
    for f in measured:
        expr = CI_CHECKS.get(f.figure, (None, None, None))[2]
        value = f.value
        if expr is not None:
            value = expr
        elif f.figure == "threads":
            v = float(f.value)
            value = "m + 1" if v == m + 1 and m > 1 else f.value
        out.append(Figure(f.figure, f.backend, value, f.check, f.tolerance))
    return out


def _check(f: Figure, base: float, measured: float) -> tuple[bool, str]:
    """(passes, the rule with its limit)."""
    expr = "" if _is_number(f.value) else f" ({f.value})"
    if f.check == "at_least":
        return measured >= f.tolerance * base, \
            f">= {f.tolerance:g} × {_g(base)}{expr} = {_g(f.tolerance * base)}"
    if f.check == "at_most":
        return measured <= f.tolerance * base, \
            f"<= {f.tolerance:g} × {_g(base)}{expr} = {_g(f.tolerance * base)}"
    return measured == base, f"== {_g(base)}{expr}"


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _g(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 1e4 else f"{x:.4g}"


def _measured(path: str) -> dict[tuple[str, str], float]:
    out = {}
    for r in load_figures(path):
        if not _is_number(r.value):
            raise ReportError(f"{path}: {r.name} is '{r.value}', not a measured number "
                              f"(a baseline? measured figures come from --save)")
        out[(r.figure, r.backend)] = float(r.value)
    return out


def compare(baseline_path: str, measured_paths: list[str], variables: dict[str, float],
            env: Optional[dict] = None, failed_out: Optional[str] = None) -> int:
    """Check measured figures against the baseline; 1 naming each regression.
    With two measured files the second is a figure's second try: it fails
    only when outside tolerance in both (the first try's failures only were
    measured again). failed_out: write the figures outside tolerance there
    ("figure backend" a line) and say they will be measured again instead of
    calling them regressions."""
    base = load_figures(baseline_path)
    if not base:
        raise ReportError(f"{baseline_path} has no figures")
    tries = [_measured(p) for p in measured_paths]
    load = load_phrase(env) if env else "not measured (figures from a file)"
    failures: list[tuple[Figure, str]] = []
    lines = []
    for r in base:
        b = evaluate(r.value, variables)
        values = [t[(r.figure, r.backend)] for t in tries if (r.figure, r.backend) in t]
        if not values:
            failures.append((r, f"{r.name}: not measured"))
            lines.append(f"  FAIL {r.name}: not measured")
            continue
        results = [_check(r, b, v) for v in values]
        ok = any(passed for passed, _ in results)
        rule = results[-1][1]
        shown = ", then ".join(_g(v) for v in values)
        again = " (measured again)" if len(values) > 1 else ""
        msg = f"{r.name} = {shown}{again}, want {rule}"
        lines.append(f"  {'ok  ' if ok else 'FAIL'} {msg}")
        if not ok:
            failures.append((r, f"{msg}; tolerance {r.tolerance:g} ({r.check}); machine load: {load}"))
    known = {(r.figure, r.backend) for r in base}
    new = sorted({b for t in tries for (fig, b) in t if (fig, b) not in known})
    if new:
        lines.append(f"  note: not in the baseline, so not gated: {', '.join(new)} "
                     f"(scripts/bench_ci.sh --update adds them)")
    print("\n".join(lines))
    if failures and failed_out is not None:
        with open(failed_out, "w") as f:
            f.writelines(f"{r.figure} {r.backend}\n" for r, _ in failures)
        for _, msg in failures:
            print(f"bench-ci: outside tolerance, measuring once more: {msg}", file=sys.stderr)
        return 1
    if failures:
        for _, msg in failures:
            print(f"bench-ci: regression: {msg}", file=sys.stderr)
        return 1
    print(f"bench-ci: {len(base)} figures within tolerance of {baseline_path} "
          f"(machine load: {load})")
    return 0
