"""plots.py — the report in pictures: the .dat files gnuplot reads, plots.gp
and the PNGs it draws. Colours come from a palette by a back end's position
in the run's list (the baseline first), never by its name."""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Optional

from .model import BenchRun, Sweep, TraceRow, ideal_speedup, num, speedup
from .phases import PHASE_WORDS, PHASES
from .phases import ms as phase_ms

OUTCOMES = [("ok", "#2a9d3a"), ("not_found", "#e0a010"), ("error", "#d02020")]
# By position in the list of back ends: the baseline grey, then distinct hues.
PALETTE = ["#808080", "#1f6fd0", "#d0501f", "#2a9d8f", "#8e44ad", "#b8860b", "#c2185b", "#000000"]


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def gnuplot_terminal():
    """pngcairo when Debian's gnuplot-nox has it, else the libgd png."""
    if not shutil.which("gnuplot"):
        return None
    for term, opts in (("pngcairo", "enhanced font 'Sans,10'"), ("png", "enhanced")):
        r = subprocess.run(["gnuplot", "-e", f"set terminal {term}"],
                           capture_output=True, text=True)
        if r.returncode == 0 and "unknown" not in r.stderr.lower():
            return f"{term} {opts}"
    return None


def run_gnuplot(directory: str, script: str) -> bool:
    path = os.path.join(directory, "plots.gp")
    with open(path, "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", "plots.gp"], cwd=directory, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"report: warning: gnuplot failed: {r.stderr.strip()[:500]}", file=sys.stderr)
        return False
    return True


def gp_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def timeline_data(d: str, name: str, trace: list[TraceRow]):
    """Rows (rank by start, start s, duration s) per outcome; returns the outcomes present."""
    rows = [r for r in trace if r.started_us >= 0 and r.done_us >= 0]
    rows.sort(key=lambda r: (r.started_us, r.done_us))
    present = []
    with open(os.path.join(d, name), "w") as f:
        f.write("# rank started_s duration_s done_s saving_s, one block per outcome: "
                + " ".join(o for o, _ in OUTCOMES) + "\n")
        for idx, (o, _) in enumerate(OUTCOMES):
            sel = [(i + 1, r) for i, r in enumerate(rows) if r.outcome == o]
            f.write(f"# {o}\n")
            for rank, r in sel:
                s0, s1 = r.started_us / 1e6, r.done_us / 1e6
                saved = r.saved_us / 1e6
                f.write(f"{rank} {s0:.6f} {s1 - s0:.6f} {s1:.6f} {max(0.0, saved - s1):.6f}\n")
            f.write("\n\n")
            if sel:
                present.append(idx)
    end = max((max(r.done_us, r.saved_us) / 1e6 for r in rows), default=1.0)
    return present, len(rows), end


def _threads(n: int) -> str:
    return f"{n} thread{'' if n == 1 else 's'}"


# Phase colours: the waiting light (idle), the rest the run's own work.
PHASE_COLOURS = {"process": "#8c8c8c", "transfers": "#e6a23c", "handshake": "#d62728", "waiting": "#c6dbef",
                 "receiving": "#3a7bd5", "saving": "#7a3fb0", "exit": "#444444"}
SAVING_COLOUR = "#7a3fb0"


def _extra_us(r: TraceRow, key: str) -> float:
    return num(r.extra.get(key), -1.0)


def busy_buckets(trace: list[TraceRow], end_s: float, nb: int = 400):
    """CPU in use over the run, from each thread's CPU stamps at its
    transfers' starts and ends (trace columns started_cpu_us, done_cpu_us):
    between two stamps of a thread, its CPU time grew by Δcpu over Δt, so
    it was busy Δcpu ÷ Δt of that time. Summed over threads into nb buckets
    from 0 to end_s: (bucket width s, CPUs busy per bucket); None when the
    trace has no stamps (a client from before them)."""
    per_thread: dict[int, list[tuple[float, float]]] = {}
    for r in trace:
        for t_key, c_key in (("started_us", "started_cpu_us"), ("done_us", "done_cpu_us")):
            t, c = getattr(r, t_key), _extra_us(r, c_key)
            if t >= 0 and c >= 0:
                per_thread.setdefault(r.thread, []).append((t, c))
    if not per_thread:
        return None
    width = max(end_s, 1e-3) * 1e6 / nb
    busy = [0.0] * nb
    for samples in per_thread.values():
        samples.sort()
        for (t0, c0), (t1, c1) in zip(samples, samples[1:]):
            if t1 <= t0:
                continue
            rate = min(1.0, max(0.0, (c1 - c0) / (t1 - t0)))
            k0, k1 = int(t0 // width), min(nb - 1, int(t1 // width))
            for k in range(k0, k1 + 1):
                lo, hi = max(t0, k * width), min(t1, (k + 1) * width)
                if hi > lo and k < nb:
                    busy[k] += rate * (hi - lo) / width
    return width / 1e6, busy


def busy_data(d: str, name: str, trace: list[TraceRow], end_s: float) -> bool:
    """busy_buckets written for gnuplot; False when the trace has no stamps."""
    b = busy_buckets(trace, end_s)
    if b is None:
        return False
    width, busy = b
    with open(os.path.join(d, name), "w") as f:
        f.write("# bucket_start_s bucket_width_s cpus_busy (from the trace's CPU stamps)\n")
        for k, v in enumerate(busy):
            f.write(f"{k * width:.6f} {width:.6f} {v:.4f}\n")
    return True


# The strip's caption: below this many CPUs busy the thread counts as idle.
IDLE_BELOW = 0.5


@dataclass
class BusySpans:
    """A one-thread run's CPU strip in three spans: busy from t0 until it
    first drops below IDLE_BELOW (head), idle, busy again from its last drop
    to the end (tail); level the mean CPUs busy in head and tail, idle_level
    between."""
    head_s: float
    idle_s: float
    tail_s: float
    level: float
    idle_level: float


def spans_of(width_s: float, busy: list[float]) -> Optional[BusySpans]:
    """The longest run of buckets under IDLE_BELOW is the idle middle; what
    comes before it is the head, after it (to the last busy bucket) the
    tail. None when the strip never idles."""
    last = max((k for k, v in enumerate(busy) if v > 0), default=-1)
    best, start = (0, 0), None
    for k in range(last + 2):
        idle = k <= last and busy[k] < IDLE_BELOW
        if idle and start is None:
            start = k
        elif not idle and start is not None:
            if k - start > best[1] - best[0]:
                best = (start, k)
            start = None
    if last < 0 or best[1] <= best[0]:
        return None
    head, mid, tail = busy[:best[0]], busy[best[0]:best[1]], busy[best[1]:last + 1]
    ends = head + tail
    return BusySpans(head_s=len(head) * width_s, idle_s=len(mid) * width_s,
                     tail_s=len(tail) * width_s,
                     level=sum(ends) / len(ends) if ends else 0.0,
                     idle_level=sum(mid) / len(mid) if mid else 0.0)


def has_strip(w, e) -> bool:
    """The strip is drawn for one-thread back ends: a pool's threads each
    stamp one or two requests, too few samples to tell when they ran."""
    return e is not w.baseline and e.summary.threads == 1


def busy_spans(run: BenchRun, w) -> dict[str, BusySpans]:
    """Each strip's spans, for the caption (back ends with a strip only)."""
    out = {}
    for e in w.entries:
        if not has_strip(w, e):
            continue
        rows = [r for r in e.trace if r.started_us >= 0 and r.done_us >= 0]
        end = max((max(r.done_us, r.saved_us) / 1e6 for r in rows), default=0.0)
        b = busy_buckets(e.trace, end) if end > 0 else None
        sp = spans_of(*b) if b else None
        if sp:
            out[e.backend] = sp
    return out


def _timeline_plots(b: str, wl: str, present: list[int], lw: float, titles: bool) -> list[str]:
    plots = [f"'timeline-{b}-{wl}.dat' index {i} using 2:1:3:(0) with vectors nohead "
             f"lw {lw:.1f} lc rgb '{OUTCOMES[i][1]}' "
             + (f"title '{OUTCOMES[i][0].replace('_', ' ')}'" if titles else "notitle")
             for i in present]
    if plots:
        # Saving takes µs: as a bar it would be invisible, so a dot marks
        # the moment each file was in place.
        plots.append(f"'timeline-{b}-{wl}.dat' using ($4+$5):1 with points pt 7 "
                     f"ps {max(0.25, min(0.8, lw / 6)):.2f} lc rgb '{SAVING_COLOUR}' "
                     + ("title 'file saved'" if titles else "notitle"))
    return plots


def _strip(b: str, wl: str, threads: int) -> str:
    top = max(1, threads if threads <= 2 else 2)
    return (f"set yrange [0:{top * 1.05:.2f}]\nset ytics {top}\nset ylabel 'CPUs busy' offset 1\n"
            f"plot 'busy-{b}-{wl}.dat' using ($1+$2/2):3:2 with boxes fs solid 0.9 noborder "
            f"lc rgb '#b03030' notitle\n")


def _panel(top: float, bottom: float) -> str:
    return (f"set lmargin at screen 0.09\nset rmargin at screen 0.97\n"
            f"set tmargin at screen {top:.4f}\nset bmargin at screen {bottom:.4f}\n")


def phase_legend(p: str, accounts: dict) -> str:
    """A phase's legend entry; one too short to see in any bar (under 0.3%
    of the shortest run: about two pixels) says so, so a colour in the
    legend never goes missing from the bars unexplained."""
    shortest = min(a.total for a in accounts.values())
    longest_part = max(a.parts[p] for a in accounts.values())
    if longest_part < 0.003 * shortest:
        return f"{PHASE_WORDS[p]} (at most {phase_ms(longest_part)}: too short to see)"
    return PHASE_WORDS[p]


def phase_plot(d: str, wl: str, accounts: dict, run: BenchRun, term: str) -> str:
    """One stacked horizontal bar per back end: its phases in ms, one panel
    per scale (a baseline 100× slower gets its own), gnuplot text."""
    order = [b for b in run.backends if b in accounts]
    with open(os.path.join(d, f"phases-{wl}.dat"), "w") as f:
        f.write("# backend " + " ".join(f"{p}_from_ms {p}_to_ms" for p in PHASES) + " total\n")
        for b in order:
            x, cells = 0.0, []
            for p in PHASES:
                v = accounts[b].parts[p] * 1e3
                cells += [f"{x:.3f}", f"{x + v:.3f}"]
                x += v
            a = accounts[b]
            label = (phase_ms(a.measured_wall) if a.measured_wall else phase_ms(a.total)) + (
                "" if a.adds_up() else f" (the parts add to {phase_ms(a.total)})")
            f.write(f"{b} {' '.join(cells)} {gp_str(label)}\n")
    # Panels: back ends whose totals are within 5× of each other share an axis.
    groups: list[list[str]] = []
    for b in sorted(order, key=lambda b: accounts[b].total):
        if groups and accounts[b].total <= 5 * accounts[groups[-1][0]].total:
            groups[-1].append(b)
        else:
            groups.append([b])
    # Each panel in the run's order, its first back end on top.
    for g in groups:
        g.sort(key=order.index)
        g.reverse()
    groups.sort(key=lambda g: order.index(g[-1]))
    rows = sum(len(g) for g in groups)
    height = 100 + 62 * rows + 75 * len(groups)
    out = [f"\nset terminal {term} size 900,{height}\nset output 'phases-{wl}.png'\n"
           f"set multiplot title {gp_str(f'{wl}: where each back end’s wall time went (ms; the phase account)')} noenhanced\n"
           "set style fill solid 0.95 border rgb '#ffffff'\nunset grid\nset grid xtics\n"
           "unset title\nunset xlabel\nset xtics nomirror\nunset ylabel\n"
           f"set key at screen 0.5, screen {1 - 38 / height:.4f} center top horizontal maxrows 1 "
           "font ',9' samplen 1.2 width -1\n"]
    top, usable = 1 - 80 / height, 1 - 80 / height - 40 / height
    per_row = usable / (rows + 1.2 * len(groups))
    for gi, g in enumerate(groups):
        h = per_row * (len(g) + 1.2)
        if gi == len(groups) - 1:
            out.append("set xlabel 'ms since the process started (the parts of each bar follow one another)'\n")
        xmax = max(max(accounts[b].total, accounts[b].measured_wall or 0) for b in g) * 1e3
        pad = 1.45 if any(not accounts[b].adds_up() for b in g) else 1.16
        out.append(_panel(top, top - h + per_row * 0.8)
                   + f"set yrange [-0.6:{len(g) - 0.4}]\nset xrange [0:{xmax * pad:.3f}]\n"
                   + "set ytics (" + ", ".join(f"{gp_str(b)} {i}" for i, b in enumerate(g)) + ")\n"
                   + ("" if gi == 0 else "unset key\n"))
        plots = []
        for k, p in enumerate(PHASES):
            lo, hi = 2 + 2 * k, 3 + 2 * k
            plots.append(f"'phases-{wl}.dat' using (({'$'}{lo}+${hi})/2):(ypos($0)):{lo}:{hi}:"
                         f"(ypos($0)-0.32):(ypos($0)+0.32) with boxxyerror lc rgb '{PHASE_COLOURS[p]}' "
                         + (f"title {gp_str(phase_legend(p, accounts))}" if gi == 0 else "notitle"))
        plots.append(f"'phases-{wl}.dat' using {2 * len(PHASES) + 1}:(ypos($0)):"
                     f"(' '.stringcolumn({2 * len(PHASES) + 2})) with labels left notitle")
        mapping = " : ".join(f"$0 == {order.index(b)} ? {i}" for i, b in enumerate(g))
        out.append(f"ypos(r) = {mapping.replace('$0', 'r')} : NaN\n")
        out.append("plot " + ", \\\n     ".join(plots) + "\n")
        top -= h
    out.append("unset multiplot\nunset style\nset autoscale\nunset ytics\nset ytics\nunset xtics\nset xtics\n")
    return "".join(out)


# The overview shares one time axis unless the baseline took more than this
# many times the others' longest run.
SHARED_UP_TO = 30


def traced_wall_words(e) -> str:
    """'traced wall 0.124 s' — the whole process timed from outside, the
    one figure the report calls the traced wall."""
    if e.process_wall is None:
        return f"run {e.summary.wall_s:.3f} s (t0 to end)"
    return f"traced wall {e.process_wall:.3f} s" + (" ⚠ outside timed range"
                                                   if e.traced_in_range is False else "")


def no_strip_words(w, e) -> str:
    if e is w.baseline or has_strip(w, e):
        return ""
    return f" — no CPU strip: {e.summary.threads} threads, each stamps only its own request"


def answer_workload(run: BenchRun):
    """The workload the first figure shows: the book's 20 flags when run,
    else the smallest with a delay."""
    ws = [w for w in run.workloads if w.delay > 0 and len(w.entries) > 1]
    return next((w for w in ws if w.requests == 20), min(ws, key=lambda w: w.requests, default=None))


def answer_plot(d: str, w, term: str, present: dict[str, list[int]]) -> Optional[str]:
    """The report's first figure: the baseline and the fastest one-thread
    back end (the book's asyncio model) on one shared time axis. gnuplot
    text, or None when the workload has no such back end."""
    loops = [e for e in w.entries[1:] if e.summary.threads == 1]
    if not loops or w.delay <= 0:
        return None
    loop = min(loops, key=lambda e: e.wall)
    pair = [w.baseline, loop]
    ends, rows = [], {}
    for e in pair:
        tr = [r for r in e.trace if r.started_us >= 0 and r.done_us >= 0]
        rows[e.backend] = len(tr)
        ends.append(max((max(r.done_us, r.saved_us) / 1e6 for r in tr), default=0.0))
    xmax = 1.02 * max(ends + [1e-3])
    png = f"answer-{w.name}.png"
    out = [f"\nset terminal {term} size 900,420\nset output '{png}'\n"
           f"set multiplot title {gp_str(f'{w.name}: {w.requests} requests, {w.delay:g} s server delay each — one time axis')} noenhanced\n"
           "set key off\nset grid x\n"]
    top = 0.88
    for i, e in enumerate(pair):
        bottom = top - 0.32
        book = f", the book's {e.book}" if e.book else ""
        label = (f"{e.backend}{book}: one request after another, {traced_wall_words(e)}"
                 if e is w.baseline else
                 f"{e.backend}{book}: all at once on one thread, {traced_wall_words(e)}")
        plots = _timeline_plots(e.backend, w.name, present.get(e.backend, []), 3.0, titles=False)
        if not plots:
            return None
        out.append(_panel(top, bottom) + f"set title {gp_str(label)} noenhanced offset 0,-0.6\n"
                   f"set xrange [0:{xmax:.6f}]\nset yrange [0:{rows[e.backend] + 1}]\n"
                   "set ylabel 'request'\n"
                   + ("set xlabel 'seconds since the run began (the same axis for both)'\n"
                      if i == 1 else "unset xlabel\n")
                   + f"plot {', '.join(plots)}\n")
        top = bottom - 0.12
    out.append("unset multiplot\nset autoscale\nunset xlabel\n")
    return "".join(out)


def bench_plots(run: BenchRun, phase_accounts: Optional[dict] = None) -> list[tuple[str, str, str]]:
    """Writes the .dat files and plots.gp into the run's folder, draws the PNGs;
    returns (workload, png, kind) of those drawn, kind one of answer,
    phases, overview, timeline. (No wall-against-CPU plot: the timed table
    has both, on one scale.) phase_accounts: workload -> backend ->
    phases.Account."""
    d, delay = run.directory, run.delay
    term = gnuplot_terminal()
    if not term:
        print("report: warning: gnuplot has no png terminal; no plots", file=sys.stderr)
        return []
    gp = [f"# made by scripts/report.py; run 'gnuplot plots.gp' in this folder to redo\n"]
    pngs = []
    base = run.backends[0] if run.backends else None
    for w in run.workloads:
        wl, n, entries = w.name, w.requests, w.entries
        accounts = (phase_accounts or {}).get(wl) or {}
        if accounts:
            gp.append(phase_plot(d, wl, accounts, run, term))
            pngs.append((wl, f"phases-{wl}.png", "phases"))
        tl = []
        for e in entries:
            present, rows, end = timeline_data(d, f"timeline-{e.backend}-{wl}.dat", e.trace)
            tl.append((e, present, rows, end))
        if w is answer_workload(run):
            ans = answer_plot(d, w, term, {e.backend: pr for e, pr, _, _ in tl})
            if ans:
                gp.append(ans)
                pngs.append((wl, f"answer-{wl}.png", "answer"))
        # One time axis for all, so a 2 s run looks ten times a 0.2 s one;
        # only when the baseline is more than SHARED_UP_TO times slower (194
        # requests: the others would be a sliver) does it get its own.
        conc_end = max((end for e, _, _, end in tl if e.backend != base), default=0.0)
        base_end = max((end for e, _, _, end in tl if e.backend == base), default=0.0)
        shared = base_end <= SHARED_UP_TO * conc_end if conc_end else True
        xmax_of = {e.backend: 1.02 * (max(conc_end, base_end) if shared
                                      else base_end if e.backend == base else conc_end)
                   for e, _, _, _ in tl}
        xmax_of = {b: x if x > 0 else 1.0 for b, x in xmax_of.items()}
        has_busy = {e.backend: has_strip(w, e)
                    and busy_data(d, f"busy-{e.backend}-{wl}.dat", e.trace, xmax_of[e.backend])
                    for e, _, _, _ in tl}
        lw = max(1.0, min(8.0, 380.0 / max(1, n)))
        for e, present, rows, end in tl:
            b, s = e.backend, e.summary
            plots = _timeline_plots(b, wl, present, lw, titles=True)
            if not plots:
                continue
            png = f"timeline-{b}-{wl}.png"
            title = (f"{b} (traced run): {rows} requests, {_threads(s.threads)},"
                     f" {traced_wall_words(e)}, in flight mean {s.inflight_mean:.1f}"
                     f" (peak {s.inflight_peak})" + no_strip_words(w, e))
            strip = has_busy[b]
            gp.append(f"""
set terminal {term} size 900,{600 if strip else 520}
set output '{png}'
set multiplot title {gp_str(title)} noenhanced
{_panel(0.90, 0.30 if strip else 0.11)}set xrange [0:{xmax_of[b]:.6f}]
set yrange [0:{rows + 1}]
set ylabel 'request (by start time)'
set key at screen 0.97, screen 0.955 right top horizontal font ',8' samplen 1
set grid x
{"set format x ''" if strip else "set xlabel 'seconds since the run began (bar: request started → response done)'"}
plot {', '.join(plots)}
""")
            if strip:
                gp.append(_panel(0.25, 0.09) + "unset title\nset format x '%g'\nunset key\n"
                          "set xlabel 'seconds since the run began — below: CPUs busy running the client (red), from its CPU stamps'\n"
                          + _strip(b, wl, s.threads))
            gp.append("unset multiplot\nset autoscale\nunset xlabel\nset ytics autofreq\nset format x '%g'\n")
            pngs.append((wl, png, "timeline"))
        # All back ends together: the baseline's staircase against the columns.
        heights = [(e, 190 if e.backend == base else 150, has_busy[e.backend]) for e, *_ in tl]
        gap = 28
        total = 70 + sum(h + (55 if st else 0) + gap for _, h, st in heights) + 20
        axis = ("one time axis" if shared else
                f"{base} on its own time axis, the others on a shared one")
        gp.append(f"""
set terminal {term} size 900,{total}
set output 'timeline-{wl}.png'
set multiplot title {gp_str(f'{wl}, {delay:g} s delay: every request from start to done (purple dot: file saved), {axis}')} noenhanced
set key off
set grid x
""")
        top = 1 - 60 / total
        for i, ((e, present, rows, end), (_, h, st)) in enumerate(zip(tl, heights)):
            b = e.backend
            plots = _timeline_plots(b, wl, present, max(1.0, lw / 2), titles=False)
            bottom = top - h / total
            gp.append(_panel(top - 22 / total, bottom)
                      + f"set title {gp_str(f'{b} ({_threads(e.summary.threads)}, {traced_wall_words(e)}){no_strip_words(w, e)}')} noenhanced offset 0,-0.6\n"
                      + f"set xrange [0:{xmax_of[b]:.6f}]\nset yrange [0:{rows + 1}]\nset ylabel 'request'\n"
                      + "unset xlabel\n" + ("set format x ''\n" if st else "set format x '%g'\n")
                      + f"plot {', '.join(plots) if plots else '1/0 notitle'}\n")
            top = bottom
            if st:
                bottom = top - 55 / total
                gp.append(_panel(top - 8 / total, bottom) + "unset title\nset format x '%g'\n"
                          + _strip(b, wl, e.summary.threads))
                top = bottom
            top -= gap / total
            gp.append("set ytics autofreq\n")
        gp.append("unset multiplot\nset autoscale\n")
        pngs.append((wl, f"timeline-{wl}.png", "overview"))
    return pngs if run_gnuplot(d, "".join(gp)) else []


# ---------------------------------------------------------------- sweep


def sweep_data(sw: Sweep) -> None:
    """speedup-<n>-<delay>.dat and wall-<n>.dat in the sweep's folder."""
    d, conc = sw.directory, sw.concurrent
    for n in sw.requests:
        for delay in sw.delays:
            ref = sw.reference_wall(delay, n)
            with open(os.path.join(d, f"speedup-{n}-{delay:g}.dat"), "w") as f:
                f.write("# max_req ideal_speedup " + " ".join(conc)
                        + f" (speedup = {sw.baseline or 'baseline'} wall / wall; ? = not run)\n")
                for m in sw.max_reqs(delay, n):
                    vals = []
                    for b in conc:
                        r = sw.best.get((delay, n, b, m))
                        sp = speedup(ref, r.wall) if r else None
                        vals.append(f"{sp:.4f}" if sp else "?")
                    f.write(f"{m} {ideal_speedup(n, m):.4f} {' '.join(vals)}\n")
        # wall-<n>.dat: delay index, delay, the baseline's wall, ideal N*d, and per
        # concurrent back end its wall at the largest m with the ideal for it.
        mmax = sw.max_m(n)
        with open(os.path.join(d, f"wall-{n}.dat"), "w") as f:
            f.write(f"# i delay_s {sw.baseline or 'baseline'}_wall ideal_{sw.baseline or 'baseline'} "
                    f"ideal_m{mmax} " + " ".join(f"{b}_m{mmax}" for b in conc) + "\n")
            for i, delay in enumerate(sw.delays):
                bw = sw.baseline_wall(delay, n)
                vals = []
                for b in conc:
                    r = sw.best.get((delay, n, b, mmax))
                    vals.append(f"{r.wall:.6f}" if r else "?")
                f.write(f"{i} {delay:g} {bw if bw is not None else '?'} {n * delay:.6f} "
                        f"{math.ceil(n / mmax) * delay:.6f} {' '.join(vals)}\n")


def sweep_plots(sw: Sweep) -> list[str]:
    """Writes the .dat files and plots.gp, draws the PNGs; returns those drawn."""
    sweep_data(sw)
    term = gnuplot_terminal()
    if not term:
        return []
    delays, ns, conc = sw.delays, sw.requests, sw.concurrent
    base = sw.baseline or "baseline"
    pos = {b: i for i, b in enumerate(sw.backends)}
    cols = len(delays)
    gp = [f"# made by scripts/report.py; run 'gnuplot plots.gp' in this folder to redo\n"
          f"set terminal {term} size {max(900, 330 * cols)},{330 * len(ns) + 60}\n"
          "set datafile missing '?'\n"
          "set output 'speedup.png'\n"
          f"set multiplot layout {len(ns)},{cols} title 'speedup over {base} vs requests in flight"
          f" (dashed: ideal N / ceil(N/m))'\n"
          "set logscale x 2\nset logscale y 2\nset grid\nset key top left\n"
          "set xlabel 'max in flight (m)'\nset ylabel 'speedup'\n"]
    for n in ns:
        for delay in delays:
            dat = f"speedup-{n}-{delay:g}.dat"
            plots = ([f"'{dat}' using 1:2 with lines dt 2 lc rgb '#000000' title 'ideal'"]
                     if delay > 0 else [])
            for i, b in enumerate(conc):
                plots.append(f"'{dat}' using 1:{3 + i} with linespoints lw 2 pt 7 "
                             f"lc rgb '{colour(pos[b])}' title '{b}'")
            gp.append(f"set title '{n} requests, {delay:g} s delay"
                      + ("" if sw.baseline_wall(delay, n) or delay == 0
                         else f" (vs N × delay: no {base} run)")
                      + (": no wait to overlap" if delay == 0 else "") + "'\n"
                      f"plot {', '.join(plots)}\n")
    gp.append("unset multiplot\nunset logscale\n")
    gp.append(f"set terminal {term} size {max(700, 520 * len(ns))},520\n"
              "set output 'wall-vs-delay.png'\n"
              f"set multiplot layout 1,{len(ns)} title 'wall time vs server delay (dashed: ideal ceil(N/m) × delay)'\n"
              "set logscale y\nset grid\nset key top left\nset xlabel 'server delay (s)'\n"
              "set ylabel 'wall time (s)'\n"
              f"set xrange [-0.3:{len(delays) - 0.7}]\n")
    for n in ns:
        mmax = sw.max_m(n)
        dat = f"wall-{n}.dat"
        plots = [f"'{dat}' using 1:3:xtic(2) with linespoints lw 2 pt 7 lc rgb '{colour(0)}' title '{base}'",
                 f"'{dat}' using 1:($4 > 0 ? $4 : 1/0) with lines dt 2 lc rgb '{colour(0)}' title 'ideal N × d'"]
        for i, b in enumerate(conc):
            plots.append(f"'{dat}' using 1:{6 + i} with linespoints lw 2 pt 7 "
                         f"lc rgb '{colour(pos[b])}' title '{b} m={mmax}'")
        plots.append(f"'{dat}' using 1:($5 > 0 ? $5 : 1/0) with lines dt 2 lc rgb '#000000' "
                     f"title 'ideal ceil(N/{mmax}) × d'")
        gp.append(f"set title '{n} requests'\nplot {', '.join(plots)}\n")
    gp.append("unset multiplot\n")
    return ["speedup.png", "wall-vs-delay.png"] if run_gnuplot(sw.directory, "".join(gp)) else []
