#!/usr/bin/python3
"""flags_py_serial.py — one request after another on one httpx.Client, in
the shape of the book's first, sequential script. The client keeps its
connection alive from flag to flag, as the C baseline does."""
import time

import httpx

import flagpeer

PROG = "flags_py_serial"


def main():
    args = flagpeer.parse_args(PROG, "Download flags one at a time (Python, httpx).", 1)
    args.max_req = 1  # -m is accepted, as by the C baseline, and has no effect
    flagpeer.prepare_dest(args, PROG)
    tally = flagpeer.Tally()
    t0 = time.perf_counter()
    with httpx.Client(timeout=args.timeout, trust_env=False) as client:
        for dl in args.downloads:
            try:
                r = client.get(dl.url)
            except httpx.HTTPError as e:
                tally.count(flagpeer.complete(dl, None, error=f"{type(e).__name__}: {e}"),
                            args.verbose)
                continue
            tally.count(flagpeer.complete(dl, r.status_code, r.content), args.verbose)
    return flagpeer.finish(PROG, args, tally, time.perf_counter() - t0)


if __name__ == "__main__":
    flagpeer.run(PROG, main)
