#!/usr/bin/python3
"""flagpeer.py — what the Python peer clients share: the flag codes, the
command line (the C clients' contract, as far as it makes sense here), the
list of downloads, saving a file atomically, and the tally that decides the
exit status.

The clients themselves (flags_py_*.py beside this file) only decide *when*
each download runs: one after another, on a ThreadPoolExecutor, or on an
asyncio event loop. They are written for flagbench in the shape of the
Fluent Python examples, so that the book's own measurements (its "5x") can be
set next to the C back ends on the same server.

Debian 12 packages only: python3-httpx, python3-aiohttp (make deps).
"""
import argparse
import os
import re
import signal
import ssl
import sys
import tempfile
import time
from dataclasses import dataclass, field

# The codes come from the project's one list: common/countries.def (the 194
# countries the flagserver knows, sorted) and common/codes.c's POP20.
COMMON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common")


def _read_common(name):
    path = os.path.join(COMMON, name)
    try:
        with open(path) as f:
            return path, f.read()
    except OSError as e:
        sys.exit(f"flagpeer: error: can't read the country codes from {path}: {e.strerror}")


def _all_codes():
    """The iso codes of countries.def's COUNTRY("XX", ...) lines."""
    path, src = _read_common("countries.def")
    codes = re.findall(r'^COUNTRY\("([A-Z]{2})"', src, re.M)
    if not codes:
        sys.exit(f"flagpeer: error: no COUNTRY(\"XX\", ...) lines in {path}")
    return codes


def _pop20():
    """The two-letter strings of codes.c's pop20_codes array."""
    path, src = _read_common("codes.c")
    m = re.search(r"\bpop20_codes\[[^]]*\]\s*=\s*\{(.*?)\};", src, re.S)
    codes = re.findall(r'"([A-Z]{2})"', m.group(1)) if m else []
    if len(codes) != 20:
        sys.exit(f"flagpeer: error: no array pop20_codes of 20 codes in {path}")
    return codes


ALL_CODES = _all_codes()
POP20 = _pop20()

SERVERS = {
    "LOCAL": "http://127.0.0.1:8000/flags",
    "DELAY": "http://127.0.0.1:8001/flags",
    "ERROR": "http://127.0.0.1:8002/flags",
}
REQUESTS_LIMIT = 1_000_000  # as the C clients

# Exit statuses, as the C clients'.
EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_DEST, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


@dataclass
class Download:
    """One request: a code, which pass of --repeat, its URL and file."""
    code: str
    repeat: int
    url: str
    path: str


@dataclass
class Tally:
    ok: int = 0
    not_found: int = 0
    errors: list = field(default_factory=list)  # (code, reason)

    def count(self, result, verbose=False):
        """Count one result of complete(); on one thread only."""
        dl, outcome, reason = result
        if outcome == "ok":
            self.ok += 1
        elif outcome == "not_found":
            self.not_found += 1
        else:
            self.errors.append((dl.code, reason))
        if verbose:  # as the C clients' -v, on stderr
            words = {"ok": "OK", "not_found": "not found"}.get(outcome, f"error: {reason}")
            print(f"{dl.code} {words}", file=sys.stderr, flush=True)

    def exit_status(self):
        return EXIT_ERRORS if self.errors else EXIT_OK


def parse_args(prog, description, default_max_req):
    p = argparse.ArgumentParser(
        prog=prog, description=description,
        epilog="Exit status: 0 all flags ok or not found, 1 some errors, 2 usage error, "
               "3 destination not writable (nothing requested), 130 interrupted.")
    p.add_argument("codes", nargs="*", metavar="CC",
                   help="country codes, or one letter for the 26 codes starting with it "
                        "(B = BA..BZ); default: the 20 most populous")
    p.add_argument("-a", "--all", action="store_true", help="all 194 flags the server has")
    p.add_argument("-l", "--limit", type=int, default=0, metavar="N",
                   help="only the first N codes, after sorting")
    p.add_argument("-m", "--max-req", type=int, default=default_max_req, metavar="N",
                   help=f"most requests in flight (default {default_max_req})")
    p.add_argument("-s", "--server", default="LOCAL", metavar="SERVER",
                   help="LOCAL, DELAY, ERROR (ports 8000-8002 of 127.0.0.1) or a base URL, "
                        "http:// or https:// (default LOCAL)")
    p.add_argument("--cacert", metavar="FILE",
                   help="over HTTPS, trust the certificates (PEM) in FILE instead of the "
                        "system's store; the server's certificate is always verified")
    p.add_argument("-d", "--dest", default="downloaded", metavar="DIR",
                   help="where flags are saved, created if missing (default downloaded/)")
    p.add_argument("--repeat", type=int, default=1, metavar="K",
                   help="request every code K times; files cc-1.gif... after the first")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S",
                   help="give up on a request after S seconds (default 10)")
    p.add_argument("-v", "--verbose", action="store_true", help="a line per flag")
    p.add_argument("-q", "--quiet", action="store_true", help="no final report")
    a = p.parse_args()
    if a.max_req < 1:
        p.error(f"--max-req needs a number from 1, not {a.max_req}")
    if a.limit < 0:
        p.error(f"--limit needs a number from 0, not {a.limit}")
    if not 1 <= a.repeat <= 100_000:
        p.error(f"--repeat needs a number from 1 to 100000, not {a.repeat}")
    if a.timeout <= 0:
        p.error(f"--timeout needs seconds above 0, not {a.timeout}")
    if a.all and a.codes:
        p.error("-a takes no country codes")
    a.server = SERVERS.get(a.server.upper(), a.server).rstrip("/")
    if not a.server.startswith(("http://", "https://")):
        p.error(f"--server needs LOCAL, DELAY, ERROR or an http(s):// URL, not '{a.server}'")
    try:
        a.ssl_context = tls_context(a.cacert)
    except (OSError, ssl.SSLError) as e:
        p.error(f"--cacert '{a.cacert}' can't be used: {getattr(e, 'strerror', None) or e}")
    try:
        codes = expand_codes(a.codes, a.all, a.limit)
    except ValueError as e:
        p.error(str(e))
    if len(codes) * a.repeat > REQUESTS_LIMIT:
        p.error(f"{len(codes)} codes x --repeat {a.repeat} is over {REQUESTS_LIMIT} requests")
    a.downloads = plan(codes, a.repeat, a.server, a.dest)
    a.max_req = min(a.max_req, max(1, len(a.downloads)))
    return a


def tls_context(cacert):
    """The verifying TLS context every client uses over HTTPS: the
    certificate and the host name are checked, against cacert alone when
    given (as curl's --cacert), else the system's store."""
    return ssl.create_default_context(cafile=cacert)


def expand_codes(args, all_codes, limit):
    """The book's rules: -a = the 194 codes, no args = POP20, a letter = the
    26 codes starting with it; sorted, unique, cut to limit (0 = none)."""
    if all_codes:
        wanted = set(ALL_CODES)
    elif not args:
        wanted = set(POP20)
    else:
        wanted = set()
        for arg in args:
            if not (1 <= len(arg) <= 2 and arg.isascii() and arg.isalpha()):
                raise ValueError(f"'{arg}' is not a country code or a letter")
            arg = arg.upper()
            if len(arg) == 1:
                wanted.update(arg + chr(c) for c in range(ord("A"), ord("Z") + 1))
            else:
                wanted.add(arg)
    codes = sorted(wanted)
    return codes[:limit] if limit else codes


def plan(codes, repeat, server, dest):
    """Every code, then every code again (--repeat), as the C clients order them."""
    out = []
    for k in range(repeat):
        for cc in codes:
            lc = cc.lower()
            name = f"{lc}-{k}.gif" if k else f"{lc}.gif"
            out.append(Download(cc, k, f"{server}/{lc}/{lc}.gif", os.path.join(dest, name)))
    return out


def prepare_dest(args, prog):
    """Create the destination, or exit 3 before anything is requested."""
    try:
        os.makedirs(args.dest, exist_ok=True)
        if not os.access(args.dest, os.W_OK | os.X_OK):
            raise PermissionError(f"'{args.dest}' is not writable")
    except OSError as e:
        print(f"{prog}: error: destination {args.dest}: {e.strerror or e}", file=sys.stderr)
        sys.exit(EXIT_DEST)


def save(path, body):
    """Write body to path atomically: a temporary file in the same directory,
    then rename, so a reader never sees half a flag."""
    d, base = os.path.split(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=d or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def complete(dl, status, body=None, error=None):
    """Finish one request where it ran: 200 = save the body; returns
    (dl, outcome, reason) with outcome "ok", "not_found" (404: not an error,
    as in the book) or "error"."""
    if error is None and status == 200:
        try:
            save(dl.path, body)
        except OSError as e:
            error = f"save {dl.path}: {e.strerror}"
        else:
            return dl, "ok", None
    if error is None and status == 404:
        return dl, "not_found", None
    return dl, "error", error or f"HTTP {status}"


def finish(prog, args, tally, seconds):
    """The C clients' (and the book's) closing report; the exit status."""
    if not args.quiet:
        n_err = len(tally.errors)
        print("--------------------")
        print(f"{tally.ok:3d} flag{'' if tally.ok == 1 else 's'} downloaded.")
        if tally.not_found:
            print(f"{tally.not_found:3d} not found.")
        if n_err:
            print(f"{n_err:3d} error{'' if n_err == 1 else 's'}.")
        print(f"Elapsed time: {seconds:.2f}s")
    for code, reason in [] if args.verbose else tally.errors[:5]:
        print(f"{prog}: {code}: {reason}", file=sys.stderr)
    if len(tally.errors) > 5 and not args.verbose:
        print(f"{prog}: ... and {len(tally.errors) - 5} more errors", file=sys.stderr)
    return tally.exit_status()


def run(prog, main):
    """Run main() -> exit status; SIGINT and SIGTERM end with 130."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)


def client_main(prog, description, default_max_req, download_many):
    """A client's whole program: parse the command line, make the
    destination, call download_many(args, tally) — the one part that
    differs from client to client — and report. Exits with the status."""
    def main():
        args = parse_args(prog, description, default_max_req)
        prepare_dest(args, prog)
        tally = Tally()
        t0 = time.perf_counter()
        download_many(args, tally)
        return finish(prog, args, tally, time.perf_counter() - t0)
    run(prog, main)


def print_plan():
    """flagpeer.py [client options]: print the downloads the options mean,
    one 'URL<TAB>file name' a line, so the tools' input files (curl's config,
    aria2c's and wget2's URL lists) fetch the very same flags in the same
    order as the clients, from this one list of codes."""
    args = parse_args("flagpeer.py", "Print the downloads the client options mean, "
                      "one 'URL<TAB>file name' a line.", 1)
    for dl in args.downloads:
        print(f"{dl.url}\t{os.path.basename(dl.path)}")
    return EXIT_OK


if __name__ == "__main__":
    run("flagpeer.py", print_plan)
