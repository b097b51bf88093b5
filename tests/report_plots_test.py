#!/usr/bin/env python3
"""The report's pictures (issue 21, finding 8), on made-up figures
(report_fixture.py): the saving visible, a reason where a CPU strip is
missing, one time axis for pop20, no wall-against-CPU plot, the answer
figure first, and a strip caption that says what the strip shows."""
import os
import re
import shutil
import tempfile
import unittest

import report_fixture as fx
from flagreport import markdown, phases, plots


class Spans(unittest.TestCase):
    def test_busy_ends_idle_middle(self):
        busy = [1.0, 1.0, 0.9] + [0.0] * 90 + [0.2, 1.0, 1.0, 1.0] + [0.0] * 7
        sp = plots.spans_of(0.001, busy)
        self.assertAlmostEqual(sp.head_s, 0.003)
        self.assertAlmostEqual(sp.tail_s, 0.003)  # 0.2 counts as idle
        self.assertAlmostEqual(sp.idle_s, 0.091)
        self.assertGreater(sp.level, 0.7)
        self.assertLess(sp.idle_level, 0.01)

    def test_a_short_dip_at_the_start_is_not_the_idle_middle(self):
        busy = [0.1, 1.0, 1.0] + [0.0] * 50 + [1.0]
        sp = plots.spans_of(0.001, busy)
        self.assertAlmostEqual(sp.head_s, 0.003)
        self.assertAlmostEqual(sp.tail_s, 0.001)

    def test_caption_says_busy_ends_and_why_a_pool_has_no_strip(self):
        run = fx.bench_run()
        cap = markdown.strip_caption(run, run.workloads[1], [])
        self.assertRegex(cap, r"c: busy [\d.]+ ms at the start and [\d.]+ ms at the end")
        self.assertNotIn("mostly idle", cap)
        self.assertIn("b has no strip", cap)


@unittest.skipUnless(shutil.which("gnuplot"), "gnuplot not installed")
class Drawn(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="report_plots_")
        self.run = fx.bench_run()
        self.run.directory = self.dir
        floors = phases.floors(self.run)
        acc = {w.name: phases.accounts(self.run, w, floors) for w in self.run.workloads}
        self.pngs = plots.bench_plots(self.run, acc)
        with open(os.path.join(self.dir, "plots.gp")) as f:
            self.gp = f.read()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_the_answer_figure_is_drawn_on_one_axis(self):
        self.assertIn(("pop20", "answer-pop20.png", "answer"), self.pngs)
        self.assertTrue(os.path.getsize(os.path.join(self.dir, "answer-pop20.png")) > 0)
        block = self.gp.split("set output 'answer-pop20.png'")[1].split("unset multiplot")[0]
        ranges = set(re.findall(r"set xrange \[0:([\d.]+)\]", block))
        self.assertEqual(len(ranges), 1)

    def test_pop20_overview_shares_one_time_axis(self):
        block = self.gp.split("set output 'timeline-pop20.png'")[1].split("unset multiplot")[0]
        self.assertEqual(len(set(re.findall(r"set xrange \[0:([\d.]+)\]", block))), 1)
        self.assertIn("one time axis", block)

    def test_saving_is_a_visible_dot(self):
        self.assertRegex(self.gp, r"using \(\$4\+\$5\):1 with points pt 7")
        self.assertNotRegex(self.gp, r"using 4:1:5:\(0\) with vectors")

    def test_a_phase_too_short_to_see_says_so(self):
        self.assertRegex(self.gp, r"title \"saving \(at most [\d.]+ (µs|ms): too short to see\)\"")
        self.assertNotIn("exit (at most", self.gp)

    def test_no_wall_cpu_plot(self):
        self.assertNotIn("wall-cpu", self.gp)
        self.assertFalse(any(k == "wall-cpu" for _, _, k in self.pngs))

    def test_a_pool_says_why_it_has_no_strip(self):
        self.assertIn("b (195 threads, traced wall", self.gp)
        self.assertIn("no CPU strip: 195 threads", self.gp)


if __name__ == "__main__":
    unittest.main()
