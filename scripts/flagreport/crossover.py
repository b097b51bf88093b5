"""crossover.py — make bench-crossover's report (scripts/crossover.sh): wall
against the CPU each flag costs, a line per client, the model's lines beside
them, where each client that uses several cores starts beating one loop
(measured and predicted), and the counterexample paragraph make bench's
report borrows ("here one thread is not enough").

The model (docs/cores.md): N flags in flight, each answered after a delay d
and then costing c µs of CPU in the client. One loop runs every flag's work
on one core: wall = max(d, N·c) + floor. A client on k cores: max(d, N·c/k)
+ floor. A client's floor is its own wall at c = 0 less d (starting, the
loopback, exiting). k is 1 for the one-thread kinds and the Python clients
whose work holds the GIL, and the clients' CPUs for the others."""
from __future__ import annotations

import glob
import os
import statistics
from dataclasses import dataclass
from typing import Optional

from . import stats
from .env import header_lines, load_phrase
from .markdown import md_table
from .model import num, read_csv, read_json
from .plots import colour, gnuplot_terminal, gp_str, run_gnuplot

# Where a client "starts beating" another: the other's wall is longer by
# this share of the delay (a tenth: well above the run-to-run noise of a
# median, well below the gaps the model predicts past saturation).
BEAT_SHARE = 0.1
# The targets (docs/cores.md).
TARGET_CPU_POINT = 4.0     # N·c = 4 delays
TARGET_SPEEDUP = 1.7       # loops over one loop there, on 2 cores
TARGET_ERROR = 0.25        # a crossover's distance from its prediction
ONE_CORE_KINDS = {"one_thread", "python_loop", "python_threads"}
KIND_WORDS = {"one_thread": "one loop", "threads": "a thread per request",
              "loops": "a loop per core", "procs": "a process pool",
              "python_loop": "asyncio, work on the loop", "python_threads":
              "ThreadPoolExecutor (GIL)", "python_procs": "asyncio + ProcessPoolExecutor"}


@dataclass
class Point:
    """One client at one CPU per flag, over the rounds."""
    client: str
    kind: str
    point: float        # in units of d / N
    c_us: float         # the CPU per flag aimed at
    walls: list[float]
    rounds: list[int]
    work_us: float      # measured CPU per flag in the work (median)
    server_s: float     # server CPU per run (median)
    cpus: int

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)


@dataclass
class Mode:
    name: str
    cpus: int
    clients: list[str]
    kinds: dict[str, str]
    points: dict[tuple[str, float], Point]
    xs: list[float]

    def at(self, client: str, x: float) -> Optional[Point]:
        return self.points.get((client, x))

    def cores(self, client: str) -> int:
        return 1 if self.kinds[client] in ONE_CORE_KINDS else self.cpus


def load(d: str) -> list[Mode]:
    rows = read_csv(os.path.join(d, "crossover.csv"))
    modes: dict[str, Mode] = {}
    groups: dict[tuple[str, str, float], list[dict]] = {}
    for r in rows:
        m = modes.setdefault(r["mode"], Mode(r["mode"], int(r["client_cpus"]), [], {}, {}, []))
        if r["client"] not in m.kinds:
            m.clients.append(r["client"])
            m.kinds[r["client"]] = r["kind"]
        x = float(r["point"])
        if x not in m.xs:
            m.xs.append(x)
        groups.setdefault((r["mode"], r["client"], x), []).append(r)
    for (mode, client, x), rs in groups.items():
        m = modes[mode]
        m.points[(client, x)] = Point(
            client, m.kinds[client], x, num(rs[0]["c_target_us"]),
            [num(r["wall_s"]) for r in rs], [int(r["round"]) for r in rs],
            statistics.median(num(r["work_cpu_us"]) for r in rs),
            statistics.median(num(r["server_cpu_s"]) for r in rs), m.cpus)
    for m in modes.values():
        m.xs.sort()
    return list(modes.values())


def floor_s(m: Mode, client: str, delay: float) -> Optional[float]:
    p = m.at(client, 0.0)
    return p.wall - delay if p else None


def predicted(m: Mode, client: str, c_us: float, n: int, delay: float) -> Optional[float]:
    f = floor_s(m, client, delay)
    if f is None:
        return None
    return max(delay, n * c_us * 1e-6 / m.cores(client)) + f


def _cross(xs: list[float], gaps: list[float], need: float) -> Optional[float]:
    """The first x where gap reaches need, linear between points."""
    for i, (x, g) in enumerate(zip(xs, gaps)):
        if g >= need:
            if i == 0:
                return x
            x0, g0 = xs[i - 1], gaps[i - 1]
            return x0 + (x - x0) * (need - g0) / (g - g0)
    return None


def crossover(m: Mode, base: str, client: str, n: int, delay: float
              ) -> tuple[Optional[float], Optional[float]]:
    """(measured, predicted) CPU per flag, µs, where client starts beating base."""
    need = BEAT_SHARE * delay
    xs = [x for x in m.xs if m.at(base, x) and m.at(client, x)]
    if not xs:
        return None, None
    cs = [m.at(base, x).c_us for x in xs]
    measured = _cross(cs, [m.at(base, x).wall - m.at(client, x).wall for x in xs], need)
    top = cs[-1] * 2 or 1.0
    fine = [top * i / 4000 for i in range(4001)]
    gaps = [predicted(m, base, c, n, delay) - predicted(m, client, c, n, delay) for c in fine]
    return measured, _cross(fine, gaps, need)


def _us(x: Optional[float]) -> str:
    return "–" if x is None else f"{x:.0f} µs"


def _near(xs: list[float], want: float) -> Optional[float]:
    return min(xs, key=lambda x: abs(x - want)) if xs else None


def compare_at(m: Mode, a: str, b: str, x: float) -> Optional[stats.Comparison]:
    pa, pb = m.at(a, x), m.at(b, x)
    if not pa or not pb:
        return None
    return stats.compare(a, pa.walls, pa.rounds, b, pb.walls, pb.rounds)


def mode_section(m: Mode, base: str, n: int, delay: float, unit_us: float
                 ) -> tuple[list[str], list[str], dict]:
    """Markdown lines, the sentences, and the figures the targets need."""
    cx = _near(m.xs, TARGET_CPU_POINT)
    sat_us = delay / n * 1e6
    out: list[str] = []
    header = ["client", "kind", "cores"] + [f"{m.at(base, x).c_us if m.at(base, x) else x:.0f} µs"
                                            for x in m.xs] + ["server CPU/run"]
    rows = []
    for c in m.clients:
        cells = [c, KIND_WORDS.get(m.kinds[c], m.kinds[c]), str(m.cores(c))]
        for x in m.xs:
            p = m.at(c, x)
            pred = predicted(m, c, p.c_us, n, delay) if p else None
            cells.append("–" if not p else f"{1e3 * p.wall:.0f} ({1e3 * pred:.0f})"
                         if pred is not None else f"{1e3 * p.wall:.0f}")
        srv = [m.at(c, x).server_s for x in m.xs if m.at(c, x)]
        cells.append(f"{1e3 * statistics.median(srv):.0f} ms" if srv else "–")
        rows.append(cells)
    out.append(md_table(header, rows))
    out.append("")
    out.append("Median wall in ms over the rounds at each CPU per flag (the column heads, "
               "the C clients' target; a Python client's own work is calibrated to the same "
               "µs), the model's prediction in brackets; server CPU: its median user+system "
               "time during one run of the client.")
    out.append("")
    sentences: list[str] = []
    figures: dict = {"cpus": m.cpus}
    multi = [c for c in m.clients if m.cores(c) > 1 and not m.kinds[c].startswith("python")]
    for c in multi:
        meas, pred = crossover(m, base, c, n, delay)
        err = abs(meas - pred) / pred if meas is not None and pred else None
        figures.setdefault("crossovers", {})[c] = (meas, pred, err)
        if meas is None:
            sentences.append(f"{c} never beats {base} by {1e3 * BEAT_SHARE * delay:.0f} ms within "
                             f"these points (predicted from {_us(pred)}).")
        else:
            sentences.append(
                f"{c} ({KIND_WORDS.get(m.kinds[c], m.kinds[c])}, {m.cores(c)} cores) starts beating "
                f"{base} by {1e3 * BEAT_SHARE * delay:.0f} ms at c = {_us(meas)} of CPU per flag; "
                f"the model says {_us(pred)} (one loop saturates at d/N = {sat_us:.0f} µs)"
                + (f": {100 * err:.0f}% off, "
                   + ("within" if err <= TARGET_ERROR else "outside") + f" the {TARGET_ERROR:.0%}"
                   if err is not None else "") + ".")
    if cx is not None:
        figures["cpu_point"] = cx
        for c in multi:
            b, p = m.at(base, cx), m.at(c, cx)
            if b and p:
                cmp = compare_at(m, c, base, cx)
                sp = b.wall / p.wall
                figures.setdefault("speedup", {})[c] = sp
                sentences.append(f"At the CPU-bound point (c = {b.c_us:.0f} µs, N·c = "
                                 f"{n * b.c_us * 1e-6 / delay:.1f} delays) {c} runs at {sp:.2f}× "
                                 f"{base}'s speed: {stats.sentence(cmp)}")
        loops = [c for c in multi if m.kinds[c] == "loops"]
        pools = [c for c in multi if m.kinds[c] == "threads"]
        for lp in loops:
            for tp in pools:
                cmp = compare_at(m, lp, tp, cx)
                if cmp:
                    figures.setdefault("loops_vs_pool", {})[(lp, tp)] = cmp
                    sentences.append(f"{lp} against {tp} there: {stats.sentence(cmp)}")
            cmp0 = compare_at(m, lp, base, 0.0)
            if cmp0:
                figures.setdefault("loops_at_0", {})[lp] = cmp0
                sentences.append(f"At c = 0 {lp} against {base}: {stats.sentence(cmp0)}")
        py = {k: c for c in m.clients for k in [m.kinds[c]] if k.startswith("python")}
        if "python_threads" in py and "python_procs" in py:
            t, pp = m.at(py["python_threads"], cx), m.at(py["python_procs"], cx)
            a = m.at(py.get("python_loop", ""), cx)
            if t and pp:
                sentences.append(
                    f"Python at the same point: {py['python_threads']} took {1e3 * t.wall:.0f} ms"
                    + (f", {py['python_loop']} {1e3 * a.wall:.0f} ms" if a else "")
                    + f", {py['python_procs']} {1e3 * pp.wall:.0f} ms: the GIL keeps the threads' "
                    f"decoding on one core at a time, the process pool spreads it "
                    f"({t.wall / pp.wall:.2f}× the thread pool's speed); in C the thread pool "
                    f"spreads it by itself.")
    srv = [(c, statistics.median([m.at(c, x).server_s / m.at(c, x).wall for x in m.xs
                                  if m.at(c, x) and m.at(c, x).wall > 0])) for c in m.clients]
    if srv:
        lo, hi = min(s for _, s in srv), max(s for _, s in srv)
        sentences.append(f"The server used {100 * lo:.0f}–{100 * hi:.0f}% of one CPU during the "
                         f"clients' runs (median over points; "
                         + ("on its own CPU" if m.name == "apart" else "on the clients' CPUs")
                         + ").")
    return out, sentences, figures


def plot(d: str, m: Mode, base: str, n: int, delay: float) -> Optional[str]:
    term = gnuplot_terminal()
    if not term:
        return None
    name = f"crossover-{m.name}"
    plots = []
    top = max((m.at(base, x).c_us for x in m.xs if m.at(base, x)), default=1.0)
    for i, c in enumerate(m.clients):
        with open(os.path.join(d, f"{name}-{c}.dat"), "w") as f:
            f.write("# c_us wall_s predicted_s\n")
            for x in m.xs:
                p = m.at(c, x)
                if p:
                    f.write(f"{p.c_us:.1f} {p.wall:.6f} {predicted(m, c, p.c_us, n, delay):.6f}\n")
        with open(os.path.join(d, f"{name}-{c}-model.dat"), "w") as f:
            for j in range(201):
                cu = top * j / 200
                pr = predicted(m, c, cu, n, delay)
                if pr is not None:
                    f.write(f"{cu:.1f} {pr:.6f}\n")
        col = colour(i)
        plots.append(f"'{name}-{c}.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb '{col}' "
                     f"title {gp_str(c)}")
        plots.append(f"'{name}-{c}-model.dat' using 1:2 with lines dt 2 lc rgb '{col}' notitle")
    script = (f"set terminal {term} size 900,560\nset output '{name}.png'\n"
              f"set title {gp_str(f'{n} flags, all in flight, {delay:g} s delay, clients on {m.cpus} CPU(s) ({m.name}); dashed: the model')}\n"
              "set xlabel 'CPU per flag in the work (µs)'\nset ylabel 'wall (s)'\n"
              "set key top left\nset grid\nset yrange [0:*]\n"
              f"plot {', '.join(plots)}\n")
    if not run_gnuplot(d, script):
        return None
    return f"{name}.png"


def counterexample(mode: Mode, base: str, figures: dict, n: int, delay: float) -> str:
    """The paragraph make bench's counterexample section borrows."""
    parts = [f"**The CPU-bound case: here one thread is not enough.** When each of {n} flags "
             f"costs the client c µs of CPU (decoding the GIF, `--work`), one loop does all "
             f"N·c of it on one core: once N·c passes the {delay:g} s delay it can no longer "
             f"hide the work behind the wait, and its wall grows as N·c while a client on k "
             f"cores grows as N·c/k."]
    for c, (meas, pred, _) in figures.get("crossovers", {}).items():
        if meas is not None:
            parts.append(f"Measured (make bench-crossover, {mode.name} mode, clients on "
                         f"{mode.cpus} CPUs): {c} pulls ahead of {base} from c ≈ {meas:.0f} µs "
                         f"(predicted {pred:.0f} µs);")
    for c, sp in figures.get("speedup", {}).items():
        parts.append(f"at N·c ≈ 4 delays {c} is {sp:.2f}× as fast as {base}.")
    return " ".join(parts)


def report(d: str, delay: float, n: int, base: str, left_out: list[str]) -> tuple[str, str]:
    modes = load(d)
    if not modes:
        raise ValueError(f"{d}/crossover.csv has no runs")
    env = read_json(os.path.join(d, "env.json"), missing_ok=True)
    cal = {r["client"]: num(r["unit_us"]) for r in read_csv(os.path.join(d, "calibration.csv"))}
    unit = cal.get(base, 0.0)
    md = ["# When one thread is not enough: the crossover\n"]
    md += [line + "\n" for line in header_lines(env)]
    md.append(f"Calibration: one unit of `--work` (a giflib decode of the flag and a colour "
              f"histogram) costs {unit:.1f} µs of CPU per flag on this machine ({base}, median of "
              f"3 runs of 4 units)" + "".join(f"; {c}: {u:.1f} µs (Pillow)" for c, u in cal.items()
                                               if c != base) + ".\n")
    md.append(f"{n} flags, -m {n}, server delay {delay:g} s; one loop saturates at c = d/N = "
              f"{delay / n * 1e6:.0f} µs. Load: {load_phrase(env)}.\n")
    if left_out:
        md.append(f"Left out (they cap requests in flight below {n}): {', '.join(left_out)}.\n")
    tls = os.path.join(d, "tls.txt")
    if os.path.exists(tls):
        with open(tls) as f:
            md.append(f.read().strip() + ".\n")
    text: list[str] = []
    primary = next((m for m in modes if m.name == "shared"), modes[0])
    paragraph = ""
    for m in modes:
        lines, sentences, figures = mode_section(m, base, n, delay, unit)
        which = ("the report's figures: server and clients share every CPU; the server's CPU "
                 "is given per run" if m is primary else
                 "fairness check: server pinned to CPU 0, clients to the rest")
        md.append(f"## Mode {m.name}: clients on {m.cpus} CPU(s) ({which})\n")
        png = plot(d, m, base, n, delay)
        if png:
            md.append(f"![wall against CPU per flag, {m.name}]({png})\n")
        md += lines
        md += [s + "\n" for s in sentences]
        text.append(f"{m.name} ({m.cpus} CPUs):")
        text += ["  " + s for s in sentences]
        if m is primary:
            paragraph = counterexample(m, base, figures, n, delay)
            md.append("## Targets (issue 18)\n")
            md += [line + "\n" for line in targets(m, base, figures)]
    md.append("## The counterexample\n")
    md.append(paragraph + "\n")
    with open(os.path.join(d, "counterexample.md"), "w") as f:
        f.write(paragraph + "\n")
    return "\n".join(text), "\n".join(md)


def targets(m: Mode, base: str, figures: dict) -> list[str]:
    out = []
    for c, sp in figures.get("speedup", {}).items():
        if m.kinds[c] == "loops":
            out.append(f"- {c} ≥ {TARGET_SPEEDUP}× {base} at N·c ≈ 4 delays on {m.cpus} CPUs: "
                       f"{sp:.2f}× — " + ("met" if sp >= TARGET_SPEEDUP else "not met") + ".")
    for (lp, tp), cmp in figures.get("loops_vs_pool", {}).items():
        ok = not cmp.significant or cmp.faster == lp
        out.append(f"- {lp} not slower than {tp} there: " + ("met" if ok else "not met")
                   + f" ({stats.sentence(cmp)})")
    for lp, cmp in figures.get("loops_at_0", {}).items():
        ok = not cmp.significant
        out.append(f"- {lp} ties {base} at c = 0: " + ("met" if ok else "not met")
                   + f" ({stats.sentence(cmp)})")
    for c, (meas, pred, err) in figures.get("crossovers", {}).items():
        out.append(f"- {c}'s crossover within {TARGET_ERROR:.0%} of the prediction: "
                   + ("–" if err is None else f"{100 * err:.0f}% off, "
                      + ("met" if err <= TARGET_ERROR else "not met")) + ".")
    return out


def latest_counterexample(bench_dir: str) -> Optional[str]:
    """The newest crossover run's paragraph beside a bench run (results/), if any."""
    parent = os.path.dirname(os.path.abspath(bench_dir))
    found = sorted(glob.glob(os.path.join(parent, "*-crossover*", "counterexample.md")))
    if not found:
        return None
    with open(found[-1]) as f:
        return f.read().strip() + f" (from {os.path.basename(os.path.dirname(found[-1]))}.)"

