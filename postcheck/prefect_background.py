"""The embedded default Prefect server: one local `prefect server start`, detached, with its
Prefect home (SQLite database, log) in the data folder, started by the first command that
runs a flow and reused by every later one.

A start costs 10-20 s; a reuse costs one health request. Prefect's own
`prefect server start --background` is not used: in Prefect 3.9 it pipes the server's
output to the command that started it, which exits, so the log is lost (and a full pipe
would block the server), and it records no port. This is the same server started the same
way, in a session of its own (it outlives the command and a terminal's Ctrl-C), its output
in `<data>/prefect/server.log`, its pid and port in `<data>/prefect/postcheck-server.json`.

Stdlib only (no httpx, no prefect import): `postcheck server status` stays instant.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from postcheck.errors import PostcheckError

STATE_FILE = "postcheck-server.json"
LOCK_FILE = "postcheck-server.lock"
LOG_FILE = "server.log"
# When the configured port is taken by something else, the next ones are tried.
PORTS_TRIED = 20


class ServerError(PostcheckError):
    """The background Prefect server could not be started or reached."""


@dataclass
class ServerStatus:
    home: Path
    running: bool
    pid: int | None = None
    port: int | None = None

    @property
    def api_url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}/api" if self.port else None

    @property
    def ui_url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}" if self.port else None

    @property
    def log(self) -> Path:
        return self.home / LOG_FILE


def server_command(port: int) -> list[str]:
    """`prefect server start` on 127.0.0.1 with this interpreter's Prefect."""
    return [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
            "--port", str(port)]  # fmt: skip


def server_env(home: Path, port: int, **extra: str) -> dict[str, str]:
    """The server's environment: its own PREFECT_HOME (hence SQLite database), offline."""
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)  # a server is not a client of another one
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            # The UI asks its own config where the API is: this port, not 4200.
            "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_SERVER_API_PORT": str(port),
            **extra,
        }
    )
    return env


def prefect_home(data_dir: Path) -> Path:
    return (Path(data_dir) / "prefect").resolve()


def healthy(port: int, timeout: float = 2.0) -> bool:
    """Prefect's API answers /api/health with 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/api/health")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, and not ours (see _is_prefect)
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _is_prefect(pid: int) -> bool:
    """A recycled pid belongs to some other program: only a prefect process is ours."""
    try:
        return b"prefect" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return alive(pid)  # no /proc (macOS): trust the pid


def _read_state(home: Path) -> tuple[int, int] | None:
    try:
        state = json.loads((home / STATE_FILE).read_text())
        return int(state["pid"]), int(state["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def status(data_dir: Path) -> ServerStatus:
    """Running means: the recorded process is alive, is Prefect, and its API answers."""
    home = prefect_home(data_dir)
    state = _read_state(home)
    if state is None:
        return ServerStatus(home, False)
    pid, port = state
    running = alive(pid) and _is_prefect(pid) and healthy(port)
    return ServerStatus(home, running, pid, port)


@contextlib.contextmanager
def _lock(home: Path) -> Iterator[None]:
    """Two commands started at once: the second waits here, then reuses the first's server."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / LOCK_FILE).open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _choose_port(wanted: int, notice: Callable[[str], None]) -> int:
    for port in range(wanted, wanted + PORTS_TRIED):
        if port_free(port):
            if port != wanted:
                notice(
                    f"port {wanted} is taken by another program; "
                    f"the background Prefect server uses {port}"
                )
            return port
    raise ServerError(
        f"ports {wanted}-{wanted + PORTS_TRIED - 1} are all taken; set POSTCHECK_PREFECT_PORT"
    )


def ensure(
    data_dir: Path,
    port: int = 4200,
    start_timeout: float = 90.0,
    notice: Callable[[str], None] = lambda _line: None,
) -> ServerStatus:
    """The running background server, started first if there is none (or only a stale pid
    file, or a server that died or stopped answering). `notice` gets one-line remarks."""
    home = prefect_home(data_dir)
    current = status(data_dir)
    if current.running:  # the common case, without waiting for the lock
        return current
    with _lock(home):
        current = status(data_dir)  # another command may have started it meanwhile
        if current.running:
            return current
        if current.pid is not None:
            if alive(current.pid) and _is_prefect(current.pid):
                notice(
                    f"the background Prefect server (pid {current.pid}) stopped answering; restarting it"
                )
                _terminate(current.pid)
            (home / STATE_FILE).unlink(missing_ok=True)
        return _start(home, _choose_port(port, notice), start_timeout, notice)


def _start(
    home: Path, port: int, start_timeout: float, notice: Callable[[str], None]
) -> ServerStatus:
    api_url = f"http://127.0.0.1:{port}/api"
    notice(f"starting the background Prefect server at http://127.0.0.1:{port} (once; 10-20 s)")
    env = server_env(home, port)
    # The server logs at its own levels, not at the quiet ones our CLI sets for itself.
    for key in ("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "PREFECT_LOGGING_HANDLERS_DEBUG_LEVEL"):
        env.pop(key, None)
    log = home / LOG_FILE
    with log.open("ab") as out:
        proc = subprocess.Popen(
            server_command(port),
            env=env,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session: it outlives this command
        )
    (home / STATE_FILE).write_text(json.dumps({"pid": proc.pid, "port": port, "api_url": api_url}))
    deadline = time.monotonic() + start_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            (home / STATE_FILE).unlink(missing_ok=True)
            raise ServerError(f"the background Prefect server exited while starting; see {log}")
        if healthy(port, timeout=1):
            return ServerStatus(home, True, proc.pid, port)
        time.sleep(0.2)
    _terminate(proc.pid)
    (home / STATE_FILE).unlink(missing_ok=True)
    raise ServerError(
        f"the background Prefect server did not answer within {start_timeout:.0f} s; see {log}"
    )


def _terminate(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM to its whole session (the server and anything it spawned), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.1)


def stop(data_dir: Path) -> tuple[ServerStatus, str]:
    """Stop the background server and remove its pid file; (status before, what was done)."""
    home = prefect_home(data_dir)
    with _lock(home):
        before = status(data_dir)
        if before.pid is None:
            return before, "no background Prefect server"
        if alive(before.pid) and _is_prefect(before.pid):
            _terminate(before.pid)
            done = f"stopped the background Prefect server (pid {before.pid})"
        else:
            done = (
                f"the background Prefect server (pid {before.pid}) was gone; removed its pid file"
            )
        (home / STATE_FILE).unlink(missing_ok=True)
        return before, done
