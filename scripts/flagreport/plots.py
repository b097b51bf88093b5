"""plots.py — the report in pictures: the .dat files gnuplot reads, plots.gp
and the PNGs it draws. Colours come from a palette by a back end's position
in the run's list (the baseline first), never by its name."""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys

from .model import BenchRun, Sweep, TraceRow, ideal_speedup, speedup

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


def bench_plots(run: BenchRun) -> list[tuple[str, str, str]]:
    """Writes the .dat files and plots.gp into the run's folder, draws the PNGs;
    returns (workload, png, what it shows) of those drawn."""
    d, delay = run.directory, run.delay
    term = gnuplot_terminal()
    if not term:
        print("report: warning: gnuplot has no png terminal; no plots", file=sys.stderr)
        return []
    gp = [f"# made by scripts/report.py; run 'gnuplot plots.gp' in this folder to redo\n"
          f"set terminal {term} size 900,560\n"]
    pngs = []
    for w in run.workloads:
        wl, n, entries = w.name, w.requests, w.entries
        xmax = 0.0
        tl = []
        for e in entries:
            present, rows, end = timeline_data(d, f"timeline-{e.backend}-{wl}.dat", e.trace)
            xmax = max(xmax, end)
            tl.append((e, present, rows, end))
        lw = max(1.0, min(8.0, 380.0 / max(1, n)))
        for e, present, rows, end in tl:
            b, s = e.backend, e.summary
            png = f"timeline-{b}-{wl}.png"
            title = (f"{b}: {rows} requests, {_threads(s.threads)},"
                     f" wall {s.wall_s:.2f} s, in flight mean {s.inflight_mean:.1f}"
                     f" (peak {s.inflight_peak})")
            plots = [f"'timeline-{b}-{wl}.dat' index {i} using 2:1:3:(0) with vectors nohead "
                     f"lw {lw:.1f} lc rgb '{OUTCOMES[i][1]}' title '{OUTCOMES[i][0].replace('_', ' ')}'"
                     for i in present]
            if not plots:
                continue
            plots.append(f"'timeline-{b}-{wl}.dat' using 4:1:5:(0) with vectors nohead lw {max(1.0, lw / 2):.1f} "
                         f"lc rgb '#a0a0a0' title 'saving (done → saved)'")
            gp.append(f"""
set output '{png}'
set title {gp_str(title)} noenhanced
set xlabel 'seconds since the run began (bar: request started → response done; grey: saving the file)'
set ylabel 'request (by start time)'
set xrange [0:{end * 1.02:.6f}]
set yrange [0:{rows + 1}]
set key outside right top
set grid x
plot {', '.join(plots)}
""")
            pngs.append((wl, png, f"timeline of {b}"))
        # All back ends on one time axis: the staircase against the parallel bars.
        gp.append(f"""
set output 'timeline-{wl}.png'
set terminal {term} size 900,{220 * len(tl) + 60}
set multiplot layout {len(tl)},1 title {gp_str(f'{wl}: every request from start to done (grey: saving), same time axis, {delay:g} s delay')} noenhanced
set xrange [0:{xmax * 1.02:.6f}]
set key off
set grid x
""")
        for i, (e, present, rows, end) in enumerate(tl):
            b = e.backend
            plots = [f"'timeline-{b}-{wl}.dat' index {j} using 2:1:3:(0) with vectors nohead "
                     f"lw {max(1.0, lw / 2):.1f} lc rgb '{OUTCOMES[j][1]}' notitle" for j in present]
            if plots:
                plots.append(f"'timeline-{b}-{wl}.dat' using 4:1:5:(0) with vectors nohead "
                             f"lw {max(1.0, lw / 4):.1f} lc rgb '#a0a0a0' notitle")
            xl = "seconds since the run began" if i == len(tl) - 1 else ""
            gp.append(f"""set title {gp_str(f"{b} ({_threads(e.summary.threads)}, wall {e.summary.wall_s:.2f} s)")} noenhanced
set xlabel '{xl}'
set ylabel 'request'
set yrange [0:{rows + 1}]
plot {', '.join(plots) if plots else '1/0 notitle'}
""")
        gp.append(f"unset multiplot\nset terminal {term} size 900,560\n")
        pngs.insert(len(pngs) - len(tl), (wl, f"timeline-{wl}.png", "all back ends on one time axis"))
        # Wall against CPU.
        dat = f"wall-cpu-{wl}.dat"
        with open(os.path.join(d, dat), "w") as f:
            f.write("# backend wall_s cpu_s (hyperfine means)\n")
            for e in entries:
                f.write(f"{e.backend} {e.wall:.6f} {e.cpu:.6f}\n")
        ymin = min(min(e.cpu for e in entries), min(e.wall for e in entries)) / 3
        gp.append(f"""
set output 'wall-cpu-{wl}.png'
set title {gp_str(f'{wl}: {n} requests, {delay:g} s delay — wall time vs CPU time (log scale)')} noenhanced
unset xlabel
set ylabel 'seconds'
set logscale y
set yrange [{max(ymin, 1e-4):.6f}:*]
set xrange [-0.6:{len(entries) - 0.4}]
unset grid
set grid ytics
set key outside right top
set style fill solid 0.85 border -1
set boxwidth 0.35
plot '{dat}' using ($0-0.19):2:xtic(1) with boxes lc rgb '#4060a0' title 'wall', \\
     '' using ($0+0.19):3 with boxes lc rgb '#e08030' title 'CPU (user+sys)', \\
     '' using ($0-0.19):2:(sprintf('%.3g s', $2)) with labels offset 0,0.7 notitle, \\
     '' using ($0+0.19):3:(sprintf('%.3g s', $3)) with labels offset 0,0.7 notitle
unset logscale y
set autoscale x
set autoscale y
unset style
""")
        pngs.append((wl, f"wall-cpu-{wl}.png", "wall vs CPU time"))
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
