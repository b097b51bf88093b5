"""history.py — bench-ci's figures across commits (scripts/history.sh): the
rows appended to results/history.csv, a plot per figure, and the verdict —
the first commit at which a figure moved beyond its noise.

The change-point test. A figure's series is, per commit in order, the values
its rounds measured (history.sh interleaves the commits in rounds, so a
machine getting busier hits every commit alike). For every split of the
series into commits before and commits from a given commit on, the
Mann–Whitney U test (scipy) compares the per-round values of the two sides;
the split with the smallest p is the candidate (a rank test over both whole
sides: it localises a step better than comparing medians, which tie at
neighbouring splits, and one outlying round moves it little — Pettitt's
change-point test is the same statistic). The candidate is a change when
both hold:
  - p < ALPHA: the two sides differ beyond what shuffling the rounds gives;
  - the step (median after − median before) is larger than the noise: NOISE_K
    times the rounds' spread within one commit (Series.noise: a standard
    deviation that an outlying round does not inflate), and at least MIN_STEP
    of the value before — the smallest step worth naming for that figure.
The search then recurses on each side (binary segmentation), so a later
second step is found too; the verdict names the earliest. With no split
passing both, the verdict is "no change beyond noise".
"""
from __future__ import annotations

import csv
import datetime
import math
import os
import statistics
from dataclasses import dataclass
from typing import Optional

from scipy import stats as sps

from .env import load_phrase
from .model import ReportError, load_figures, read_json
from .plots import gnuplot_terminal, gp_str, run_gnuplot
from .stats import fmt_p

ALPHA = 0.05
NOISE_K = 4.0
# The smallest step named, as a fraction of the value before. Instructions
# per request moved up to 4% between identical runs of one binary here (how
# responses split into reads), timed figures more on a busy machine; thread
# counts are exact, so any step counts.
MIN_STEP = {
    "instructions_per_request": 0.05,
    "instructions_vs_baseline": 0.05,
    "speedup": 0.10,
    "efficiency": 0.10,
    "inflight_peak": 0.05,
    "threads": 0.0,
}
# Machine-independent figures first (bench-ci's callgrind counts, then the
# figures held to the run's own parameters), the timed efficiency last.
FIGURE_ORDER = ["instructions_per_request", "instructions_vs_baseline", "speedup", "threads",
                "inflight_peak", "efficiency"]

HISTORY_COLUMNS = ["commit", "date", "subject", "figure", "backend", "value", "low", "high",
                   "rounds", "measured", "run", "machine", "load"]


@dataclass
class Commit:
    index: int
    commit: str
    short: str
    date: str
    subject: str
    status: str          # "ok", or why it was skipped

    @property
    def label(self) -> str:
        return f"{self.short} ({self.subject[:60]})"


@dataclass
class Change:
    figure: str
    backend: str
    at: Commit               # the first commit after the step
    before: float            # median of the segment before
    after: float
    noise: float
    threshold: float
    p: float
    n_before: int            # rounds on each side
    n_after: int


@dataclass
class Series:
    figure: str
    backend: str
    commits: list[Commit]        # measured ones, in order
    values: list[list[float]]    # per commit, its rounds

    @property
    def medians(self) -> list[float]:
        return [statistics.median(v) for v in self.values]

    def noise(self) -> float:
        """A robust standard deviation of one round: the median absolute
        difference between two rounds of the same commit ÷ 0.954 (for normal
        noise that median is 0.6745 × √2 σ). Unlike deviations from each
        commit's median, which are 0 for the middle one of an odd number of
        rounds, it does not shrink with the number of rounds; one outlying
        round moves it little."""
        diffs = [abs(a - b) for v in self.values for i, a in enumerate(v) for b in v[i + 1:]]
        return statistics.median(diffs) / (0.6745 * math.sqrt(2)) if diffs else 0.0


def load_commits(d: str) -> list[Commit]:
    """commits.tsv: commit, short, date, status, subject — tab-separated, in
    the series' order (history.sh writes it)."""
    path = os.path.join(d, "commits.tsv")
    try:
        with open(path) as f:
            lines = [ln.rstrip("\n") for ln in f if ln.strip()]
    except OSError as e:
        raise ReportError(f"can't read {path}: {e.strerror}")
    out = []
    for i, ln in enumerate(lines):
        parts = ln.split("\t", 4)
        if len(parts) < 5:
            raise ReportError(f"{path}: line {i + 1} has not 5 tab-separated fields")
        commit, short, date, status, subject = parts
        out.append(Commit(i, commit, short, date, subject, status))
    if not out:
        raise ReportError(f"{path} lists no commits")
    return out


def load_series(d: str, commits: list[Commit]) -> list[Series]:
    """measured/<commit>-r<round>.csv: bench_ci.sh --save's figures of one
    commit in one round."""
    mdir = os.path.join(d, "measured")
    per: dict[tuple[str, str], dict[int, list[float]]] = {}
    names = sorted(os.listdir(mdir)) if os.path.isdir(mdir) else []
    by_hash = {c.commit: c for c in commits}
    for name in names:
        stem, ext = os.path.splitext(name)
        h, _, rnd = stem.rpartition("-r")
        if ext != ".csv" or h not in by_hash or not rnd.isdigit():
            continue
        for f in load_figures(os.path.join(mdir, name)):
            per.setdefault((f.figure, f.backend), {}).setdefault(by_hash[h].index, []).append(
                float(f.value))
    order = {f: i for i, f in enumerate(FIGURE_ORDER)}
    out = []
    for (fig, b), by_commit in sorted(per.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0])):
        idx = sorted(by_commit)
        out.append(Series(fig, b, [commits[i] for i in idx], [by_commit[i] for i in idx]))
    return out


def _split_p(before: list[float], after: list[float]) -> float:
    if len(set(before + after)) < 2:
        return 1.0
    return float(sps.mannwhitneyu(before, after, alternative="two-sided").pvalue)


def change_points(s: Series) -> list[Change]:
    """Every step of the series beyond its noise, earliest first."""
    noise = s.noise()
    min_step = MIN_STEP.get(s.figure, 0.05)
    found: list[Change] = []

    def search(lo: int, hi: int) -> None:          # commits lo..hi-1
        if hi - lo < 2:
            return
        best = None
        for k in range(lo + 1, hi):
            before = [x for v in s.values[lo:k] for x in v]
            after = [x for v in s.values[k:hi] for x in v]
            p = _split_p(before, after)
            step = abs(statistics.median(after) - statistics.median(before))
            if best is None or (p, -step) < (best[0], -best[1]):
                best = (p, step, k, before, after)
        p, step, k, before, after = best
        mb = statistics.median(before)
        threshold = max(NOISE_K * noise, min_step * abs(mb))
        if p < ALPHA and step > threshold:
            found.append(Change(s.figure, s.backend, s.commits[k], mb, statistics.median(after),
                                noise, threshold, p, len(before), len(after)))
            search(lo, k)
            search(k, hi)

    search(0, len(s.values))
    return sorted(found, key=lambda c: c.at.index)


def _g(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def change_line(c: Change) -> str:
    pct = f" ({(c.after - c.before) / c.before * 100:+.1f}%)" if c.before else ""
    return (f"{c.at.short} {c.backend} {c.figure}: {_g(c.before)} before, {_g(c.after)} from "
            f"{c.at.short} on{pct}; noise ±{_g(c.noise)} a round, so a step had to exceed "
            f"{_g(c.threshold)}; Mann–Whitney {fmt_p(c.p)} over {c.n_before} and {c.n_after} "
            f"rounds — {c.at.subject[:72]}")


def _machine(env: Optional[dict]) -> str:
    env = env or {}
    virt = env.get("virtualisation") or "?"
    return (f"{env.get('cpu_model') or '?'}, {env.get('cores') or '?'} cores "
            f"({'bare metal' if virt == 'none' else virt}), Linux {env.get('kernel') or '?'}")


def append_history(path: str, run: str, env: Optional[dict], series: list[Series]) -> int:
    """One row per commit and figure (the median of its rounds, their range)."""
    measured = ((env or {}).get("load") or {}).get("end") or \
        datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    machine, load = _machine(env), load_phrase(env)
    rows = []
    for s in series:
        for c, v in zip(s.commits, s.values):
            rows.append([c.commit, c.date, c.subject, s.figure, s.backend,
                         _num(statistics.median(v)), _num(min(v)), _num(max(v)), len(v),
                         measured, run, machine, load])
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    if not new:
        with open(path, newline="") as f:
            header = next(csv.reader(f), [])
        if header != HISTORY_COLUMNS:
            raise ReportError(f"{path} has other columns than {','.join(HISTORY_COLUMNS)} "
                              f"(move it away to start a new history)")
    try:
        with open(path, "a", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            if new:
                w.writerow(HISTORY_COLUMNS)
            w.writerows(rows)
    except OSError as e:
        raise ReportError(f"can't append to {path}: {e.strerror}")
    return len(rows)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.6g}"


def plot(d: str, series: list[Series], changes: list[Change]) -> list[str]:
    """history-<figure>-<backend>.png: each round's value per commit, the
    medians joined, and a dashed line before each commit a change starts at."""
    term = gnuplot_terminal()
    if not term or not series:
        return []
    gp = ["# made by scripts/report.py history; run 'gnuplot plots.gp' in this folder to redo\n"
          f"set terminal {term} size 900,480\nset grid\n"
          "set key below\nset xtics rotate by -45\nset xlabel 'commit (oldest first)'\n"]
    pngs = []
    for s in series:
        name = f"history-{s.figure}-{s.backend}"
        with open(os.path.join(d, name + ".dat"), "w") as f:
            f.write("# index commit median rounds...\n")
            for c, v in zip(s.commits, s.values):
                f.write(f"{c.index} {c.short} {statistics.median(v):.6g} "
                        + " ".join(f"{x:.6g}" for x in v) + "\n")
        rounds = max(len(v) for v in s.values)
        marks = "".join(f"set arrow from {c.at.index - 0.5},graph 0 to {c.at.index - 0.5},graph 1 "
                        f"nohead dt 2 lw 2 lc rgb '#d02020'\n"
                        for c in changes if (c.figure, c.backend) == (s.figure, s.backend))
        plots = [f"'{name}.dat' using 1:3:xtic(2) with lines lw 2 lc rgb '#1f6fd0' "
                 f"title 'median of the rounds'"]
        plots += [f"'{name}.dat' using 1:{4 + r} with points pt 7 ps 0.8 lc rgb '#808080' "
                  + ("title 'a round'" if r == 0 else "notitle") for r in range(rounds)]
        title = f"{s.backend} {s.figure} across commits" + \
            (" (red: where it moved)" if marks else " (no change beyond noise)")
        gp.append(f"set output '{name}.png'\nset title {gp_str(title)} noenhanced\n"
                  f"set ylabel {gp_str(s.figure)} noenhanced\nunset arrow\n{marks}"
                  f"set xrange [{s.commits[0].index - 0.5}:{s.commits[-1].index + 0.5}]\n"
                  f"plot {', '.join(plots)}\n")
        pngs.append(name + ".png")
    return pngs if run_gnuplot(d, "".join(gp)) else []


def report(d: str, history_csv: Optional[str]) -> int:
    """Print the table and the verdict; append to history_csv; draw the plots."""
    commits = load_commits(d)
    series = load_series(d, commits)
    env = read_json(os.path.join(d, "env.json"), missing_ok=True)
    skipped = [c for c in commits if c.status != "ok"]
    rounds = max((len(v) for s in series for v in s.values), default=0)
    lines = [f"history: {len(commits)} commits, {len(commits) - len(skipped)} measured "
             f"(up to {rounds} rounds each, interleaved); machine load: {load_phrase(env)}"]
    for c in skipped:
        lines.append(f"  skipped {c.label}: {c.status}")
    if not series:
        print("\n".join(lines))
        raise ReportError(f"{d}: no commit was measured")
    # The table: a row per figure, a column per measured commit (oldest first).
    measured = [c for c in commits if c.status == "ok"]
    width = max(len(f"{s.backend} {s.figure}") for s in series)
    lines.append("  " + "".ljust(width) + "".join(c.short[:9].rjust(10) for c in measured)
                 + "noise ±".rjust(12))
    for s in series:
        med = dict(zip((c.index for c in s.commits), s.medians))
        lines.append("  " + f"{s.backend} {s.figure}".ljust(width)
                     + "".join((_g(med[c.index]) if c.index in med else "–").rjust(10)
                               for c in measured) + _g(s.noise()).rjust(12))
    changes = sorted((ch for s in series for ch in change_points(s)),
                     key=lambda ch: (ch.at.index, FIGURE_ORDER.index(ch.figure)
                                     if ch.figure in FIGURE_ORDER else 99))
    if changes:
        lines.append(f"history: first change: {change_line(changes[0])}")
        for ch in changes[1:]:
            lines.append(f"history: also: {change_line(ch)}")
    else:
        lines.append(f"history: no change beyond noise over {len(commits) - len(skipped)} "
                     f"commits ({commits[0].short}..{commits[-1].short}; each figure's noise a "
                     f"round is the table's last column)")
    with open(os.path.join(d, "verdict.txt"), "w") as f:
        f.write("\n".join(ln for ln in lines if ln.startswith("history:")) + "\n")
    pngs = plot(d, series, changes)
    if history_csv:
        n = append_history(history_csv, os.path.basename(os.path.normpath(d)), env, series)
        lines.append(f"history: appended {n} rows to {history_csv}")
    if pngs:
        lines.append(f"history: {len(pngs)} plot{'s' if len(pngs) > 1 else ''} in {d}: "
                     f"{pngs[0]}" + (", …" if len(pngs) > 1 else ""))
    print("\n".join(lines))
    return 0
