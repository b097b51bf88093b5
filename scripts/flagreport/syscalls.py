"""syscalls.py — the event loops side by side. For the back ends that run
every transfer on one thread (those scripts/syscalls.sh counted: the
one_thread column of build/backends.txt), on the same workload: wall time
and CPU per request (timed), system calls per request (counted under strace
in runs of their own), and sentences that say where their speedup over the
baseline comes from — overlapping the waits, or the kernel interface under
it — and
what saving a file in the loop thread costs next to saving it through a
ring.

Nothing here names a back end: which interface a loop uses is read from the
system calls it waited in (io_uring_enter, epoll_wait), whether it saves with
system calls of its own from its openat and rename counts.
"""
from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Optional

from . import stats
from .model import BackendRun, BenchRun, SyscallCount, Workload

README = "../README.md"

# The loop's own machinery, whichever loop: waiting, and telling the kernel
# what to watch and when to wake it.
LOOP_CALLS = ("io_uring_enter", "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
              "timerfd_settime")
# A save made with system calls opens a file and names it: a temporary
# renamed into place, or a file with no name linked into place (common/save.c
# picks by file system): one of each per file, whatever else it does.
SAVE_MARKS = ("openat", "rename", "renameat", "renameat2", "linkat")


def _x(v: float) -> str:
    return f"{v:.0f}" if v >= 20 else f"{v:.1f}" if v >= 2 else f"{v:.2f}"


def named(e: BackendRun, c: SyscallCount) -> str:
    """'NAME (waits in io_uring_enter)'."""
    return f"{e.backend} (waits in {interface(c)})"


def calls_per_request(c: SyscallCount, names) -> dict[str, float]:
    """Of names, those c made beyond its floor, per request."""
    per = max(1, c.requests - 1)
    calls = c.beyond_floor
    return {n: calls[n] / per for n in names if calls.get(n)}


# The system calls a loop waits in, by kernel interface.
WAIT_CALLS = ("io_uring_enter", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll")


def interface(c: SyscallCount) -> str:
    """The system call c's loop waited in: the first of WAIT_CALLS it made
    beyond its floor (libcurl's own poll calls come after the loops')."""
    calls = c.beyond_floor
    return next((n for n in WAIT_CALLS if calls.get(n)), "?")


def saves_in_process(c: SyscallCount) -> bool:
    """Whether c's saves were system calls of its own: a file created and
    named per request, or near it (not through a ring)."""
    marks = calls_per_request(c, SAVE_MARKS)
    return sum(marks.values()) >= 1.0


def save_durations_us(e: BackendRun) -> list[float]:
    """Per saved flag: its response's end to its file in place (traced)."""
    return [r.saved_us - r.done_us for r in e.trace
            if r.outcome == "ok" and r.saved_us >= 0 and r.done_us >= 0]


def cpu_per_request_us(w: Workload, e: BackendRun, floor_runs=None) -> Optional[float]:
    """CPU a request costs (µs), on the same base as the system calls
    (BackendRun.cpu_per_request: the traced downloads beyond a one-request
    run's); floor_runs, when given, stand for the back end's own."""
    if floor_runs is not None:
        e = dataclasses.replace(e, floor_runs=floor_runs)
    v = e.cpu_per_request(w.requests)
    return None if v is None else 1e6 * v


def _cpu_us(v: Optional[float]) -> str:
    return f"{v:.0f}" if v is not None else "–"


def _names(d: dict[str, float]) -> str:
    return ", ".join(f"{n} {v:.2f}" for n, v in sorted(d.items(), key=lambda kv: -kv[1]))


def pool_words(w: Workload) -> str:
    """', and threadpool, with 21 threads and no event loop, reaches 18.8×'."""
    pools = [e for e in w.entries[1:] if e.summary.threads > 1]
    if not pools:
        return ""
    e = max(pools, key=lambda e: w.speedup(e) or 0)
    return (f" — {e.backend}, with {e.summary.threads} threads and no event loop, reaches "
            f"{_x(w.speedup(e) or 0)}×")


def attribution(w: Workload, entries: list[BackendRun], counts: dict[str, SyscallCount]) -> list[str]:
    """Where the speedup comes from: the event loop (what the slowest of the
    one-thread back ends gets), and what the fastest's interface adds."""
    base = w.baseline
    if len(entries) < 2 or base in entries:
        return []
    fast, slow = min(entries, key=lambda e: e.wall), max(entries, key=lambda e: e.wall)
    sp_fast, sp_slow = w.speedup(fast) or 0, w.speedup(slow) or 0
    i_fast, i_slow = interface(counts[fast.backend]), interface(counts[slow.backend])
    c = stats.compare(fast.backend, fast.timing.times, fast.timing.rounds,
                      slow.backend, slow.timing.times, slow.timing.rounds)
    both = (f"{named(fast, counts[fast.backend])} and {named(slow, counts[slow.backend])}, each on "
            f"one thread with up "
            f"to {fast.max_req} requests in flight, ran {_x(sp_fast)}× and {_x(sp_slow)}× as fast "
            f"as {base.backend} (timed)")
    if not c.significant:
        why = stats.fmt_p(c.p) if c.p is not None else "too few runs to tell"
        return [f"{both}; the difference between them is not significant ({c.test}, {why}). "
                f"The speedup comes from overlapping the waits, not from the loop's machinery"
                f"{pool_words(w)}; which system call the loop waits in ({i_fast} or {i_slow}) "
                f"makes no measurable difference."]
    r = c.ratio.estimate if c.ratio else sp_fast / max(1e-9, sp_slow)
    share = math.log(sp_slow) / math.log(sp_fast) if sp_fast > 1 and sp_slow > 1 else 0
    return [f"{both}: {fast.backend} was {r:.2f}× as fast ({stats.fmt_p(c.p)}, {c.test}). "
            f"Overlapping the waits on one thread, waiting in {i_slow}, gives {_x(sp_slow)}× of "
            f"the {_x(sp_fast)}×{pool_words(w)}; waiting in {i_fast} adds the last {r:.2f}× — on "
            f"a log scale {share:.0%} of the speedup comes with the overlap alone."]


def syscall_sentence(w: Workload, entries: list[BackendRun],
                     counts: dict[str, SyscallCount], floor_runs: dict) -> list[str]:
    parts = []
    for e in entries:
        c = counts[e.backend]
        loop = calls_per_request(c, LOOP_CALLS)
        saves = calls_per_request(c, SAVE_MARKS)
        words = (f"{e.backend} {c.per_request:.1f} (the loop's own: {_names(loop) or 'none'}; "
                 + (f"saves: {_names(saves)}" if saves_in_process(c) else
                    "its saves made none of their own")
                 + f"), {_cpu_us(cpu_per_request_us(w, e, floor_runs.get(e.backend)))} µs "
                 f"of CPU")
        parts.append(words)
    return [f"Per request on {w.name}, beyond a one-request run's and divided among the other "
            f"{w.requests - 1}: system calls (counted under strace in separate, untimed runs) "
            f"and CPU (the traced run's downloads): "
            + "; ".join(parts) + ". Every request also "
            f"costs the same socket, connect, send and receive calls in each; an io_uring request "
            f"(a poll, an openat) is no system call: it costs only the io_uring_enter that "
            f"submits it along with others."]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _pct(part: float, whole: float) -> str:
    p = 100 * part / max(1e-9, whole)
    return f"{p:.1f}%" if p < 10 else f"{p:.0f}%"


def save_sentence(w: Workload, entries: list[BackendRun],
                  counts: dict[str, SyscallCount]) -> list[str]:
    """What saving in the loop thread costs, next to saves the loop hands on."""
    blocking = [e for e in entries
                if saves_in_process(counts[e.backend]) and save_durations_us(e)]
    handed = [e for e in entries
              if not saves_in_process(counts[e.backend]) and save_durations_us(e)]
    if not blocking:
        return []
    med = [statistics.median(save_durations_us(e)) for e in blocking]
    total = [sum(save_durations_us(e)) / 1e3 for e in blocking]
    walls = [1e3 * e.summary.wall_s for e in blocking]
    files = len(save_durations_us(blocking[0]))
    one = len(blocking) == 1
    line = (f"{_and([e.backend for e in blocking])} save{'s' if one else ''} each file in "
            f"{'its' if one else 'their'} loop thread, with blocking system calls: a median "
            f"{_and([f'{m:.0f}' for m in med])} µs a file, {_and([f'{t:.1f}' for t in total])} ms "
            f"for {files} files — {_and([_pct(t, x) for t, x in zip(total, walls)])} "
            f"of {'its' if one else 'their'} traced download{'s' if one else 's'} (t0 to the last "
            f"file: {_and([f'{x:.0f}' for x in walls])} ms), time in which no other transfer "
            f"moved")
    e, total_ms = blocking[0], total[0]
    for h in handed:
        hd = save_durations_us(h)
        gap_ms = 1e3 * (e.wall - h.wall)
        how = (f"{abs(gap_ms):.0f} ms {'longer' if gap_ms > 0 else 'shorter'} than"
               if abs(gap_ms) >= 0.5 else "the same as")
        via = ("through its ring, with no system call of its own (the kernel's io_uring "
               "workers do the blocking part)" if interface(counts[h.backend]) ==
               "io_uring_enter" else "without system calls in its loop thread")
        line += (f". {h.backend} saves {via}: its loop went on while a file waited "
                 f"{statistics.median(hd) / 1e3:.1f} ms (median) from its response to being in "
                 f"place. {e.backend}'s mean wall (timed) was {how} {h.backend}'s, next to those "
                 f"{total_ms:.1f} ms of saving in the loop")
    if not handed:
        line += (" (scripts/save_methods.sh measures saving in the loop thread against saving "
                 "through an io_uring ring, file system by file system)")
    return [line + "."]


def table(w: Workload, entries: list[BackendRun], counts: dict[str, SyscallCount],
          floor_runs: Optional[dict] = None):
    floor_runs = floor_runs or {}
    header = ["back end", "waits in", "wall ms (95% CI)", f"speedup over {w.baseline.backend}",
              "CPU µs per request (beyond the floor)", "system calls per request (beyond the floor)",
              "most frequent (per request)"]
    rows = []
    for e in entries:
        c = counts[e.backend]
        iv = stats.mean_interval(e.timing.times or [e.wall])
        wall = stats.fmt_interval(stats.Interval(1e3 * iv.estimate,
                                                 None if iv.low is None else 1e3 * iv.low,
                                                 None if iv.high is None else 1e3 * iv.high, iv.n),
                                  lambda v: f"{v:.0f}")
        top = calls_per_request(c, list(c.beyond_floor)[:5])
        rows.append([e.backend, interface(c), wall, f"{_x(w.speedup(e) or 0)}×",
                     _cpu_us(cpu_per_request_us(w, e, floor_runs.get(e.backend))),
                     f"{c.per_request:.1f}", _names(top)])
    return header, rows


def section(run: BenchRun, floors=None) -> tuple[list[str], list[str]]:
    """(markdown lines, text lines) of the comparison; empty without syscalls.csv."""
    md: list[str] = []
    text: list[str] = []
    for w in run.workloads:
        counts = {c.backend: c for c in run.syscalls if c.workload == w.name}
        entries = [e for e in w.entries if e.backend in counts]
        if not entries:
            continue
        sentences = (attribution(w, entries, counts)
                     + syscall_sentence(w, entries, counts, run.floor_runs)
                     + save_sentence(w, entries, counts))
        header, rows = table(w, entries, counts, run.floor_runs)
        if not md:
            md.append("## One thread: epoll or io_uring?\n")
            md.append("The back ends that run every transfer on one thread, on the same workload: "
                      "wall and CPU from the timed runs; system calls per request counted under "
                      "strace in runs of their own (strace slows a process several times, so "
                      "those runs are never timed), beyond the calls of a one-request run "
                      f"(start-up and exit): [syscalls.csv]({README}#bench-syscallscsv-syscalls-"
                      "backend-workloadtxt).\n")
        md.append(f"### {w.name}\n")
        md.append("| " + " | ".join(header) + " |")
        md.append("|" + "---|" * len(header))
        md += ["| " + " | ".join(r) + " |" for r in rows]
        md.append("")
        md += [f"- {s}" for s in sentences]
        md.append("")
        text += ["", f"One thread: epoll or io_uring? ({w.name})"]
        text += [f"  {s}" for s in sentences]
    return md, text
