#!/usr/bin/env python3
"""report.py — turn a driver run's CSV and JSON into the answer: a table,
sentences computed from the figures, report.md and gnuplot PNGs.

  report.py bench DIR   DIR from scripts/bench.sh: plan.csv, summary.csv,
                        hyperfine-<workload>-<backend>.json, trace-<backend>-<workload>.csv
  report.py sweep DIR   DIR from scripts/sweep.sh: sweep.csv
  report.py ci-figures DIR N DELAY   bench_ci.sh's measured figures as CSV
  report.py compare BASELINE MEASURED   check figures; exit 1 on a regression

Standard library only. The table and sentences go to stdout; report.md,
*.dat, plots.gp and *.png are written into DIR.
"""
import csv
import json
import math
import os
import shutil
import subprocess
import sys

OUTCOMES = [("ok", "#2a9d3a"), ("not_found", "#e0a010"), ("error", "#d02020")]
BACKEND_COLOURS = {"sequential": "#808080", "threadpool": "#1f6fd0", "uring": "#d0501f"}
ORDER = ["sequential", "threadpool", "uring"]


def die(msg):
    print(f"report: error: {msg}", file=sys.stderr)
    sys.exit(1)


def read_csv(path):
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except OSError as e:
        die(f"can't read {path}: {e.strerror}")


def num(x, default=0.0):
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


def fmt_s(x):
    """Seconds with three significant figures, at most 3 decimals."""
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def fmt_x(x):
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def ideal_speedup(n, m):
    """Sequential makes n rounds of the delay; m in flight make ceil(n/m)."""
    return n / math.ceil(n / max(1, m))


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


def run_gnuplot(directory, script):
    path = os.path.join(directory, "plots.gp")
    with open(path, "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", "plots.gp"], cwd=directory, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"report: warning: gnuplot failed: {r.stderr.strip()[:500]}", file=sys.stderr)
        return False
    return True


def gp_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def text_table(header_lines, rows):
    cols = len(rows[0]) if rows else len(header_lines[0])
    width = [0] * cols
    for r in header_lines + rows:
        for i, c in enumerate(r):
            width[i] = max(width[i], len(c))
    lines = []
    for r in header_lines + rows:
        cells = [c.ljust(width[i]) if i == 0 else c.rjust(width[i]) for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


# ---------------------------------------------------------------- bench


def load_bench(d):
    plan = read_csv(os.path.join(d, "plan.csv"))
    summary = read_csv(os.path.join(d, "summary.csv"))
    if len(summary) != len(plan):
        die(f"summary.csv has {len(summary)} rows, plan.csv {len(plan)}: a traced run is missing")
    workloads = {}
    for p, s in zip(plan, summary):
        wl, b = p["workload"], p["backend"]
        entry = {"plan": p, "sum": s, "backend": b}
        hf_path = os.path.join(d, f"hyperfine-{wl}-{b}.json")
        try:
            with open(hf_path) as f:
                hf = json.load(f)["results"][0]
        except (OSError, ValueError, KeyError, IndexError) as e:
            die(f"can't read {hf_path}: {e}")
        entry["hf"] = hf
        entry["wall"] = hf["mean"]
        entry["wall_sd"] = hf.get("stddev") or 0.0
        entry["runs"] = len(hf.get("times", [])) or 1
        entry["cpu"] = hf["user"] + hf["system"]
        entry["trace"] = read_csv(os.path.join(d, f"trace-{b}-{wl}.csv"))
        workloads.setdefault(wl, []).append(entry)
    return workloads


def bench_table(entries):
    header = [["back end", "wall s", "CPU s", "CPU÷wall", "threads", "in flight", "RSS",
               "ctx switches", "p50", "p99", "speedup"],
              ["", "mean±sd", "", "", "", "peak/mean", "MB", "vol/invol", "ms", "ms", ""]]
    seq = next((e for e in entries if e["backend"] == "sequential"), None)
    rows = []
    for e in entries:
        s = e["sum"]
        speed = f"{seq['wall'] / e['wall']:.1f}×" if seq and e["wall"] > 0 else "–"
        rows.append([
            e["backend"],
            f"{fmt_s(e['wall'])}±{fmt_s(e['wall_sd'])}" if e["runs"] > 1
            else f"{fmt_s(e['wall'])} (1 run)",
            fmt_s(e["cpu"]),
            f"{100 * e['cpu'] / e['wall']:.1f}%" if e["wall"] else "–",
            s["threads"],
            f"{s['inflight_peak']}/{num(s['inflight_mean']):.1f}",
            f"{num(s['rss_kb']) / 1024:.1f}",
            f"{s['ctx_voluntary']}/{s['ctx_involuntary']}",
            f"{num(s['latency_p50_ms']):.1f}",
            f"{num(s['latency_p99_ms']):.1f}",
            speed,
        ])
    return header, rows


def bench_sentences(entries, delay):
    """Why the numbers differ, said with the numbers."""
    out = []
    n = int(entries[0]["plan"]["requests"])
    by = {e["backend"]: e for e in entries}
    seq = by.get("sequential")
    for e in entries:
        s = e["sum"]
        errs = int(s["errors"]) + int(s["not_run"])
        if errs:
            out.append(f"{e['backend']} had {s['errors']} errors and {s['not_run']} requests not run:"
                       f" its times cover a broken run (see its trace).")
    for e in entries:
        codes = [c for c in e["hf"].get("exit_codes", []) if c not in (0, None)]
        if codes:
            out.append(f"{len(codes)} of {len(e['hf']['exit_codes'])} timed runs of {e['backend']} "
                       f"exited non-zero ({', '.join(sorted({str(c) for c in codes}))}): "
                       f"some downloads failed, so its times are suspect.")
    if seq:
        wait = max(0.0, 1 - seq["cpu"] / seq["wall"]) if seq["wall"] else 0
        line = (f"sequential spent {100 * wait:.0f}% of its {fmt_s(seq['wall'])} s waiting, "
                f"with one request in flight")
        if delay > 0:
            floor = n * delay
            line += (f": {n} requests × {delay:g} s delay = {fmt_s(floor)} s at least, "
                     f"so {1000 * max(0.0, seq['wall'] - floor) / n:.1f} ms per request "
                     f"went to everything else")
        out.append(line + ".")
    for e in entries:
        b = e["backend"]
        if b == "sequential":
            continue
        s = e["sum"]
        m = int(s["max_req"]) or 1
        threads = int(s["threads"])
        mean = num(s["inflight_mean"])
        line = (f"{b} kept {mean:.1f} requests in flight on average (peak {s['inflight_peak']}) "
                f"on {threads} thread{'s' if threads != 1 else ''}")
        if seq:
            sp = seq["wall"] / e["wall"]
            if delay > 0:
                ideal = ideal_speedup(n, m)
                rounds = math.ceil(n / m)
                line += (f", so the waits overlapped: {fmt_x(sp)}× faster than sequential, "
                         f"of an ideal {fmt_x(ideal)}× ({n} requests in {rounds} "
                         f"round{'s' if rounds != 1 else ''} of {delay:g} s, {m} at a time)")
            else:
                line += (f": {fmt_x(sp)}× {'faster' if sp >= 1 else 'as fast'} as sequential"
                         f" with no delay to overlap, only CPU and the loopback")
        out.append(line + ".")
    # Where the traced runs' time went after the last response.
    for e in entries:
        tr = [r for r in e["trace"] if num(r["done_us"], -1) >= 0]
        wall = num(e["sum"]["wall_s"])
        if not tr or wall <= 0 or e["backend"] == "sequential":
            continue
        last_done = max(num(r["done_us"]) for r in tr) / 1e6
        last_saved = max(num(r["saved_us"], -1) for r in tr) / 1e6
        if wall - last_done > 0.2 * wall:
            out.append(f"{e['backend']}'s last response arrived at {fmt_s(last_done)} s of its traced "
                       f"{fmt_s(wall)} s run; saving the files ran to {fmt_s(max(last_saved, 0))} s, "
                       f"so {100 * (wall - last_done) / wall:.0f}% of its wall time came after "
                       f"the waiting (grey in its timeline).")
    # Threads cost memory and switches; compare the pool with the lightest back end.
    pool = by.get("threadpool")
    other = by.get("uring") or by.get("sequential")
    if pool and other:
        ps, os_ = pool["sum"], other["sum"]
        rss_ratio = num(ps["rss_kb"]) / max(1.0, num(os_["rss_kb"]))
        ctx_p = int(ps["ctx_voluntary"]) + int(ps["ctx_involuntary"])
        ctx_o = int(os_["ctx_voluntary"]) + int(os_["ctx_involuntary"])
        t_o = int(os_["threads"])
        line = (f"the thread pool used {ps['threads']} threads where {other['backend']} used "
                f"{t_o}: {rss_ratio:.1f}× the memory ({num(ps['rss_kb']) / 1024:.1f} vs "
                f"{num(os_['rss_kb']) / 1024:.1f} MB peak RSS) and "
                f"{ctx_p / max(1, ctx_o):.1f}× the context switches ({ctx_p} vs {ctx_o})")
        if seq and other is not seq:
            line += (f", for {fmt_x(seq['wall'] / pool['wall'])}× against "
                     f"{fmt_x(seq['wall'] / other['wall'])}×")
        out.append(line + ".")
    if len(entries) > 1:
        cpus = [e["cpu"] for e in entries]
        walls = [e["wall"] for e in entries]
        cpu_r = max(cpus) / max(1e-9, min(cpus))
        wall_r = max(walls) / max(1e-9, min(walls))
        lo = min(entries, key=lambda e: e["cpu"])
        hi = max(entries, key=lambda e: e["cpu"])
        line = (f"CPU time ranged {fmt_s(min(cpus))}–{fmt_s(max(cpus))} s "
                f"({lo['backend']} to {hi['backend']}, {cpu_r:.1f}×) while wall time ranged "
                f"{fmt_s(min(walls))}–{fmt_s(max(walls))} s ({fmt_x(wall_r)}×)")
        if wall_r > 2 * cpu_r:
            line += ": the back ends did similar work; the fast ones overlapped the waiting"
        out.append(line + ".")
    return out


def timeline_data(d, name, trace):
    """Rows (rank by start, start s, duration s) per outcome; returns the outcomes present."""
    rows = [r for r in trace if num(r["started_us"], -1) >= 0 and num(r["done_us"], -1) >= 0]
    rows.sort(key=lambda r: (num(r["started_us"]), num(r["done_us"])))
    present = []
    with open(os.path.join(d, name), "w") as f:
        f.write("# rank started_s duration_s done_s saving_s, one block per outcome: "
                + " ".join(o for o, _ in OUTCOMES) + "\n")
        for idx, (o, _) in enumerate(OUTCOMES):
            sel = [(i + 1, r) for i, r in enumerate(rows) if r["outcome"] == o]
            f.write(f"# {o}\n")
            for rank, r in sel:
                s0, s1 = num(r["started_us"]) / 1e6, num(r["done_us"]) / 1e6
                saved = num(r["saved_us"], -1) / 1e6
                f.write(f"{rank} {s0:.6f} {s1 - s0:.6f} {s1:.6f} {max(0.0, saved - s1):.6f}\n")
            f.write("\n\n")
            if sel:
                present.append(idx)
    end = max((max(num(r["done_us"]), num(r["saved_us"], -1)) / 1e6 for r in rows), default=1.0)
    return present, len(rows), end


def bench_plots(d, workloads, delay):
    term = gnuplot_terminal()
    if not term:
        print("report: warning: gnuplot has no png terminal; no plots", file=sys.stderr)
        return []
    gp = [f"# made by scripts/report.py; run 'gnuplot plots.gp' in this folder to redo\n"
          f"set terminal {term} size 900,560\n"]
    pngs = []
    for wl, entries in workloads.items():
        n = int(entries[0]["plan"]["requests"])
        xmax = 0.0
        tl = []
        for e in entries:
            b = e["backend"]
            present, rows, end = timeline_data(d, f"timeline-{b}-{wl}.dat", e["trace"])
            xmax = max(xmax, end)
            tl.append((e, present, rows, end))
        lw = max(1.0, min(8.0, 380.0 / max(1, n)))
        for e, present, rows, end in tl:
            b, s = e["backend"], e["sum"]
            png = f"timeline-{b}-{wl}.png"
            title = (f"{b}: {rows} requests, {s['threads']} thread{'s' if s['threads'] != '1' else ''},"
                     f" wall {num(s['wall_s']):.2f} s, in flight mean {num(s['inflight_mean']):.1f}"
                     f" (peak {s['inflight_peak']})")
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
            b = e["backend"]
            plots = [f"'timeline-{b}-{wl}.dat' index {j} using 2:1:3:(0) with vectors nohead "
                     f"lw {max(1.0, lw / 2):.1f} lc rgb '{OUTCOMES[j][1]}' notitle" for j in present]
            if plots:
                plots.append(f"'timeline-{b}-{wl}.dat' using 4:1:5:(0) with vectors nohead "
                             f"lw {max(1.0, lw / 4):.1f} lc rgb '#a0a0a0' notitle")
            xl = "seconds since the run began" if i == len(tl) - 1 else ""
            gp.append(f"""set title {gp_str(f"{b} ({e['sum']['threads']} thread{'' if e['sum']['threads'] == '1' else 's'}, wall {num(e['sum']['wall_s']):.2f} s)")} noenhanced
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
                f.write(f"{e['backend']} {e['wall']:.6f} {e['cpu']:.6f}\n")
        ymin = min(min(e["cpu"] for e in entries), min(e["wall"] for e in entries)) / 3
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


def cmd_bench(d):
    workloads = load_bench(d)
    delay = num(next(iter(workloads.values()))[0]["plan"]["delay_s"])
    pngs = bench_plots(d, workloads, delay)
    md = [f"# flagbench: {', '.join(workloads)} with a {delay:g} s server delay\n",
          "Wall and CPU time are hyperfine's means over its runs (whole process); "
          "threads, requests in flight, RSS, context switches and latency come from one more "
          "run of each back end with `--trace` and `--summary` (summary.csv, trace-*.csv). "
          "Speedup is sequential's mean wall time ÷ the back end's.\n"]
    p0 = next(iter(workloads.values()))[0]["plan"]
    if p0.get("dest_parent"):
        md.append(f"The clients saved the flags under `{p0['dest_parent']}` "
                  f"({p0.get('dest_fs') or 'unknown'} file system).\n")
    text = []
    for wl, entries in workloads.items():
        n = int(entries[0]["plan"]["requests"])
        ms = sorted({e["sum"]["max_req"] for e in entries if e["backend"] != "sequential"}, key=int)
        head = (f"{wl}: {n} requests, {delay:g} s server delay"
                + (f", up to {'/'.join(ms)} in flight" if ms else ""))
        header, rows = bench_table(entries)
        sentences = bench_sentences(entries, delay)
        runs = ", ".join(f"{e['backend']} {e['runs']}" for e in entries)
        text += ["", head, text_table(header, rows), ""] + [f"  {s}" for s in sentences]
        md_head = [f"{h} ({u})" if u else h for h, u in zip(header[0], header[1])]
        md += [f"## {head}\n", md_table(md_head, rows),
               f"\nhyperfine runs: {runs}.\n"]
        md += [f"- {s}" for s in sentences]
        md.append("")
        for w, png, what in pngs:
            if w == wl:
                md.append(f"![{wl}: {what}]({png})\n")
    with open(os.path.join(d, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(text).lstrip("\n"))


# ---------------------------------------------------------------- bench-ci

# figure -> (check, tolerance) that --update writes; the baseline file rules.
CI_CHECKS = {
    "speedup": ("at_least", 0.7),
    "efficiency": ("at_least", 0.9),
    "inflight_peak": ("at_least", 0.9),
    "threads": ("exact", 1),
    "instructions_per_request": ("at_most", 1.15),
}
CI_UNITS = {"speedup": "×", "efficiency": "", "inflight_peak": "", "threads": "",
            "instructions_per_request": ""}


def median(xs):
    xs = sorted(xs)
    k = len(xs)
    return xs[k // 2] if k % 2 else (xs[k // 2 - 1] + xs[k // 2]) / 2


def callgrind_total(path):
    """The Ir total of a callgrind output file (its summary: or totals: line)."""
    total = None
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
    if total is None:
        die(f"no instruction total in {path}")
    return total


def cmd_ci_figures(d, n, delay):
    """Measured figures of a bench_ci.sh work directory as baseline CSV on stdout."""
    rows = []

    def add(fig, b, v):
        check, tol = CI_CHECKS[fig]
        rows.append((fig, b, v, check, tol))

    timed = {b: read_csv(os.path.join(d, f"timed-{b}.csv")) for b in ORDER}
    # The fastest run: scheduling noise only ever adds time.
    seq_wall = min(num(r["wall_s"]) for r in timed["sequential"])
    add("efficiency", "sequential", round(n * delay / seq_wall, 4))
    for b in ("threadpool", "uring"):
        add("speedup", b, round(seq_wall / min(num(r["wall_s"]) for r in timed[b]), 2))
    for b in ("threadpool", "uring"):
        add("inflight_peak", b, int(median([int(r["inflight_peak"]) for r in timed[b]])))
    for b in ORDER:
        add("threads", b, int(median([int(r["threads"]) for r in timed[b]])))
    for b in ORDER:
        cg = read_csv(os.path.join(d, f"cg-{b}.csv"))
        reqs = int(cg[-1]["requests"]) or 1
        add("instructions_per_request", b,
            round(callgrind_total(os.path.join(d, f"callgrind.{b}")) / reqs))
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["figure", "backend", "value", "check", "tolerance"])
    for r in rows:
        w.writerow(r)


def cmd_compare(baseline_path, measured_path):
    """Check measured figures against the baseline; exit 1 naming each regression."""
    base = read_csv(baseline_path)
    meas = {(r["figure"], r["backend"]): num(r["value"], None) for r in read_csv(measured_path)}
    if not base:
        die(f"{baseline_path} has no figures")
    failures = []
    lines = []
    for r in base:
        key = (r["figure"], r["backend"])
        name = f"{r['backend']} {r['figure']}"
        b, check, tol = num(r["value"], None), r["check"], num(r["tolerance"], None)
        m = meas.get(key)
        if b is None or tol is None or check not in ("at_least", "at_most", "exact"):
            die(f"{baseline_path}: bad row for {name} (value, check at_least|at_most|exact, tolerance)")
        if m is None:
            failures.append(f"{name}: not measured")
            lines.append(f"  FAIL {name}: not measured")
            continue
        if check == "at_least":
            limit, ok, rule = tol * b, m >= tol * b, f">= {tol:g} × {b:g}"
        elif check == "at_most":
            limit, ok, rule = tol * b, m <= tol * b, f"<= {tol:g} × {b:g}"
        else:
            limit, ok, rule = b, m == b, f"== {b:g}"
        def g(x):
            return f"{x:.0f}" if abs(x) >= 1e4 else f"{x:.4g}"
        rule = rule.replace(f"{b:g}", g(b))
        msg = f"{name} = {g(m)}, want {rule}" + (f" = {g(limit)}" if check != "exact" else "")
        lines.append(f"  {'ok  ' if ok else 'FAIL'} {msg}")
        if not ok:
            failures.append(msg)
    print("\n".join(lines))
    if failures:
        for f in failures:
            print(f"bench-ci: regression: {f}", file=sys.stderr)
        sys.exit(1)
    print(f"bench-ci: {len(base)} figures within tolerance of {baseline_path}")


# ---------------------------------------------------------------- main


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd in ("bench", "sweep") and len(argv) == 3:
        if not os.path.isdir(argv[2]):
            die(f"{argv[2]} is not a directory")
        {"bench": cmd_bench, "sweep": cmd_sweep}[cmd](argv[2])
    elif cmd == "ci-figures" and len(argv) == 5:
        cmd_ci_figures(argv[2], int(argv[3]), float(argv[4]))
    elif cmd == "compare" and len(argv) == 4:
        cmd_compare(argv[2], argv[3])
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return 0


def cmd_sweep(d):
    rows = read_csv(os.path.join(d, "sweep.csv"))
    if not rows:
        die(f"{d}/sweep.csv has no rows")
    skipped = read_csv(os.path.join(d, "skipped.csv"))
    # The fastest run of every point: (delay, n, backend, m) -> row.
    best = {}
    for r in rows:
        key = (num(r["delay_s"]), int(r["requests"]), r["backend"], int(r["max_req"]))
        if key not in best or num(r["wall_s"]) < num(best[key]["wall_s"]):
            best[key] = r
    delays = sorted({k[0] for k in best})
    ns = sorted({k[1] for k in best})
    backends = [b for b in ORDER if any(k[2] == b for k in best)]
    conc = [b for b in backends if b != "sequential"]

    def seq_wall(delay, n):
        r = best.get((delay, n, "sequential", 1))
        return num(r["wall_s"]) if r else None

    def seq_ref(delay, n):
        """What speedups divide: sequential's wall, or N × delay when it wasn't run."""
        sw = seq_wall(delay, n)
        return sw if sw else (n * delay if delay > 0 else None)

    # speedup-<n>-<delay>.dat: m, ideal speedup, then each concurrent back end's.
    lines_md = []
    for n in ns:
        for delay in delays:
            ms = sorted({k[3] for k in best if k[0] == delay and k[1] == n and k[2] != "sequential"})
            sw = seq_ref(delay, n)
            with open(os.path.join(d, f"speedup-{n}-{delay:g}.dat"), "w") as f:
                f.write("# max_req ideal_speedup " + " ".join(conc) + " (speedup = sequential wall / wall;"
                        " ? = not run)\n")
                for m in ms:
                    vals = []
                    for b in conc:
                        r = best.get((delay, n, b, m))
                        vals.append(f"{sw / num(r['wall_s']):.4f}" if r and sw and num(r["wall_s"]) > 0 else "?")
                    f.write(f"{m} {ideal_speedup(n, m):.4f} {' '.join(vals)}\n")
        # wall-<n>.dat: delay index, delay, sequential wall, ideal N*d, and per
        # concurrent back end its wall at the largest m with the ideal for it.
        mmax = max((k[3] for k in best if k[1] == n and k[2] != "sequential"), default=1)
        with open(os.path.join(d, f"wall-{n}.dat"), "w") as f:
            f.write(f"# i delay_s sequential_wall ideal_sequential ideal_m{mmax} "
                    + " ".join(f"{b}_m{mmax}" for b in conc) + "\n")
            for i, delay in enumerate(delays):
                sw = seq_wall(delay, n)
                vals = []
                for b in conc:
                    r = best.get((delay, n, b, mmax))
                    vals.append(f"{num(r['wall_s']):.6f}" if r else "?")
                f.write(f"{i} {delay:g} {sw if sw is not None else '?'} {n * delay:.6f} "
                        f"{math.ceil(n / mmax) * delay:.6f} {' '.join(vals)}\n")
    term = gnuplot_terminal()
    pngs = []
    if term:
        cols = len(delays)
        gp = [f"# made by scripts/report.py; run 'gnuplot plots.gp' in this folder to redo\n"
              f"set terminal {term} size {max(900, 330 * cols)},{330 * len(ns) + 60}\n"
              "set datafile missing '?'\n"
              "set output 'speedup.png'\n"
              f"set multiplot layout {len(ns)},{cols} title 'speedup over sequential vs requests in flight"
              f" (dashed: ideal N / ceil(N/m))'\n"
              "set logscale x 2\nset logscale y 2\nset grid\nset key top left\n"
              "set xlabel 'max in flight (m)'\nset ylabel 'speedup'\n"]
        for n in ns:
            for delay in delays:
                dat = f"speedup-{n}-{delay:g}.dat"
                sw = seq_wall(delay, n)
                plots = ([f"'{dat}' using 1:2 with lines dt 2 lc rgb '#000000' title 'ideal'"]
                         if delay > 0 else [])
                for i, b in enumerate(conc):
                    plots.append(f"'{dat}' using 1:{3 + i} with linespoints lw 2 pt 7 "
                                 f"lc rgb '{BACKEND_COLOURS.get(b, '#000000')}' title '{b}'")
                gp.append(f"set title '{n} requests, {delay:g} s delay"
                          + ("" if seq_wall(delay, n) or delay == 0 else " (vs N × delay: no sequential run)")
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
            mmax = max((k[3] for k in best if k[1] == n and k[2] != "sequential"), default=1)
            dat = f"wall-{n}.dat"
            plots = [f"'{dat}' using 1:3:xtic(2) with linespoints lw 2 pt 7 lc rgb '#808080' title 'sequential'",
                     f"'{dat}' using 1:($4 > 0 ? $4 : 1/0) with lines dt 2 lc rgb '#808080' title 'ideal N × d'"]
            for i, b in enumerate(conc):
                plots.append(f"'{dat}' using 1:{6 + i} with linespoints lw 2 pt 7 "
                             f"lc rgb '{BACKEND_COLOURS.get(b, '#000000')}' title '{b} m={mmax}'")
            plots.append(f"'{dat}' using 1:($5 > 0 ? $5 : 1/0) with lines dt 2 lc rgb '#000000' "
                         f"title 'ideal ceil(N/{mmax}) × d'")
            gp.append(f"set title '{n} requests'\nplot {', '.join(plots)}\n")
        gp.append("unset multiplot\n")
        if run_gnuplot(d, "".join(gp)):
            pngs = ["speedup.png", "wall-vs-delay.png"]
    # report.md: the speedup tables and the plots.
    md = ["# flagbench sweep\n",
          "Each point is the fastest of its runs (sweep.csv has them all). Speedup is sequential's "
          "wall time at the same delay and request count ÷ the back end's; ideal is N ÷ ceil(N/m), "
          "what overlapping the waits perfectly would give.\n"]
    text = []
    for n in ns:
        for delay in delays:
            ms = sorted({k[3] for k in best if k[0] == delay and k[1] == n and k[2] != "sequential"})
            sw = seq_ref(delay, n)
            measured = seq_wall(delay, n) is not None
            if not ms:
                continue
            header = ["m", "ideal"] + conc
            trows = []
            for m in ms:
                row = [str(m), f"{fmt_x(ideal_speedup(n, m))}×" if delay > 0 else "–"]
                for b in conc:
                    r = best.get((delay, n, b, m))
                    if not r:
                        row.append("–")
                    elif sw:
                        row.append(f"{fmt_x(sw / num(r['wall_s']))}× ({fmt_s(num(r['wall_s']))} s)")
                    else:
                        row.append(f"{fmt_s(num(r['wall_s']))} s")
                trows.append(row)
            title = (f"{n} requests, {delay:g} s delay: sequential "
                     + (f"{fmt_s(sw)} s (ideal {fmt_s(n * delay)} s)" if measured
                        else "not run (over --max-run); speedups are over N × delay"))
            md += [f"## {title}\n", md_table(header, trows), ""]
            text += ["", title, text_table([header], trows)]
    if skipped:
        md.append("Skipped as over --max-run: " + "; ".join(
            f"{r['backend']} -m {r['max_req']} at {r['delay_s']} s × {r['requests']}" for r in skipped) + ".\n")
    md += [f"![{p}]({p})\n" for p in pngs]
    with open(os.path.join(d, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(text).lstrip("\n"))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
