#!/usr/bin/python3
"""report.py — turn a driver run's CSV and JSON into the answer: a table,
sentences computed from the figures, report.md and gnuplot PNGs.

The work is done by the flagreport package beside this file: model.py loads a
results folder into dataclasses, markdown.py and plots.py render them,
gate.py is bench-ci's check. The table and sentences go to stdout; report.md,
*.dat, plots.gp and *.png are written into DIR.
"""
import argparse
import os
import sys

# The package beside this file; no __pycache__ left in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from flagreport import coro, crossover, env, gate, history, markdown, model, peers, phases, plots, readme, tls  # noqa: E402,F401


def cmd_merge_rounds(args) -> int:
    if not model.merge_rounds(args.dir):
        raise model.ReportError(f"{args.dir}/{model.ROUNDS_DIR} has no rounds")
    return 0


def cmd_bench(args) -> int:
    run = model.load_bench(args.dir)
    if run.env:
        model.add_columns(os.path.join(run.directory, "summary.csv"), env.machine_columns(run.env))
    floors = phases.floors(run)
    accounts = {w.name: phases.accounts(run, w, floors) for w in run.workloads}
    pngs = plots.bench_plots(run, accounts)
    text, md = markdown.bench_report(run, pngs, accounts, floors)
    peer_runs = model.load_peers(args.dir)
    if peer_runs:
        peer_text, peer_md = peers.report(run, peer_runs)
        text, md = f"{text}\n\n{peer_text}", f"{md}\n\n{peer_md}"
    tls_out = tls.report(run, floors)
    if tls_out:
        text, md = f"{text}\n\n{tls_out[0]}", f"{md}\n\n{tls_out[1]}"
    markdown.write(run.directory, "report.md", md)
    print(text)
    return 0


def cmd_in_range(args) -> int:
    """Exit 0 when seconds lies within the back end's timed runs' range on
    the workload, else print why and exit 1 (bench.sh then traces again)."""
    path = os.path.join(args.dir, f"hyperfine-{args.workload}-{args.backend}.json")
    t = model.Timing.load(path)
    lo, hi = min(t.times or [t.mean]), max(t.times or [t.mean])
    if model.in_range(args.seconds, t.times or [t.mean]):
        return 0
    print(f"took {args.seconds:.3f} s, outside its timed runs' {lo:.3f}–{hi:.3f} s")
    return 1


def cmd_readme(args) -> int:
    for path in readme.update(args.dir, args.readme, args.images):
        print(f"report: wrote {path}")
    return 0


def cmd_sweep(args) -> int:
    sw = model.load_sweep(args.dir)
    pngs = plots.sweep_plots(sw)
    text, md = markdown.sweep_report(sw, pngs)
    markdown.write(sw.directory, "report.md", md)
    print(text)
    return 0


def cmd_crossover(args) -> int:
    left_out = [b for b in (args.left_out or "").split(",") if b]
    try:
        text, md = crossover.report(args.dir, args.delay, args.flags, args.baseline, left_out)
    except ValueError as e:
        raise model.ReportError(str(e)) from e
    markdown.write(args.dir, "report.md", md)
    print(text)
    return 0


def cmd_coro(args) -> int:
    text, md = coro.report(args.dir, args.source)
    markdown.write(args.dir, "report.md", md)
    print(text)
    return 0


def cmd_ci_figures(args) -> int:
    backends = [b for b in args.backends.split(",") if b]
    if not backends:
        raise model.ReportError("--backends needs at least one back end")
    model.write_figures(gate.ci_figures(args.dir, args.requests, args.delay, backends, args.only),
                        sys.stdout)
    return 0


def cmd_ci_baseline(args) -> int:
    measured = model.load_figures(args.measured)
    model.write_figures(gate.baseline_form(measured, args.requests, args.max_req), sys.stdout)
    return 0


def cmd_compare(args) -> int:
    run_env = model.read_json(args.env) if args.env else None
    return gate.compare(args.baseline, args.measured, {"n": args.requests, "m": args.max_req},
                        env=run_env, failed_out=args.failed_out)


def cmd_history(args) -> int:
    return history.report(args.dir, args.history)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="report.py", description=__doc__.strip().split("\n\n")[0],
        epilog="Exit status: 0 done (compare: no regression), 1 bad input or a regression, "
               "2 usage error.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    b = sub.add_parser("bench", help="report a scripts/bench.sh folder: plan.csv, summary.csv, "
                                     "hyperfine-<workload>-<backend>.json, trace-<backend>-<workload>.csv")
    b.add_argument("dir", metavar="DIR")
    b.set_defaults(func=cmd_bench)
    r = sub.add_parser("merge-rounds", help="gather a bench.sh folder's rounds/*.json into "
                                            "hyperfine-<workload>-<label>.{json,csv,md}")
    r.add_argument("dir", metavar="DIR")
    r.set_defaults(func=cmd_merge_rounds)
    g = sub.add_parser("in-range", help="exit 0 when SECONDS lies within the timed runs' "
                                        "min–max of BACKEND on WORKLOAD (± 0.5%% of their "
                                        "median), else say so, exit 1")
    g.add_argument("dir", metavar="DIR")
    g.add_argument("workload", metavar="WORKLOAD")
    g.add_argument("backend", metavar="BACKEND")
    g.add_argument("seconds", metavar="SECONDS", type=float)
    g.set_defaults(func=cmd_in_range)
    m = sub.add_parser("readme", help="refresh README's generated figures (between its "
                                      "readme-figures markers) from a bench folder, and copy "
                                      "its first figure under --images")
    m.add_argument("dir", metavar="DIR", help="a scripts/bench.sh results folder")
    m.add_argument("--readme", default="README.md", metavar="FILE",
                   help="the file with the markers (default: README.md)")
    m.add_argument("--images", default="docs/img", metavar="DIR",
                   help="where the figure is copied (default: docs/img)")
    m.set_defaults(func=cmd_readme)
    s = sub.add_parser("sweep", help="report a scripts/sweep.sh folder: sweep.csv, skipped.csv")
    s.add_argument("dir", metavar="DIR")
    s.set_defaults(func=cmd_sweep)
    x = sub.add_parser("crossover", help="report a scripts/crossover.sh folder: crossover.csv, "
                                         "calibration.csv (wall against CPU per flag)")
    x.add_argument("dir", metavar="DIR")
    x.add_argument("--delay", type=float, required=True, help="the server's delay (s)")
    x.add_argument("--flags", type=int, required=True, help="flags, all in flight")
    x.add_argument("--baseline", required=True, help="the one-loop back end to compare with")
    x.add_argument("--left-out", metavar="LIST", help="back ends left out, comma-separated")
    x.set_defaults(func=cmd_crossover)
    o = sub.add_parser("coro", help="report a scripts/coro_cost.sh folder: switch.csv, "
                                    "inflight.csv, bench/latest, and the three shapes of a "
                                    "download quoted from the source")
    o.add_argument("dir", metavar="DIR")
    o.add_argument("--source", metavar="ROOT", default=os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), help="the source tree to quote (default: this one)")
    o.set_defaults(func=cmd_coro)
    c = sub.add_parser("ci-figures", help="bench_ci.sh's measured figures as baseline CSV on stdout")
    c.add_argument("dir", metavar="DIR", help="bench_ci.sh's work folder")
    c.add_argument("requests", metavar="N", type=int, help="requests of the timed runs")
    c.add_argument("delay", metavar="DELAY", type=float, help="server delay of the timed runs (s)")
    c.add_argument("--backends", required=True, metavar="LIST",
                   help="the back ends measured, comma-separated, the baseline first")
    c.add_argument("--only", choices=("timed", "instructions"),
                   help="only these runs were made (bench_ci.sh --only)")
    c.set_defaults(func=cmd_ci_figures)
    u = sub.add_parser("ci-baseline", help="measured figures as a baseline (--update): values "
                                           "that follow from n and m written as expressions")
    u.add_argument("measured", metavar="MEASURED")
    u.add_argument("requests", metavar="N", type=int, help="requests of the timed runs")
    u.add_argument("max_req", metavar="M", type=int, help="requests in flight of the timed runs")
    u.set_defaults(func=cmd_ci_baseline)
    k = sub.add_parser("compare", help="check measured figures against the baseline; "
                                       "exit 1 naming each regression")
    k.add_argument("baseline", metavar="BASELINE")
    k.add_argument("measured", metavar="MEASURED", nargs="+",
                   help="the figures; a second file is the second try of the first's failures")
    k.add_argument("--requests", "-n", type=int, required=True, help="n of the timed runs")
    k.add_argument("--max-req", "-m", type=int, required=True, help="m of the timed runs")
    k.add_argument("--env", metavar="FILE", help="env.json of the (last) measurement: its load")
    k.add_argument("--failed-out", metavar="FILE",
                   help="first try: list the figures outside tolerance in FILE to measure again")
    k.set_defaults(func=cmd_compare)
    h = sub.add_parser("history", help="a scripts/history.sh folder: the verdict (the first "
                                       "commit a figure moved at), the plots, rows for history.csv")
    h.add_argument("dir", metavar="DIR")
    h.add_argument("--history", metavar="FILE", help="append a row per commit and figure to FILE")
    h.set_defaults(func=cmd_history)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv[1:])
    try:
        return args.func(args)
    except model.ReportError as e:
        print(f"report: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
