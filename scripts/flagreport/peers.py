"""peers.py — the clients people use instead, next to the back ends: a table,
a plot and sentences computed from bench.sh --peers' figures (peers.csv and
peers-<workload>-<peer>.json, loaded by model.load_peers).

Two kinds of peer: "python", the book's three shapes written for flagbench
(peers/), and "tool", what a user would pick (curl, aria2c, wget2). The
book's own claim — asyncio about 5x faster than one request at a time — is
computed in the Python clients' own figures (their one-at-a-time client is the
one run with one request in flight) and set next to the back ends' speedups.
No back end and no peer is named here except through the data.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Optional

from . import stats
from .markdown import fmt_s, fmt_x, md_table, text_table
from .model import BenchRun, PeerRun, Workload, speedup
from .plots import gnuplot_terminal, gp_str

GROUPS = ["C back end", "python", "tool"]
GROUP_COLOURS = ["#d0501f", "#1f6fd0", "#2a9d8f"]


@dataclass
class Row:
    """One client of the comparison table: a back end or a peer that ran."""
    name: str
    group: str          # "C back end", or the peer's kind
    how: str            # its model in words
    max_req: int
    wall: float         # hyperfine's mean
    interval: stats.Interval  # the mean wall's; no bounds after one run
    runs: int
    cpu: float          # hyperfine's mean user + system
    rss_mib: Optional[float]
    requests: int
    # CPU a request costs beyond start-up (ms): a peer's CPU less its run
    # doing nothing (start_cpu_s), ÷ N; a back end's traced downloads less a
    # one-request run's, ÷ (N − 1). None: not measured (then CPU ÷ N).
    per_request_ms: Optional[float] = None

    @property
    def cpu_per_request_ms(self) -> float:
        if self.per_request_ms is not None:
            return self.per_request_ms
        return 1000 * self.cpu / max(1, self.requests)


def _rows(w: Workload, peers: list[PeerRun]) -> list[Row]:
    rows = []
    for e in w.entries:
        rows.append(Row(e.backend, "C back end", "flagbench", e.max_req, e.wall,
                        stats.mean_interval(e.timing.times or [e.wall]), e.runs, e.cpu,
                        e.summary.rss_kb / 1024 if e.summary.rss_kb else None, w.requests,
                        None if (c := e.cpu_per_request(w.requests)) is None else 1e3 * c))
    for p in peers:
        if p.ok:
            t = p.timing
            rows.append(Row(p.peer, p.kind, p.model, p.max_req, t.mean,
                            stats.mean_interval(t.times or [t.mean]), t.runs, t.cpu,
                            p.check_max_rss_kib / 1024 if p.check_max_rss_kib else None,
                            w.requests,
                            1e3 * max(0.0, t.cpu - p.start_cpu_s) / max(1, w.requests)
                            if p.start_cpu_s > 0 else None))
    return rows


def _python_baseline(rows: list[Row]) -> Optional[Row]:
    """The Python clients' own baseline: the one that ran one request at a time."""
    return next((r for r in rows if r.group == "python" and r.max_req == 1), None)


def _fmt_interval(r: Row) -> str:
    iv = r.interval
    if iv.low is None or iv.high is None:
        return f"{fmt_s(r.wall)} (1 run)"
    return f"{fmt_s(r.wall)} [{fmt_s(max(0.0, iv.low))}–{fmt_s(iv.high)}]"


def table(w: Workload, peers: list[PeerRun]):
    """(header lines, rows): every client that ran, then those that failed."""
    rows = _rows(w, peers)
    base = w.baseline.wall
    pybase = _python_baseline(rows)
    header = [["client", "how", "m", "wall s", "CPU s", "CPU/req", "peak RSS", "speedup",
               "vs own"],
              ["", "", "", "mean [95% CI]", "user+sys", "ms, beyond start", "MiB", "vs " + w.baseline.backend,
               "1-at-a-time"]]
    out = []
    for r in rows:
        sp = speedup(base, r.wall)
        own = speedup(pybase.wall, r.wall) if pybase and r.group == "python" else None
        if r.group == "C back end":
            own = w.speedup(next(e for e in w.entries if e.backend == r.name))
        out.append([r.name, r.group if r.group == "C back end" else r.how, str(r.max_req),
                    _fmt_interval(r), fmt_s(r.cpu), f"{r.cpu_per_request_ms:.3f}",
                    f"{r.rss_mib:.1f}" if r.rss_mib is not None else "–",
                    f"{fmt_x(sp)}×" if sp else "–", f"{fmt_x(own)}×" if own else "–"])
    for p in peers:
        if not p.ok:
            out.append([p.peer, p.model, str(p.max_req), "failed", "–", "–", "–", "–", "–"])
    return header, out


def _span(lo: float, hi: float) -> str:
    """A range of speedups, one figure when both ends print alike."""
    return fmt_x(lo) if fmt_x(lo) == fmt_x(hi) else f"{fmt_x(lo)}–{fmt_x(hi)}"


def _compare(a: float, b: float) -> str:
    """Wall time a against b as a verb phrase: 'was as fast as' within 5%,
    else 'was N× faster than' or 'took N× as long as' (never 'N× slower')."""
    if abs(a - b) <= 0.05 * max(a, b):
        return "was as fast as"
    if a < b:
        return f"was {fmt_x(b / a)}× faster than"
    return f"took {fmt_x(a / b)}× as long as"


def sentences(w: Workload, peers: list[PeerRun]) -> list[str]:
    """The book's 5x, the Python clients and the tools against the back ends,
    each figure computed from this run."""
    rows = _rows(w, peers)
    n, delay = w.requests, w.delay
    c_rows = [r for r in rows if r.group == "C back end"]
    c_fast = min(c_rows, key=lambda r: r.wall)
    c_conc = [r for r in c_rows if r.name != w.baseline.backend] or c_rows
    py = [r for r in rows if r.group == "python"]
    tools = [r for r in rows if r.group == "tool"]
    pybase = _python_baseline(rows)
    start = {p.peer: p for p in peers}
    out = []
    if pybase and len(py) > 1:
        conc = sorted((r for r in py if r is not pybase), key=lambda r: r.wall)
        parts = [f"{fmt_x(pybase.wall / r.wall)}× ({r.name}: {r.how}, {fmt_s(r.wall)} s)"
                 for r in conc]
        c_sp = [w.baseline.wall / r.wall for r in c_conc]
        m = max(r.max_req for r in conc)
        out.append(
            f"The book's comparison in its own language: against the Python client that makes "
            f"one request at a time ({fmt_s(pybase.wall)} s for {n} requests), the concurrent "
            f"Python clients were {', '.join(parts)} faster. The book reports about 5× for its "
            f"concurrent scripts over the internet; on this local server with {delay:g} s of "
            f"delay and up to {m} requests in flight (the ideal: the table above), "
            f"the C back ends were {_span(min(c_sp), max(c_sp))}× faster than their "
            f"own baseline.")
    py_conc = [r for r in py if r is not pybase]
    if py_conc:
        best = min(py_conc, key=lambda r: r.wall)
        waits = math.ceil(n / max(1, best.max_req)) * delay
        st = start.get(best.name)
        floor = (f", {fmt_s(st.start_wall_s)} s starting the interpreter and importing its HTTP "
                 f"library (the same client with --help: {fmt_s(st.start_cpu_s)} s of CPU)"
                 if st and st.start_wall_s > 0 else "")
        out.append(
            f"The fastest Python client, {best.name} ({best.how}), took {fmt_s(best.wall)} s, "
            f"{fmt_x(best.wall / c_fast.wall)}× the fastest back end's {fmt_s(c_fast.wall)} s "
            f"({c_fast.name}). Of that, {fmt_s(waits)} s is the server's delay{floor}; in all "
            f"it used {fmt_s(best.cpu)} s of CPU; beyond its start-up, "
            f"{best.cpu_per_request_ms:.2f} ms a request against "
            f"{c_fast.cpu_per_request_ms:.2f} ms for {c_fast.name}.")
    if tools:
        tf = min(tools, key=lambda r: r.wall)
        spread = ", ".join(f"{r.name} {fmt_s(r.wall)} s" for r in sorted(tools, key=lambda r: r.wall))
        cpu_lo = min(r.cpu_per_request_ms for r in tools)
        cpu_hi = max(r.cpu_per_request_ms for r in tools)
        c_lo = min(r.cpu_per_request_ms for r in c_conc)
        c_hi = max(r.cpu_per_request_ms for r in c_conc)
        out.append(
            f"The tools a user would pick took {spread}; the fastest, {tf.name}, "
            f"{_compare(tf.wall, c_fast.wall)} the fastest back end. They spent "
            f"{cpu_lo:.2f}–{cpu_hi:.2f} ms of CPU a request, the concurrent back ends "
            f"{c_lo:.2f}–{c_hi:.2f} ms.")
    py_rss = [r.rss_mib for r in py if r.rss_mib is not None]
    c_rss = [r.rss_mib for r in c_rows if r.rss_mib is not None]
    if py_rss and c_rss:
        out.append(f"Peak memory: the Python clients {min(py_rss):.0f}–{max(py_rss):.0f} MiB, "
                   f"the back ends {min(c_rss):.0f}–{max(c_rss):.0f} MiB.")
    for p in peers:
        if not p.ok:
            if p.status != "ok":
                out.append(f"{p.peer} failed its check and was not timed: {p.failure}.")
            else:
                out.append(f"{p.peer} failed in its timed runs ({p.failure}): its times are "
                           f"not reported.")
    return out


def plot(run: BenchRun, w: Workload, peers: list[PeerRun]) -> Optional[str]:
    """peers-<workload>.png: wall time (with its interval) of every client that
    overlaps its requests, and CPU per request of every client, on linear
    axes with the figure written on each bar. Returns the PNG's name, or None."""
    term = gnuplot_terminal()
    if not term:
        return None
    rows = _rows(w, peers)
    # The clients that overlap their requests first: the left panel plots
    # only those, at y = their line number.
    rows.sort(key=lambda r: r.max_req <= 1)
    conc = [r for r in rows if r.max_req > 1]
    dat = f"peers-{w.name}.dat"
    with open(os.path.join(run.directory, dat), "w") as f:
        f.write("# client group wall_s wall_lo wall_hi cpu_per_request_ms overlaps\n")
        for r in rows:
            lo = r.wall if r.interval.low is None else max(0.0, r.interval.low)
            hi = r.wall if r.interval.high is None else r.interval.high
            f.write(f'"{r.name}" {GROUPS.index(r.group)} {r.wall:.6f} {lo:.6f} {hi:.6f} '
                    f'{r.cpu_per_request_ms:.6f} {int(r.max_req > 1)}\n')
    # Linear axes that fit the bars, their intervals and their labels.
    wall_max = max((r.wall if r.interval.high is None else max(r.wall, r.interval.high))
                   for r in conc) if conc else 1.0
    cpu_max = max(r.cpu_per_request_ms for r in rows)
    png = f"peers-{w.name}.png"
    height = 120 + 26 * len(rows)
    cases = " : ".join(f"g == {i} ? {int(c[1:], 16)}" for i, c in enumerate(GROUP_COLOURS))
    lc = "lc rgb variable"
    gp = f"""# made by scripts/report.py; run 'gnuplot peers-{w.name}.gp' in this folder to redo
set terminal {term} size 1000,{height}
set output '{png}'
set multiplot layout 1,2 title {gp_str(f'{w.name}: {w.requests} requests, {w.delay:g} s delay — C back ends (orange), Python clients (blue), tools (green)')} noenhanced
rgb(g) = ({cases} : 0)
set style fill solid 0.8 border -1
set ytics nomirror
set grid x
set key off
set yrange [{len(conc) - 0.3}:-0.7]
set xrange [0:{wall_max * 1.3:.6f}]
set title 'wall time, clients with several requests in flight (bar: mean; line: 95% interval)'
set xlabel 'seconds'
plot '{dat}' using ($7 > 0 ? $3/2 : 1/0):($0):($3/2):(0.35):(rgb($2)):ytic(1) with boxxyerror {lc}, \\
     '' using ($7 > 0 ? $3 : 1/0):($0):4:5 with xerrorbars lc rgb '#000000' pt 0, \\
     '' using ($7 > 0 ? $5 : 1/0):($0):(sprintf(' %.3g s', $3)) with labels left
set yrange [{len(rows) - 0.3}:-0.7]
set xrange [0:{cpu_max * 1.15:.6f}]
set title 'CPU time per request (user + sys)'
set xlabel 'milliseconds'
plot '{dat}' using ($6/2):($0):($6/2):(0.35):(rgb($2)):ytic(1) with boxxyerror {lc}, \\
     '' using 6:($0):(sprintf(' %.3g', $6)) with labels left
unset multiplot
"""
    gp_path = os.path.join(run.directory, f"peers-{w.name}.gp")
    with open(gp_path, "w") as f:
        f.write(gp)
    r = subprocess.run(["gnuplot", os.path.basename(gp_path)], cwd=run.directory,
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"report: warning: gnuplot failed on {gp_path}: {r.stderr.strip()[:300]}",
              file=sys.stderr)
        return None
    return png


def report(run: BenchRun, peers: list[PeerRun]) -> tuple[str, str]:
    """(text for the terminal, markdown section) for every workload with peers."""
    text, md = [], ["## The clients people use instead", "",
                    "Timed in the same run, on the same flagserver, flags, delay and requests in "
                    "flight (m) as the back ends; each peer's files were first checked byte for "
                    "byte against a C client's, and a peer that failed is listed, not timed. "
                    "Wall: hyperfine's mean with its 95% interval; CPU: hyperfine's mean user + "
                    "sys; peak RSS: one separate run under GNU time for peers, the traced run for "
                    "back ends. *vs own 1-at-a-time*: a Python client against the Python client "
                    "that makes one request at a time (the book's comparison), a back end "
                    "against the baseline. See results/README.md (peers).", ""]
    for w in run.workloads:
        ps = [p for p in peers if p.workload == w.name]
        if not ps:
            continue
        header, rows = table(w, ps)
        says = sentences(w, ps)
        text += [f"peers on {w.name}: {w.requests} requests, {w.delay:g} s delay",
                 text_table(header, rows), ""] + [f"- {s}" for s in says] + [""]
        md += [f"### {w.name}", "", md_table([" ".join(h).strip() for h in zip(*header)], rows), ""]
        md += [f"- {s}" for s in says] + [""]
        png = plot(run, w, ps)
        if png:
            md += [f"![{w.name}: the clients people use instead]({png})", ""]
        versions = "; ".join(f"{p.peer}: {p.version}" for p in ps if p.version)
        md += [f"Versions: {versions}.", ""]
    return "\n".join(text), "\n".join(md)
