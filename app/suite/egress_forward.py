"""Inside the sandbox, as the job's user: 127.0.0.1:PORT joined to the service's egress proxy.

The sandbox's network namespace has only loopback; the service's proxy (egress.py) listens on a
unix socket that the sandbox shows read-only. This forwarder listens where HTTP_PROXY points and
joins each connection to that socket. The sandbox starts it before the command; it returns once
the port is open (its child goes on serving), so the command finds the proxy ready, and it dies
with the sandbox's other processes when the command ends.

Standard library only: it runs with whichever interpreter the check uses, never imports the app.
Usage: python egress_forward.py PORT SOCKET_PATH
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading

_CHUNK = 65536


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(_CHUNK):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _serve(client: socket.socket, path: str) -> None:
    with client, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as upstream:
        try:
            upstream.connect(path)
        except OSError:
            return
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join()


def main(argv: list[str]) -> int:
    port, path = int(argv[1]), argv[2]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    if os.fork() > 0:
        return 0  # the port is open: the command may start
    # Not holding the command's output pipe open: the run ends when the command does.
    devnull = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1, 2):
        os.dup2(devnull, descriptor)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_serve, args=(client, path), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
