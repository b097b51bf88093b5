"""Made-up bench runs for the report tests: model.BenchRun objects built
here, with figures chosen so each test knows the right answer. No files
read, nothing timed. The back ends are called a, b, c, d: the report names
none itself, so the tests need not either."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))

from flagreport import model, phases  # noqa: E402

DELAY = 0.1
# name, book's script, threads, max in flight (0: all), one thread
BACKENDS = [("a", "flags.py", 1, 1), ("b", "flags_threadpool.py", 0, 0),
            ("c", "-", 1, 0), ("d", "flags_asyncio.py", 1, 0)]


def trace_row(thread, started, connected, done, saved, cpu0=-1, cpu1=-1):
    """A trace row in µs since t0."""
    return model.TraceRow.from_row({
        "backend": "x", "code": "XX", "repeat": "0", "outcome": "ok", "http_status": "200",
        "bytes": "1000", "thread": str(thread), "queued_us": "0", "started_us": str(started),
        "connected_us": str(connected), "first_byte_us": str(done - 200), "done_us": str(done),
        "saved_us": str(saved), "error": "", "started_cpu_us": str(cpu0),
        "done_cpu_us": str(cpu1)})


def one_at_a_time(n):
    """n requests in a row on one thread: 0.5 ms to connect the first (one
    connection, kept alive), 1 ms receiving, 10 µs saving, 20 µs between."""
    rows, t = [], 0
    for i in range(n):
        c = t + (500 if i == 0 else 0)
        done = c + int(DELAY * 1e6) + 1000
        rows.append(trace_row(1, t, c, done, done + 10))
        t = done + 30
    return rows


def all_at_once(n, threads, start_gap_us):
    """n requests started start_gap_us apart, each opening a connection; one
    thread (CPU stamps: busy while starting and ending) or one thread each."""
    rows = []
    for i in range(n):
        s = 100 + i * start_gap_us
        done = s + 300 + int(DELAY * 1e6) + 500 + i * 20
        th = 1 if threads == 1 else 100 + i
        rows.append(trace_row(th, s, s + 300, done, done + 10,
                              cpu0=s if threads == 1 else 10, cpu1=s + 50 if threads == 1 else 60))
    if threads == 1:
        # One thread's CPU clock: busy (1 CPU) while it starts the requests
        # and while the answers arrive, idle in between.
        start_end = rows[-1].started_us
        for r in rows:
            r.extra["started_cpu_us"] = str(r.started_us)
            r.extra["done_cpu_us"] = str(start_end + (r.done_us - rows[0].done_us))
    return rows


def summary(backend, n, m, threads, wall_s, cpu_s, ctx=(10, 2), rss_kb=10240):
    return model.Summary.from_row({
        "backend": backend, "requests": str(n), "ok": str(n), "not_found": "0", "errors": "0",
        "not_run": "0", "max_req": str(m), "wall_s": str(wall_s), "user_s": str(cpu_s),
        "sys_s": "0", "cpu_s": str(cpu_s), "cpu_per_wall": "0", "inflight_peak": str(m),
        "inflight_mean": str(m * 0.95), "threads": str(threads), "rss_kb": str(rss_kb),
        "ctx_voluntary": str(ctx[0]), "ctx_involuntary": str(ctx[1]),
        "latency_p50_ms": "100.5", "latency_p90_ms": "100.8", "latency_p99_ms": "101",
        "latency_max_ms": "101", "bytes": "1000", "process_start_us": "-4000"})


def entry(w_name, backend, book, n, m, threads, times, cpu, trace, process_wall,
          ctx=(10, 2), rss_kb=10240, sum_cpu=None):
    timing = model.Timing(command=backend, mean=sum(times) / len(times), stddev=0.0,
                          user=cpu, system=0.0, times=list(times),
                          exit_codes=[0] * len(times), rounds=list(range(1, len(times) + 1)))
    wall_s = max(max(r.done_us, r.saved_us) for r in trace) / 1e6
    return model.BackendRun(
        backend=backend, max_req=m, warmup=1, planned_runs=len(times), timing=timing,
        summary=summary(backend, n, m, threads, wall_s, sum_cpu if sum_cpu is not None else cpu,
                        ctx, rss_kb),
        trace=trace, plan={"workload": w_name, "backend": backend, "book": book},
        process_wall=process_wall)


def workload(n, traced_off=None):
    """A workload of n requests: a one at a time (2.0 s for 20), b a pool of
    n threads, c and d one-thread loops. traced_off: a back end whose traced
    wall is put well outside its timed runs."""
    base_wall = n * (DELAY + 0.00103) + 0.005
    conc = DELAY + 0.007 + n * 0.00003
    spec = {
        "a": (1, 1, [base_wall, base_wall * 1.001, base_wall * 0.999], 0.004 + n * 0.0002,
              one_at_a_time(n), (n, n)),
        "b": (n, n + 1, [conc * 1.02, conc * 1.03, conc * 1.01], 0.004 + n * 0.00045,
              all_at_once(n, n + 1, 50), (2 * n + 40, 4 * n)),
        "c": (n, 1, [conc, conc * 1.01, conc * 0.995], 0.004 + n * 0.0003,
              all_at_once(n, 1, 30), (2, 3)),
        "d": (n, 1, [conc * 1.005, conc * 1.012, conc * 0.997], 0.004 + n * 0.00031,
              all_at_once(n, 1, 32), (3, 4)),
    }
    name = "pop20" if n == 20 else f"all{n}"
    entries = []
    for b, book, _, _ in BACKENDS:
        m, threads, times, cpu, trace, ctx = spec[b]
        pw = sorted(times)[1]
        if b == traced_off:
            pw = max(times) * 1.2
        entries.append(entry(name, b, book, n, m, threads, times, cpu, trace, pw, ctx=ctx,
                             rss_kb=10240 + (threads * 50 if threads > 1 else 0),
                             sum_cpu=cpu - 0.003))
    return model.Workload(name=name, requests=n, delay=DELAY, entries=entries)


def floor_summaries(backend, cpu_s=0.0008):
    return [summary(backend, 1, 1, 1, 0.1003, cpu_s) for _ in range(3)]


def bench_run(traced_off=None, nodelay=True):
    """pop20 and all194 of four made-up back ends, with floor runs (4 ms
    start, 1 ms exit) and no-delay runs where the loops use 3× a's CPU."""
    ws = [workload(20, traced_off), workload(194, traced_off)]
    walls = {}
    floor_runs = {}
    nodelay_runs = {}
    for b, _, _, _ in BACKENDS:
        floor_runs[b] = floor_summaries(b)
        for w in ws:
            w.get(b).floor_runs = floor_runs[b]
        # floor: process wall = start 4 ms + run 100.3 ms + exit 1 ms
        walls[("floor", "all1", b)] = [0.1053] * 3
        if nodelay:
            cpu = 0.004 if b == "a" else 0.012
            dl = 0.009 if b == "a" else 0.016
            nodelay_runs[b] = [summary(b, 194, 1 if b == "a" else 194, 1, dl, cpu)
                               for _ in range(5)]
            walls[("nodelay", "all194", b)] = [dl + 0.018] * 5
    return model.BenchRun(directory="", workloads=ws, backends=[b for b, *_ in BACKENDS],
                          delay=DELAY, dest_parent="/dev/shm", dest_fs="tmpfs", env=None,
                          process_walls=walls, floor_runs=floor_runs,
                          nodelay_runs=nodelay_runs, syscalls=[])


def report(run=None, pngs=None):
    """(text, report.md, accounts, floors) of a made-up run."""
    run = run or bench_run()
    floors = phases.floors(run)
    accounts = {w.name: phases.accounts(run, w, floors) for w in run.workloads}
    from flagreport import markdown
    text, md = markdown.bench_report(run, pngs or [], accounts, floors)
    return text, md, accounts, floors
