"""stats.py — how sure a figure is: 95% confidence intervals for mean wall
times (Student's t), intervals for speedups (a ratio of means, on the log
scale), and a test for each pair of back ends, from scipy (Debian's
python3-scipy).

Paired by round when the driver interleaved the back ends: runs of the same
round ran side by side, so whatever the machine did meanwhile (other jobs,
frequency, drift) hit both, and the Wilcoxon signed-rank test on the
per-round differences cancels it. Fewer than MIN_ROUNDS shared rounds (the
exact test can't reach p < 0.05 on five) fall back to the Mann–Whitney U test
on all runs. Both are rank tests: a single slow outlier run (this kind of
machine makes them) moves them little.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from scipy import stats as sps

LEVEL = 0.95
ALPHA = 0.05
MIN_ROUNDS = 6


@dataclass
class Interval:
    """An estimate with its LEVEL confidence interval; low/high None when
    there are too few runs to say (one run)."""
    estimate: float
    low: Optional[float]
    high: Optional[float]
    n: int

    @property
    def half_width(self) -> Optional[float]:
        return None if self.low is None or self.high is None else (self.high - self.low) / 2


def mean_interval(xs: Sequence[float], level: float = LEVEL) -> Interval:
    """The mean of xs with Student's t-interval (needs two values or more)."""
    n = len(xs)
    if n == 0:
        return Interval(float("nan"), None, None, 0)
    mean = sum(xs) / n
    if n < 2:
        return Interval(mean, None, None, n)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    h = sps.t.ppf((1 + level) / 2, n - 1) * sd / math.sqrt(n)
    return Interval(mean, mean - h, mean + h, n)


def _log_mean_var(xs: Sequence[float]) -> tuple[float, float, int]:
    """log of the mean, and its variance by the delta method: s² / (n · mean²)."""
    n = len(xs)
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / (n - 1) if n > 1 else 0.0
    return math.log(mean), var / (n * mean * mean), n


def ratio_interval(base: Sequence[float], other: Sequence[float],
                   level: float = LEVEL) -> Optional[Interval]:
    """mean(base) ÷ mean(other) — a speedup — with an interval: the variance
    of the log ratio by the delta method, degrees of freedom by Welch–
    Satterthwaite. A side with one run contributes no variance (its spread is
    unknown); with one run on both sides there is no interval."""
    if not base or not other or min(base) <= 0 or min(other) <= 0:
        return None
    la, va, na = _log_mean_var(base)
    lb, vb, nb = _log_mean_var(other)
    est = math.exp(la - lb)
    var = va + vb
    dof_parts = [(v * v / (n - 1)) for v, n in ((va, na), (vb, nb)) if n > 1]
    if na < 2 and nb < 2:
        return Interval(est, None, None, min(na, nb))
    if var <= 0 or not dof_parts or sum(dof_parts) <= 0:
        return Interval(est, est, est, min(na, nb))
    dof = var * var / sum(dof_parts)
    h = sps.t.ppf((1 + level) / 2, dof) * math.sqrt(var)
    return Interval(est, math.exp(la - lb - h), math.exp(la - lb + h), min(na, nb))


@dataclass
class Comparison:
    """Which of two commands was faster, and how sure: p from the test named."""
    faster: str
    slower: str
    # slower's time ÷ faster's: the geometric mean of the per-round ratios
    # when paired by rounds, else the ratio of the means
    ratio: Optional[Interval]
    p: Optional[float]
    test: str
    runs: tuple[int, int]              # (faster's runs, slower's runs)
    rounds: int                        # rounds both ran in
    rounds_won: int                    # rounds the faster won

    @property
    def significant(self) -> bool:
        return self.p is not None and self.p < ALPHA


def compare(a: str, a_times: Sequence[float], a_rounds: Sequence[int],
            b: str, b_times: Sequence[float], b_rounds: Sequence[int]) -> Comparison:
    """a against b. a_rounds[i] is the round a_times[i] ran in (interleaved
    drivers); pairs are the rounds both ran in."""
    by_a, by_b = dict(zip(a_rounds, a_times)), dict(zip(b_rounds, b_times))
    shared = sorted(set(by_a) & set(by_b))
    pa, pb = [by_a[r] for r in shared], [by_b[r] for r in shared]
    p: Optional[float] = None
    test = "none (too few runs)"
    if len(shared) >= MIN_ROUNDS:
        diffs = [x - y for x, y in zip(pa, pb)]
        if any(diffs):
            p = float(sps.wilcoxon(pa, pb).pvalue)
        else:
            p = 1.0
        test = f"Wilcoxon signed-rank over {len(shared)} rounds"
    elif len(a_times) >= 2 and len(b_times) >= 2:
        p = float(sps.mannwhitneyu(a_times, b_times, alternative="two-sided").pvalue)
        test = "Mann–Whitney U"
    mean_a, mean_b = sum(a_times) / len(a_times), sum(b_times) / len(b_times)
    a_first = mean_a <= mean_b
    fast, slow = (a, b) if a_first else (b, a)
    ft, st = (a_times, b_times) if a_first else (b_times, a_times)
    won = sum(1 for x, y in zip(pa, pb) if (x < y if a_first else y < x))
    ratio = ratio_interval(st, ft)
    if len(shared) >= MIN_ROUNDS and min(pa + pb) > 0:
        # Paired like the test: the per-round ratios' geometric mean and its
        # t-interval, so interval and p agree on what they compare.
        logs = [math.log(y / x) if a_first else math.log(x / y) for x, y in zip(pa, pb)]
        iv = mean_interval(logs)
        ratio = Interval(math.exp(iv.estimate), math.exp(iv.low), math.exp(iv.high), iv.n)
    return Comparison(faster=fast, slower=slow, ratio=ratio, p=p, test=test,
                      runs=(len(ft), len(st)), rounds=len(shared), rounds_won=won)


def fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def fmt_interval(iv: Optional[Interval], fmt, unit: str = "") -> str:
    """"est<unit> (low–high)", or "est<unit>" when there is no interval."""
    if iv is None:
        return "–"
    if iv.low is None or iv.high is None:
        return f"{fmt(iv.estimate)}{unit}"
    return f"{fmt(iv.estimate)}{unit} ({fmt(iv.low)}–{fmt(iv.high)})"


def _runs(c: Comparison) -> str:
    a, b = c.runs
    return f"{a} runs each" if a == b else f"{a} and {b} runs"


def sentence(c: Comparison) -> str:
    """'x is faster than y …' or 'no significant difference …', with the numbers."""
    r = c.ratio
    by = f"{r.estimate:.2f}×" if r else "?"
    ci = (f"95% CI {r.low:.2f}–{r.high:.2f}; " if r and r.low is not None and r.high is not None
          else "")
    rounds = (f", faster in {c.rounds_won} of {c.rounds} rounds" if c.rounds else "")
    if c.p is None:
        return (f"{c.faster} and {c.slower} can't be told apart: too few runs to test "
                f"({_runs(c)}; {c.faster} {by} as fast in the mean).")
    if c.significant:
        return (f"{c.faster} is faster than {c.slower} by {by} ({ci}{fmt_p(c.p)}, {c.test}, "
                f"{_runs(c)}{rounds}).")
    return (f"{c.faster} and {c.slower}: no significant difference in {_runs(c)} "
            f"({fmt_p(c.p)}, {c.test}; {c.faster} {by} as fast, {ci}{rounds.lstrip(', ')}).")


def row(c: Comparison) -> list[str]:
    """A comparison as a table row: pair, faster (or none), ratio with its
    interval, p, test, rounds won."""
    r = c.ratio
    ratio = fmt_interval(r, lambda v: f"{v:.2f}", "×") if r else "–"
    if c.p is None:
        verdict = "can't tell (too few runs)"
    elif c.significant:
        verdict = c.faster
    else:
        verdict = "no significant difference"
    return [f"{c.faster} / {c.slower}", verdict, ratio,
            fmt_p(c.p) if c.p is not None else "–", c.test,
            f"{c.faster} {c.rounds_won} of {c.rounds}" if c.rounds else "–"]
