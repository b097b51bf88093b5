"""markdown.py — the report in words: the tables and the sentences computed
from the figures, as text for the terminal and as report.md."""
from __future__ import annotations

import math
import os
import statistics
from typing import Optional

from . import answer
from . import env as run_env
from . import model
from . import phases
from . import plots
from . import stats
from . import syscalls
from .model import BackendRun, BenchRun, Sweep, Workload, ideal_speedup, speedup
from .phases import Floor


def fmt_s(x: float) -> str:
    """Seconds with three significant figures, at most 3 decimals."""
    return phases.decimals(x, ((100, 0), (10, 1), (1, 2)), 3)


def fmt_ms(x: float) -> str:
    """Seconds as ms with one decimal: traced walls and ranges compare at
    a tenth of a millisecond."""
    return f"{1e3 * x:.1f}"


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
        "**Terms.** *Timed*: hyperfine's runs of the whole process, the back ends interleaved in "
        "rounds (wall, CPU, speedups); *traced*: one more run of each with `--trace` and "
        "`--summary` (threads, in flight, memory, switches, latencies, the timelines and the phase "
        "account), its *traced wall* timed from outside the process like the timed runs. "
        "*Waiting* is the configured server delay on the run's critical path, not a measurement. "
        "*Per request* figures leave out a one-request run's (the floor's) share and divide the "
        "rest among the other requests. *Stands for*: the script of the book's flags chapter that "
        "does what the back end does (asyncio's default loop on Linux is an epoll selector, so "
        "flags_asyncio.py is a one-thread epoll loop). "
        f"Every column is defined in [results/README.md]({README}).\n")


def fmt_traced_wall(e: BackendRun) -> str:
    """The traced wall (outside the process), marked when it is outside the
    timed runs' range."""
    if e.process_wall is None:
        return "–"
    s = fmt_ms(e.process_wall)
    if e.traced_in_range is False:
        s += " ⚠ outside"
    return s


def timed_table(w: Workload, floors: dict) -> tuple[list[list[str]], list[list[str]]]:
    header = [["back end", "stands for", "wall s", "speedup", "ideal", "CPU s", "CPU÷wall"],
              ["", "the book's", "timed ±95% CI", "timed, 95% CI", "", "timed, whole process",
               "timed"]]
    rows = []
    for e in w.entries:
        iv = wall_interval(e)
        ideal = ideal_speedup_of(w, e, floors)
        rows.append([
            e.backend, e.book or "–",
            f"{fmt_s(e.wall)}±{fmt_s(iv.half_width)}" if iv.half_width is not None
            else f"{fmt_s(e.wall)} (1 run)",
            "1×" if e is w.baseline else fmt_speedup(speedup_interval(w, e)),
            "1×" if e is w.baseline else (f"{fmt_x(ideal)}×" if ideal else "–"),
            fmt_s(e.cpu),
            f"{100 * e.cpu / e.wall:.1f}%" if e.wall else "–",
        ])
    return header, rows


def traced_table(w: Workload) -> tuple[list[list[str]], list[list[str]]]:
    header = [["back end", "traced wall ms", "timed range ms", "threads", "in flight",
               "RSS MiB", "ctx switches", "p50 ms", "p99 ms"],
              ["", "outside the process", "min–max", "", "peak/mean", "peak", "vol/invol",
               "", ""]]
    rows = []
    for e in w.entries:
        s = e.summary
        lo, hi = e.timed_range
        rows.append([e.backend, fmt_traced_wall(e), f"{fmt_ms(lo)}–{fmt_ms(hi)}", str(s.threads),
                     f"{s.inflight_peak}/{s.inflight_mean:.1f}", f"{s.rss_kb / 1024:.1f}",
                     f"{s.ctx_voluntary}/{s.ctx_involuntary}", f"{s.latency_p50_ms:.1f}",
                     f"{s.latency_p99_ms:.1f}"])
    return header, rows


def bench_table(w: Workload, floors: Optional[dict] = None):
    """The timed table (what the terminal prints)."""
    return timed_table(w, floors or {})


def traced_vs_timed(w: Workload) -> list[str]:
    """Name a back end whose traced wall lies outside its timed runs' range:
    its timeline and phases tell of another run than its speedup."""
    out = []
    for e in w.entries:
        if e.traced_in_range is False:
            lo, hi = e.timed_range
            tries = f" (after {e.traced_tries} tries)" if e.traced_tries > 1 else ""
            out.append(f"⚠ {e.backend}'s traced run took {fmt_ms(e.process_wall)} ms, outside the "
                       f"{fmt_ms(lo)}–{fmt_ms(hi)} ms of its timed runs{tries}: its timeline, phases "
                       f"and traced columns describe another run than its speedup.")
    return out


def _ideal(w: Workload, e: BackendRun, floors: dict) -> tuple[float, Optional[Floor]]:
    m = 1 if e is w.baseline else (e.summary.max_req or 1)
    f = floors.get(e.backend)
    return phases.ideal_wall(w.requests, m, w.delay, f), f


def ideal_speedup_of(w: Workload, e: BackendRun, floors: dict) -> Optional[float]:
    """The ideal speedup (model.IDEAL_WORDS), None with no delay."""
    if w.delay <= 0:
        return None
    return speedup(_ideal(w, w.baseline, floors)[0], _ideal(w, e, floors)[0])


def baseline_sentence(w: Workload, acc: dict, floors: Optional[dict] = None) -> Optional[str]:
    """The baseline's wall beyond its waits, per request beyond its floor."""
    base = w.baseline
    a = acc.get(base.backend)
    if not a or w.delay <= 0:
        return None
    f = (floors or {}).get(base.backend)
    total = base.process_wall or a.total
    other = total - a.parts["waiting"]
    line = (f"{base.backend} made one request at a time: of its traced {phases.ms(total)}, "
            f"{phases.ms(a.parts['waiting'])} was the configured delay ({a.chain} × "
            f"{w.delay:g} s, one after another) and {phases.ms(other)} the rest")
    if f:
        per = max(0.0, other - f.total_s) / max(1, a.chain)
        line += (f"; less its floor (a one-request run's start and exit, {phases.ms(f.total_s)}),"
                 f" {phases.ms(per)} a request went to starting, receiving and saving")
    return line + " (the phase account below)."


def _no_ratio(a: float, b: float, unit: str, what: str) -> str:
    """'19.5 against 15.3 MiB of memory at its peak': figures of one traced
    run each, so no ratio."""
    fa = f"{a:.1f}" if unit else f"{a:.0f}"
    fb = f"{b:.1f}" if unit else f"{b:.0f}"
    return f"{fa} against {fb}{' ' + unit if unit else ''} {what}"


def thread_cost_sentence(w: Workload) -> list[str]:
    """Threads cost memory and switches: the back end with the most threads
    against the fastest of those with the fewest. Memory and switches come
    from one traced run each: figures side by side, no ratio."""
    pool = max(w.entries, key=lambda e: e.summary.threads)
    fewest = min(e.summary.threads for e in w.entries)
    if pool.summary.threads <= max(1, fewest):
        return []
    light = [e for e in w.entries if e.summary.threads == fewest]
    overlapping = [e for e in light if e is not w.baseline]
    other = min(overlapping, key=lambda e: e.wall) if overlapping else light[0]
    ps, os_ = pool.summary, other.summary
    line = (f"{pool.backend} ran {ps.threads} threads where {other.backend} ran {os_.threads}: "
            + _no_ratio(ps.rss_kb / 1024, os_.rss_kb / 1024, "MiB", "of memory at its peak")
            + " and " + _no_ratio(ps.ctx_switches, os_.ctx_switches, "", "context switches")
            + " (one traced run each, so no ratio)")
    if other is not w.baseline and pool is not w.baseline:
        sp_p, sp_o = w.speedup(pool) or 0, w.speedup(other) or 0
        c = stats.compare(pool.backend, pool.timing.times, pool.timing.rounds,
                          other.backend, other.timing.times, other.timing.rounds)
        if c.significant:
            line += (f"; it was {'slower' if sp_p < sp_o else 'faster'}: {fmt_x(sp_p)}× "
                     f"against {fmt_x(sp_o)}× {w.baseline.backend}'s speed (timed)")
        else:
            line += (f"; it was not measurably faster for them: {fmt_x(sp_p)}× against "
                     f"{fmt_x(sp_o)}× {w.baseline.backend}'s speed (timed), no significant "
                     f"difference")
    return [line + "."]


# Within this factor the back ends' CPU is "about the same".
SAME_CPU = 1.5


def cpu_sentence(w: Workload, acc: Optional[dict] = None) -> list[str]:
    """Wall against CPU (timed, whole process); the CPU compared, and where
    it differs, the connections each opened (traced) said beside it."""
    entries = w.entries
    if len(entries) < 2:
        return []
    acc = acc or {}
    cpus = [e.cpu for e in entries]
    walls = [e.wall for e in entries]
    lo = min(entries, key=lambda e: e.cpu)
    hi = max(entries, key=lambda e: e.cpu)
    cpu_r = hi.cpu / max(1e-9, lo.cpu)
    line = (f"CPU time (timed, whole process) ranged {fmt_s(lo.cpu)}–{fmt_s(hi.cpu)} s "
            f"({lo.backend} to {hi.backend}, {cpu_r:.1f}×) while wall time ranged "
            f"{fmt_s(min(walls))}–{fmt_s(max(walls))} s")
    gap = max(walls) - min(walls)
    if gap > 10 * max(cpus):
        line += (f": the {fmt_s(gap)} s between the slowest and the fastest is "
                 f"{gap / max(cpus):.0f} times all the CPU time any back end used, so it is not "
                 f"work but waiting, overlapped or not")
    line += "."
    conns = {b: a.connections for b, a in acc.items()}
    if cpu_r <= SAME_CPU:
        line += f" Their CPU is within {SAME_CPU:g}× of each other"
    else:
        line += f" They did not do the same work: {hi.backend} used {cpu_r:.1f}× {lo.backend}'s CPU"
    if hi.backend in conns and lo.backend in conns and conns[hi.backend] != conns[lo.backend]:
        line += (f"; {hi.backend} opened {conns[hi.backend]} "
                 f"{plural(conns[hi.backend], 'connection')} and {lo.backend} "
                 f"{conns[lo.backend]} (traced; a client that keeps a connection alive reuses "
                 f"it for the next request, one that runs every request at once needs one each)")
    return [line + "."]


def why_table(w: Workload, acc: dict, floors: dict) -> tuple[list[str], list[list[str]], list[str]]:
    """Why a concurrent back end fell short of its ideal, from its phases
    (traced): what its traced wall spent beyond the ideal wall, part by
    part. (header, rows, notes)."""
    conc = [e for e in w.entries[1:] if e.backend in acc]
    if w.delay <= 0 or not conc:
        return [], [], []
    header = ["back end", "speedup (timed)", "ideal", "traced wall", "ideal wall",
              "beyond", "starting the transfers", "connection up (median)", "receiving",
              "first byte → end (median)", "saving", "start beyond floor",
              "exit beyond floor"]
    rows, notes = [], []
    for e in conc:
        a = acc[e.backend]
        ideal_e, f = _ideal(w, e, floors)
        traced = e.process_wall or a.total
        p = a.parts
        c = a.details.get("connect_median_ms")
        fd = a.details.get("first_byte_to_done_median_ms")
        start_x = p["process"] - f.start_s if f else None
        exit_x = p["exit"] - f.exit_s if f else None
        flag = " ⚠" if e.traced_in_range is False else ""
        rows.append([
            e.backend, fmt_speedup(speedup_interval(w, e)),
            f"{fmt_x(ideal_speedup_of(w, e, floors) or 0)}×", phases.ms(traced) + flag,
            phases.ms(ideal_e), phases.ms(traced - ideal_e),
            f"{phases.ms(p['transfers'])}: {phases.transfers_words(a)}",
            f"{c:.2f} ms" if c is not None else "–", phases.ms(p["receiving"]),
            f"{fd:.2f} ms" if fd is not None else "–", phases.ms(p["saving"]),
            phases.ms(start_x) if start_x is not None else "–",
            phases.ms(exit_x) if exit_x is not None else "–"])
        if e.traced_in_range is False:
            notes.append(f"⚠ {e.backend}'s traced run is outside its timed runs' range: its row "
                         f"explains another run than its timed speedup.")
    return header, rows, notes


def why_causes(w: Workload, acc: dict) -> list[str]:
    """The causes, said once: what one thread pays (it starts every request
    and reads every answer in turn) against what many threads pay (starting
    them)."""
    conc = [e for e in w.entries[1:] if e.backend in acc]
    one = [e for e in conc if acc[e.backend].threads <= 1]
    many = [e for e in conc if acc[e.backend].threads > 1]
    out = []
    if many:
        e = many[0]
        a = acc[e.backend]
        out.append(f"{e.backend}'s {a.threads} threads began their requests from "
                   f"{phases.ms(a.first_start)} to {phases.ms(a.last_start)} after t0: its "
                   f"starting the transfers is starting the threads, each request's connection "
                   f"being up a median {a.details.get('connect_median_ms', 0):.2f} ms after its "
                   f"thread began it.")
    if one:
        e = max(one, key=lambda e: acc[e.backend].last_start)
        a = acc[e.backend]
        line = (f"A one-thread loop starts every request itself ({e.backend}: the last "
                f"{phases.ms(a.last_start)} after t0) and reads the answers in turn as they "
                f"arrive together")
        if many:
            p = acc[many[0].backend].details
            later = [what for what, key in (("its connections come up", "connect_median_ms"),
                                            ("its answers end", "first_byte_to_done_median_ms"))
                     if all(acc[x.backend].details.get(key, 0) > p.get(key, 0) for x in one)]
            if later:
                line += (f", so {' and '.join(later)} later than {many[0].backend}'s (the "
                         f"medians above)")
        out.append(line + ".")
    return out


def pairs_table(w: Workload) -> tuple[list[str], list[list[str]]]:
    """Each pair of back ends other than the baseline (whose speedups say
    it), tested: one row each."""
    header = ["pair", "faster", "ratio (95% CI)", "p", "test", "faster in rounds"]
    rows = []
    others = w.entries[1:]
    for i, a in enumerate(others):
        for b in others[i + 1:]:
            c = stats.compare(a.backend, a.timing.times, a.timing.rounds,
                              b.backend, b.timing.times, b.timing.rounds)
            rows.append(stats.row(c))
    return header, rows


def nodelay_section(run: BenchRun, accounts: Optional[dict] = None) -> tuple[list[str], Optional[str]]:
    """The counterexample from the no-delay runs: (markdown lines, one line
    of text). Each column says its base: the whole process (timed outside)
    or the downloads alone (t0 to the last file, the client's summary)."""
    if not run.nodelay_runs or not run.backends:
        return [], None
    base = run.backends[0]
    wl = next((k[1] for k in run.process_walls if k[0] == "nodelay"), "")
    med, dl_wall, dl_cpu = {}, {}, {}
    for b in run.backends:
        walls = run.process_walls.get(("nodelay", wl, b))
        if walls and b in run.nodelay_runs:
            med[b] = statistics.median(walls)
            dl_wall[b] = statistics.median(s.wall_s for s in run.nodelay_runs[b])
            dl_cpu[b] = statistics.median(s.cpu_s for s in run.nodelay_runs[b])
    if base not in med or len(med) < 2:
        return [], None
    n = run.nodelay_runs[base][0].requests
    rounds = len(run.process_walls.get(("nodelay", wl, base), []))
    sps = {b: speedup(med[base], med[b]) or 0 for b in med if b != base}
    conns = {b: a.connections for b, a in ((accounts or {}).get(wl) or {}).items()}
    rows = [[b, f"{1e3 * med[b]:.1f}", f"{1e3 * dl_wall[b]:.1f}", f"{1e3 * dl_cpu[b]:.1f}",
             f"{100 * dl_cpu[b] / dl_wall[b]:.0f}%" if dl_wall[b] > 0 else "–",
             str(conns[b]) if b in conns else "–",
             "1×" if b == base else f"{sps[b]:.2f}×"] for b in med]
    lo, hi = min(sps.values()), max(sps.values())
    words = (f"With no server delay ({wl}: {n} requests against a second flagserver that answers at "
             f"once, {rounds} rounds per back end, medians) there are no waits to overlap: {base}'s "
             f"whole process took {1e3 * med[base]:.1f} ms, and the others ran at "
             f"{f'{lo:.2f}–{hi:.2f}×' if abs(hi - lo) >= 0.01 else f'{hi:.2f}×'} its speed")
    with_delay = next((w for w in run.workloads if w.name == wl and w.delay > 0), None)
    delayed = [w_sp for e in with_delay.entries[1:] if (w_sp := with_delay.speedup(e))] \
        if with_delay else []
    if hi < 0.95:
        words += (" — slower, not faster. What is left is CPU work and the loopback, which "
                  "starting many requests at once does not make shorter")
    elif hi < 1.1:
        words += (" — about as fast. What is left is CPU work and the loopback, which starting "
                  "many requests at once does not make shorter")
    else:
        cores = (run.env or {}).get("cores")
        busy = bool(((run.env or {}).get("load") or {}).get("busy"))
        words += (f". What is left is CPU work, the client's and the server's, which overlapping "
                  f"requests lets run side by side on the machine's "
                  f"{cores or 'several'} cores{' (and, on this busy machine, time spent waiting for a CPU)' if busy else ''}")
    if delayed:
        words += (f" — against {min(delayed):.0f}–{max(delayed):.0f}× with the delay: the "
                  f"speedups above come from overlapping the server's delay")
    words += "."
    hi_cpu = max(dl_cpu, key=dl_cpu.get)
    if hi_cpu != base and dl_cpu[base] > 0 and dl_cpu[hi_cpu] > SAME_CPU * dl_cpu[base]:
        words += (f" The downloads' CPU differs too: {hi_cpu} used {dl_cpu[hi_cpu] / dl_cpu[base]:.1f}×"
                  f" {base}'s (medians of {rounds} runs)")
        if hi_cpu in conns and base in conns:
            words += (f", opening {conns[hi_cpu]} connections where {base} opened "
                      f"{conns[base]} and kept {'it' if conns[base] == 1 else 'them'} alive "
                      f"(traced, with the delay)")
        words += "."
    md = ["## The counterexample: nothing to wait for\n", words + "\n",
          md_table(["back end", "whole process wall ms (outside)", "downloads wall ms (t0 → end)",
                    "downloads CPU ms", "CPU ÷ downloads wall", "connections opened (traced)",
                    f"speedup over {base} (whole process)"], rows), ""]
    return md, words


def book_paragraph(run: BenchRun, accounts: dict) -> Optional[str]:
    """The figures against the book's."""
    ws = [w for w in run.workloads if w.delay > 0 and len(w.entries) > 1]
    if not ws:
        return None
    w = ws[0]
    e = max(w.entries[1:], key=lambda e: w.speedup(e) or 0)
    a = accounts.get(w.name, {}).get(e.backend)
    base_wall = w.baseline.wall
    bs = answer.BOOK_SECONDS
    book_sp = bs[answer.BOOK_BASELINE] / min(v for k, v in bs.items() if k != answer.BOOK_BASELINE)
    text = (f"**The book's {book_sp:.1f}×.** *Fluent Python*'s concurrent scripts were about "
            f"{book_sp:.1f}× faster than its one-at-a-time flags.py, downloading over the "
            f"internet. It is the same law with other figures: a concurrent client's speedup is the "
            f"one-at-a-time client's sum of waits divided by one wait plus whatever does not "
            f"overlap. Here every wait is exactly {w.delay:g} s on an idle local server, and what "
            f"does not overlap is small")
    if a:
        traced = e.process_wall or a.total
        outside = traced - a.parts["waiting"]
        need = base_wall / book_sp - w.delay
        text += (f": {e.backend}'s traced run spent {phases.ms(outside)} outside its wait on "
                 f"{w.name}. For only {book_sp:.1f}× on {w.name}, with {w.baseline.backend} at "
                 f"{fmt_s(base_wall)} s, the concurrent run would have to spend {phases.ms(need)} "
                 f"outside its wait — {need / max(outside, 1e-6):.0f} times as much")
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
    line = baseline_sentence(w, acc, floors)
    if line:
        out.append(line)
    out += thread_cost_sentence(w)
    out += cpu_sentence(w, acc)
    return out


def workload_heading(w: Workload) -> str:
    ms = sorted({e.summary.max_req for e in w.entries[1:]})
    return (f"{w.name}: {w.requests} requests, {w.delay:g} s server delay"
            + (f", up to {'/'.join(str(m) for m in ms)} in flight" if ms else ""))


def _figures(pngs, wl: str, kind: str) -> list[tuple[str, str]]:
    return [(png, k) for w, png, k in pngs if w == wl and k == kind]


FIGURE_WORDS = {
    "answer": "one request after another, and all at once, on one time axis",
    "phases": "where the wall time went",
    "overview": "every request of every back end (red strip: CPUs busy)",
    "timeline": "one back end's requests",
}


def phase_table(w: Workload, acc: dict) -> tuple[list[str], list[list[str]]]:
    shown = phases.shown(acc.values())
    header = ["back end", "traced wall"] + [phases.PHASE_WORDS[p] for p in shown] \
        + ["starting the transfers was", "parts ÷ traced wall"]
    rows = []
    for e in w.entries:
        a = acc.get(e.backend)
        if not a:
            continue
        traced = e.process_wall or a.measured_wall
        cells = [phases.ms(a.parts[p]) for p in shown]
        cells[shown.index("waiting")] += f" ({phases.waiting_words(a, w.delay)})"
        rows.append([e.backend, (phases.ms(traced) if traced else "–")
                     + (" ⚠" if e.traced_in_range is False else "")] + cells
                    + [phases.transfers_words(a),
                       f"{100 * a.total / traced:.1f}%" if traced else "–"])
    return header, rows


def strip_caption(run: BenchRun, w: Workload, pngs, acc: Optional[dict] = None,
                  floors: Optional[dict] = None) -> Optional[str]:
    """What the CPU strips show, said from their own figures: busy at the
    ends, idle between, and the busy ends beside the time beyond the ideal."""
    spans = plots.busy_spans(run, w)
    if not spans:
        return None
    acc, floors = acc or {}, floors or {}
    shown = [b for b in spans]
    no_strip = [e for e in w.entries if not plots.has_strip(w, e) and e is not w.baseline]
    bits = []
    for b, s in spans.items():
        bit = (f"{b}: busy {phases.ms(s.head_s)} at the start and {phases.ms(s.tail_s)} at the "
               f"end (a mean {s.level:.1f} CPU), {phases.ms(s.idle_s)} between at a mean "
               f"{s.idle_level:.2f}")
        e = w.get(b)
        if b in acc and w.delay > 0:
            beyond = (e.process_wall or acc[b].total) - _ideal(w, e, floors)[0]
            bit += f", against {phases.ms(beyond)} of traced wall beyond its ideal"
        bits.append(bit)
    text = (f"The red strip under {answer.and_list(shown)} is the CPU the one thread used at "
            f"each moment (from its CPU stamps at every request's start and end): "
            + "; ".join(bits) + ". The busy ends are the thread starting the requests, then "
              "reading the answers and saving; between them it is idle while the requests "
              "wait.")
    if no_strip:
        text += (f" {', '.join(e.backend for e in no_strip)} {'has' if len(no_strip) == 1 else 'have'}"
                 f" no strip: each of its threads stamps its CPU only at its own request's start "
                 f"and end, too few samples to tell when it ran.")
    return text


# Sections other modules add to the bench report (tls.py, crossover.py, …):
# fn(run, accounts, floors) -> (markdown lines, text lines), appended after
# the one-thread comparison in the order registered. A one-clause summary
# for the answer's limit line goes to answer.LIMIT_HOOKS instead.
SECTION_HOOKS: list = []


def bench_report(run: BenchRun, pngs: list[tuple[str, str, str]], accounts: Optional[dict] = None,
                 floors: Optional[dict] = None) -> tuple[str, str]:
    """(the text for the terminal, report.md). accounts: workload → back end →
    phases.Account; floors: back end → phases.Floor."""
    accounts, floors = accounts or {}, floors or {}
    ideals = {w.name: {e.backend: v for e in w.entries[1:]
                       if (v := ideal_speedup_of(w, e, floors))} for w in run.workloads}
    top = answer.lines(run, ideals)
    warning = run_env.busy_warning(run.env)
    header = run_env.header_lines(run.env)
    md = ["\n".join(top) + "\n"]
    for w in run.workloads:
        md += [f"![{w.name}: {FIGURE_WORDS['answer']}]({png})\n"
               for png, _ in _figures(pngs, w.name, "answer")]
    if warning:
        md.append(f"**{warning}**\n")
    md += ["  \n".join(header) + "\n",
           "Wall and CPU time are hyperfine's means over its runs (whole process), the back ends "
           "interleaved in rounds; ± is the 95% confidence interval of the mean (Student's t). "
           f"Speedup is {run.backends[0]}'s mean wall time ÷ the back end's, with its 95% interval; "
           f"pairs of back ends are compared with a rank test ([results/README.md]({README})). "
           + model.IDEAL_WORDS + "\n",
           terms_paragraph(run)]
    if run.dest_parent:
        md.append(f"The clients saved the flags under `{run.dest_parent}` "
                  f"({run.dest_fs or 'unknown'} file system).\n")
    text = top + [""]
    text += ([warning, ""] if warning else []) + header
    for w in run.workloads:
        acc = accounts.get(w.name, {})
        head = workload_heading(w)
        th, trows = timed_table(w, floors)
        xh, xrows = traced_table(w)
        sentences = bench_sentences(w, acc, floors)
        ph, prows = phase_table(w, acc)
        wh, wrows, wnotes = why_table(w, acc, floors)
        causes = why_causes(w, acc) if wrows else []
        cph, cprows = pairs_table(w)
        runs = ", ".join(f"{e.backend} {e.runs}" for e in w.entries)
        text += ["", head, text_table(th, trows), ""] + [f"  {s}" for s in sentences]
        if prows:
            # The terminal gets the figures; report.md also says what each
            # run's "starting the transfers" was (a column of words).
            words_col = ph.index("starting the transfers was")
            text += ["", "  Where the time went (the phase account of the traced runs):",
                     text_table([ph[:words_col] + ph[words_col + 1:]],
                                [r[:words_col] + r[words_col + 1:] for r in prows])]
        md_th = [f"{h} ({u})" if u else h for h, u in zip(th[0], th[1])]
        md_xh = [f"{h} ({u})" if u else h for h, u in zip(xh[0], xh[1])]
        md += [f"## {head}\n", md_table(md_th, trows),
               f"\nTimed runs per back end: {runs}.\n",
               "The traced runs (one each, or the last of up to three tries to land inside the "
               "timed range):\n", md_table(md_xh, xrows), ""]
        if cprows:
            md += ["Each pair of the other back ends, tested:\n", md_table(cph, cprows), ""]
        md += [f"- {s}" for s in sentences]
        md.append("")
        if prows:
            md.append("### Where the time went\n")
            md.append("The phase account of each traced run: its traced wall, from the process's "
                      "start to its end, cut into parts along the chain of steps the run's end "
                      f"waited for ([how it is computed]({README}#the-phase-account)). Waiting is "
                      "the configured delay, not measured.\n")
            md += [f"![{w.name}: {FIGURE_WORDS['phases']}]({png})\n"
                   for png, _ in _figures(pngs, w.name, "phases")]
            md += [md_table(ph, prows), ""]
            off = [a for a in acc.values() if not a.adds_up()]
            if off:
                md += [f"⚠ {phases.sentence(a)[0].upper()}{phases.sentence(a)[1:]}\n" for a in off]
        if wrows:
            md.append("### Why not the ideal\n")
            md += [md_table(wh, wrows), ""]
            md += [f"{s}\n" for s in causes + wnotes]
            text += ["", "  Why not the ideal:"] + [f"  {s}" for s in causes + wnotes]
        for kind in ("overview", "timeline"):
            for png, _ in _figures(pngs, w.name, kind):
                md.append(f"![{w.name}: {FIGURE_WORDS[kind]} ({png})]({png})\n")
        if _figures(pngs, w.name, "overview"):
            md.append("In the timelines a bar is one request, from its start to its response's "
                      "end; a purple dot, its file saved (the saving is too short to see as a bar).\n")
            cap = strip_caption(run, w, pngs, acc, floors)
            if cap:
                md.append(cap + "\n")
    sc_md, sc_text = syscalls.section(run, floors)
    md += sc_md
    text += sc_text
    for hook in SECTION_HOOKS:
        h_md, h_text = hook(run, accounts, floors)
        md += h_md
        text += h_text
    nd_md, nd_text = nodelay_section(run, accounts)
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
          "wall time at the same delay and request count ÷ the back end's; ideal is the bench "
          "report's ideal (model.ideal_speedup) with no floor, which the sweep does not measure: "
          "N ÷ ceil(N/m), what overlapping the waits perfectly would give.\n"]
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
