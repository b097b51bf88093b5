#!/usr/bin/env python3
"""README's figures come from a command (issue 21, finding 9): report.py
readme fills the marked block from a bench folder, leaves the rest of the
file alone, refuses a README without the markers, and copies the first
figure. The folder is made up here (report_fixture.py's run, written as
bench.sh would write it); nothing is timed."""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import report_fixture as fx
from flagreport import readme

REPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "report.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def write_folder(d):
    """The made-up run as bench.sh's files: plan, summaries, traces,
    hyperfine JSON, process walls, floors, command.txt and a figure."""
    run = fx.bench_run(nodelay=False)
    with open(os.path.join(d, "plan.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["workload", "requests", "backend", "max_req", "delay_s", "warmup", "runs",
                    "dest_parent", "dest_fs", "book"])
        for wl in run.workloads:
            for e in wl.entries:
                w.writerow([wl.name, wl.requests, e.backend, e.max_req, fx.DELAY, 1, 3,
                            "/dev/shm", "tmpfs", e.plan["book"]])
    cols = list(fx.summary("a", 1, 1, 1, 0.1, 0.001).__dataclass_fields__)
    cols = [c for c in cols if c != "extra"] + ["process_start_us"]

    def srow(s):
        return [getattr(s, c) if c != "process_start_us" else s.extra["process_start_us"]
                for c in cols]
    with open(os.path.join(d, "summary.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(cols)
        for wl in run.workloads:
            for e in wl.entries:
                w.writerow(srow(e.summary))
    walls = [["kind", "workload", "backend", "round", "process_wall_s", "exit_status"]]
    for wl in run.workloads:
        for e in wl.entries:
            t = e.timing
            with open(os.path.join(d, f"hyperfine-{wl.name}-{e.backend}.json"), "w") as f:
                json.dump({"results": [{"command": e.backend, "mean": t.mean, "stddev": 0.001,
                                        "user": t.user, "system": 0.0, "times": t.times,
                                        "exit_codes": t.exit_codes}]}, f)
            with open(os.path.join(d, f"trace-{e.backend}-{wl.name}.csv"), "w", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                keys = ["backend", "code", "repeat", "outcome", "http_status", "bytes", "thread",
                        "queued_us", "started_us", "connected_us", "first_byte_us", "done_us",
                        "saved_us", "error"]
                w.writerow(keys)
                for r in e.trace:
                    w.writerow([getattr(r, k) for k in keys])
            walls.append(["traced", wl.name, e.backend, 1, e.process_wall, 0])
    for b, rows in run.floor_runs.items():
        with open(os.path.join(d, f"floor-{b}.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(cols)
            for s in rows:
                w.writerow(srow(s))
        walls += [["floor", "all1", b, i + 1, 0.1053, 0] for i in range(len(rows))]
    with open(os.path.join(d, "process-walls.csv"), "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(walls)
    with open(os.path.join(d, "command.txt"), "w") as f:
        f.write("scripts/bench.sh --runs 3\n")
    with open(os.path.join(d, "answer-pop20.png"), "wb") as f:
        f.write(b"\x89PNG made up")


class ReadmeFigures(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="report_readme_")
        self.results = os.path.join(self.tmp, "results", "20261204T000000Z")
        os.makedirs(self.results)
        write_folder(self.results)
        self.readme = os.path.join(self.tmp, "README.md")
        self.before = "# title\n\nintro\n"
        self.after = "\n## The two commands\n\nkept as it was\n"
        with open(self.readme, "w") as f:
            f.write(self.before + readme.BEGIN + " -->\nstale: 99.9× by hand\n"
                    + readme.END + self.after)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_readme(self, *extra):
        return subprocess.run([PYTHON, REPORT, "readme", self.results, "--readme", self.readme,
                               "--images", os.path.join(self.tmp, "docs", "img"), *extra],
                              capture_output=True, text=True)

    def test_fills_the_block_and_nothing_else(self):
        r = self.run_readme()
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.readme) as f:
            text = f.read()
        self.assertTrue(text.startswith(self.before))
        self.assertTrue(text.endswith(self.after))
        self.assertNotIn("99.9× by hand", text)
        self.assertIn("`scripts/bench.sh --runs 3`", text)
        self.assertIn("from results/20261204T000000Z/", text)
        self.assertIn("7.18 s", text)
        self.assertRegex(text, r"\*\*pop20\*\*.*\d+(\.\d)?× \(")
        self.assertIn("](docs/img/answer-pop20.png)", text)
        self.assertTrue(os.path.exists(os.path.join(self.tmp, "docs", "img", "answer-pop20.png")))
        # Run again: the same text, the block written once.
        self.assertEqual(self.run_readme().returncode, 0)
        with open(self.readme) as f:
            again = f.read()
        self.assertEqual(again, text)
        self.assertEqual(again.count(readme.BEGIN), 1)

    def test_a_readme_without_markers_is_an_error(self):
        with open(self.readme, "w") as f:
            f.write("# no markers\n")
        r = self.run_readme()
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        self.assertIn("no '<!-- readme-figures:begin", r.stderr)
        with open(self.readme) as f:
            self.assertEqual(f.read(), "# no markers\n")
        self.assertFalse(os.path.exists(self.readme + ".tmp"))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "docs")))

    def test_a_missing_folder_is_an_error(self):
        shutil.rmtree(self.results)
        r = self.run_readme()
        self.assertEqual(r.returncode, 1)
        self.assertIn("is not a directory", r.stderr)


if __name__ == "__main__":
    unittest.main()
