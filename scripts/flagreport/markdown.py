"""markdown.py — the report in words: the tables and the sentences computed
from the figures, as text for the terminal and as report.md."""
from __future__ import annotations

import math
import os
import statistics
from typing import Optional

from . import env as run_env
from . import stats
from . import phases
from . import syscalls
from .model import BackendRun, BenchRun, Sweep, Workload, ideal_speedup, speedup
from .phases import Floor


def fmt_s(x: float) -> str:
    """Seconds with three significant figures, at most 3 decimals."""
    return phases.decimals(x, ((100, 0), (10, 1), (1, 2)), 3)


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


# Where the words used below are defined, from a results/<ts>/report.md.
README = "../README.md"


def terms_paragraph(run: BenchRun) -> str:
    """The jargon, said once in words (results/README.md has the rest)."""
    return (
        "**Terms.** *Timed* figures come from hyperfine's runs of the whole process "
        "(wall and CPU time, speedups); *traced* figures from one more run of each back end with "
        "`--trace` and `--summary` (threads, requests in flight, memory, context switches, "
        "latencies, the timelines and the phase account). *Waiting* is the server's delay on the "
        "run's critical path — what the ideal counts; the phase account below splits every run's "
        "wall time into it and the rest. *In flight*: requests started and not yet done — *peak* "
        "the most at once, *mean* the average over the run. *ctx switches vol/invol*: the kernel "
        "switched away from the process because it waited (voluntary) or because its time slice "
        "was up (involuntary). *p50/p99*: the request duration half / 99% of requests stayed "
        "under (of fewer than 100 requests, the p99 is the slowest one). *RSS*: peak resident memory, in MiB "
        f"(2^20 bytes). Every column is defined in [results/README.md]({README}).\n")


def bench_table(w: Workload) -> tuple[list[list[str]], list[list[str]]]:
    header = [["back end", "wall s", "CPU s", "CPU÷wall", "threads", "in flight", "RSS",
               "ctx switches", "p50", "p99", "speedup"],
              ["", "timed ±95% CI", "timed", "timed", "traced", "traced pk/mean", "traced MiB",
               "traced vol/inv", "traced ms", "traced ms", "timed (95% CI)"]]
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
            # -j N: the loops or worker processes a back end counted itself.
            str(s.threads) + (f" (-j {s.extra['loops']})" if s.extra.get("loops", "0") != "0"
                              else ""),
            f"{s.inflight_peak}/{s.inflight_mean:.1f}",
            f"{s.rss_kb / 1024:.1f}",
            f"{s.ctx_voluntary}/{s.ctx_involuntary}",
            f"{s.latency_p50_ms:.1f}",
            f"{s.latency_p99_ms:.1f}",
            "1×" if e is w.baseline else fmt_speedup(speedup_interval(w, e)),
        ])
    return header, rows


# A traced run this far from the timed runs' median describes another run.
TRACED_TOLERANCE = 0.20


def traced_vs_timed(w: Workload) -> list[str]:
    """Flag a back end whose traced run's wall time is more than 20% off the
    timed runs' median: its timeline and phases tell of a different run."""
    out = []
    for e in w.entries:
        traced = e.process_wall
        med = statistics.median(e.timing.times) if e.timing.times else e.wall
        if traced and med and abs(traced - med) > TRACED_TOLERANCE * med:
            out.append(f"Note: {e.backend}'s traced run took {fmt_s(traced)} s, "
                       f"{100 * abs(traced - med) / med:.0f}% {'more' if traced > med else 'less'} "
                       f"than the median of its timed runs ({fmt_s(med)} s): its timeline, phases "
                       f"and traced columns describe a {'slower' if traced > med else 'faster'} "
                       f"run than its wall and speedup columns.")
    return out


def _ideal(w: Workload, e: BackendRun, floors: dict) -> tuple[float, Optional[Floor]]:
    m = 1 if e is w.baseline else (e.summary.max_req or 1)
    f = floors.get(e.backend)
    return phases.ideal_wall(w.requests, m, w.delay, f), f


def baseline_sentence(w: Workload, acc: dict) -> Optional[str]:
    base = w.baseline
    a = acc.get(base.backend)
    if not a or w.delay <= 0:
        return None
    total = a.measured_wall or a.total
    other = total - a.parts["waiting"]
    return (f"{base.backend} made one request at a time, so it waited {phases.ms(a.parts['waiting'])} "
            f"of its traced {phases.ms(total)} ({a.chain} × {w.delay:g} s, one after another); "
            f"the other {phases.ms(other)} — {1e3 * other / max(1, a.chain):.1f} ms a request — "
            f"went to starting, receiving and saving (the phase account below).")


def speedup_sentences(w: Workload, floors: dict) -> list[str]:
    out = []
    n, delay, base = w.requests, w.delay, w.baseline
    ideal_base, fb = _ideal(w, base, floors)
    for e in w.entries[1:]:
        s = e.summary
        m = s.max_req or 1
        line = (f"{e.backend} kept {s.inflight_mean:.1f} requests in flight on average "
                f"(peak {s.inflight_peak}, traced) on {s.threads} {plural(s.threads, 'thread')}")
        if delay > 0:
            ideal_e, fe = _ideal(w, e, floors)
            rounds = math.ceil(n / m)
            isp = speedup(ideal_base, ideal_e) or ideal_speedup(n, m)
            line += (f": {fmt_speedup(speedup_interval(w, e))} faster than {base.backend} "
                     f"(timed), of an ideal {fmt_x(isp)}× (ideal walls: {base.backend} "
                     f"{n} × {delay:g} s" + (f" + {phases.ms(fb.total_s)}" if fb else "")
                     + f", {e.backend} {rounds} × {delay:g} s"
                     + (f" + {phases.ms(fe.total_s)}" if fe else "")
                     + ("; the added time is each one's floor, a one-request run's start and exit)"
                        if fb and fe else ")"))
        else:
            sp = w.speedup(e) or 0.0
            line += (f": {fmt_x(sp)}× {'faster' if sp >= 1 else 'as fast'} as {base.backend}"
                     f" with no delay to overlap, only CPU and the loopback")
        out.append(line + ".")
    return out


def phase_sentences(w: Workload, acc: dict) -> list[str]:
    out = []
    for e in w.entries:
        a = acc.get(e.backend)
        if a:
            out.append(phases.sentence(a)[0].upper() + phases.sentence(a)[1:])
    off = [a for a in acc.values() if not a.adds_up()]
    timed = [a for a in acc.values() if a.gap is not None]
    if timed and not off:
        worst = max(abs(a.gap) for a in timed)
        out.append(f"The parts add up to each traced run's wall time, timed from outside the "
                   f"process, within {100 * worst:.1f}% (the account is checked to 5%).")
    return out


def _cmp(a: float, b: float, unit: str, what: str, more: str, less: str) -> str:
    """'1.3× as much memory (21.4 against 16.6 MiB)', 'fewer … (62 against 80)'."""
    fa = f"{a:.1f}" if unit else f"{a:.0f}"
    fb = f"{b:.1f}" if unit else f"{b:.0f}"
    fig = f"({fa} against {fb}{' ' + unit if unit else ''})"
    if b > 0 and a >= 1.15 * b:
        return f"{a / b:.1f}× {more} {what} {fig}"
    if a > 0 and b >= 1.15 * a:
        return f"{less} {what} {fig}"
    return f"about {more} {what} {fig}"


def thread_cost_sentence(w: Workload) -> list[str]:
    """Threads cost memory and switches: the back end with the most threads
    against the fastest of those with the fewest (not the baseline when
    another overlaps its requests), in words that follow the figures."""
    pool = max(w.entries, key=lambda e: e.summary.threads)
    fewest = min(e.summary.threads for e in w.entries)
    if pool.summary.threads <= max(1, fewest):
        return []
    light = [e for e in w.entries if e.summary.threads == fewest]
    overlapping = [e for e in light if e is not w.baseline]
    other = min(overlapping, key=lambda e: e.wall) if overlapping else light[0]
    ps, os_ = pool.summary, other.summary
    line = (f"{pool.backend} ran {ps.threads} threads where {other.backend} ran {os_.threads} "
            f"(traced): "
            + _cmp(ps.rss_kb / 1024, os_.rss_kb / 1024, "MiB", "memory at its peak", "as much", "less")
            + " and "
            + _cmp(ps.ctx_switches, os_.ctx_switches, "", "context switches", "as many", "fewer"))
    if other is not w.baseline and pool is not w.baseline:
        sp_p, sp_o = w.speedup(pool) or 0, w.speedup(other) or 0
        c = stats.compare(pool.backend, pool.timing.times, pool.timing.rounds,
                          other.backend, other.timing.times, other.timing.rounds)
        if c.significant:
            line += (f", and it was {'slower' if sp_p < sp_o else 'faster'}: {fmt_x(sp_p)}× "
                     f"against {fmt_x(sp_o)}× {w.baseline.backend}'s speed (timed)")
        else:
            line += (f", and was not measurably faster for it: {fmt_x(sp_p)}× against "
                     f"{fmt_x(sp_o)}× {w.baseline.backend}'s speed (timed), no significant "
                     f"difference")
    return [line + "."]


def cpu_sentence(w: Workload) -> list[str]:
    entries = w.entries
    if len(entries) < 2:
        return []
    cpus = [e.cpu for e in entries]
    walls = [e.wall for e in entries]
    lo = min(entries, key=lambda e: e.cpu)
    hi = max(entries, key=lambda e: e.cpu)
    cpu_r = hi.cpu / max(1e-9, lo.cpu)
    line = (f"CPU time (timed) ranged {fmt_s(lo.cpu)}–{fmt_s(hi.cpu)} s ({lo.backend} to "
            f"{hi.backend}, {cpu_r:.1f}×) while wall time ranged {fmt_s(min(walls))}–"
            f"{fmt_s(max(walls))} s")
    gap = max(walls) - min(walls)
    if gap > 10 * max(cpus):
        line += (f": the {fmt_s(gap)} s between the slowest and the fastest is "
                 f"{gap / max(cpus):.0f} times all the CPU time any back end used, so it is not "
                 f"work but waiting, overlapped or not")
        if cpu_r <= 1.5:
            line += ", and the back ends did about the same work"
    return [line + "."]


def why_not_ideal(w: Workload, acc: dict, floors: dict) -> list[str]:
    """Why a concurrent back end fell short of its ideal, from its phases:
    what it spent beyond the waiting and the floor, and on what."""
    out = []
    conc = [e for e in w.entries[1:] if e.backend in acc]
    if w.delay <= 0 or not conc:
        return out
    ideal_base, _ = _ideal(w, w.baseline, floors)

    def best(key):
        vals = [(acc[e.backend].details.get(key), e.backend) for e in conc
                if acc[e.backend].details.get(key) is not None]
        return min(vals) if vals else None

    for e in conc:
        a = acc[e.backend]
        ideal_e, f = _ideal(w, e, floors)
        beyond = a.total - ideal_e
        isp = speedup(ideal_base, ideal_e) or 0
        parts = []
        p = a.parts
        if a.threads > 1:
            parts.append(f"{phases.ms(p['transfers'])} starting the transfers: its "
                         f"{a.threads} threads began their requests from {phases.ms(a.first_start)} "
                         f"to {phases.ms(a.last_start)} after t0 (starting the threads)")
        else:
            parts.append(f"{phases.ms(p['transfers'])} starting the transfers: one thread "
                         f"started all {a.requests}, the last {phases.ms(a.last_start)} after t0")
        c = a.details.get("connect_median_ms")
        b = best("connect_median_ms")
        if c is not None:
            parts[-1] += (f", and a connection was up a median {c:.2f} ms after its start"
                          + (f" (against {b[0]:.2f} ms for {b[1]})" if b and b[1] != e.backend else "")
                          + (", the one thread being busy starting the others"
                             if a.threads <= 1 and c >= 0.5 and a.requests > 1 else ""))
        fd = a.details.get("first_byte_to_done_median_ms")
        b = best("first_byte_to_done_median_ms")
        recv = f"{phases.ms(p['receiving'])} receiving"
        if a.chain == 1:
            recv += " — the last response, from the end of its server delay to its end"
        if fd is not None:
            recv += (f" (over all responses, first byte to end took a median {fd:.2f} ms"
                     + (f", against {b[0]:.2f} ms for {b[1]}" if b and b[1] != e.backend else "")
                     + ")")
            # A cause is named only where there is a delay to explain.
            if fd < 0.5 or e.summary.inflight_peak <= 1:
                pass
            elif a.threads <= 1:
                recv += (f", because one thread reads {e.summary.inflight_peak} answers that "
                         f"arrive at once")
            else:
                recv += (f", while {a.threads} threads take turns on the machine's CPUs as the "
                         f"answers arrive together")
        parts.append(recv)
        if p["saving"] > 0.0005:
            ds = a.details.get("done_to_saved_max_ms")
            parts.append(f"{phases.ms(p['saving'])} saving after the last response"
                         + (f" (a file waited up to {ds:.1f} ms between its response and being "
                            f"saved)" if ds else ""))
        extra_fixed = p["process"] + p["exit"] - (f.total_s if f else 0)
        if f and extra_fixed > 0.002:
            parts.append(f"{phases.ms(extra_fixed)} more starting and exiting than a one-request "
                         f"run (winding down a bigger run)")
        out.append(f"Why {e.backend} is not {fmt_x(isp)}×: its traced run took {phases.ms(beyond)} "
                   f"beyond its ideal {phases.ms(ideal_e)} — " + "; ".join(parts) + ".")
    return out


def nodelay_section(run: BenchRun) -> tuple[list[str], Optional[str]]:
    """The counterexample from the no-delay runs: (markdown lines, one line of text)."""
    if not run.nodelay_runs or not run.backends:
        return [], None
    base = run.backends[0]
    wl = next((k[1] for k in run.process_walls if k[0] == "nodelay"), "")
    med = {}
    cpu = {}
    for b in run.backends:
        walls = run.process_walls.get(("nodelay", wl, b))
        if walls and b in run.nodelay_runs:
            med[b] = statistics.median(walls)
            cpu[b] = statistics.median(s.cpu_s for s in run.nodelay_runs[b])
    if base not in med or len(med) < 2:
        return [], None
    n = run.nodelay_runs[base][0].requests
    rounds = len(run.process_walls.get(("nodelay", wl, base), []))
    sps = {b: speedup(med[base], med[b]) or 0 for b in med if b != base}
    rows = [[b, f"{1e3 * med[b]:.0f}", f"{1e3 * cpu[b]:.1f}",
             "1×" if b == base else f"{sps[b]:.2f}×"] for b in med]
    lo, hi = min(sps.values()), max(sps.values())
    words = (f"With no server delay ({wl}: {n} requests against a second flagserver that answers at "
             f"once, {rounds} rounds per back end, medians of the whole process timed from outside) "
             f"there is nothing to overlap: {base} took {1e3 * med[base]:.0f} ms, and the others ran "
             f"at {f'{lo:.2f}–{hi:.2f}×' if abs(hi - lo) >= 0.01 else f'{hi:.2f}×'} its speed"
             + (" — slower, not faster" if hi < 0.95 else
                " — at best a little faster" if hi < 2 else "")
             + f". What is left is CPU work and the loopback, which starting many requests "
             f"at once does not make shorter — the speedups above come from the server's delay, "
             f"not from doing the work faster.")
    md = ["## The counterexample: nothing to wait for\n", words + "\n",
          md_table(["back end", "wall ms (median)", "CPU ms (median)", f"speedup over {base}"], rows), ""]
    # The CPU-bound case, from the newest make bench-crossover beside this run.
    from . import crossover  # it uses this module's tables
    cpu_bound = crossover.latest_counterexample(run.directory)
    md += [cpu_bound + "\n" if cpu_bound else "The CPU-bound counterexample, where one thread is "
           "not enough: `make bench-crossover` (docs/cores.md).\n"]
    return md, words


def book_paragraph(run: BenchRun, accounts: dict) -> Optional[str]:
    """The figures against the book's "5×"."""
    ws = [w for w in run.workloads if w.delay > 0 and len(w.entries) > 1]
    if not ws:
        return None
    best = {w.name: max(w.entries[1:], key=lambda e: w.speedup(e) or 0) for w in ws}
    figs = ", ".join(f"{fmt_x(w.speedup(best[w.name]) or 0)}× on {w.name} ({best[w.name].backend})"
                     for w in ws)
    w = ws[0]
    e = best[w.name]
    a = accounts.get(w.name, {}).get(e.backend)
    base_wall = w.baseline.wall
    text = (f"**The book's 5×.** *Fluent Python* measured its asyncio script about 5× faster "
            f"than its one-at-a-time flags.py, downloading over the internet; this run shows {figs}. "
            f"It is the same law with other figures: a concurrent client's speedup is the one-at-a-time "
            f"client's sum of waits divided by one wait plus whatever does not overlap. Here every "
            f"wait is exactly {w.delay:g} s on an idle local server, and what does not overlap is small")
    if a:
        outside = a.total - a.parts["waiting"]
        need = base_wall / 5 - w.delay
        text += (f": {e.backend}'s traced run spent {phases.ms(outside)} outside its wait on {w.name}. "
                 f"For only 5× on {w.name}, with {w.baseline.backend} at {fmt_s(base_wall)} s, the "
                 f"concurrent run would have to spend {phases.ms(need)} outside its wait — "
                 f"{need / max(outside, 1e-6):.0f} times as much")
    text += (". Over the internet that is what happens: name look-ups, TLS handshakes, a shared "
             "link and servers that answer a few requests at a time add time that does not overlap, "
             "and the waits themselves vary. The sweep (`make bench-sweep`) shows the speedup at "
             "other delays and concurrency.")
    return text


def bench_sentences(w: Workload, acc: dict, floors: dict) -> list[str]:
    """Why the numbers differ, said with the numbers."""
    out = []
    for e in w.entries:
        s = e.summary
        if s.errors + s.not_run:
            out.append(f"{e.backend} had {s.errors} errors and {s.not_run} requests not run:"
                       f" its times cover a broken run (see its trace).")
    for e in w.entries:
        codes = [c for c in e.timing.exit_codes if c not in (0, None)]
        if codes:
            out.append(f"{len(codes)} of {len(e.timing.exit_codes)} timed runs of {e.backend} "
                       f"exited non-zero ({', '.join(sorted({str(c) for c in codes}))}): "
                       f"some downloads failed, so its times are suspect.")
    out += traced_vs_timed(w)
    line = baseline_sentence(w, acc)
    if line:
        out.append(line)
    out += speedup_sentences(w, floors)
    out += comparison_sentences(w)
    out += thread_cost_sentence(w)
    out += cpu_sentence(w)
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


def workload_heading(w: Workload) -> str:
    ms = sorted({e.summary.max_req for e in w.entries[1:]})
    return (f"{w.name}: {w.requests} requests, {w.delay:g} s server delay"
            + (f", up to {'/'.join(str(m) for m in ms)} in flight" if ms else ""))


def _figures(pngs, wl: str, kind: str) -> list[tuple[str, str]]:
    return [(png, k) for w, png, k in pngs if w == wl and k == kind]


FIGURE_WORDS = {
    "phases": "where the wall time went",
    "overview": "every request of every back end (red strip: CPUs busy)",
    "timeline": "one back end's requests",
    "wall-cpu": "wall vs CPU time",
}


def bench_report(run: BenchRun, pngs: list[tuple[str, str, str]], accounts: Optional[dict] = None,
                 floors: Optional[dict] = None) -> tuple[str, str]:
    """(the text for the terminal, report.md). accounts: workload → back end →
    phases.Account; floors: back end → phases.Floor."""
    accounts, floors = accounts or {}, floors or {}
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
           f"Speedup is {base}'s mean wall time ÷ the back end's, with its 95% interval; "
           f"pairs of back ends are compared with a rank test ([results/README.md]({README})).\n",
           terms_paragraph(run)]
    if run.dest_parent:
        md.append(f"The clients saved the flags under `{run.dest_parent}` "
                  f"({run.dest_fs or 'unknown'} file system).\n")
    text = ([warning, ""] if warning else []) + header
    for w in run.workloads:
        acc = accounts.get(w.name, {})
        head = workload_heading(w)
        header, rows = bench_table(w)
        sentences = bench_sentences(w, acc, floors)
        phase_lines = phase_sentences(w, acc)
        why = why_not_ideal(w, acc, floors)
        runs = ", ".join(f"{e.backend} {e.runs}" for e in w.entries)
        text += ["", head, text_table(header, rows), ""] + [f"  {s}" for s in sentences]
        if phase_lines:
            text += ["", "  Where the time went (traced runs):"] + [f"  {s}" for s in phase_lines]
        text += [f"  {s}" for s in why]
        md_head = [f"{h} ({u})" if u else h for h, u in zip(header[0], header[1])]
        md += [f"## {head}\n", md_table(md_head, rows),
               f"\nTimed runs per back end: {runs}; traced: one each.\n"]
        md += [f"- {s}" for s in sentences]
        md.append("")
        if phase_lines:
            md.append(f"### Where the time went\n")
            md.append("The phase account of each traced run: its wall time, from the process's start "
                      "to its end, cut into starting the process, starting the transfers, waiting "
                      "(the server's delay: the only part the ideal counts), receiving, saving and "
                      "exit, along the chain of steps the run's end waited for "
                      f"([how it is computed]({README}#the-phase-account)).\n")
            md += [f"![{w.name}: {FIGURE_WORDS['phases']}]({png})\n" for png, _ in _figures(pngs, w.name, "phases")]
            md += [f"- {s}" for s in phase_lines]
            md.append("")
        if why:
            md.append(f"### Why not the ideal\n")
            md += [f"{s}\n" for s in why]
        for kind in ("overview", "wall-cpu", "timeline"):
            for png, _ in _figures(pngs, w.name, kind):
                md.append(f"![{w.name}: {FIGURE_WORDS[kind]} ({png})]({png})\n")
        if _figures(pngs, w.name, "overview"):
            md.append("In the timelines a bar is one request, from its start to its response's "
                      "end; purple, the wait for its file to be saved. The red strip under a "
                      "one-thread back end's timeline is the CPU it used at each moment (from "
                      "the CPU time the thread had used at every start and end of a request): "
                      "one thread, mostly idle, while many requests wait.\n")
    sc_md, sc_text = syscalls.section(run)
    md += sc_md
    text += sc_text
    nd_md, nd_text = nodelay_section(run)
    md += nd_md
    if nd_text:
        text += ["", nd_text]
    book = book_paragraph(run, accounts)
    if book:
        md += [book + "\n"]
        text += ["", book.replace("**", "").replace("*", "")]
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
