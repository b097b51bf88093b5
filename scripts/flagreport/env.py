"""env.py — where a run ran (its env.json, written by scripts/record_env.py):
the report's two header lines, the busy-machine warning that opens it, and
the columns that identify the machine in the summary CSV."""
from __future__ import annotations

from typing import Optional


def _pct(x) -> str:
    return f"{x:.0f}%" if isinstance(x, (int, float)) else "?"


def _loadavg(xs) -> str:
    return f"{xs[0]:.1f}" if xs else "?"


def header_lines(env: Optional[dict]) -> list[str]:
    """Two lines: the machine and the software; the load over the run."""
    if not env:
        return ["Machine: not recorded (no env.json in this folder)."]
    v = env.get("versions") or {}
    commit = (env.get("commit") or "?")[:10] + (" (dirty tree)" if env.get("dirty") else "")
    virt = env.get("virtualisation") or "?"
    machine = (f"Machine: {env.get('cpu_model') or '?'}, {env.get('cores') or '?'} cores"
               f" ({'bare metal' if virt == 'none' else virt}), "
               f"{(env.get('memory_mb') or 0) / 1024:.0f} GB, Linux {env.get('kernel') or '?'}"
               + (f", governor {env['governor']}" if env.get("governor") else "")
               + f"; flags saved to {env.get('dest_fs') or '?'}; ulimit -n {env.get('nofile') or '?'}; "
               f"commit {commit}; libcurl {v.get('libcurl') or '?'}, liburing {v.get('liburing') or '?'}, "
               f"hyperfine {v.get('hyperfine') or '?'}, gnuplot {v.get('gnuplot') or '?'}, "
               f"{(v.get('compiler') or 'compiler ?').split(' (')[0]} {_compiler_version(v.get('compiler'))}.")
    ld = env.get("load") or {}
    load = (f"Load: load average {_loadavg(ld.get('loadavg_before'))} before, "
            f"{_loadavg(ld.get('loadavg_after'))} after; over the run's {ld.get('seconds', '?')} s "
            f"other processes used {_pct(ld.get('others_pct'))} of the CPU, this run "
            f"{_pct(ld.get('ours_pct'))}, steal {_pct(ld.get('steal_pct'))}.")
    return [machine, load]


def _compiler_version(s: Optional[str]) -> str:
    return s.split()[-1] if s else ""


def busy_warning(env: Optional[dict]) -> Optional[str]:
    """The report's first sentence when the machine was busy, else None."""
    ld = (env or {}).get("load") or {}
    if not ld.get("busy"):
        return None
    return (f"Warning: the machine was busy during this run (other processes used "
            f"{_pct(ld.get('others_pct'))} of the CPU, steal {_pct(ld.get('steal_pct'))}; "
            f"busy means over 10% or 5%): times are longer and noisier than on a quiet machine, "
            f"so trust the intervals and tests below, not the digits.")


# The summary CSV's columns that identify the machine, from env.json.
MACHINE_COLUMNS = ["host", "cpu_model", "cores", "virtualisation", "kernel", "commit", "dirty"]


def machine_columns(env: Optional[dict]) -> dict[str, str]:
    env = env or {}
    return {c: "" if env.get(c) is None else str(env.get(c)) for c in MACHINE_COLUMNS}


def load_phrase(env: Optional[dict]) -> str:
    """The machine's load over a run in a few words, for bench-ci's verdicts."""
    ld = (env or {}).get("load") or {}
    if not ld:
        return "not recorded"
    return (f"other processes {_pct(ld.get('others_pct'))} of the CPU, steal "
            f"{_pct(ld.get('steal_pct'))}, load average {_loadavg(ld.get('loadavg_before'))} → "
            f"{_loadavg(ld.get('loadavg_after'))} on {(env or {}).get('cores') or '?'} cores"
            + (" (busy)" if ld.get("busy") else ""))
