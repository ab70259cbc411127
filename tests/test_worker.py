"""The warm worker (postcheck.worker): a command handed to the data folder's worker gives
the same output and exit status as run in its own process, on the client's own
descriptors, environment and cwd; a stale, missing or dead worker means the command runs
in-process.

The data folder's "background server" is the session's Prefect server (its pid and port
in the data folder's server file, as `postcheck server start` writes them), so that no
test here starts a server; the worker itself is started once, by the first command."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from postcheck import worker
from postcheck.client import SOCKET_NAME
from postcheck.prefect_background import STATE_FILE, alive

POSTCHECK = str(Path(sys.executable).with_name("postcheck"))
FIX = Path(__file__).parents[1] / "fixtures"
URL = "https://x.com/Archer83Able/status/1857106849690673728"  # one photo, recycled
RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}|check #\d+")


def postcheck(env, *args, timeout=120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [POSTCHECK, *args], env=env, capture_output=True, text=True, timeout=timeout, **kwargs
    )


def log_lines(home: Path) -> list[str]:
    path = home / worker.LOG_FILE
    return path.read_text().splitlines() if path.exists() else []


def ran_in_worker(home: Path, before: list[str], command: str, timeout: float = 10) -> bool:
    """The worker logged this command after `before` (it logs a child once it reaped it,
    which may be just after the client had its exit status)."""
    deadline = time.monotonic() + timeout
    while True:
        new = log_lines(home)[len(before) :]
        if any(f": {command} (pid" in line for line in new):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def wait_for(predicate, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def warm(local_prefect, fixture_server, tmp_path_factory):
    """A data folder whose background server is the session's Prefect server, a known
    picture in its library, and its worker, started by the first command that runs a flow
    (as a user's first command starts it). Stopped (the worker only) at the end."""
    tmp = tmp_path_factory.mktemp("warm")
    home = tmp / "data" / "prefect"
    home.mkdir(parents=True)
    (home / STATE_FILE).write_text(
        json.dumps({"pid": local_prefect.proc.pid, "port": local_prefect.port})
    )
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.pop("POSTCHECK_X_BEARER_TOKEN", None)
    env.update(fixture_server.env(unthrottled=True))
    env.update(
        {
            "POSTCHECK_DATA_DIR": str(tmp / "data"),
            "POSTCHECK_RETRY_BACKOFF_SECONDS": "0",
            "PREFECT_HOME": str(tmp / "client-home"),
            "PREFECT_LOGGING_TO_API_ENABLED": "false",
            "COLUMNS": "200",
        }
    )
    added = postcheck(env, "known", "add", str(FIX / "known" / "koksan-2010.jpg"),
                      "--first-seen", "2010-10-10")  # fmt: skip
    assert added.returncode == 0, added.stderr
    first = postcheck(env, "verify", URL)  # in-process: finds the server, starts the worker
    assert first.returncode == 0 and "recycled" in first.stdout, first.stderr
    wait_for(lambda: worker.status(home).ready and (home / SOCKET_NAME).exists())
    yield env, home, first
    worker.stop(home)


def same(text: str) -> str:
    return RUN_ID.sub("…", text)


def test_verify_through_the_worker_is_the_command_run_in_process(warm):
    env, home, in_process = warm
    before = log_lines(home)
    warmed = postcheck(env, "verify", URL)
    assert ran_in_worker(home, before, "verify"), log_lines(home)
    assert warmed.returncode == in_process.returncode == 0, warmed.stderr
    assert same(warmed.stdout) == same(in_process.stdout)
    assert warmed.stderr == in_process.stderr
    # The socket is this user's only.
    assert (home / SOCKET_NAME).stat().st_mode & 0o777 == 0o600


def test_json_to_a_pipe_and_urls_from_the_clients_stdin(warm):
    env, home, _ = warm
    before = log_lines(home)
    piped = postcheck(env, "verify", "--json", "--from", "-", input=f"# one\n{URL}\n")
    assert ran_in_worker(home, before, "verify"), log_lines(home)
    assert piped.returncode == 0, piped.stderr
    (line,) = piped.stdout.splitlines()  # JSON Lines, no progress bar or colour on a pipe
    report = json.loads(line)
    assert report["url"] == URL and report["verdict"] == "recycled"
    assert "\x1b[" not in piped.stdout + piped.stderr


def test_bad_input_is_one_line_and_exit_2_as_in_process(warm):
    env, home, _ = warm
    before = log_lines(home)
    warmed = postcheck(env, "verify", "https://example.org/not-a-post")
    assert ran_in_worker(home, before, "verify"), log_lines(home)
    here = postcheck({**env, "POSTCHECK_WORKER": "0"}, "verify", "https://example.org/not-a-post")
    assert warmed.returncode == here.returncode == 2
    assert warmed.stderr == here.stderr and len(warmed.stderr.splitlines()) == 1
    assert warmed.stdout == here.stdout == ""


def test_a_terminal_stays_a_terminal(warm):
    """The child writes on the client's own terminal: rich sees a tty and colours."""
    env, home, _ = warm
    colours = {**env, "TERM": "xterm-256color"}
    colours.pop("NO_COLOR", None)
    outputs = []
    before = log_lines(home)
    for extra in ({}, {"POSTCHECK_WORKER": "0"}):
        main, child = pty.openpty()
        with os.fdopen(main, "rb", buffering=0) as terminal:
            proc = subprocess.run(
                [POSTCHECK, "verify", "https://example.org/not-a-post"],
                env={**colours, **extra},
                stdout=subprocess.PIPE,
                stderr=child,
                timeout=120,
            )
            os.close(child)
            outputs.append((proc.returncode, _read_all(terminal)))
    assert ran_in_worker(home, before, "verify"), log_lines(home)
    assert outputs[0] == outputs[1]
    code, text = outputs[0]
    assert code == 2 and "\x1b[" in text and "error:" in text, text


def _read_all(terminal) -> str:
    data = b""
    while True:
        try:
            chunk = terminal.read(4096)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        data += chunk
    return data.decode()


def test_the_clients_environment_and_cwd_are_the_commands(warm, tmp_path):
    """A setting changed between two commands takes effect (settings are read per
    command), and a relative path is the client's cwd's."""
    env, home, _ = warm
    other = {**env, "POSTCHECK_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    picture = tmp_path / "pictures" / "koksan.jpg"
    picture.parent.mkdir()
    picture.write_bytes((FIX / "known" / "koksan-2010.jpg").read_bytes())
    before = log_lines(home)
    added = postcheck(other, "known", "add", "koksan.jpg", "--caption", "from-cwd",
                      cwd=picture.parent)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert ran_in_worker(home, before, "known"), log_lines(home)
    listed = [postcheck(e, "known", "list").stdout for e in (other, env, other)]
    assert "from-cwd" in listed[0] and listed[0] == listed[2]
    assert "from-cwd" not in listed[1] and "841f8d209e7c" in listed[1]


def test_ctrl_c_reaches_the_command(warm):
    """SIGINT to the client interrupts the child (here reading URLs from the client's
    stdin): "interrupted", exit 130, as in-process."""
    env, home, _ = warm
    pid = worker.status(home).pid
    earlier = set(_children(pid))  # not yet reaped ones
    proc = subprocess.Popen(
        [POSTCHECK, "verify", "--from", "-"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: set(_children(pid)) - earlier, timeout=30)
        proc.send_signal(signal.SIGINT)
        _, errs = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, errs
    assert errs.strip().endswith("interrupted") and "Traceback" not in errs


def _children(pid: int | None) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def test_no_worker_or_a_dead_socket_runs_in_process(warm, tmp_path):
    env, _, _ = warm
    data = tmp_path / "data"
    home = data / "prefect"
    home.mkdir(parents=True)
    # no worker at all
    assert postcheck({**env, "POSTCHECK_DATA_DIR": str(data)}, "known", "list").returncode == 0
    # a socket file nobody listens on (a worker that was killed)
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(home / SOCKET_NAME))
    dead.close()
    listed = postcheck({**env, "POSTCHECK_DATA_DIR": str(data)}, "known", "list")
    assert listed.returncode == 0 and listed.stdout.strip(), listed.stderr


def test_verbose_shows_prefects_logs_through_the_worker(warm):
    """Prefect's logging was set up in the worker, quietly: -v sets it up again."""
    env, home, _ = warm
    before = log_lines(home)
    loud = postcheck(env, "-v", "check", str(FIX / "known" / "koksan-2010.jpg"))
    assert ran_in_worker(home, before, "check"), log_lines(home)
    assert loud.returncode == 0, loud.stderr
    assert "Beginning flow run" in loud.stderr and "Finished in state" in loud.stderr


def test_a_stale_worker_refuses_and_the_command_runs_in_process(warm):
    """An imported source file changed (an editable install being edited): the worker
    answers "stale" and exits; the command runs in its own process, with the new code.
    Last in this module: the worker is gone afterwards."""
    env, home, _ = warm
    pid = worker.status(home).pid
    source = Path(worker.__file__).with_name("__init__.py")
    times = source.stat()
    try:
        os.utime(source, ns=(times.st_atime_ns, times.st_mtime_ns + 1_000_000_000))
        listed = postcheck(env, "known", "list")
    finally:
        os.utime(source, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert listed.returncode == 0 and "841f8d209e7c" in listed.stdout, listed.stderr
    assert any("stale" in line and "__init__.py changed" in line for line in log_lines(home))
    wait_for(lambda: not alive(pid), timeout=30)
    assert not worker.status(home).running and not (home / SOCKET_NAME).exists()


def test_a_starting_worker_is_shown_as_starting_and_stops(tmp_path):
    """Before it listens (it waits for the command that started it, here this test, then
    imports for seconds) `server status` says it is starting, and `server stop` stops it."""
    home = tmp_path / "data" / "prefect"
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({"POSTCHECK_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"})
    assert worker.ensure(home)
    wait_for(lambda: worker.status(home).running, timeout=30)
    starting = worker.status(home)
    assert not starting.ready and not (home / SOCKET_NAME).exists()
    shown = postcheck(env, "server", "status")
    assert shown.returncode == 0, shown.stderr
    assert f"worker: starting, pid {starting.pid}" in shown.stdout
    stopped = postcheck(env, "server", "stop")
    assert f"stopped the postcheck worker (pid {starting.pid})" in stopped.stdout, stopped
    assert not alive(starting.pid) and not worker.status(home).running
    assert "worker: not running" in postcheck(env, "server", "status").stdout
