#!/usr/bin/python3
"""flags_py_serial.py — one request after another on one httpx.Client, in
the shape of the book's first script, flags.py. The client keeps its
connection alive from flag to flag, as the C baseline does; -m is accepted,
as by the C baseline, and has no effect."""
import ssl

import httpx

import flagpeer


def download_many(args, tally):
    args.max_req = 1
    with httpx.Client(timeout=args.timeout, trust_env=False, verify=args.ssl_context) as client:
        for dl in args.downloads:
            try:
                r = client.get(dl.url)
            except (httpx.HTTPError, ssl.SSLError) as e:  # httpx lets a refused certificate through
                result = flagpeer.complete(dl, None, error=f"{type(e).__name__}: {e}")
            else:
                result = flagpeer.complete(dl, r.status_code, r.content)
            tally.count(result, args.verbose)


if __name__ == "__main__":
    flagpeer.client_main("flags_py_serial", "Download flags one at a time (Python, httpx).", 1,
                         download_many)
