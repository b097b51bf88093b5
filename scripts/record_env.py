#!/usr/bin/python3
"""record_env.py — where a driver run ran, and how busy the machine was.

  record_env.py start FILE --pid PID [--build DIR] [--dest-parent DIR]
  record_env.py end FILE --pid PID

start writes FILE (env.json): the commit and whether the tree was dirty, the
kernel, CPU model, cores, memory, frequency governor, virtualisation, the
versions of libcurl, liburing, hyperfine, gnuplot and the compiler, the
download folder's file system, the open-file limit of PID (the driver) and a
first look at the load. end adds the load over the run: load averages after,
and from /proc/stat the share of the CPU stolen by the hypervisor and the
share used by processes other than PID and its waited-for children (the
clients, hyperfine, the server).

Exit status: 0 written, 1 FILE can't be read or written, 2 usage error.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Above these the machine was busy: the report warns in its first sentence.
BUSY_OTHERS_PCT = 10.0
BUSY_STEAL_PCT = 5.0


def out(cmd: list[str]) -> str | None:
    """A command's first line of output, or None when it can't run."""
    if not shutil.which(cmd[0]):
        return None
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (r.stdout or r.stderr).strip()
    return text.splitlines()[0].strip() if r.returncode == 0 and text else None


def read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def cpu_model() -> str | None:
    for line in (read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or None


def memory_mb() -> int | None:
    m = re.search(r"^MemTotal:\s+(\d+) kB", read("/proc/meminfo") or "", re.M)
    return int(m.group(1)) // 1024 if m else None


def virtualisation() -> str:
    """systemd-detect-virt's answer (a container and/or a VM), else the CPU's
    hypervisor flag; "none" on bare metal."""
    kinds = []
    for flag in ("--container", "--vm"):
        v = out(["systemd-detect-virt", flag])
        if v and v != "none":
            kinds.append(v)
    hv = re.search(r"^flags\s*:.*\bhypervisor\b", read("/proc/cpuinfo") or "", re.M)
    if hv and not any(k for k in kinds if k not in ("docker", "podman", "lxc", "lxc-libvirt",
                                                   "systemd-nspawn", "openvz", "wsl")):
        kinds.append("hypervisor")
    return "+".join(kinds) or "none"


def compiler(build: str | None) -> str | None:
    cc = None
    if build:
        m = re.search(r"^CMAKE_C_COMPILER:\w+=(.*)$",
                      read(os.path.join(build, "CMakeCache.txt")) or "", re.M)
        cc = m.group(1).strip() if m else None
    return out([cc or "cc", "--version"])


def version(cmd: list[str], pattern: str = r"(\d+(?:\.\d+)+(?:\s+patchlevel\s+\d+)?)") -> str | None:
    v = out(cmd)
    m = re.search(pattern, v or "")
    return m.group(1) if m else v


def git_state() -> tuple[str | None, bool | None]:
    commit = out(["git", "-C", ROOT, "rev-parse", "HEAD"])
    if commit is None:
        return None, None
    r = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                       capture_output=True, text=True)
    return commit, bool(r.stdout.strip())


def fs_type(path: str | None) -> str | None:
    return out(["stat", "-f", "-c", "%T", path]) if path else None


def nofile(pid: int) -> str | None:
    m = re.search(r"^Max open files\s+(\S+)", read(f"/proc/{pid}/limits") or "", re.M)
    return m.group(1) if m else None


def cpu_ticks() -> dict[str, int]:
    """The machine's CPU time in ticks (/proc/stat's first line)."""
    names = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
    line = (read("/proc/stat") or "cpu").splitlines()[0].split()
    vals = [int(x) for x in line[1:len(names) + 1]]
    vals += [0] * (len(names) - len(vals))
    return dict(zip(names, vals))


def process_ticks(pid: int) -> int | None:
    """utime + stime + cutime + cstime of pid: itself and its waited-for children."""
    stat = read(f"/proc/{pid}/stat")
    if not stat:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15])


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def start(args) -> dict:
    commit, dirty = git_state()
    dest = os.path.abspath(args.dest_parent) if args.dest_parent else None
    return {
        "started": now(),
        "host": socket.gethostname(),
        "commit": commit,
        "dirty": dirty,
        "kernel": platform.release(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_mb": memory_mb(),
        "governor": (read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") or "").strip() or None,
        "virtualisation": virtualisation(),
        "versions": {
            "libcurl": version(["pkg-config", "--modversion", "libcurl"]) or version(["curl-config", "--version"]),
            "liburing": version(["pkg-config", "--modversion", "liburing"]),
            "hyperfine": version(["hyperfine", "--version"]),
            "gnuplot": version(["gnuplot", "--version"]),
            "compiler": compiler(args.build),
            "python": platform.python_version(),
        },
        "dest_parent": dest,
        "dest_fs": fs_type(dest),
        "nofile": nofile(args.pid),
        "load": {"loadavg_before": list(os.getloadavg())},
        "_start": {"cpu": cpu_ticks(), "driver_ticks": process_ticks(args.pid),
                   "monotonic": os.times().elapsed},
    }


def end(args, env: dict) -> dict:
    s = env.get("_start") or {}
    c0, c1 = s.get("cpu") or {}, cpu_ticks()
    d = {k: c1[k] - c0.get(k, 0) for k in c1}
    total = sum(d.values())
    busy = d["user"] + d["nice"] + d["system"] + d["irq"] + d["softirq"]
    ours0, ours1 = s.get("driver_ticks"), process_ticks(args.pid)
    ours = ours1 - ours0 if ours0 is not None and ours1 is not None else None
    load = env.setdefault("load", {})
    load["loadavg_after"] = list(os.getloadavg())
    load["seconds"] = round(os.times().elapsed - s.get("monotonic", os.times().elapsed), 1)
    if total > 0:
        load["steal_pct"] = round(100 * d["steal"] / total, 1)
        load["busy_pct"] = round(100 * busy / total, 1)
        if ours is not None:
            load["ours_pct"] = round(100 * ours / total, 1)
            load["others_pct"] = round(100 * max(0, busy - ours) / total, 1)
    others, steal = load.get("others_pct"), load.get("steal_pct")
    load["busy"] = bool((others is not None and others > BUSY_OTHERS_PCT)
                        or (steal is not None and steal > BUSY_STEAL_PCT))
    load["busy_rule"] = f"others_pct > {BUSY_OTHERS_PCT:g} or steal_pct > {BUSY_STEAL_PCT:g}"
    env["ended"] = now()
    return env


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="record_env.py", description=__doc__.strip().split("\n\n")[0],
                                epilog="Exit status: 0 written, 1 FILE can't be read or written, "
                                       "2 usage error.")
    p.add_argument("when", choices=["start", "end"])
    p.add_argument("file", metavar="FILE")
    p.add_argument("--pid", type=int, required=True,
                   help="the driver's process: its CPU and its children's is not 'others'")
    p.add_argument("--build", metavar="DIR", help="the build folder (for the compiler)")
    p.add_argument("--dest-parent", metavar="DIR", help="where the clients save (its file system)")
    args = p.parse_args(argv[1:])
    try:
        if args.when == "start":
            env = start(args)
        else:
            with open(args.file) as f:
                env = end(args, json.load(f))
        tmp = args.file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(env, f, indent=2)
            f.write("\n")
        os.replace(tmp, args.file)
    except (OSError, ValueError) as e:
        print(f"record_env: error: {args.file}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
