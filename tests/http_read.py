"""Reading HTTP answers off raw sockets, for the python3 snippets of
tests/server_test.sh (which puts this folder on PYTHONPATH)."""


def read_until(sock, end=None, timeout=30):
    """What sock sends until it closes, or until what came ends with end."""
    sock.settimeout(timeout)
    data = b""
    while end is None or not data.endswith(end):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data
