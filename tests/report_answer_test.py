#!/usr/bin/env python3
"""The report's first screen and its one ideal (issue 21, findings 1 and 7),
on made-up figures (report_fixture.py): the answer comes first, in at most
six lines, before any table, with the book's figures and the book's script
on each row; the ideal is defined once."""
import re
import unittest

import report_fixture as fx
from flagreport import answer, markdown, model


class FirstScreen(unittest.TestCase):
    def setUp(self):
        self.text, self.md, self.acc, self.floors = fx.report()
        self.lines = self.md.splitlines()

    def test_the_answer_comes_first_in_six_lines_before_any_table(self):
        first_table = next(i for i, l in enumerate(self.lines) if l.startswith("|"))
        block = []
        for l in self.lines:
            if not l.strip():
                break
            block.append(l)
        self.assertLessEqual(len(block), 6)
        self.assertLess(len(block), first_table)
        self.assertTrue(block[0].startswith("# ") and block[0].endswith("?"), block[0])
        # No terms paragraph before the answer (the old first screen).
        self.assertNotIn("Terms", "\n".join(block))

    def test_the_answer_gives_speedups_with_intervals_per_workload(self):
        head = "\n".join(self.lines[:6])
        for w in ("pop20", "all194"):
            line = next(l for l in self.lines[:6] if f"**{w}**" in l)
            self.assertRegex(line, r"\d+(\.\d)?× \(\d+(\.\d)?–\d+(\.\d)?\)")
        self.assertIn("overlapping the waits", head)
        self.assertIn("**Limit**", head)
        self.assertIn("no server delay", head)

    def test_the_books_figures_beside_ours(self):
        head = "\n".join(self.lines[:6])
        for s in ("7.18 s", "1.40 s", "1.35 s", "flags.py", "flags_asyncio.py"):
            self.assertIn(s, head)

    def test_rows_carry_the_book_script(self):
        row = next(l for l in self.lines if l.startswith("| d |"))
        self.assertIn("flags_asyncio.py", row)
        row = next(l for l in self.lines if l.startswith("| c |"))
        self.assertIn("| – |", row)

    def test_a_limit_hook_adds_its_clause(self):
        answer.LIMIT_HOOKS.append(lambda run: "HTTPS: the handshakes cost 3 ms")
        try:
            _, md, _, _ = fx.report()
        finally:
            answer.LIMIT_HOOKS.pop()
        head = md.splitlines()[:6]
        self.assertTrue(any("HTTPS: the handshakes cost 3 ms" in l for l in head))

    def test_a_section_hook_adds_its_section(self):
        markdown.SECTION_HOOKS.append(lambda run, acc, fl: (["## HTTPS\n", "made up"], ["HTTPS"]))
        try:
            text, md, _, _ = fx.report()
        finally:
            markdown.SECTION_HOOKS.pop()
        self.assertIn("## HTTPS\n\nmade up", md)
        self.assertIn("HTTPS", text)

    def test_per_back_end_sentences_became_tables(self):
        # The old report had one "X kept N requests in flight … of an ideal"
        # sentence and one "Of X's …" phase sentence per back end.
        self.assertNotRegex(self.md, r"kept [\d.]+ requests in flight on average")
        self.assertNotRegex(self.md, r"(?m)^- Of \w+'s ")
        self.assertNotRegex(self.md, r"(?m)^Why \w+ is not ")


class OneIdeal(unittest.TestCase):
    def test_the_ideal_is_defined_once(self):
        _, md, _, _ = fx.report()
        self.assertEqual(md.count(model.IDEAL_WORDS), 1)
        # The old per-row definition, repeated with only the figures changed:
        self.assertNotIn("ideal walls:", md)

    def test_one_definition_with_and_without_floors(self):
        self.assertAlmostEqual(model.ideal_speedup(20, 20), 20.0)
        self.assertAlmostEqual(model.ideal_speedup(194, 64), 194 / 4)
        with_floor = model.ideal_speedup(20, 20, 0.1, 0.005, 0.005)
        self.assertAlmostEqual(with_floor, 2.005 / 0.105)
        w = fx.workload(20)
        floors = {b: fx.phases.Floor(0.004, 0.001, 3) for b in "abcd"}
        self.assertAlmostEqual(markdown.ideal_speedup_of(w, w.entries[3], floors), with_floor)


if __name__ == "__main__":
    unittest.main()
