"""Reading HTTP answers off raw sockets, for the python3 snippets of
tests/server_test.sh (which puts this folder on PYTHONPATH). Over TLS
(FLAGBENCH_TEST_CA names the certificate to trust) connect() makes the
handshake, and the snippets run unchanged."""

import os
import socket
import ssl


def connect(port, host="127.0.0.1", timeout=None):
    """A connection to the server: TLS when FLAGBENCH_TEST_CA is set."""
    sock = socket.create_connection((host, port), timeout=timeout)
    ca = os.environ.get("FLAGBENCH_TEST_CA")
    if not ca:
        return sock
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx.wrap_socket(sock, server_hostname=host)


def half_close(sock):
    """Shut the write side, keeping TLS for what is still to be read
    (SSLSocket.shutdown would drop it)."""
    socket.socket.shutdown(sock, socket.SHUT_WR)


def read_until(sock, end=None, timeout=30):
    """What sock sends until it closes, or until what came ends with end."""
    sock.settimeout(timeout)
    data = b""
    while end is None or not data.endswith(end):
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data
