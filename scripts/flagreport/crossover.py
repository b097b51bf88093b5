"""crossover.py — make bench-crossover's report (scripts/crossover.sh): wall
against the CPU each flag costs, a line per client, the model's lines beside
them, where each client that uses several cores starts beating one loop
(measured and predicted), and the counterexample paragraph make bench's
report borrows ("here one thread is not enough").

Two models (docs/cores.md), for N flags in flight, each answered after a
delay d and then costing c µs of CPU in the client, on k cores (1 for the
one-thread kinds and the Python clients the GIL should hold to one core; the
clients' CPUs for the others):

  the issue's: the work hides behind the wait until it exceeds it:
      wall = max(d, N·c/k) + floor, floor = the client's own wall at c = 0
      less d (starting, the loopback, exiting);
  all at once: with every flag in flight at once, every answer arrives
      together after d, and the work can only start then:
      wall = wall(c = 0) + N·c/(k·g), g the share of a core the one loop
      got for its work (1 on an idle machine), measured from the one
      loop's own slope between the first and the last point.

A crossover is the CPU per flag where a client starts beating the one loop
by a tenth of the delay; each is given measured and as both models
predict."""
from __future__ import annotations

import glob
import os
import statistics
from dataclasses import dataclass
from typing import Optional

from . import markdown, stats
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
KIND_WORDS = {
    "one_thread": "one loop",
    "threads": "a thread per request",
    "loops": "a loop per core",
    "procs": "a process pool",
    "python_loop": "asyncio, work on the loop",
    "python_threads": "ThreadPoolExecutor (1 core if the GIL held the work)",
    "python_procs": "asyncio + ProcessPoolExecutor",
}


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
    cpu_s: Optional[float]  # the client's CPU per run (median; None for the peers)
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
    base: str = ""
    share: float = 1.0  # g: the share of a core the one loop got for its work
    spread: float = 0.0  # CPUs' worth many threads got, in g's (capacity probe); 0 = k
    share_from: str = "slope"

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
            statistics.median(num(r["server_cpu_s"]) for r in rs),
            statistics.median(num(r["cpu_s"]) for r in rs) if rs[0]["cpu_s"] else None, m.cpus)
    for m in modes.values():
        m.xs.sort()
    return list(modes.values())


def floor_s(m: Mode, client: str, delay: float) -> Optional[float]:
    p = m.at(client, 0.0)
    return p.wall - delay if p else None


def predicted(m: Mode, client: str, c_us: float, n: int, delay: float) -> Optional[float]:
    """The issue's model: max(d, N·c/k) + floor."""
    f = floor_s(m, client, delay)
    if f is None:
        return None
    return max(delay, n * c_us * 1e-6 / m.cores(client)) + f


def predicted_together(m: Mode, client: str, c_us: float, n: int, delay: float
                       ) -> Optional[float]:
    """All at once: wall(0) + N·c/(k·g)."""
    p = m.at(client, 0.0)
    if p is None:
        return None
    k = m.cores(client)
    if k > 1 and m.spread:
        k = min(k, m.spread)
    return p.wall + n * c_us * 1e-6 / (k * m.share)


def core_share(m: Mode, n: int, capacity: list[dict]) -> None:
    """g, and how far more threads spread: from the capacity probe (the one
    loop's CPU over wall with no delay; a loop per core's over the one
    loop's), measured before the rounds and apart from them; else g from the
    one loop's own slope between its first and last point, and k cores
    taken at their word. g is capped at 1: a loop never gets more than a
    core."""
    one = next((num(r["cpu_per_wall"]) for r in capacity if r["threads_asked"] == "1"), 0.0)
    many = [num(r["cpu_per_wall"]) for r in capacity if r["threads_asked"] != "1"]
    if one > 0 and m.name == "shared":
        m.share, m.share_from = min(1.0, one), "capacity"
        if many:
            m.spread = max(1.0, max(many) / one)
        return
    pts = [m.at(m.base, x) for x in m.xs if m.at(m.base, x)]
    if len(pts) < 2 or pts[-1].c_us <= 0:
        return
    added = pts[-1].wall - pts[0].wall
    if added > 0:
        m.share = min(1.0, n * pts[-1].c_us * 1e-6 / added)


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
              ) -> tuple[Optional[float], Optional[float], Optional[float]]:
    """CPU per flag, µs, where client starts beating base: measured, and as
    the issue's model and the all-at-once model predict."""
    need = BEAT_SHARE * delay
    xs = [x for x in m.xs if m.at(base, x) and m.at(client, x)]
    if not xs:
        return None, None, None
    cs = [m.at(base, x).c_us for x in xs]
    measured = _cross(cs, [m.at(base, x).wall - m.at(client, x).wall for x in xs], need)
    top = cs[-1] * 4 or 1.0
    fine = [top * i / 8000 for i in range(8001)]
    preds = []
    for model in (predicted, predicted_together):
        gaps = [model(m, base, c, n, delay) - model(m, client, c, n, delay) for c in fine]
        preds.append(_cross(fine, gaps, need))
    return measured, preds[0], preds[1]


def _off(meas: Optional[float], pred: Optional[float]) -> Optional[float]:
    return abs(meas - pred) / pred if meas is not None and pred else None


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
            tog = predicted_together(m, c, p.c_us, n, delay) if p else None
            cells.append("–" if not p else f"{1e3 * p.wall:.0f} ({1e3 * pred:.0f} / {1e3 * tog:.0f})"
                         if pred is not None and tog is not None else f"{1e3 * p.wall:.0f}")
        srv = [m.at(c, x).server_s for x in m.xs if m.at(c, x)]
        cells.append(f"{1e3 * statistics.median(srv):.0f} ms" if srv else "–")
        rows.append(cells)
    out.append(md_table(header, rows))
    out.append("")
    out.append("Median wall in ms over the rounds at each CPU per flag (the column heads, "
               "the C clients' target; a Python client's own work is calibrated to the same "
               "µs); in brackets what the issue's model and the all-at-once model predict; "
               "server CPU: its median user+system time during one run of the client.")
    out.append("")
    sentences: list[str] = []
    figures: dict = {"cpus": m.cpus}
    multi = [c for c in m.clients if m.cores(c) > 1 and not m.kinds[c].startswith("python")]
    if m.share_from == "capacity":
        sentences.append(
            f"The all-at-once model takes the machine as the capacity probe found it: one "
            f"thread got g = {m.share:.2f} of a core (1 on an idle machine), and "
            + (f"{m.cpus} threads {m.spread:.2f}× that" if m.spread else "more threads k× that")
            + f" (so a client on {m.cpus} cores is predicted "
            f"{min(m.cpus, m.spread or m.cpus):.2f}× one loop's speed at its work).")
    else:
        sentences.append(f"The one loop ({base}) got g = {m.share:.2f} of a core for its work "
                         f"(N·c over the wall its work added at the last point; 1 on an idle "
                         f"machine).")
    for c in multi:
        meas, pred, together = crossover(m, base, c, n, delay)
        err, err2 = _off(meas, pred), _off(meas, together)
        figures.setdefault("crossovers", {})[c] = (meas, pred, err, together, err2)
        beat = f"{1e3 * BEAT_SHARE * delay:.0f} ms"
        models = (f"the issue's model says {_us(pred)}"
                  + (f" ({100 * err:.0f}% off)" if err is not None else "")
                  + f", the all-at-once model {_us(together)}"
                  + (f" ({100 * err2:.0f}% off)" if err2 is not None else ""))
        if meas is None:
            sentences.append(f"{c} never beats {base} by {beat} within these points; {models}.")
        else:
            sentences.append(
                f"{c} ({KIND_WORDS.get(m.kinds[c], m.kinds[c])}, {m.cores(c)} cores) starts beating "
                f"{base} by {beat} at c = {_us(meas)} of CPU per flag; {models}; one loop's work "
                f"equals the delay at d/N = {sat_us:.0f} µs.")
    if cx:  # a point with work: none when the only point is c = 0
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
        shares = [(c, m.at(c, cx).cpu_s / m.at(c, cx).wall) for c in m.clients
                  if m.at(c, cx) and m.at(c, cx).cpu_s and m.at(c, cx).wall > 0]
        if shares:
            most = max(s for _, s in shares)
            sentences.append(
                "There the C clients' CPU over their wall was "
                + ", ".join(f"{c} {s:.2f}" for c, s in shares) + " cores"
                + (f": at most {most:.2f} of the {m.cpus} CPUs — the machine (its other work, or "
                   f"its host) held the rest, so no client had an idle core to spread its work to."
                   if most < 0.9 else "."))
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
        py = {m.kinds[c]: c for c in m.clients if m.kinds[c].startswith("python")}
        if {"python_threads", "python_loop"} <= set(py):
            sentences.append(python_sentence(m, py, cx))
    srv = [(c, statistics.median([m.at(c, x).server_s / m.at(c, x).wall for x in m.xs
                                  if m.at(c, x) and m.at(c, x).wall > 0])) for c in m.clients]
    if srv:
        lo, hi = min(s for _, s in srv), max(s for _, s in srv)
        used = f"{100 * lo:.0f}%" if round(100 * lo) == round(100 * hi) else \
            f"{100 * lo:.0f}–{100 * hi:.0f}%"
        sentences.append(f"The server used {used} of one CPU during the "
                         f"clients' runs (median over points; "
                         + ("on its own CPU" if m.name == "apart" else "on the clients' CPUs")
                         + ").")
    return out, sentences, figures


def python_sentence(m: Mode, py: dict[str, str], cx: float) -> str:
    """The book's lesson, measured: do the threads' decodes run one at a
    time (the GIL) or side by side?"""
    th, lo = py["python_threads"], py["python_loop"]
    t0, l0, t, lp = m.at(th, 0.0), m.at(lo, 0.0), m.at(th, cx), m.at(lo, cx)
    if not (t0 and l0 and t and lp):
        return ""
    # The work's own wall: what each added over its c = 0 run.
    added_t, added_l = t.wall - t0.wall, lp.wall - l0.wall
    out = (f"Python at the CPU-bound point: {th} (ThreadPoolExecutor) added {1e3 * added_t:.0f} ms "
           f"over its c = 0 run, {lo} (asyncio, work on the loop) {1e3 * added_l:.0f} ms")
    pp = py.get("python_procs")
    if pp and m.at(pp, cx) and m.at(pp, 0.0):
        out += (f", {pp} (work on a ProcessPoolExecutor) "
                f"{1e3 * (m.at(pp, cx).wall - m.at(pp, 0.0).wall):.0f} ms")
    if m.cpus < 2:
        out += ". On one CPU there is nothing to spread the work over."
    elif added_t > 0 and added_l / added_t >= 1.3:
        out += (f". The threads' work went {added_l / added_t:.1f}× as fast as the loop's: "
                f"Pillow lets go of the GIL while it decodes, so its threads decode side by "
                f"side — the book's rule (threads can't run Python code in parallel) binds "
                f"Python code, not a C library that releases the GIL.")
    else:
        out += ". The GIL held the threads' work to one core at a time, as the book says."
    return out


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
        col = colour(i)
        plots.append(f"'{name}-{c}.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb '{col}' "
                     f"title {gp_str(c)}")
        if m.kinds[c].startswith("python"):
            continue  # the models' lines for the C clients only: fewer lines to read
        with open(os.path.join(d, f"{name}-{c}-model.dat"), "w") as f:
            for j in range(201):
                cu = top * j / 200
                pr = predicted(m, c, cu, n, delay)
                pt = predicted_together(m, c, cu, n, delay)
                if pr is not None and pt is not None:
                    f.write(f"{cu:.1f} {pr:.6f} {pt:.6f}\n")
        plots.append(f"'{name}-{c}-model.dat' using 1:2 with lines dt 2 lc rgb '{col}' notitle")
        plots.append(f"'{name}-{c}-model.dat' using 1:3 with lines dt 3 lc rgb '{col}' notitle")
    script = (f"set terminal {term} size 900,560\nset output '{name}.png'\n"
              f"set title {gp_str(f'{n} flags, all in flight, {delay:g} s delay, clients on {m.cpus} CPU(s) ({m.name}); dashed: the issue model, dotted: all answers at once')}\n"
              "set xlabel 'CPU per flag in the work (µs)'\nset ylabel 'wall (s)'\n"
              "set key top left\nset grid\nset yrange [0:*]\n"
              f"plot {', '.join(plots)}\n")
    if not run_gnuplot(d, script):
        return None
    return f"{name}.png"


def counterexample(mode: Mode, base: str, figures: dict, n: int, delay: float) -> str:
    """The paragraph make bench's counterexample section borrows."""
    text = (f"**The CPU-bound case: here one thread is not enough.** When each of {n} flags "
            f"costs the client c µs of CPU (decoding the GIF, `--work`), one loop does all "
            f"N·c of it on one core, and with every flag in flight at once it can only start "
            f"when the answers arrive, after the {delay:g} s delay: its wall grows by N·c, a "
            f"client's on k cores by N·c/k.")
    cross = [f"{c} from c ≈ {meas:.0f} µs (predicted: {_us(pred)} by the issue's model, "
             f"{_us(together)} with all answers at once)"
             for c, (meas, pred, _, together, _) in figures.get("crossovers", {}).items()
             if meas is not None]
    if cross:
        text += (f" Measured (make bench-crossover, {mode.name} mode, clients on {mode.cpus} "
                 f"CPUs, one loop getting {mode.share:.2f} of a core): these pull ahead of "
                 f"{base} by a tenth of the delay: " + "; ".join(cross) + ".")
    sps = figures.get("speedup", {})
    if sps:
        text += (f" At N·c ≈ {figures.get('cpu_point', TARGET_CPU_POINT):g} delays: "
                 + ", ".join(f"{c} {sp:.2f}×" for c, sp in sps.items()) + f" {base}'s speed.")
    return text


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
    cap = read_csv(os.path.join(d, "capacity.csv"), missing_ok=True)
    if cap:
        one = next((num(r["cpu_per_wall"]) for r in cap if r["threads_asked"] == "1"), None)
        parts = [f"{r['client']} on {r['threads_asked']} thread(s) used "
                 f"{num(r['cpu_per_wall']):.2f} CPUs per second of wall" for r in cap]
        line = ("Capacity (no delay, 4 units a flag, median of 3): " + "; ".join(parts) + ".")
        many = [num(r["cpu_per_wall"]) for r in cap if r["threads_asked"] != "1"]
        if one and many:
            line += (f" More threads got {max(many) / one:.2f}× one thread's CPU: the ceiling, "
                     f"on this machine now, of any client's speedup from using more cores.")
        md.append(line + "\n")
    nice = os.path.join(d, "nice.txt")
    if os.path.exists(nice):
        with open(nice) as f:
            v = f.read().strip()
        md.append("Priority: the measurement ran in a session of its own whose scheduling group "
                  f"had niceness {v}, the server and clients too"
                  + (" (above the machine's other work, at 0)." if v.startswith("-")
                     else " (as the machine's other work).") + "\n")
    tls = os.path.join(d, "tls.txt")
    if os.path.exists(tls):
        with open(tls) as f:
            md.append(f.read().strip() + ".\n")
    text: list[str] = []
    primary = next((m for m in modes if m.name == "shared"), modes[0])
    paragraph = ""
    for m in modes:
        m.base = base
        if base in m.clients:  # the one loop first: the table's top row, the plot's grey
            m.clients.remove(base)
            m.clients.insert(0, base)
        core_share(m, n, read_csv(os.path.join(d, "capacity.csv"), missing_ok=True))
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
            md += https_section(d, m, base, n, figures)
    md.append("## The counterexample\n")
    md.append(paragraph + "\n")
    with open(os.path.join(d, "counterexample.md"), "w") as f:
        f.write(paragraph + "\n")
    return "\n".join(text), "\n".join(md)


def https_section(d: str, m: Mode, base: str, n: int, figures: dict) -> list[str]:
    """HTTPS at c = 0 (https.csv): the handshake's CPU per flag, set beside
    the crossovers, and who is faster over HTTPS."""
    rows = read_csv(os.path.join(d, "https.csv"), missing_ok=True)
    if not rows:
        return []
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["client"], []).append(r)
    out = ["## HTTPS: the handshake as CPU per flag\n"]
    table, extra = [], {}
    for c, rs in by.items():
        wall = statistics.median(num(r["wall_s"]) for r in rs)
        cpu = statistics.median(num(r["cpu_s"]) for r in rs)
        http = m.at(c, 0.0)
        more = (cpu - http.cpu_s) / n * 1e6 if http and http.cpu_s is not None else None
        if more is not None:
            extra[c] = more
        srv = statistics.median(num(r["server_cpu_s"]) for r in rs)
        table.append([c, f"{1e3 * wall:.0f}", f"{1e3 * http.wall:.0f}" if http else "–",
                      f"{more:.0f} µs" if more is not None else "–", f"{1e3 * srv:.0f} ms"])
    out.append(md_table(["client", "HTTPS wall ms (median)", "HTTP wall ms, c = 0",
                         "client CPU per flag added by TLS", "server CPU/run"], table))
    out.append("")
    words = []
    if extra:
        lo, hi = min(extra.values()), max(extra.values())
        words.append(f"Over HTTPS (at c = 0; each client resumes TLS sessions across its "
                     f"connections, as it does by default) the clients spent {lo:.0f}–{hi:.0f} µs "
                     f"more CPU per flag than over HTTP: the handshake is CPU per flag, like "
                     f"`--work`.")
        cross = {c: v[0] for c, v in figures.get("crossovers", {}).items() if v[0] is not None}
        for c, meas in cross.items():
            words.append(f"{c} starts beating {base} over HTTP at c ≈ {meas:.0f} µs; TLS adds "
                         f"{extra.get(base, hi):.0f} µs to {base}: "
                         + ("past it, so HTTPS alone makes it CPU-bound enough to favour more "
                            "cores." if extra.get(base, hi) >= meas else
                            "short of it, so HTTPS alone does not make more cores pay."))
    pts = {c: (rs and ([num(r["wall_s"]) for r in rs], [int(r["round"]) for r in rs]))
           for c, rs in by.items()}
    if base in pts:
        for c in by:
            if c != base and m.cores(c) > 1 and not m.kinds.get(c, "").startswith("python"):
                cmp = stats.compare(c, pts[c][0], pts[c][1], base, pts[base][0], pts[base][1])
                words.append(f"Over HTTPS, {c} against {base}: {stats.sentence(cmp)}")
    return out + [w + "\n" for w in words]


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
    for c, (meas, pred, err, together, err2) in figures.get("crossovers", {}).items():
        out.append(f"- {c}'s crossover within {TARGET_ERROR:.0%} of the prediction: "
                   + ("–" if err is None else f"{100 * err:.0f}% off the issue's model, "
                      + ("met" if err <= TARGET_ERROR else "not met"))
                   + ("" if err2 is None else f"; {100 * err2:.0f}% off the all-at-once model, "
                      + ("met" if err2 <= TARGET_ERROR else "not met")) + ".")
    return out


def latest_counterexample(bench_dir: str) -> Optional[str]:
    """The newest crossover run's paragraph beside a bench run (results/), if any."""
    parent = os.path.dirname(os.path.abspath(bench_dir))
    found = sorted(glob.glob(os.path.join(parent, "*-crossover*", "counterexample.md")))
    if not found:
        return None
    with open(found[-1]) as f:
        return f.read().strip() + f" (from {os.path.basename(os.path.dirname(found[-1]))}.)"


def bench_section(run, accounts, floors) -> tuple[list[str], list[str]]:
    """make bench's report: the counterexample's CPU-bound half, from the
    newest make bench-crossover beside the run (markdown.SECTION_HOOKS)."""
    paragraph = latest_counterexample(run.directory)
    if not paragraph:
        return (["The CPU-bound counterexample, where one thread is not enough: "
                 "`make bench-crossover` (docs/cores.md).\n"], [])
    return (["## The counterexample: when one thread is not enough\n", paragraph + "\n"],
            ["", paragraph.replace("**", "")])


markdown.SECTION_HOOKS.append(bench_section)
