#!/usr/bin/python3
"""flags_py_executor.py — a concurrent.futures.ThreadPoolExecutor of -m
threads, each doing one blocking httpx request at a time and saving the flag,
in the shape of the book's executor script. One httpx.Client is shared (it is
thread-safe) with a pool of -m keep-alive connections, so no thread waits for
a connection."""
from concurrent.futures import ThreadPoolExecutor, as_completed

import ssl

import httpx

import flagpeer


def download_one(client, dl):
    """One flag on a worker thread: get it and save it, as the book does."""
    try:
        r = client.get(dl.url)
    except (httpx.HTTPError, ssl.SSLError) as e:  # httpx lets a refused certificate through
        return flagpeer.complete(dl, None, error=f"{type(e).__name__}: {e}")
    return flagpeer.complete(dl, r.status_code, r.content)


def download_many(args, tally):
    limits = httpx.Limits(max_connections=args.max_req, max_keepalive_connections=args.max_req)
    with httpx.Client(timeout=args.timeout, limits=limits, trust_env=False,
                      verify=args.ssl_context) as client, \
            ThreadPoolExecutor(max_workers=args.max_req) as pool:
        futures = [pool.submit(download_one, client, dl) for dl in args.downloads]
        try:
            for fut in as_completed(futures):
                tally.count(fut.result(), args.verbose)
        except KeyboardInterrupt:
            # Don't start the flags still queued; those in flight finish
            # (their saves are atomic), then the interrupt goes on.
            pool.shutdown(wait=True, cancel_futures=True)
            raise


if __name__ == "__main__":
    flagpeer.client_main("flags_py_executor",
                         "Download flags on a pool of threads (Python, httpx).", 20, download_many)
