"""coro.py — the coroutine section of the report (scripts/coro_cost.sh's
folder): what a coroutine costs beside a thread and a callback — one switch,
memory and CPU per request in flight, the wall at 194 flags with the rank
test — the targets met or not, and the same download in three shapes
(sequential, callback, coroutine), quoted from the source by function name,
never retyped."""
from __future__ import annotations

import os
import re
import statistics
from typing import Optional

from . import env as run_env
from . import stats
from .markdown import md_table
from .model import ReportError, load_bench, num, read_csv, read_json, read_run_csv

# The same download three ways: (heading, file, functions), in reading order.
SHAPES = [
    ("Sequential (flags_sequential): one flag at a time, each call blocks until it is done",
     "common/fetch.c", ["flag_download"]),
    ("Callback (flags_epoll, flags_uring): the loop calls back when a request ends; what "
     "happens next is decided there",
     "common/multi.c", ["job_begin", "on_done"]),
    ("Coroutine (flags_coro): the sequential shape again, with a wait where asyncio awaits",
     "coro/coro.c", ["fetch", "download_one"]),
]

# The targets (docs/coroutines.md).
MEMORY_MAX, CPU_MAX, SWITCH_MAX = 1.5, 1.2, 0.1


def extract_function(path: str, name: str) -> str:
    """The C function `name` of file path as written: its comment, if one
    ends just above it, its signature at the start of a line, and its body
    up to the first '}' alone at the start of a line."""
    try:
        with open(path) as f:
            lines = f.read().split("\n")
    except OSError as e:
        raise ReportError(f"can't read {path}: {e.strerror}")
    head = re.compile(r"^[A-Za-z_][\w \*]*\b" + re.escape(name) + r"\(")
    start = next((i for i, ln in enumerate(lines) if head.match(ln)), None)
    if start is None:
        raise ReportError(f"{path} has no function {name}")
    end = next((i for i in range(start, len(lines)) if lines[i] == "}"), None)
    if end is None:
        raise ReportError(f"{path}: function {name} has no end")
    first = start
    if first > 0 and lines[first - 1].rstrip().endswith("*/"):
        while first > 0 and not lines[first - 1].lstrip().startswith("/*"):
            first -= 1
        first -= 1
    return "\n".join(lines[first:end + 1])


def shapes_md(source: str) -> list[str]:
    out = ["### The same download in three shapes",
           "",
           "Quoted from the source by scripts/flagreport/coro.py (by function name), so they are "
           "the code that ran above."]
    for heading, rel, names in SHAPES:
        out += ["", f"**{heading}** — `{rel}`:", "", "```c"]
        out.append("\n\n".join(extract_function(os.path.join(source, rel), n) for n in names))
        out.append("```")
    return out


def _median(xs: list[float]) -> Optional[float]:
    return statistics.median(xs) if xs else None


def switch_figures(d: str) -> dict[str, float]:
    """The median ns of each kind in switch.csv."""
    by: dict[str, list[float]] = {}
    for r in read_run_csv(d, "switch.csv"):
        by.setdefault(r["what"], []).append(num(r["ns"]))
    return {k: statistics.median(v) for k, v in by.items()}


def inflight_figures(d: str) -> tuple[int, dict[str, dict[str, float]]]:
    """Per back end, the medians over the rounds at N in flight: RSS KiB per
    request in flight, CPU µs per request, wall s, and the rounds clean."""
    rows = read_run_csv(d, "inflight.csv")
    by: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by.setdefault(r["backend"], []).append(r)
    n = int(num(rows[0]["requests"]))
    out = {}
    for b, rs in by.items():
        clean = [r for r in rs if r["exit_status"] == "0"]
        use = clean or rs
        out[b] = {
            "rss_per_inflight": _median([num(r["rss_kb"]) / max(num(r["inflight_peak"]), 1) for r in use]),
            "cpu_per_request": _median([1e6 * num(r["cpu_s"]) / max(num(r["requests"]), 1) for r in use]),
            "wall": _median([num(r["wall_s"]) for r in use]),
            "threads": _median([num(r["threads"]) for r in use]),
            "inflight_peak": _median([num(r["inflight_peak"]) for r in use]),
            "rounds": len(rs), "clean": len(clean),
        }
    return n, out


def _verdict(ok: Optional[bool]) -> str:
    return "?" if ok is None else "**met**" if ok else "**not met**"


def report(d: str, source: str) -> tuple[str, str]:
    """The section as plain text (stdout) and markdown (report.md)."""
    sw = switch_figures(d)
    n, inf = inflight_figures(d)
    run_env_data = read_json(os.path.join(d, "env.json"), missing_ok=True)
    bench_dir = os.path.join(d, "bench", "latest")
    bench = load_bench(bench_dir)
    w = next((w for w in bench.workloads if w.requests == 194), None)
    if w is None:
        raise ReportError(f"{bench_dir} has no 194-flag workload")
    get = {e.backend: e for e in w.entries}
    for b in ("coro", "epoll", "threadpool"):
        if b not in get or b not in inf:
            raise ReportError(f"{d}: no figures for {b}")

    md = ["## What a coroutine costs beside a thread and a callback", ""]
    warn = run_env.busy_warning(run_env_data)
    md += ([warn, ""] if warn else []) + [ln + "  " for ln in run_env.header_lines(run_env_data)]

    # One switch.
    co, th, cb = sw.get("coroutine_switch"), sw.get("thread_switch"), sw.get("callback_dispatch")
    md += ["", "### One switch", "",
           "tools/coro_cost, medians of the rounds in switch.csv (the kinds interleaved, the "
           "order rotated each round):", ""]
    labels = {
        "coroutine_switch": "coroutine switch (coro/coroutine.c, as built)",
        "swapcontext_switch": "glibc swapcontext (a system call per switch)",
        "thread_switch": "thread context switch (futex ping-pong, one core)",
        "callback_dispatch": "callback dispatch (indirect call through a table)",
        "coroutine_spawn": "make and end a coroutine (a stack slot reused)",
        "thread_spawn": "make and end a thread (64 KiB stack)",
    }
    md.append(md_table(["what", "ns", "× a coroutine switch"],
                       [[labels.get(k, k), f"{v:,.1f}", f"{v / co:,.2f}" if co else "?"]
                        for k, v in sw.items()]))

    # Memory and CPU at N in flight.
    e, c, t = inf["epoll"], inf["coro"], inf["threadpool"]
    mem_ratio = c["rss_per_inflight"] / e["rss_per_inflight"]
    cpu_ratio = c["cpu_per_request"] / e["cpu_per_request"]
    md += ["", f"### {n:,} requests, all in flight at once (-m {n})", "",
           "Medians of the rounds in inflight.csv; RSS per request in flight = peak RSS / "
           "in-flight peak.", ""]
    md.append(md_table(
        ["model", "back end", "rounds (clean)", "wall s", "RSS KiB per in-flight",
         "CPU µs per request", "threads", "in flight peak"],
        [[model, b, f"{f['rounds']} ({f['clean']})", f"{f['wall']:.2f}",
          f"{f['rss_per_inflight']:.1f}", f"{f['cpu_per_request']:.0f}", f"{f['threads']:.0f}",
          f"{f['inflight_peak']:.0f}"]
         for model, b, f in (("coroutine", "coro", c), ("callback", "epoll", e),
                             ("thread", "threadpool", t))]))

    # The wall at 194 flags, with the rank test.
    cmp_ce = stats.compare("coro", get["coro"].timing.times, get["coro"].timing.rounds,
                           "epoll", get["epoll"].timing.times, get["epoll"].timing.rounds)
    cmp_ct = stats.compare("coro", get["coro"].timing.times, get["coro"].timing.rounds,
                           "threadpool", get["threadpool"].timing.times,
                           get["threadpool"].timing.rounds)
    md += ["", f"### The wall at 194 flags, {w.delay:g} s delay", "",
           f"scripts/bench.sh in bench/latest (its report.md has the rest): mean wall coro "
           f"{get['coro'].wall * 1000:.1f} ms, epoll {get['epoll'].wall * 1000:.1f} ms, "
           f"threadpool {get['threadpool'].wall * 1000:.1f} ms.", "",
           "- " + stats.sentence(cmp_ce), "- " + stats.sentence(cmp_ct)]

    # The targets.
    wall_ok = None if cmp_ce.p is None else not (cmp_ce.significant and cmp_ce.slower == "coro")
    sw_ratio = co / th if co and th else None
    md += ["", "### The targets", ""]
    md.append(md_table(["target", "measured", "verdict"], [
        ["194 flags, 0.1 s: coro not significantly slower than epoll",
         stats.sentence(cmp_ce), _verdict(wall_ok)],
        [f"{n:,} in flight: RSS per request ≤ {MEMORY_MAX}× epoll's",
         f"{c['rss_per_inflight']:.1f} / {e['rss_per_inflight']:.1f} KiB = {mem_ratio:.2f}×",
         _verdict(mem_ratio <= MEMORY_MAX)],
        [f"{n:,} in flight: CPU per request ≤ {CPU_MAX}× epoll's",
         f"{c['cpu_per_request']:.0f} / {e['cpu_per_request']:.0f} µs = {cpu_ratio:.2f}×",
         _verdict(cpu_ratio <= CPU_MAX)],
        ["one coroutine switch ≤ 1/10 of a thread context switch",
         f"{co:.1f} / {th:.1f} ns = 1/{th / co:.0f}" if sw_ratio else "?",
         _verdict(None if sw_ratio is None else sw_ratio <= SWITCH_MAX)],
    ]))
    md += [""] + shapes_md(source)
    text = "\n".join(md)
    return text, text + "\n"
