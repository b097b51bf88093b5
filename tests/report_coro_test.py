#!/usr/bin/env python3
"""The coroutine section's quotes (scripts/flagreport/coro.py): every function
the three shapes name is found in this tree and quoted whole, with the
comment just above it; a made-up file shows the edges (a comment that does
not touch the function, a name that is a prefix of another, a missing
function). No timing."""
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from flagreport import coro  # noqa: E402
from flagreport.model import ReportError  # noqa: E402

SAMPLE = """\
/* Not about f: a blank line follows. */

static int fetch_all(void) {
    return 0;
}

/* One flag:
 * two lines of comment. */
static struct transfer *fetch(size_t i) {
    if (i) {
        return NULL;
    }
    return NULL;
}
"""


class Quotes(unittest.TestCase):
    def test_every_shape_is_in_the_tree(self):
        for _, rel, names in coro.SHAPES:
            for name in names:
                q = coro.extract_function(os.path.join(ROOT, rel), name)
                self.assertIn(f"{name}(", q.split("{")[0], f"{rel}: {name}")
                self.assertTrue(q.endswith("\n}"), f"{rel}: {name} not whole")
        md = "\n".join(coro.shapes_md(ROOT))
        self.assertEqual(md.count("```c"), len(coro.SHAPES))
        self.assertIn("coro_sem_acquire(&semaphore)", md)

    def test_edges(self):
        with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as f:
            f.write(SAMPLE)
        try:
            q = coro.extract_function(f.name, "fetch")
            self.assertTrue(q.startswith("/* One flag:\n"), q)
            self.assertTrue(q.endswith("    return NULL;\n}"), q)
            self.assertNotIn("fetch_all", q)
            q = coro.extract_function(f.name, "fetch_all")
            self.assertTrue(q.startswith("static int fetch_all"), q)  # the comment is apart
            with self.assertRaises(ReportError):
                coro.extract_function(f.name, "save")
            with self.assertRaises(ReportError):
                coro.extract_function(f.name + ".missing", "fetch")
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
