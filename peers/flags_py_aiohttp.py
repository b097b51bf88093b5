#!/usr/bin/python3
"""flags_py_aiohttp.py — the asyncio client with aiohttp in place of httpx:
the same event loop and semaphore, a different HTTP library, to tell what is
the loop's cost and what the library's. Saves go through asyncio.to_thread."""
import asyncio

import aiohttp

import flagpeer


async def download_one(session, semaphore, dl):
    async with semaphore:
        try:
            async with session.get(dl.url) as r:
                status, body = r.status, await r.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            return flagpeer.complete(dl, None, error=f"{type(e).__name__}: {e}")
    return await asyncio.to_thread(flagpeer.complete, dl, status, body)


async def supervisor(args, tally):
    semaphore = asyncio.Semaphore(args.max_req)
    connector = aiohttp.TCPConnector(limit=args.max_req, ssl=args.ssl_context)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = [download_one(session, semaphore, dl) for dl in args.downloads]
        for coro in asyncio.as_completed(tasks):
            tally.count(await coro, args.verbose)


if __name__ == "__main__":
    flagpeer.client_main("flags_py_aiohttp",
                         "Download flags on an asyncio event loop (Python, aiohttp).", 20,
                         lambda args, tally: asyncio.run(supervisor(args, tally)))
