"""model.py — the report's data: what a driver run left in its results folder,
loaded into dataclasses. The only module that reads CSV or JSON files; the
rest of the package takes these types.

The back ends are never named here: a run's baseline is the first back end of
its list (plan.csv's order, which is build/backends.txt's), and every speedup
is the baseline's wall time ÷ a back end's (speedup()).
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Optional


class ReportError(Exception):
    """Bad or missing input: report.py prints it as one line and exits 1."""



def read_csv(path: str, missing_ok: bool = False) -> list[dict[str, str]]:
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        if missing_ok:
            return []
        raise ReportError(f"can't read {path}: no such file")
    except OSError as e:
        raise ReportError(f"can't read {path}: {e.strerror}")


def read_run_csv(d: str, name: str) -> list[dict[str, str]]:
    """The rows of the CSV file name that defines the run in results folder d;
    an error when d is not a folder or the file has no rows."""
    if not os.path.isdir(d):
        raise ReportError(f"{d} is not a directory")
    rows = read_csv(os.path.join(d, name))
    if not rows:
        raise ReportError(f"{d}/{name} has no rows")
    return rows


def read_json(path: str, missing_ok: bool = False):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise ReportError(f"can't read {path}: no such file")
    except (OSError, ValueError) as e:
        raise ReportError(f"can't read {path}: {e}")


def num(x, default: float = 0.0) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


def _int(x, default: int = 0) -> int:
    try:
        return int(x)
    except (TypeError, ValueError):
        return int(num(x, default))


def figures_of(part: str, **names: str):
    """A class decorator: read-only properties, each the field of the
    object's part that names gives it (name=field)."""
    def add(cls):
        for name, field_name in names.items():
            setattr(cls, name, property(attrgetter(f"{part}.{field_name}")))
        return cls
    return add


class CsvRow:
    """A dataclass read from a CSV row by from_row: each field converted to
    its annotated type; columns the class doesn't know go to its .extra dict
    (the CSVs gain columns)."""

    @classmethod
    def from_row(cls, row: dict[str, str]):
        kw = {}
        names = set()
        for f in dataclasses.fields(cls):
            if f.name == "extra":
                continue
            names.add(f.name)
            raw = row.get(f.name)
            if f.type in ("int", int):
                kw[f.name] = _int(raw)
            elif f.type in ("float", float):
                kw[f.name] = num(raw, -1.0 if f.name.endswith("_us") else 0.0)
            else:
                kw[f.name] = raw if raw is not None else ""
        obj = cls(**kw)
        obj.extra = {k: v for k, v in row.items() if k not in names and k is not None}
        return obj


# ---------------------------------------------------------------- the speedup


def speedup(baseline_wall: Optional[float], wall: Optional[float]) -> Optional[float]:
    """How many times faster than the baseline: its wall time ÷ this one's.
    None when either is missing or not positive."""
    if not baseline_wall or not wall or baseline_wall <= 0 or wall <= 0:
        return None
    return baseline_wall / wall


# The ideal, defined once (the report prints IDEAL_WORDS once, where it
# first uses it): a run that only waited, ceil(n/m) rounds of the server's
# delay, plus what any run of the same binary costs besides its requests (a
# one-request run's start and exit: its floor, 0 where not measured). The
# ideal speedup is the baseline's ideal wall ÷ the back end's.
IDEAL_WORDS = ("**Ideal**: a run that only waits, ceil(N/m) × the delay (m: requests in "
               "flight), plus its back end's floor — a one-request run's start and exit, "
               "measured; the ideal speedup is the baseline's ideal wall ÷ the back end's.")


def ideal_wall(n: int, m: int, delay: float, floor_s: float = 0.0) -> float:
    """ceil(n/m) rounds of the delay plus the floor (s)."""
    return math.ceil(n / max(1, m)) * delay + max(0.0, floor_s)


def ideal_speedup(n: int, m: int, delay: float = 1.0, base_floor_s: float = 0.0,
                  floor_s: float = 0.0) -> float:
    """The baseline's ideal wall (one at a time) ÷ the ideal wall with m in
    flight; with no floors, n / ceil(n/m)."""
    return ideal_wall(n, 1, delay, base_floor_s) / ideal_wall(n, m, delay, floor_s)


# ---------------------------------------------------------------- a client's own records


@dataclass
class Summary(CsvRow):
    """One row of a client's --summary file (results/README.md has the columns)."""
    backend: str
    requests: int
    ok: int
    not_found: int
    errors: int
    not_run: int
    max_req: int
    wall_s: float
    user_s: float
    sys_s: float
    cpu_s: float
    cpu_per_wall: float
    inflight_peak: int
    inflight_mean: float
    threads: int
    rss_kb: float
    ctx_voluntary: int
    ctx_involuntary: int
    latency_p50_ms: float
    latency_p90_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    bytes: int
    extra: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ctx_switches(self) -> int:
        return self.ctx_voluntary + self.ctx_involuntary

    @property
    def process_start_us(self) -> Optional[float]:
        """When the process started, µs before t0 (≤ 0); None from a client
        that predates the column."""
        v = num(self.extra.get("process_start_us"), None)
        return v if v is not None and v <= 0 else None


@dataclass
class TraceRow(CsvRow):
    """One finished request of a client's --trace file; times in µs since the
    run began, −1 where the step didn't happen."""
    backend: str
    code: str
    repeat: int
    outcome: str
    http_status: int
    bytes: int
    thread: int
    queued_us: float
    started_us: float
    connected_us: float
    first_byte_us: float
    done_us: float
    saved_us: float
    error: str
    extra: dict[str, str] = field(default_factory=dict, repr=False)


def load_trace(path: str) -> list[TraceRow]:
    return [TraceRow.from_row(r) for r in read_csv(path)]


# ---------------------------------------------------------------- hyperfine


@dataclass
class Timing:
    """hyperfine's figures for one command: whole-process wall times of the
    timed runs (times) and mean CPU."""
    command: str
    mean: float
    stddev: float
    user: float
    system: float
    times: list[float]
    exit_codes: list[Optional[int]]
    # rounds[i]: the round times[i] ran in, when the driver interleaved the
    # commands (1, 2, ... otherwise).
    rounds: list[int] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return len(self.times) or 1

    @property
    def cpu(self) -> float:
        return self.user + self.system

    @classmethod
    def load(cls, path: str) -> "Timing":
        data = read_json(path)
        try:
            r = data["results"][0]
            times = [float(t) for t in r.get("times") or []]
            return cls(command=r.get("command", ""), mean=float(r["mean"]),
                       stddev=float(r.get("stddev") or 0.0),
                       user=float(r["user"]), system=float(r["system"]),
                       times=times, exit_codes=list(r.get("exit_codes") or []),
                       rounds=[int(x) for x in r.get("rounds") or range(1, len(times) + 1)])
        except (TypeError, KeyError, IndexError, ValueError) as e:
            raise ReportError(f"can't read {path}: {e!r}")


# ---------------------------------------------------------------- bench


ROUNDS_DIR = "rounds"


def merge_rounds(d: str) -> list[str]:
    """bench.sh times each workload in rounds: one hyperfine session per round,
    every command once, in an order rotated each round, exported to
    rounds/<workload>-round<k>.json. Gather each command's runs into
    hyperfine-<workload>-<label>.{json,csv,md} (hyperfine's own layout, plus
    "rounds" and "positions": the round and place in it of each run).
    Returns the files written."""
    rdir = os.path.join(d, ROUNDS_DIR)
    runs: dict[tuple[str, str], list[tuple[int, int, dict]]] = {}
    names = sorted(os.listdir(rdir)) if os.path.isdir(rdir) else []
    for name in names:
        stem, ext = os.path.splitext(name)
        wl, sep, k = stem.rpartition("-round")
        if ext != ".json" or not sep or not k.isdigit():
            continue
        data = read_json(os.path.join(rdir, name))
        for pos, r in enumerate(data.get("results") or [], 1):
            runs.setdefault((wl, r.get("command", "")), []).append((int(k), pos, r))
    written = []
    for (wl, label), rs in runs.items():
        rs.sort(key=lambda x: x[0])
        times = [float(t) for _, _, r in rs for t in r.get("times") or []]
        if not times:
            raise ReportError(f"{rdir}: no times for {label} on {wl}")
        n = len(times)
        mean = sum(times) / n
        sd = math.sqrt(sum((t - mean) ** 2 for t in times) / (n - 1)) if n > 1 else None
        srt = sorted(times)
        median = srt[n // 2] if n % 2 else (srt[n // 2 - 1] + srt[n // 2]) / 2
        result = {
            "command": label, "mean": mean, "stddev": sd, "median": median,
            "user": sum(float(r["user"]) for _, _, r in rs) / len(rs),
            "system": sum(float(r["system"]) for _, _, r in rs) / len(rs),
            "min": srt[0], "max": srt[-1], "times": times,
            "exit_codes": [c for _, _, r in rs for c in r.get("exit_codes") or []],
            "rounds": [k for k, _, r in rs for _ in r.get("times") or []],
            "positions": [p for _, p, r in rs for _ in r.get("times") or []],
        }
        base = os.path.join(d, f"hyperfine-{wl}-{label}")
        with open(base + ".json", "w") as f:
            json.dump({"results": [result]}, f, indent=2)
        with open(base + ".csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["command", "mean", "stddev", "median", "user", "system", "min", "max"])
            w.writerow([label] + [result[k] if result[k] is not None else ""
                                  for k in ("mean", "stddev", "median", "user", "system", "min", "max")])
        with open(base + ".md", "w") as f:
            f.write("| Command | Mean [s] | Min [s] | Max [s] | Runs |\n|:---|---:|---:|---:|---:|\n"
                    f"| `{label}` | {mean:.3f} ± {sd or 0:.3f} | {srt[0]:.3f} | {srt[-1]:.3f} | {n} |\n")
        written += [base + ext for ext in (".json", ".csv", ".md")]
    return written


# A traced run counts as inside its timed runs' range within this share of
# their median beyond either end: the clock read outside the process moves by
# about that between identical runs, so a 19.4 s run 5 ms past the range of
# two is not another run.
RANGE_SLACK = 0.005


def in_range(wall: float, times: list[float]) -> bool:
    """wall within min(times)–max(times), give or take RANGE_SLACK."""
    srt = sorted(times)
    med = srt[len(srt) // 2]
    return srt[0] - RANGE_SLACK * med <= wall <= srt[-1] + RANGE_SLACK * med


# The timed runs' figures by the names the report uses (seconds; runs: int).
@figures_of("timing", wall="mean", wall_sd="stddev", runs="runs", cpu="cpu")
@dataclass
class BackendRun:
    """A back end's figures on one workload: hyperfine's timed runs plus one
    more run with --trace and --summary."""
    backend: str
    max_req: int
    warmup: int
    planned_runs: int
    timing: Timing
    summary: Summary
    trace: list[TraceRow]
    plan: dict[str, str] = field(default_factory=dict, repr=False)
    # The traced run's whole-process wall time, timed outside it (None:
    # not timed, a folder from before process-walls.csv). This, and only
    # this, is what the report calls the "traced wall".
    process_wall: Optional[float] = None
    # Tries it took to get a traced run inside the timed runs' range.
    traced_tries: int = 1
    # Its one-request runs (floor-<backend>.csv), for per-request figures.
    floor_runs: list = field(default_factory=list, repr=False)

    def cpu_per_request(self, requests: int) -> Optional[float]:
        """CPU a request costs (s): the traced run's downloads CPU less a
        one-request run's (median), over the other requests. None without
        floor runs (whole-process CPU ÷ N would count start and exit N times)."""
        if not self.floor_runs:
            return None
        floor = sorted(s.cpu_s for s in self.floor_runs)[len(self.floor_runs) // 2]
        return max(0.0, self.summary.cpu_s - floor) / max(1, requests - 1)

    @property
    def book(self) -> str:
        """The book's script this back end stands for ('' when none)."""
        b = (self.plan.get("book") or "").strip()
        return "" if b == "-" else b

    @property
    def timed_range(self) -> tuple[float, float]:
        times = self.timing.times or [self.timing.mean]
        return min(times), max(times)

    @property
    def traced_in_range(self) -> Optional[bool]:
        """Whether the traced wall lies within the timed runs' min–max (None:
        the traced run was not timed from outside); see in_range."""
        if self.process_wall is None:
            return None
        return in_range(self.process_wall, self.timing.times or [self.timing.mean])


@dataclass
class Workload:
    """One workload of a bench run: its back ends in the run's order, the
    baseline first."""
    name: str
    requests: int
    delay: float
    entries: list[BackendRun]
    # Other commands timed in the same rounds (other clients), by label.
    others: dict[str, Timing] = field(default_factory=dict)

    @property
    def baseline(self) -> BackendRun:
        return self.entries[0]

    def speedup(self, e: BackendRun) -> Optional[float]:
        return speedup(self.baseline.wall, e.wall)

    def get(self, backend: str) -> Optional[BackendRun]:
        return next((e for e in self.entries if e.backend == backend), None)


@dataclass
class SyscallCount(CsvRow):
    """One row of syscalls.csv: a back end's system calls on a workload,
    counted under strace in a run of their own, never timed
    (scripts/syscalls.sh; results/README.md has the columns)."""
    backend: str
    workload: str
    requests: int
    max_req: int
    delay_s: float
    syscalls: int
    floor_syscalls: int
    per_request: float
    calls: str
    extra: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def beyond_floor(self) -> dict[str, int]:
        """Every system call made more often than in the floor, name -> calls
        beyond the floor's, most first."""
        out = {}
        for item in self.calls.split():
            name, _, calls = item.partition("=")
            out[name] = _int(calls)
        return out


@dataclass
class BenchRun:
    """A results/<ts>/ folder of scripts/bench.sh."""
    directory: str
    workloads: list[Workload]
    backends: list[str]
    delay: float
    dest_parent: str
    dest_fs: str
    env: Optional[dict] = None
    # process-walls.csv: whole-process wall times timed outside the client,
    # (kind, workload, backend) -> one per round, in order.
    process_walls: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    # A back end's one-request runs (floor-<backend>.csv), and its runs
    # against a server with no delay (nodelay-<backend>.csv), in round order.
    floor_runs: dict[str, list[Summary]] = field(default_factory=dict)
    nodelay_runs: dict[str, list[Summary]] = field(default_factory=dict)
    # syscalls.csv: the one-thread back ends' system calls (none: not counted).
    syscalls: list[SyscallCount] = field(default_factory=list)


def load_bench(d: str) -> BenchRun:
    plan = read_run_csv(d, "plan.csv")
    summaries = [Summary.from_row(r) for r in read_csv(os.path.join(d, "summary.csv"))]
    if len(summaries) != len(plan):
        raise ReportError(f"summary.csv has {len(summaries)} rows, plan.csv {len(plan)}: "
                          f"a traced run is missing")
    workloads: dict[str, Workload] = {}
    backends: list[str] = []
    for p, s in zip(plan, summaries):
        wl, b = p["workload"], p["backend"]
        if b not in backends:
            backends.append(b)
        entry = BackendRun(
            backend=b, max_req=_int(p.get("max_req")), warmup=_int(p.get("warmup")),
            planned_runs=_int(p.get("runs")),
            timing=Timing.load(os.path.join(d, f"hyperfine-{wl}-{b}.json")),
            summary=s, trace=load_trace(os.path.join(d, f"trace-{b}-{wl}.csv")), plan=p)
        w = workloads.get(wl)
        if w is None:
            w = workloads[wl] = Workload(name=wl, requests=_int(p["requests"]),
                                         delay=num(p.get("delay_s")), entries=[])
        w.entries.append(entry)
    for w in workloads.values():
        known = {e.backend for e in w.entries}
        prefix = f"hyperfine-{w.name}-"
        for name in sorted(os.listdir(d)):
            label = name[len(prefix):-len(".json")]
            if name.startswith(prefix) and name.endswith(".json") and label not in known:
                w.others[label] = Timing.load(os.path.join(d, name))
    walls: dict[tuple[str, str, str], list[float]] = {}
    for r in read_csv(os.path.join(d, "process-walls.csv"), missing_ok=True):
        if _int(r.get("exit_status"), 1) <= 1:
            walls.setdefault((r["kind"], r["workload"], r["backend"]), []).append(
                num(r.get("process_wall_s")))
    for w in workloads.values():
        for e in w.entries:
            # bench.sh tries again while a traced run falls outside the
            # timed range: the last try is the one whose trace was kept.
            tries = walls.get(("traced", w.name, e.backend)) or [None]
            e.process_wall, e.traced_tries = tries[-1], len(tries)
    runs_of = {kind: {b: [Summary.from_row(r) for r in read_csv(
        os.path.join(d, f"{kind}-{b}.csv"), missing_ok=True)] for b in backends}
        for kind in ("floor", "nodelay")}
    for w in workloads.values():
        for e in w.entries:
            e.floor_runs = runs_of["floor"].get(e.backend) or []
    p0 = plan[0]
    return BenchRun(directory=d, workloads=list(workloads.values()), backends=backends,
                    delay=num(p0.get("delay_s")), dest_parent=p0.get("dest_parent") or "",
                    dest_fs=p0.get("dest_fs") or "",
                    env=read_json(os.path.join(d, "env.json"), missing_ok=True),
                    process_walls=walls,
                    floor_runs={b: v for b, v in runs_of["floor"].items() if v},
                    nodelay_runs={b: v for b, v in runs_of["nodelay"].items() if v},
                    syscalls=[SyscallCount.from_row(r) for r in
                              read_csv(os.path.join(d, "syscalls.csv"), missing_ok=True)])


def add_columns(path: str, columns: dict[str, str]) -> None:
    """Rewrite a CSV with these columns set on every row (added at the end,
    or replaced where present): summary.csv gains the machine's."""
    rows = read_csv(path)
    if not rows:
        return
    header = list(rows[0].keys())
    header += [c for c in columns if c not in header]
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
        w.writeheader()
        for r in rows:
            r.update(columns)
            w.writerow(r)
    os.replace(tmp, path)


# ---------------------------------------------------------------- sweep


@figures_of("summary", backend="backend", requests="requests", max_req="max_req", wall="wall_s")
@dataclass
class SweepRow:
    """One run of scripts/sweep.sh: the point, then the client's summary."""
    delay: float
    max_req_asked: int
    ideal_wall_s: float
    run: int
    summary: Summary


@dataclass
class Skipped:
    delay: str
    requests: str
    backend: str
    max_req: str


@dataclass
class Sweep:
    """A results/<ts>/ folder of scripts/sweep.sh. best: the fastest run of
    every point, keyed (delay, n, backend, m); backends in the run's order."""
    directory: str
    rows: list[SweepRow]
    skipped: list[Skipped]
    backends: list[str]
    baseline: Optional[str]
    best: dict[tuple[float, int, str, int], SweepRow]

    @property
    def delays(self) -> list[float]:
        return sorted({k[0] for k in self.best})

    @property
    def requests(self) -> list[int]:
        return sorted({k[1] for k in self.best})

    @property
    def concurrent(self) -> list[str]:
        """The back ends compared with the baseline."""
        return [b for b in self.backends if b != self.baseline]

    def baseline_wall(self, delay: float, n: int) -> Optional[float]:
        r = self.best.get((delay, n, self.baseline, 1)) if self.baseline else None
        return r.wall if r else None

    def reference_wall(self, delay: float, n: int) -> Optional[float]:
        """What speedups divide: the baseline's wall, or N × delay when it wasn't run."""
        sw = self.baseline_wall(delay, n)
        return sw if sw else (n * delay if delay > 0 else None)

    def max_reqs(self, delay: float, n: int) -> list[int]:
        return sorted({k[3] for k in self.best if k[0] == delay and k[1] == n and k[2] != self.baseline})

    def max_m(self, n: int) -> int:
        return max((k[3] for k in self.best if k[1] == n and k[2] != self.baseline), default=1)


def load_sweep(d: str) -> Sweep:
    raw = read_run_csv(d, "sweep.csv")
    rows = [SweepRow(delay=num(r["delay_s"]), max_req_asked=_int(r.get("max_req_asked")),
                     ideal_wall_s=num(r.get("ideal_wall_s")), run=_int(r.get("run")),
                     summary=Summary.from_row(r)) for r in raw]
    skipped = [Skipped(r["delay_s"], r["requests"], r["backend"], r["max_req"])
               for r in read_csv(os.path.join(d, "skipped.csv"), missing_ok=True)]
    best: dict[tuple[float, int, str, int], SweepRow] = {}
    backends: list[str] = []
    for r in rows:
        if r.backend not in backends:
            backends.append(r.backend)
        key = (r.delay, r.requests, r.backend, r.max_req)
        if key not in best or r.wall < best[key].wall:
            best[key] = r
    # sweep.sh runs the list in order, the baseline first, and that one only
    # one request at a time (m = 1).
    first = backends[0]
    baseline = first if all(r.max_req == 1 for r in rows if r.backend == first) else None
    return Sweep(directory=d, rows=rows, skipped=skipped, backends=backends,
                 baseline=baseline, best=best)


# ---------------------------------------------------------------- bench-ci


@dataclass
class Figure:
    """One row of results/baseline.csv, or of the figures bench_ci.sh measured.
    value is a number, or in a baseline an expression in the run's own
    parameters (gate.py: "m + 1", "n / ceil(n / m)")."""
    figure: str
    backend: str
    value: str
    check: str
    tolerance: float

    @property
    def name(self) -> str:
        return f"{self.backend} {self.figure}"


FIGURE_COLUMNS = ["figure", "backend", "value", "check", "tolerance"]


def load_figures(path: str) -> list[Figure]:
    out = []
    for r in read_csv(path):
        tol = num(r.get("tolerance"), None)
        if not (r.get("value") or "").strip() or tol is None \
                or r.get("check") not in ("at_least", "at_most", "exact"):
            raise ReportError(f"{path}: bad row for {r.get('backend')} {r.get('figure')} "
                              f"(value, check at_least|at_most|exact, tolerance)")
        out.append(Figure(r["figure"], r["backend"], r["value"].strip(), r["check"], tol))
    return out


def write_figures(figures: list[Figure], out) -> None:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(FIGURE_COLUMNS)
    for f in figures:
        t = int(f.tolerance) if float(f.tolerance).is_integer() else f.tolerance
        w.writerow([f.figure, f.backend, f.value, f.check, t])


def load_summaries(path: str) -> list[Summary]:
    """Every row of a --summary file that runs appended to."""
    return [Summary.from_row(r) for r in read_csv(path)]


def callgrind_total(path: str) -> int:
    """The Ir total of a callgrind output file (its summary: or totals: line)."""
    total = None
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    total = int(line.split()[1])
    except OSError as e:
        raise ReportError(f"can't read {path}: {e.strerror}")
    if total is None:
        raise ReportError(f"no instruction total in {path}")
    return total


# ---------------------------------------------------------------- peers


@dataclass
class PeerRun(CsvRow):
    """A peer (bench.sh --peers) on one workload: peers.csv's row (its check
    run under GNU time, and whether its files matched a C client's) and, when
    it passed, hyperfine's figures (results/README.md, peers)."""
    workload: str
    requests: int
    peer: str
    kind: str
    model: str
    version: str
    max_req: int
    status: str
    reason: str
    check_wall_s: float
    check_user_s: float
    check_sys_s: float
    check_max_rss_kib: float
    start_wall_s: float
    start_cpu_s: float
    command: str
    timing: Optional[Timing] = None
    extra: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.failure

    @property
    def failure(self) -> str:
        """Why the peer's figures can't be used ('' when they can): its check
        failed, or a timed run exited non-zero (a flag not downloaded)."""
        if self.status != "ok":
            return self.reason or self.status
        if self.timing is None:
            return "not timed"
        bad = [c for c in self.timing.exit_codes if c]
        if bad:
            return (f"exit status {bad[0]} in {len(bad)} of its {len(self.timing.exit_codes)} "
                    f"timed runs")
        return ""


def load_peers(d: str) -> list[PeerRun]:
    """peers.csv and hyperfine-<workload>-<peer>.json; [] when the run had no peers."""
    out = []
    for row in read_csv(os.path.join(d, "peers.csv"), missing_ok=True):
        p = PeerRun.from_row(row)
        p.timing = (Timing.load(os.path.join(d, f"hyperfine-{p.workload}-{p.peer}.json"))
                    if p.status == "ok" else None)
        out.append(p)
    return out
