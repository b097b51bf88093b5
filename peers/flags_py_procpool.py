#!/usr/bin/python3
"""flags_py_procpool.py — the book's answer for CPU work in Python: the
asyncio client (one thread, one httpx.AsyncClient, at most -m requests in
flight) hands each body's --work to a ProcessPoolExecutor of -j worker
processes with loop.run_in_executor, so the work runs on every core while
the loop goes on downloading; the GIL holds the other peers' work to one
core at a time. The body travels to a worker and the figures back (pickled);
the save runs off the loop with asyncio.to_thread, as in flags_py_asyncio."""
import argparse
import asyncio
import os
import ssl
from concurrent.futures import ProcessPoolExecutor

import httpx

import flagpeer


def add_jobs(p):
    """-j N: the worker processes (default: the CPUs this process may run on)."""
    def jobs(v):
        if not v.isdigit() or not 1 <= int(v) <= 1024:
            raise argparse.ArgumentTypeError(f"needs a number from 1 to 1024, not '{v}'")
        return int(v)
    p.add_argument("-j", "--jobs", type=jobs, default=len(os.sched_getaffinity(0)), metavar="N",
                   help="worker processes for the --work (default: the CPUs this process may "
                        "run on, here %(default)s)")


async def download_one(client, semaphore, pool, dl, k):
    async with semaphore:
        try:
            r = await client.get(dl.url)
        except (httpx.HTTPError, ssl.SSLError) as e:  # httpx lets a refused certificate through
            return flagpeer.complete(dl, None, error=f"{type(e).__name__}: {e}")
    work_s, error = None, None
    if k and r.status_code == 200:
        loop = asyncio.get_running_loop()
        work_s, error = await loop.run_in_executor(pool, flagpeer.work, dl, r.status_code,
                                                   r.content, k)
    return await asyncio.to_thread(flagpeer.complete, dl, r.status_code, r.content, error, work_s)


async def supervisor(args, tally):
    semaphore = asyncio.Semaphore(args.max_req)
    limits = httpx.Limits(max_connections=args.max_req, max_keepalive_connections=args.max_req)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        async with httpx.AsyncClient(timeout=args.timeout, limits=limits, trust_env=False,
                                     verify=args.ssl_context) as client:
            tasks = [download_one(client, semaphore, pool, dl, args.work)
                     for dl in args.downloads]
            for coro in asyncio.as_completed(tasks):
                tally.count(await coro, args.verbose)


if __name__ == "__main__":
    flagpeer.client_main("flags_py_procpool",
                         "Download flags on an asyncio event loop, with the --work on a "
                         "ProcessPoolExecutor of -j N processes (Python, httpx).", 20,
                         lambda args, tally: asyncio.run(supervisor(args, tally)), add_jobs)
