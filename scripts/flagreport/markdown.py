"""markdown.py — the report in words: the tables and the sentences computed
from the figures, as text for the terminal and as report.md."""
from __future__ import annotations

import math
import os

from . import env as run_env
from . import stats
from .model import BackendRun, BenchRun, Sweep, Workload, ideal_speedup, speedup


def fmt_s(x: float) -> str:
    """Seconds with three significant figures, at most 3 decimals."""
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def fmt_x(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def plural(n: int, word: str) -> str:
    return f"{word}{'s' if n != 1 else ''}"


def md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def text_table(header_lines: list[list[str]], rows: list[list[str]]) -> str:
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


def wall_interval(e: BackendRun) -> stats.Interval:
    return stats.mean_interval(e.timing.times or [e.wall])


def speedup_interval(w: Workload, e: BackendRun):
    """The baseline's mean wall ÷ e's, with its 95% interval."""
    return stats.ratio_interval(w.baseline.timing.times or [w.baseline.wall],
                                e.timing.times or [e.wall])


def fmt_speedup(iv) -> str:
    return stats.fmt_interval(iv, fmt_x, "×")


def bench_table(w: Workload) -> tuple[list[list[str]], list[list[str]]]:
    header = [["back end", "wall s", "CPU s", "CPU÷wall", "threads", "in flight", "RSS",
               "ctx switches", "p50", "p99", "speedup"],
              ["", "mean±95% CI", "", "", "", "peak/mean", "MB", "vol/invol", "ms", "ms", "(95% CI)"]]
    rows = []
    for e in w.entries:
        s = e.summary
        iv = wall_interval(e)
        rows.append([
            e.backend,
            f"{fmt_s(e.wall)}±{fmt_s(iv.half_width)}" if iv.half_width is not None
            else f"{fmt_s(e.wall)} (1 run)",
            fmt_s(e.cpu),
            f"{100 * e.cpu / e.wall:.1f}%" if e.wall else "–",
            str(s.threads),
            f"{s.inflight_peak}/{s.inflight_mean:.1f}",
            f"{s.rss_kb / 1024:.1f}",
            f"{s.ctx_voluntary}/{s.ctx_involuntary}",
            f"{s.latency_p50_ms:.1f}",
            f"{s.latency_p99_ms:.1f}",
            "1×" if e is w.baseline else fmt_speedup(speedup_interval(w, e)),
        ])
    return header, rows


def bench_sentences(w: Workload) -> list[str]:
    """Why the numbers differ, said with the numbers."""
    out = []
    n, delay, entries = w.requests, w.delay, w.entries
    base = w.baseline
    for e in entries:
        s = e.summary
        if s.errors + s.not_run:
            out.append(f"{e.backend} had {s.errors} errors and {s.not_run} requests not run:"
                       f" its times cover a broken run (see its trace).")
    for e in entries:
        codes = [c for c in e.timing.exit_codes if c not in (0, None)]
        if codes:
            out.append(f"{len(codes)} of {len(e.timing.exit_codes)} timed runs of {e.backend} "
                       f"exited non-zero ({', '.join(sorted({str(c) for c in codes}))}): "
                       f"some downloads failed, so its times are suspect.")
    bm = max(1, base.summary.max_req)
    wait = max(0.0, 1 - base.cpu / base.wall) if base.wall else 0
    line = (f"{base.backend} spent {100 * wait:.0f}% of its {fmt_s(base.wall)} s waiting, "
            f"with {'one request' if bm == 1 else f'up to {bm} requests'} in flight")
    if delay > 0:
        floor = math.ceil(n / bm) * delay
        line += (f": {n} requests × {delay:g} s delay"
                 + (f" ÷ {bm} at a time" if bm > 1 else "")
                 + f" = {fmt_s(floor)} s at least, "
                 f"so {1000 * max(0.0, base.wall - floor) / n:.1f} ms per request "
                 f"went to everything else")
    out.append(line + ".")
    for e in entries[1:]:
        s = e.summary
        m = s.max_req or 1
        line = (f"{e.backend} kept {s.inflight_mean:.1f} requests in flight on average "
                f"(peak {s.inflight_peak}) on {s.threads} {plural(s.threads, 'thread')}")
        sp = w.speedup(e) or 0.0
        if delay > 0:
            rounds = math.ceil(n / m)
            line += (f", so the waits overlapped: {fmt_speedup(speedup_interval(w, e))} faster than "
                     f"{base.backend}, "
                     f"of an ideal {fmt_x(ideal_speedup(n, m))}× ({n} requests in {rounds} "
                     f"{plural(rounds, 'round')} of {delay:g} s, {m} at a time)")
        else:
            line += (f": {fmt_x(sp)}× {'faster' if sp >= 1 else 'as fast'} as {base.backend}"
                     f" with no delay to overlap, only CPU and the loopback")
        out.append(line + ".")
    # Where the traced runs' time went after the last response.
    for e in entries[1:]:
        tr = [r for r in e.trace if r.done_us >= 0]
        wall = e.summary.wall_s
        if not tr or wall <= 0:
            continue
        last_done = max(r.done_us for r in tr) / 1e6
        last_saved = max(r.saved_us for r in tr) / 1e6
        if wall - last_done > 0.2 * wall:
            out.append(f"{e.backend}'s last response arrived at {fmt_s(last_done)} s of its traced "
                       f"{fmt_s(wall)} s run; saving the files ran to {fmt_s(max(last_saved, 0))} s, "
                       f"so {100 * (wall - last_done) / wall:.0f}% of its wall time came after "
                       f"the waiting (grey in its timeline).")
    out += comparison_sentences(w)
    out += thread_cost_sentence(w)
    if len(entries) > 1:
        cpus = [e.cpu for e in entries]
        walls = [e.wall for e in entries]
        cpu_r = max(cpus) / max(1e-9, min(cpus))
        wall_r = max(walls) / max(1e-9, min(walls))
        lo = min(entries, key=lambda e: e.cpu)
        hi = max(entries, key=lambda e: e.cpu)
        line = (f"CPU time ranged {fmt_s(min(cpus))}–{fmt_s(max(cpus))} s "
                f"({lo.backend} to {hi.backend}, {cpu_r:.1f}×) while wall time ranged "
                f"{fmt_s(min(walls))}–{fmt_s(max(walls))} s ({fmt_x(wall_r)}×)")
        if wall_r > 2 * cpu_r:
            line += ": the back ends did similar work; the fast ones overlapped the waiting"
        out.append(line + ".")
    return out


def comparison_sentences(w: Workload) -> list[str]:
    """Each pair of back ends other than the baseline (whose speedups say it),
    tested: faster, or no significant difference."""
    out = []
    others = w.entries[1:]
    for i, a in enumerate(others):
        for b in others[i + 1:]:
            out.append(stats.sentence(stats.compare(
                a.backend, a.timing.times, a.timing.rounds,
                b.backend, b.timing.times, b.timing.rounds)))
    return out


def thread_cost_sentence(w: Workload) -> list[str]:
    """Threads cost memory and switches: the back end with the most threads
    (a thread pool) against the fastest of those with the fewest, preferring
    one that overlaps its requests over the baseline."""
    pool = max(w.entries, key=lambda e: e.summary.threads)
    fewest = min(e.summary.threads for e in w.entries)
    if pool.summary.threads <= max(1, fewest):
        return []
    light = [e for e in w.entries if e.summary.threads == fewest]
    overlapping = [e for e in light if e is not w.baseline]
    other = min(overlapping, key=lambda e: e.wall) if overlapping else light[0]
    ps, os_ = pool.summary, other.summary
    rss_ratio = ps.rss_kb / max(1.0, os_.rss_kb)
    line = (f"the thread pool used {ps.threads} threads where {other.backend} used "
            f"{os_.threads}: {rss_ratio:.1f}× the memory ({ps.rss_kb / 1024:.1f} vs "
            f"{os_.rss_kb / 1024:.1f} MB peak RSS) and "
            f"{ps.ctx_switches / max(1, os_.ctx_switches):.1f}× the context switches "
            f"({ps.ctx_switches} vs {os_.ctx_switches})")
    if other is not w.baseline and pool is not w.baseline:
        line += f", for {fmt_x(w.speedup(pool) or 0)}× against {fmt_x(w.speedup(other) or 0)}×"
    return [line + "."]


def workload_heading(w: Workload) -> str:
    ms = sorted({e.summary.max_req for e in w.entries[1:]})
    return (f"{w.name}: {w.requests} requests, {w.delay:g} s server delay"
            + (f", up to {'/'.join(str(m) for m in ms)} in flight" if ms else ""))


def bench_report(run: BenchRun, pngs: list[tuple[str, str, str]]) -> tuple[str, str]:
    """(the text for the terminal, report.md)."""
    delay = run.delay
    base = run.backends[0]
    warning = run_env.busy_warning(run.env)
    header = run_env.header_lines(run.env)
    md = [f"# flagbench: {', '.join(w.name for w in run.workloads)} with a {delay:g} s server delay\n"]
    if warning:
        md.append(f"**{warning}**\n")
    md += ["  \n".join(header) + "\n",
           "Wall and CPU time are hyperfine's means over its runs (whole process), the back ends "
           "interleaved in rounds; ± is the 95% confidence interval of the mean (Student's t). "
           "Threads, requests in flight, RSS, context switches and latency come from one more "
           "run of each back end with `--trace` and `--summary` (summary.csv, trace-*.csv). "
           f"Speedup is {base}'s mean wall time ÷ the back end's, with its 95% interval; "
           "pairs of back ends are compared with a rank test (results/README.md).\n"]
    if run.dest_parent:
        md.append(f"The clients saved the flags under `{run.dest_parent}` "
                  f"({run.dest_fs or 'unknown'} file system).\n")
    text = ([warning, ""] if warning else []) + header
    for w in run.workloads:
        head = workload_heading(w)
        header, rows = bench_table(w)
        sentences = bench_sentences(w)
        runs = ", ".join(f"{e.backend} {e.runs}" for e in w.entries)
        text += ["", head, text_table(header, rows), ""] + [f"  {s}" for s in sentences]
        md_head = [f"{h} ({u})" if u else h for h, u in zip(header[0], header[1])]
        md += [f"## {head}\n", md_table(md_head, rows), f"\nhyperfine runs: {runs}.\n"]
        md += [f"- {s}" for s in sentences]
        md.append("")
        for wl, png, what in pngs:
            if wl == w.name:
                md.append(f"![{wl}: {what}]({png})\n")
    return "\n".join(text).lstrip("\n"), "\n".join(md) + "\n"


# ---------------------------------------------------------------- sweep


def sweep_report(sw: Sweep, pngs: list[str]) -> tuple[str, str]:
    """(the text for the terminal, report.md): a speedup table per N and delay."""
    base = sw.baseline or "the baseline"
    md = ["# flagbench sweep\n",
          f"Each point is the fastest of its runs (sweep.csv has them all). Speedup is {base}'s "
          "wall time at the same delay and request count ÷ the back end's; ideal is N ÷ ceil(N/m), "
          "what overlapping the waits perfectly would give.\n"]
    text = []
    conc = sw.concurrent
    for n in sw.requests:
        for delay in sw.delays:
            ms = sw.max_reqs(delay, n)
            ref = sw.reference_wall(delay, n)
            measured = sw.baseline_wall(delay, n) is not None
            if not ms:
                continue
            header = ["m", "ideal"] + conc
            trows = []
            for m in ms:
                row = [str(m), f"{fmt_x(ideal_speedup(n, m))}×" if delay > 0 else "–"]
                for b in conc:
                    r = sw.best.get((delay, n, b, m))
                    if not r:
                        row.append("–")
                    elif speedup(ref, r.wall):
                        row.append(f"{fmt_x(speedup(ref, r.wall))}× ({fmt_s(r.wall)} s)")
                    else:
                        row.append(f"{fmt_s(r.wall)} s")
                trows.append(row)
            title = (f"{n} requests, {delay:g} s delay: {base} "
                     + (f"{fmt_s(ref)} s (ideal {fmt_s(n * delay)} s)" if measured
                        else "not run (over --max-run); speedups are over N × delay"))
            md += [f"## {title}\n", md_table(header, trows), ""]
            text += ["", title, text_table([header], trows)]
    if sw.skipped:
        md.append("Skipped as over --max-run: " + "; ".join(
            f"{r.backend} -m {r.max_req} at {r.delay} s × {r.requests}" for r in sw.skipped) + ".\n")
    md += [f"![{p}]({p})\n" for p in pngs]
    return "\n".join(text).lstrip("\n"), "\n".join(md) + "\n"


def write(directory: str, name: str, content: str) -> None:
    with open(os.path.join(directory, name), "w") as f:
        f.write(content)
