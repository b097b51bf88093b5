#!/usr/bin/env python3
"""The phase account (scripts/flagreport/phases.py) on traces made up here:
its parts follow the critical path and add up to the wall time they came from."""
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))

from flagreport import phases  # noqa: E402

DELAY = 0.1  # s


def row(thread, started, connected, done, saved):
    """A trace row in µs, as csv.DictReader gives it."""
    return {"thread": str(thread), "started_us": str(started), "connected_us": str(connected),
            "first_byte_us": str(connected + 100000), "done_us": str(done), "saved_us": str(saved)}


class PhaseAccount(unittest.TestCase):
    def test_one_at_a_time_is_every_request(self):
        # Three requests in a row: 1 ms connect (first only), 0.1 s wait, 2 ms
        # receiving, 1 ms saving, 0.5 ms between one and the next.
        rows, t = [], 0
        for i in range(3):
            c = t + (1000 if i == 0 else 0)
            rows.append(row(7, t, c, c + 102000, c + 103000))
            t = c + 103500
        floor = phases.Floor(start_s=0.005, exit_s=0.002, runs=5)
        wall_s = (t - 500) / 1e6
        measured = 0.005 + wall_s + 0.002
        a = phases.account("one", rows, wall_s, -5000, DELAY, 1, measured, floor)
        self.assertEqual(a.chain, 3)
        self.assertAlmostEqual(a.parts["waiting"], 3 * DELAY, places=6)
        self.assertAlmostEqual(a.parts["receiving"], 3 * 0.002, places=6)
        self.assertAlmostEqual(a.parts["saving"], 3 * 0.001, places=6)
        self.assertAlmostEqual(a.parts["transfers"], 0.001 + 2 * 0.0005, places=6)
        self.assertAlmostEqual(a.parts["process"], 0.005, places=6)
        self.assertAlmostEqual(a.total, measured, places=6)
        self.assertTrue(a.adds_up())

    def test_concurrent_column_is_one_wait(self):
        # Ten requests started 1 ms apart on one thread, all waiting at once;
        # the last saved 4 ms after the last response.
        rows = [row(9, 1000 * i, 1000 * i + 500, 1000 * i + 103000, 1000 * i + 104000)
                for i in range(10)]
        rows[0]["saved_us"] = str(9000 + 103000 + 4000)
        wall_s = (9000 + 103000 + 4000) / 1e6
        a = phases.account("loop", rows, wall_s, -3000, DELAY, 1, None, None)
        self.assertEqual(a.chain, 1)
        self.assertAlmostEqual(a.parts["waiting"], DELAY, places=6)
        self.assertAlmostEqual(a.parts["transfers"], 0.0095, places=6)
        self.assertAlmostEqual(a.parts["receiving"], 0.0025, places=6)
        self.assertAlmostEqual(a.parts["saving"], 0.004, places=6)
        self.assertEqual(a.connections, 10)
        self.assertAlmostEqual(a.last_start, 0.009, places=6)

    def test_rounds_chain_through_the_thread_that_freed_a_slot(self):
        # Two in flight, four requests: each slot runs two in a row.
        rows = [row(1, 0, 100, 101000, 101500), row(1, 200, 300, 101200, 101600),
                row(1, 101000, 101000, 202000, 202500), row(1, 101200, 101200, 202300, 202600)]
        a = phases.account("loop", rows, 0.2026, -2000, DELAY, 1, None, None)
        self.assertEqual(a.chain, 2)
        self.assertAlmostEqual(a.parts["waiting"], 2 * DELAY, places=6)

    def test_a_sum_off_by_more_than_5_percent_is_said(self):
        rows = [row(1, 0, 100, 101000, 101500)]
        a = phases.account("x", rows, 0.1015, -2000, DELAY, 1, 0.2,
                           phases.Floor(start_s=0.002, exit_s=0.001, runs=1))
        self.assertFalse(a.adds_up())
        self.assertIn("not accounted for", phases.sentence(a))

    def test_tls_handshake_is_a_part_of_its_own(self):
        # One request over HTTPS: 0.5 ms TCP connect, a 3 ms handshake, then
        # the delay and 2 ms receiving; the handshake is neither.
        r = row(1, 0, 500, 500 + 3000 + 102000, 500 + 3000 + 102500)
        r["handshake_us"] = "3000"
        a = phases.account("tls", [r], 0.106, -2000, DELAY, 1, None, None)
        self.assertAlmostEqual(a.parts["handshake"], 0.003, places=6)
        self.assertAlmostEqual(a.parts["transfers"], 0.0005, places=6)
        self.assertAlmostEqual(a.parts["waiting"], DELAY, places=6)
        self.assertAlmostEqual(a.parts["receiving"], 0.002, places=6)
        self.assertIn("3.0 ms in TLS handshakes", phases.sentence(a))
        # Over HTTP (handshake_us -1) there is no such part in the sentence.
        r["handshake_us"] = "-1"
        a = phases.account("http", [r], 0.106, -2000, DELAY, 1, None, None)
        self.assertEqual(a.parts["handshake"], 0.0)
        self.assertNotIn("handshake", phases.sentence(a))

    def test_floor_and_ideal(self):
        f = phases.floor_from([0.110, 0.112, 0.150], [0.1005, 0.1010, 0.1400], [0.005, 0.006, 0.007])
        self.assertEqual(f.runs, 3)
        self.assertAlmostEqual(f.start_s, 0.006, places=6)
        self.assertAlmostEqual(f.exit_s, 0.0045, places=6)
        self.assertAlmostEqual(phases.ideal_wall(194, 64, DELAY, f), 4 * DELAY + f.total_s, places=6)
        self.assertIsNone(phases.floor_from([], [], []))

    def test_nothing_finished_gives_no_account(self):
        self.assertIsNone(phases.account("x", [row(1, -1, -1, -1, -1)], 0.1, 0, DELAY, 1))


if __name__ == "__main__":
    unittest.main()
