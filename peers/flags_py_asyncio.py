#!/usr/bin/python3
"""flags_py_asyncio.py — one thread, an asyncio event loop and one
httpx.AsyncClient, at most -m requests in flight (an asyncio.Semaphore), in
the shape of the book's asyncio scripts: the body is saved off the loop with
asyncio.to_thread, as the book's later version does."""
import asyncio

import ssl

import httpx

import flagpeer


async def download_one(client, semaphore, dl):
    async with semaphore:
        try:
            r = await client.get(dl.url)
        except (httpx.HTTPError, ssl.SSLError) as e:  # httpx lets a refused certificate through
            return flagpeer.complete(dl, None, error=f"{type(e).__name__}: {e}")
    return await asyncio.to_thread(flagpeer.complete, dl, r.status_code, r.content)


async def supervisor(args, tally):
    semaphore = asyncio.Semaphore(args.max_req)
    limits = httpx.Limits(max_connections=args.max_req, max_keepalive_connections=args.max_req)
    async with httpx.AsyncClient(timeout=args.timeout, limits=limits, trust_env=False,
                                 verify=args.ssl_context) as client:
        tasks = [download_one(client, semaphore, dl) for dl in args.downloads]
        for coro in asyncio.as_completed(tasks):
            tally.count(await coro, args.verbose)


if __name__ == "__main__":
    flagpeer.client_main("flags_py_asyncio",
                         "Download flags on an asyncio event loop (Python, httpx).", 20,
                         lambda args, tally: asyncio.run(supervisor(args, tally)))
