"""The warm worker: one long-lived process per data folder, beside its background Prefect
server, that has imported what commands need (Prefect, the flows, the store, OpenCV,
exifread, faiss) and forks a fresh child per command (a "zygote").

A command (postcheck.client) connects to `<data>/prefect/worker.sock` (mode 0600: the same
user only) and sends its argv, cwd and environment with its stdin/stdout/stderr as file
descriptors. The worker forks; the child puts those descriptors on 0/1/2, takes the
client's environment and cwd, forgets every cached setting (ours, Prefect's) and runs the
normal CLI `main()`, then sends its exit status back. A child per command: nothing a
command does (settings, clients, event loops, database connections, thread pools) is seen
by the next one. Before the fork the worker holds none of them: it only imports.

A request after any imported postcheck source file changed on disk (an editable install
being edited), or from another interpreter or package folder, is answered "stale" and the
client runs the command itself; on changed sources the worker also exits (the next command
that finds the background server starts a fresh one). It exits when its background server
is gone and after `POSTCHECK_WORKER_IDLE_SECONDS` (default 1 hour) without a command.

Started detached (`postcheck.worker.main(<prefect home>)` in a new interpreter, its log in
`<data>/prefect/worker.log`) by the command that starts or finds the background server
(postcheck.runner); `postcheck server status` shows it, `server stop` stops it. Linux and
macOS (fork, SCM_RIGHTS); elsewhere commands run in their own process.

The module level is stdlib only: `postcheck server status` imports it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from postcheck import client

STATE_FILE = "worker.json"
LOCK_FILE = "worker.lock"
LOG_FILE = "worker.log"
CHECK_SECONDS = 10.0  # how often the worker looks for its background server
IDLE_SECONDS = 3600.0
REQUEST_TIMEOUT = 5.0
STARTER_WAIT = 120.0

# What a verify or check runs, imported once (import only: no client, loop, thread pool or
# connection is made by these imports).
PRELOAD = [
    "prefect",
    "prefect.main",
    "prefect.task_runners",
    "prefect.settings",
    "sqlalchemy.orm",
    "cv2",
    "exifread",
    "numpy",
    "PIL.Image",
    "typer",
    "click",
    "rich.console",
    "rich.table",
    "rich.text",
    "rich.progress",
    "postcheck.settings",
    "postcheck.domain",
    "postcheck.runner",
    "postcheck.prefect_background",
    "postcheck.services",
    "postcheck.store",
    "postcheck.sources",
    "postcheck.flows.verify_post",
    "postcheck.flows.verify_posts",
    "postcheck.flows.check_image",
    "postcheck.flows.check_images",
    "postcheck.console",
    "postcheck.known_index",
    "postcheck.index_cache",
    "postcheck.reverse_search",
    "postcheck.html_depth",
    "postcheck.verifiers.provenance",
    "prefect.engine",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.utilities.visualization",
    "prefect.telemetry.run_telemetry",
    "prefect.concurrency.v1.context",
    "prefect._internal.control_listener",
    "prefect._internal.attempt_control",
    "sqlalchemy.dialects.sqlite",
    "sqlite3",
    "fastapi",  # Prefect's client loads it at its first run
    "anyio._backends._asyncio",
    "c2pa",
]
# Every module of these packages (every platform, every hash family), found as their
# registries find them, without calling (and so caching) the registries.
PRELOAD_PACKAGES = ["postcheck.sources", "postcheck.verifiers.families"]
# Not preloaded: the modules that make rich consoles at import (postcheck.cli and
# postcheck.cli_server; a console decides colour and terminal when it is made), imported
# by each child on its own descriptors (a few ms, their dependencies being loaded).


@dataclass
class WorkerStatus:
    home: Path
    running: bool
    pid: int | None = None
    ready: bool = False  # listening; until then (its imports) commands run in-process

    @property
    def log(self) -> Path:
        return self.home / LOG_FILE


def available() -> bool:
    return client.supported()


def status(home: Path) -> WorkerStatus:
    """Running: its lock is held and its recorded process is alive; ready: it listens."""
    home = Path(home)
    try:
        state = json.loads((home / STATE_FILE).read_text())
        pid, ready = int(state["pid"]), bool(state.get("ready", True))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pid, ready = None, False
    running = pid is not None and _alive(pid) and _locked(home)
    return WorkerStatus(home, running, pid, running and ready)


def _alive(pid: int) -> bool:
    from postcheck.prefect_background import alive

    return alive(pid)


def _locked(home: Path) -> bool:
    try:
        with (home / LOCK_FILE).open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except OSError:
        return False


def ensure(home: Path) -> bool:
    """Start the worker, detached, unless it runs (or cannot run here); True if started.
    Two commands at once may both start one: the second finds the lock held and exits."""
    home = Path(home)
    if not available() or status(home).running:
        return False
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)  # each command brings its own
    with (home / LOG_FILE).open("ab") as log:
        subprocess.Popen(
            # imported as postcheck.worker (not __main__): its own source is watched too;
            # -P: the data folder (its cwd) is not on sys.path
            [
                sys.executable,
                "-P",
                "-c",
                "import sys, postcheck.worker as w; w.main(sys.argv[1], int(sys.argv[2]))",
                str(home),
                str(os.getpid()),
            ],
            env=env,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the command and its terminal's Ctrl-C
        )
    return True


def stop(home: Path, timeout: float = 10.0) -> str | None:
    """Stop the worker (commands in flight finish in their own children); what was done."""
    home = Path(home)
    current = status(home)
    if current.pid is None:
        return None
    if not current.running:
        (home / STATE_FILE).unlink(missing_ok=True)
        return None
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(current.pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _alive(current.pid):
            time.sleep(0.05)
        if not _alive(current.pid):
            break
    (home / client.SOCKET_NAME).unlink(missing_ok=True)
    (home / STATE_FILE).unlink(missing_ok=True)
    return f"stopped the postcheck worker (pid {current.pid})"


# --- the worker process ------------------------------------------------------------------


def _preload() -> None:
    import importlib
    import pkgutil

    for name in PRELOAD:
        importlib.import_module(name)
    for name in PRELOAD_PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{name}.{info.name}")


def _sources() -> dict[str, int]:
    """The mtime of every imported postcheck module's source (flows, verifiers included),
    and of the installed distribution's metadata (its version)."""
    seen: dict[str, int] = {}
    for name, module in list(sys.modules.items()):
        if name != "postcheck" and not name.startswith("postcheck."):
            continue
        path = getattr(module, "__file__", None)
        if path:
            with contextlib.suppress(OSError):
                seen[path] = os.stat(path).st_mtime_ns
    with contextlib.suppress(Exception):
        from importlib.metadata import distribution

        dist = distribution("postcheck")
        seen["version:" + str(dist.version)] = 0
        meta = getattr(dist, "_path", None)
        if meta is not None:
            seen[str(meta)] = os.stat(meta).st_mtime_ns
    return seen


def _changed(recorded: dict[str, int]) -> str | None:
    for path, mtime in recorded.items():
        if path.startswith("version:"):
            continue
        try:
            now = os.stat(path).st_mtime_ns
        except OSError:
            return f"{path} is gone"
        if now != mtime:
            return f"{path} changed"
    return None


class Worker:
    def __init__(self, home: Path, starter: int | None = None) -> None:
        self.home = Path(home).resolve()
        self.starter = starter
        self.data_dir = self.home.parent
        self.children: dict[int, tuple[socket.socket, str, float]] = {}
        self.stopping = False
        self.last_request = time.monotonic()
        self.idle = float(os.environ.get("POSTCHECK_WORKER_IDLE_SECONDS") or IDLE_SECONDS)

    def log(self, line: str) -> None:
        sys.stdout.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} worker {os.getpid()}: {line}\n")
        sys.stdout.flush()

    def run(self) -> int:
        os.chdir(self.home)
        lock = (self.home / LOCK_FILE).open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another worker runs
        self.lock = lock
        # Recorded at once, so that `server status` says "starting" and `server stop` can
        # stop it during the seconds before it listens.
        (self.home / STATE_FILE).write_text(json.dumps({"pid": os.getpid(), "ready": False}))
        # Its imports take seconds of CPU: not while the command that started it (a first
        # command, itself importing beside a starting server) still runs.
        deadline = time.monotonic() + STARTER_WAIT
        while self.starter and _alive(self.starter) and time.monotonic() < deadline:
            time.sleep(0.1)
        started = time.monotonic()
        from postcheck.runner import configure_console

        configure_console(False)  # Prefect sets its logging up at import, quietly
        _preload()
        from postcheck.runner import logging_set_up

        logging_set_up()
        self.sources = _sources()
        self.identity = client.identity()
        old = os.umask(0o177)  # the socket: 0600, this user only
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(client.SOCKET_NAME)
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(client.SOCKET_NAME)  # relative: no sun_path length limit
        finally:
            os.umask(old)
        os.chmod(client.SOCKET_NAME, 0o600)
        self.listener.listen(16)
        (self.home / STATE_FILE).write_text(
            json.dumps(
                {"pid": os.getpid(), "socket": str(self.home / client.SOCKET_NAME), "ready": True}
            )
        )
        self.log(f"ready in {time.monotonic() - started:.1f} s ({len(self.sources)} sources)")
        return self.loop()

    def loop(self) -> int:
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        self.wake = (wake_r, wake_w)
        signal.set_wakeup_fd(wake_w.fileno())
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ)
        selector.register(wake_r, selectors.EVENT_READ)
        next_check = time.monotonic() + CHECK_SECONDS
        try:
            while not self.stopping:
                for key, _ in selector.select(timeout=1.0):
                    if key.fileobj is wake_r:
                        with contextlib.suppress(OSError):
                            wake_r.recv(4096)
                    elif not self.stopping:
                        self.accept()
                self.reap()
                now = time.monotonic()
                if not self.children and now - self.last_request > self.idle:
                    self.log("idle; exiting")
                    break
                if now >= next_check:
                    next_check = now + CHECK_SECONDS
                    if not self.server_running():
                        self.log("the background Prefect server is gone; exiting")
                        break
        finally:
            self.close()
        return 0

    def _stop(self, *_: object) -> None:
        self.stopping = True

    def server_running(self) -> bool:
        """Its process is alive (no health request: a busy server is not a gone one)."""
        from postcheck.prefect_background import _is_prefect, _read_state, alive, prefect_home

        state = _read_state(prefect_home(self.data_dir))
        return state is not None and alive(state[0]) and _is_prefect(state[0])

    def close(self) -> None:
        """Stop listening; children in flight finish and report on their own."""
        if getattr(self, "listener", None) is not None:
            self.listener.close()
            self.listener = None
            with contextlib.suppress(OSError):
                if json.loads((self.home / STATE_FILE).read_text())["pid"] == os.getpid():
                    (self.home / STATE_FILE).unlink()
                    (self.home / client.SOCKET_NAME).unlink()
        if getattr(self, "lock", None) is not None:
            self.lock.close()  # a fresh worker may start at once
            self.lock = None

    def reap(self) -> None:
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            entry = self.children.pop(pid, None)
            if entry is None:
                continue
            conn, command, started = entry
            code = os.waitstatus_to_exitcode(status)
            if code < 0:  # killed by a signal: the child could not say it, tell the client
                code = 128 - code
                with contextlib.suppress(OSError):
                    client.send(conn, {"exit": code})
            conn.close()
            took, cpu = time.monotonic() - started, usage.ru_utime + usage.ru_stime
            self.log(f"{command} (pid {pid}): exit {code} in {took:.2f} s, cpu {cpu:.2f} s")

    def accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        self.last_request = time.monotonic()
        fds: list[int] = []
        try:
            conn.settimeout(REQUEST_TIMEOUT)
            data, fds, _flags, _addr = socket.recv_fds(conn, client.HEADER.size, 3)
            (size,) = client.HEADER.unpack(
                data + client._exactly(conn, client.HEADER.size - len(data))
            )
            request = json.loads(client._exactly(conn, size))
            if len(fds) != 3:
                raise ValueError("three descriptors expected")
        except (OSError, EOFError, ValueError):
            for fd in fds:
                os.close(fd)
            conn.close()
            return
        foreign = [k for k, v in self.identity.items() if request.get(k) != v]
        changed = _changed(self.sources)
        if foreign or changed:
            for fd in fds:
                os.close(fd)
            if changed:
                self.log(f"stale ({changed}); exiting")
                self.close()  # before answering: the fallback command may start a new one
                self.stopping = True
            with contextlib.suppress(OSError):
                client.send(conn, {"stale": changed or f"another {', '.join(foreign)}"})
            conn.close()
            return
        pid = os.fork()
        if pid == 0:  # the child never returns into the loop
            code = 1
            try:
                code = self.child(conn, fds, request)
                if code is None:  # answered "stale"
                    os._exit(0)
            except KeyboardInterrupt:  # Ctrl-C before the CLI's own handler was there
                code = 130
                with contextlib.suppress(Exception):
                    sys.stderr.write("interrupted\n")
                    sys.stderr.flush()
            except BaseException:
                code = 1
            with contextlib.suppress(OSError):
                client.send(conn, {"exit": code})
            os._exit(code)
        for fd in fds:
            os.close(fd)
        words = [a for a in request.get("argv", []) if not str(a).startswith("-")]
        self.children[pid] = (conn, str(words[0]) if words else "postcheck", time.monotonic())

    def child(self, conn: socket.socket, fds: list[int], request: dict) -> int | None:
        """Become the client's command; its exit status (None: answered "stale")."""
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if self.listener is not None:
            self.listener.close()
        for end in self.wake:
            end.close()
        for other, _, _ in self.children.values():  # other commands' connections are theirs
            other.close()
        self.lock.close()  # the flock stays the parent's (closing our copy of the fd)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = [request.get("argv0") or "postcheck", *request["argv"]]
        _reopen_std_streams()
        _forget_settings()
        from postcheck.prefect_background import prefect_home
        from postcheck.settings import get_settings

        if prefect_home(get_settings().data_dir) != self.home:
            client.send(conn, {"stale": "another data folder"})
            return None
        client.send(conn, {"pid": os.getpid()})
        return _run_main()


def _reopen_std_streams() -> None:
    """sys.stdin/stdout/stderr anew on the client's descriptors (a terminal is line
    buffered, a pipe is not, as for a process started on them)."""
    import io

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    encoding = os.environ.get("PYTHONIOENCODING", "").split(":")[0] or sys.stdout.encoding
    sys.stdin = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding=encoding
    )
    for name, fd in (("stdout", 1), ("stderr", 2)):
        old = getattr(sys, name)
        tty = os.isatty(fd)
        stream = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(fd, "w", closefd=False)),
            encoding=encoding,
            errors=old.errors,
            line_buffering=tty or name == "stderr",
        )
        setattr(sys, name, stream)
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr


def _forget_settings() -> None:
    """Every setting read before the fork, read again from the client's environment."""
    from postcheck.services import reset_services
    from postcheck.settings import get_settings

    get_settings.cache_clear()
    reset_services()
    from prefect.context import refresh_global_settings_context

    # Prefect's logging is set up again by a command that runs a flow, if its levels
    # differ from the worker's (postcheck.runner.configure_console); its console handler
    # writes on descriptor 2, the client's stderr, either way.
    refresh_global_settings_context()


def _run_main() -> int:
    """The CLI's main() as the console script runs it; its exit status. Exit handlers run
    as at the end of a process (Prefect drains its log and event workers there), then the
    child ends without the interpreter's teardown."""
    import atexit
    import threading

    try:
        from postcheck.cli import main

        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            sys.stderr.write(f"{exc.code}\n")
            code = 1
    except KeyboardInterrupt:  # Ctrl-C before main() had its own handler
        sys.stderr.write("interrupted\n")
        code = 130
    with contextlib.suppress(BaseException):
        threading._shutdown()  # type: ignore[attr-defined]  # Prefect's exit hooks
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return code


def main(home: str, starter: int | None = None) -> None:
    """The worker process (started by `ensure` in the command `starter`)."""
    sys.exit(Worker(Path(home), starter).run())
