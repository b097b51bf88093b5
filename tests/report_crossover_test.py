#!/usr/bin/env python3
"""The crossover report (scripts/flagreport/crossover.py) on runs made up
here, whose walls follow a model exactly: the crossovers it finds are the
ones the model puts there, and the targets read the figures right."""
import csv
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))

from flagreport import crossover  # noqa: E402

N, DELAY, UNIT = 194, 0.1, 600.0
FIELDS = ("mode,client_cpus,round,point,c_target_us,work,client,kind,wall_s,cpu_s,work_cpu_us,"
          "server_cpu_s,ok,errors,threads,loops").split(",")


def write_run(d, walls, points=(0, 0.25, 0.5, 1, 2, 4), rounds=6):
    """crossover.csv from walls(client, c_us) -> s, a little noise by round."""
    with open(os.path.join(d, "crossover.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        for r in range(1, rounds + 1):
            for p in points:
                c = p * DELAY / N * 1e6
                for client, kind in (("one", "one_thread"), ("pool", "threads"),
                                     ("many", "loops")):
                    w.writerow({"mode": "shared", "client_cpus": 2, "round": r, "point": p,
                                "c_target_us": f"{c:.1f}", "work": f"{c / UNIT:.3f}",
                                "client": client, "kind": kind,
                                "wall_s": walls(client, c) * (1 + 0.001 * (r % 3 - 1)),
                                "cpu_s": 0.1, "work_cpu_us": c, "server_cpu_s": 0.01,
                                "ok": N, "errors": 0, "threads": 1, "loops": ""})
    with open(os.path.join(d, "calibration.csv"), "w") as f:
        f.write(f"client,unit_us,units_measured\none,{UNIT},4\n")


class Crossover(unittest.TestCase):
    def test_all_at_once_walls_cross_where_that_model_says(self):
        # Every answer after the delay, then the work: one core for "one",
        # two for the others; the pool starts 5 ms later.
        def walls(client, c):
            k, start = (1, 0.02) if client == "one" else (2, 0.02 if client == "many" else 0.025)
            return start + DELAY + N * c * 1e-6 / k
        with tempfile.TemporaryDirectory() as d:
            write_run(d, walls)
            (m,) = crossover.load(d)
            m.base = "one"
            crossover.core_share(m, N, [])
            self.assertAlmostEqual(m.share, 1.0, places=2)
            # "many" beats "one" by 10 ms where N·c/2 = 10 ms: c = 103 µs.
            meas, issue, together = crossover.crossover(m, "one", "many", N, DELAY)
            self.assertAlmostEqual(together, 2 * 0.01 / N * 1e6, delta=1.0)
            self.assertAlmostEqual(meas, together, delta=0.02 * together)
            # The issue's model hides the work behind the delay first.
            self.assertGreater(issue, DELAY / N * 1e6)
            # "pool" starts 5 ms behind: it needs N·c/2 = 15 ms.
            meas, _, together = crossover.crossover(m, "one", "pool", N, DELAY)
            self.assertAlmostEqual(together, 2 * 0.015 / N * 1e6, delta=1.0)
            self.assertAlmostEqual(meas, together, delta=0.02 * together)

    def test_capacity_probe_sets_the_machine(self):
        # The probe found one thread at half a core and two at 1.5× that:
        # "many" (two loops) then beats "one" by 10 ms where
        # N·c/0.5 × (1 - 1/1.5) = 10 ms.
        def walls(client, c):
            return 0.12 + N * c * 1e-6 / (0.5 * (1 if client == "one" else 1.5))
        with tempfile.TemporaryDirectory() as d:
            write_run(d, walls)
            (m,) = crossover.load(d)
            m.base = "one"
            crossover.core_share(m, N, [{"client": "one", "threads_asked": "1",
                                         "cpu_per_wall": "0.5"},
                                        {"client": "many", "threads_asked": "2",
                                         "cpu_per_wall": "0.75"}])
            self.assertAlmostEqual(m.share, 0.5)
            self.assertAlmostEqual(m.spread, 1.5)
            meas, _, together = crossover.crossover(m, "one", "many", N, DELAY)
            want = 0.01 * 0.5 / (1 - 1 / 1.5) / N * 1e6
            self.assertAlmostEqual(together, want, delta=1.0)
            self.assertAlmostEqual(meas, want, delta=0.03 * want)

    def test_targets_and_report(self):
        def walls(client, c):
            return 0.12 + N * c * 1e-6 / (1 if client == "one" else 2)
        with tempfile.TemporaryDirectory() as d:
            write_run(d, walls)
            text, md = crossover.report(d, DELAY, N, "one", ["seq"])
            # At N·c = 4 delays: 0.12 + 0.4 against 0.12 + 0.2.
            self.assertIn(f"many runs at {0.52 / 0.32:.2f}× one's speed", text)
            self.assertIn("- many ≥ 1.7× one at N·c ≈ 4 delays on 2 CPUs: 1.62× — not met.", md)
            self.assertIn("Left out (they cap requests in flight below 194): seq.", md)
            self.assertIn("one unit of `--work`", md)
            self.assertTrue(os.path.exists(os.path.join(d, "counterexample.md")))


if __name__ == "__main__":
    unittest.main()
