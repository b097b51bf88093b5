#!/usr/bin/env python3
"""Every sentence of the report true to its own figures (issue 21, findings
2–6), on made-up figures (report_fixture.py): per-request figures leave the
floor out; one traced wall, flagged outside the timed range; no ratio from
single runs; one base per column; causes as measured."""
import re
import unittest

import report_fixture as fx
from flagreport import markdown, model, phases, syscalls


def counts(w):
    """syscalls.csv rows for the one-thread back ends c (io_uring) and d (epoll)."""
    out = {}
    for b, wait in (("c", "io_uring_enter"), ("d", "epoll_wait")):
        out[b] = model.SyscallCount.from_row({
            "backend": b, "workload": w.name, "requests": str(w.requests), "max_req": "20",
            "delay_s": "0.1", "syscalls": "500", "floor_syscalls": "100", "per_request": "20.0",
            "calls": f"{wait}=10 openat={w.requests - 1} renameat={w.requests - 1} connect=19"})
    return out


class PerRequestLeavesOutTheFloor(unittest.TestCase):
    def setUp(self):
        self.run = fx.bench_run()
        self.floors = phases.floors(self.run)
        self.w = self.run.workloads[0]
        self.acc = phases.accounts(self.run, self.w, self.floors)

    def test_floor_is_start_and_exit(self):
        f = self.floors["a"]
        self.assertAlmostEqual(f.start_s, 0.004, places=6)
        self.assertAlmostEqual(f.exit_s, 0.001, places=4)

    def test_baseline_per_request_subtracts_the_floor(self):
        s = markdown.baseline_sentence(self.w, self.acc, self.floors)
        a = self.acc["a"]
        wall = self.w.baseline.process_wall
        per = (wall - a.parts["waiting"] - self.floors["a"].total_s) / 20
        self.assertIn(f"{phases.ms(per)} a request", s)
        # The old arithmetic divided the start and exit among the requests.
        old = (wall - a.parts["waiting"]) / 20
        self.assertNotIn(f"{phases.ms(old)} a request", s)

    def test_one_after_another_leaves_the_first_connection_out(self):
        a = self.acc["a"]
        # 20 µs between one request's file and the next request's start.
        self.assertAlmostEqual(phases.per_request_transfer(a), 20e-6, places=7)
        words = phases.transfers_words(a)
        self.assertIn("each of the other 19, 20 µs", words)
        self.assertNotIn(phases.ms(a.parts["transfers"] / a.chain) + " each", words)

    def test_cpu_per_request_is_beyond_the_floor(self):
        e = self.w.get("d")
        got = syscalls.cpu_per_request_us(self.w, e, self.run.floor_runs["d"])
        self.assertAlmostEqual(got, 1e6 * (e.summary.cpu_s - 0.0008) / 19, places=3)
        self.assertNotAlmostEqual(got, 1e6 * e.cpu / 20, places=0)
        self.assertIsNone(syscalls.cpu_per_request_us(self.w, e, []))

    def test_syscall_table_says_its_base(self):
        header, rows = syscalls.table(self.w, [self.w.get("c"), self.w.get("d")],
                                      counts(self.w), self.run.floor_runs)
        self.assertIn("CPU µs per request (beyond the floor)", header)


class OneTracedWall(unittest.TestCase):
    def test_outside_the_timed_range_is_flagged(self):
        _, md, _, _ = fx.report(fx.bench_run(traced_off="b"))
        self.assertRegex(md, r"⚠ b's traced run took [\d.]+ ms, outside the [\d.]+–[\d.]+ ms")
        self.assertIn("⚠ outside", md)
        _, md, _, _ = fx.report(fx.bench_run())
        self.assertNotIn("⚠", md)

    def test_in_range_has_a_small_slack_only(self):
        self.assertTrue(model.in_range(1.0, [0.99, 1.0]))
        self.assertTrue(model.in_range(1.004, [0.99, 1.0]))
        self.assertFalse(model.in_range(1.2, [0.99, 1.0]))
        self.assertFalse(model.in_range(0.9, [0.99, 1.0]))

    def test_traced_wall_is_the_process_timed_from_outside(self):
        from flagreport import plots
        run = fx.bench_run()
        e = run.workloads[1].get("b")
        e.process_wall = 0.1234
        self.assertIn("traced wall 0.123 s", plots.traced_wall_words(e))
        self.assertNotIn(f"{e.summary.wall_s:.3f}", plots.traced_wall_words(e))
        floors = phases.floors(run)
        acc = phases.accounts(run, run.workloads[1], floors)
        _, rows = markdown.phase_table(run.workloads[1], acc)
        row = next(r for r in rows if r[0] == "b")
        self.assertTrue(row[1].startswith("123 ms"), row[1])
        _, wrows, _ = markdown.why_table(run.workloads[1], acc, floors)
        self.assertTrue(next(r for r in wrows if r[0] == "b")[3].startswith("123 ms"))


class NoRatioFromOneRun(unittest.TestCase):
    def test_switches_and_memory_side_by_side(self):
        w = fx.workload(194)
        s = markdown.thread_cost_sentence(w)[0]
        self.assertNotRegex(s, r"[\d.]+× as (many|much)")
        self.assertIn("one traced run each", s)
        self.assertRegex(s, r"\d+ against \d+ context switches")


class OneBasePerColumn(unittest.TestCase):
    def test_nodelay_columns_name_their_base(self):
        run = fx.bench_run()
        floors = phases.floors(run)
        acc = {w.name: phases.accounts(run, w, floors) for w in run.workloads}
        md, words = markdown.nodelay_section(run, acc)
        table = "\n".join(md)
        self.assertIn("whole process wall ms", table)
        self.assertIn("downloads wall ms", table)
        self.assertIn("downloads CPU ms", table)
        self.assertIn("CPU ÷ downloads wall", table)
        # b's downloads: 12 ms of CPU in 16 ms of wall, not "one core at 100%".
        row = next(l for l in table.splitlines() if l.startswith("| b |"))
        self.assertIn("| 75% |", row)
        self.assertIn("opening 194 connections where a opened 1", words)

    def test_nodelay_words_follow_the_figures(self):
        run = fx.bench_run()
        _, words = markdown.nodelay_section(run)
        self.assertIn("slower, not faster", words)
        # The others faster with no delay (two cores, a busy machine): the
        # report must not say overlapping does not make the work shorter.
        for b in "bcd":
            run.process_walls[("nodelay", "all194", b)] = [0.009] * 5
        _, words = markdown.nodelay_section(run)
        self.assertNotIn("does not make shorter", words)
        self.assertIn("side by side", words)
        self.assertRegex(words, r"against \d+–\d+× with the delay")

    def test_same_work_is_not_claimed_when_the_cpu_differs(self):
        w = fx.workload(194)
        run = fx.bench_run()
        floors = phases.floors(run)
        acc = phases.accounts(run, w, floors)
        s = markdown.cpu_sentence(w, acc)[0]
        self.assertNotIn("did about the same work", s)
        self.assertIn("did not do the same work", s)
        self.assertRegex(s, r"opened 194 connections and a 1")


class Causes(unittest.TestCase):
    def setUp(self):
        self.run = fx.bench_run()
        self.w = self.run.workloads[1]
        self.floors = phases.floors(self.run)
        self.acc = phases.accounts(self.run, self.w, self.floors)

    def test_the_speedup_is_overlapping_the_waits(self):
        c = counts(self.w)
        s = " ".join(syscalls.attribution(self.w, [self.w.get("c"), self.w.get("d")], c))
        self.assertNotIn("event loop itself", s)
        self.assertIn("overlapping the waits", s)
        self.assertRegex(s, r"b, with 195 threads and no event loop, reaches \d+×")

    def test_threads_are_started_not_connections_opened(self):
        words = phases.transfers_words(self.acc["b"])
        self.assertIn("starting 195 threads", words)
        self.assertNotIn("connections on 195 threads", words)

    def test_start_and_exit_beyond_the_floor_apart(self):
        header, rows, _ = markdown.why_table(self.w, self.acc, self.floors)
        self.assertIn("start beyond floor", header)
        self.assertIn("exit beyond floor", header)
        _, md, _, _ = fx.report(self.run)
        self.assertNotIn("winding down a bigger run", md)

    def test_waiting_is_labelled_configured(self):
        _, rows = markdown.phase_table(self.w, self.acc)
        self.assertIn("(configured: 194 × 0.1 s)", rows[0][4])
        self.assertIn("configured", phases.PHASE_WORDS["waiting"])


if __name__ == "__main__":
    unittest.main()
