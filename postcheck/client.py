"""The `postcheck` entry point: hand the command to the data folder's warm worker, if one
runs, before anything heavy is imported; else run it in this process.

The worker (postcheck.worker) has already imported Prefect, the flows, the store and the
imaging stack; it forks a child per command that runs the normal CLI with this process's
argv, cwd and environment, on this process's own stdin/stdout/stderr, passed to it as
file descriptors (SCM_RIGHTS): output goes straight to the user's terminal or pipe, a
terminal stays a terminal (progress bars, colours), `--from -` reads the user's stdin.
This process waits for the exit status and exits with it, and forwards Ctrl-C (and
SIGTERM, SIGHUP) to the child.

Any failure to connect, a protocol error or a "stale" answer (the worker's code changed
on disk, or it belongs to another interpreter or data folder) runs the command in this
process, as without a worker. `POSTCHECK_WORKER=0` skips the worker for one command.

Stdlib only, and only these modules: this runs before every command.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys

SOCKET_NAME = "worker.sock"
# sun_path is 108 bytes on Linux (104 on macOS); a longer path is reached through a
# descriptor of its folder (Linux's /proc/self/fd), or not at all.
SUN_PATH_MAX = 100
HEADER = struct.Struct("!I")
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP")


def supported() -> bool:
    return (
        hasattr(socket, "AF_UNIX")
        and hasattr(socket, "send_fds")
        and hasattr(os, "fork")
        and os.environ.get("POSTCHECK_WORKER", "1") != "0"
    )


def socket_path(environ: os._Environ[str] | dict[str, str] = os.environ) -> str:
    """`<data dir>/prefect/worker.sock`, the data dir as postcheck.settings reads it."""
    data_dir = environ.get("POSTCHECK_DATA_DIR") or ".postcheck"
    path = os.path.join(os.path.abspath(data_dir), "prefect")
    return os.path.join(path, SOCKET_NAME)


def identity() -> dict[str, str]:
    """What must be the same in the worker: the interpreter and this package's folder."""
    return {
        "executable": os.path.realpath(sys.executable),
        "package": os.path.realpath(os.path.dirname(__file__)),
        "pythonpath": os.environ.get("PYTHONPATH", ""),
    }


def send(conn: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    body = json.dumps(message).encode()
    if fds:
        socket.send_fds(conn, [HEADER.pack(len(body))], fds)
        conn.sendall(body)
    else:
        conn.sendall(HEADER.pack(len(body)) + body)


def _exactly(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def receive(conn: socket.socket) -> dict:
    """One length-prefixed JSON message; EOFError when the other end closed."""
    (size,) = HEADER.unpack(_exactly(conn, HEADER.size))
    return json.loads(_exactly(conn, size))


def _connect(path: str) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    folder = None
    try:
        if len(path.encode()) > SUN_PATH_MAX:
            folder = os.open(os.path.dirname(path), os.O_RDONLY)
            path = f"/proc/self/fd/{folder}/{SOCKET_NAME}"
        conn.settimeout(5)
        conn.connect(path)
        return conn
    except OSError:
        conn.close()
        return None
    finally:
        if folder is not None:
            os.close(folder)


def run_in_worker(argv: list[str]) -> int | None:
    """The command's exit status from the worker, or None: run it in this process (no
    worker, an unusable one, or a stale answer; nothing was run then)."""
    if not supported():
        return None
    path = socket_path()
    if not os.path.exists(path):
        return None
    conn = _connect(path)
    if conn is None:
        return None
    child: list[int] = []  # the pid, once the worker said it
    pending: list[int] = []  # a Ctrl-C before that: forwarded as soon as it is known

    def forward(signum: int, _frame: object) -> None:
        if not child:
            pending.append(signum)
            return
        try:  # noqa: SIM105 - contextlib is one import more before every command
            os.kill(child[0], signum)
        except OSError:
            pass

    previous: dict[int, object] = {}
    with conn:
        try:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            request = {
                "argv": argv,
                "argv0": sys.argv[0],
                "cwd": os.getcwd(),
                "env": dict(os.environ),
                **identity(),
            }
            previous = _handle_signals(forward)
            send(conn, request, [0, 1, 2])
            answer = receive(conn)
        except (OSError, EOFError, ValueError):
            answer = {}  # nothing ran: the child is only forked once it all arrived
        if "pid" not in answer:  # "stale" (or anything else): in this process
            _restore_signals(previous)
            if pending:  # interrupted before anything ran
                if pending[0] != signal.SIGINT:
                    signal.raise_signal(pending[0])
                sys.stderr.write("interrupted\n")
                sys.exit(130)
            return None
        child.append(int(answer["pid"]))
        for signum in pending:
            forward(signum, None)
        conn.settimeout(None)
        try:
            while True:
                message = receive(conn)
                if "exit" in message:
                    return int(message["exit"])
        except (OSError, EOFError, ValueError):
            sys.stderr.write("error: the postcheck worker ended without an exit status\n")
            return 1


def _handle_signals(handler) -> dict[int, object]:
    previous = {}
    for name in FORWARDED:
        sig = getattr(signal, name, None)
        if sig is not None:
            previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_signals(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def main() -> None:
    """Console entry point (`postcheck`)."""
    code = run_in_worker(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from postcheck.cli import main as run_here

    run_here()
