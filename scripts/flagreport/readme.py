"""readme.py — the figures README.md quotes, written by a command
(`make readme-figures`, `report.py readme DIR`) from a `make bench` results
folder, so they cannot go stale by hand: the answer block of that run's
report (answer.py), the command and the machine it ran on, and its first
figure copied under docs/img/. Only the text between BEGIN and END in the
README is replaced; everything else is left as it was.
"""
from __future__ import annotations

import os
import shutil

from . import answer, env, phases, plots
from .markdown import ideal_speedup_of
from .model import BenchRun, ReportError, load_bench

BEGIN = "<!-- readme-figures:begin"
END = "<!-- readme-figures:end -->"


def command_of(run: BenchRun) -> str:
    """The command the run was made with (command.txt), else what make
    bench would have run for its figures."""
    try:
        with open(os.path.join(run.directory, "command.txt")) as f:
            line = f.read().strip()
            if line:
                return line
    except OSError:
        pass
    flags = ",".join(str(w.requests) for w in run.workloads)
    runs = max((e.planned_runs for w in run.workloads for e in w.entries), default=0)
    return f"scripts/bench.sh --delay {run.delay:g} --flags {flags} --runs {runs}"


def block(run: BenchRun, image: str | None, source: str) -> str:
    """The generated block, markers included."""
    floors = phases.floors(run)
    ideals = {w.name: {e.backend: v for e in w.entries[1:]
                       if (v := ideal_speedup_of(w, e, floors))} for w in run.workloads}
    lines = answer.lines(run, ideals)[1:]  # the README has its own title
    e = run.env or {}
    when = (e.get("started") or "").replace("T", " ").split("+")[0]
    commit = (e.get("commit") or "")[:10]
    head = [f"{BEGIN} — written by `make readme-figures` from {source}; edit the command, "
            f"not the figures -->",
            f"From one `make bench` (`{command_of(run)}`)"
            + (f", {when} UTC" if when else "") + (f", commit {commit}" if commit else "")
            + ":", ""]
    head += [f"> {line}" if line else ">" for line in lines]
    warning = env.busy_warning(run.env)
    head += [""] + ([f"**{warning}**", ""] if warning else [])
    head += ["  \n".join(env.header_lines(run.env)), ""]
    if image:
        head += [f"![{answer.QUESTION} One request after another, and all at once, on one "
                 f"time axis]({image})", ""]
    return "\n".join(head + [END])


def replace_block(text: str, new_block: str, path: str) -> str:
    b = text.find(BEGIN)
    e = text.find(END)
    if b < 0 or e < 0 or e < b:
        raise ReportError(f"{path} has no '{BEGIN} … {END}' block to fill")
    return text[:b] + new_block + text[e + len(END):]


def update(results: str, readme: str, image_dir: str) -> list[str]:
    """Fill README's block from the results folder; copy the answer figure
    into image_dir. Returns the files written."""
    try:
        with open(readme) as f:
            text = f.read()
    except OSError as ex:
        raise ReportError(f"can't read {readme}: {ex.strerror}")
    replace_block(text, "", readme)  # no markers: fail before writing anything
    run = load_bench(results)
    written = []
    image = None
    w = plots.answer_workload(run)
    src = os.path.join(run.directory, f"answer-{w.name}.png") if w else None
    if src and os.path.exists(src):
        os.makedirs(image_dir, exist_ok=True)
        dst = os.path.join(image_dir, f"answer-{w.name}.png")
        shutil.copyfile(src, dst)
        written.append(dst)
        image = os.path.relpath(dst, os.path.dirname(os.path.abspath(readme)) or ".")
    source = os.path.basename(os.path.realpath(results.rstrip("/")))
    new = replace_block(text, block(run, image, f"results/{source}/"), readme)
    tmp = readme + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, readme)
    written.append(readme)
    return written
