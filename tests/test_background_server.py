"""The embedded default: without PREFECT_API_URL the first command that runs a flow starts
ONE background Prefect server in the data folder, later commands reuse it, and
`postcheck server status|stop` report and end it. One server start for the whole module
(~10-15 s): these tests run real commands in subprocesses, in order."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from postcheck import worker
from postcheck.prefect_background import STATE_FILE, alive
from postcheck.prefect_local import free_port

POSTCHECK = str(Path(sys.executable).with_name("postcheck"))
URL = "https://bsky.app/profile/newsdesk.example.org/post/3lbqz2fa4ak2c"  # one fresh photo
RUN_LINK = re.compile(r"http://127\.0\.0\.1:(\d+)/runs/flow-run/([0-9a-f-]{36})")


@pytest.fixture(scope="module")
def world(fixture_server, tmp_path_factory):
    """A data folder of its own, the fixture server, no PREFECT_API_URL, and a port of its
    own for the background server; whatever the tests leave running is stopped."""
    tmp = tmp_path_factory.mktemp("background")
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)  # conftest points this process at the session server
    env.update(fixture_server.env(unthrottled=True))
    env.update(
        {
            "POSTCHECK_DATA_DIR": str(tmp / "data"),
            "POSTCHECK_PREFECT_PORT": str(free_port()),
            "PREFECT_HOME": str(tmp / "client-home"),  # the client's profile, not ~/.prefect
            "COLUMNS": "200",
        }
    )
    home = tmp / "data" / "prefect"
    yield env, home
    subprocess.run([POSTCHECK, "server", "stop"], env=env, capture_output=True, timeout=60)


def postcheck(env, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [POSTCHECK, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def state(home: Path) -> dict:
    return json.loads((home / STATE_FILE).read_text())


def test_start_reuse_status_stop(world, tmp_path):
    env, home = world
    port = int(env["POSTCHECK_PREFECT_PORT"])
    # A pid file left by a server that died (its process is gone) ...
    gone = subprocess.Popen(["true"])
    gone.wait()
    home.mkdir(parents=True)
    (home / STATE_FILE).write_text(json.dumps({"pid": gone.pid, "port": port}))
    status = postcheck(env, "server", "status")
    assert status.returncode == 0 and status.stdout.startswith("not running"), status.stdout
    # ... and another program on the configured port.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        # Two commands at once: one server starts, the other waits for it and reuses it.
        first = subprocess.Popen(
            [POSTCHECK, "verify", URL], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        started = postcheck(env, "server", "start")
        out, errs = (part.decode() for part in first.communicate(timeout=180))
    assert started.returncode == 0, started.stderr
    assert first.returncode == 0, errs
    notices = started.stderr + errs
    assert notices.count("starting the background Prefect server") == 1, notices
    assert f"port {port} is taken by another program" in notices
    server = state(home)
    assert server["pid"] != gone.pid and server["port"] != port and alive(server["pid"])
    assert "no_known_match" in out
    assert RUN_LINK.search(out).group(1) == str(server["port"])

    again = postcheck(env, "verify", URL)
    assert again.returncode == 0, again.stderr
    assert "starting" not in again.stderr  # no start cost the second time
    assert state(home)["pid"] == server["pid"]
    run_port, run_id = RUN_LINK.search(again.stdout).groups()
    assert int(run_port) == server["port"]
    api = f"http://127.0.0.1:{server['port']}/api"
    run = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()
    assert run["state"]["type"] == "COMPLETED" and run["name"]
    # Both commands' runs are in the one server's database.
    runs = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10).json()
    assert len(runs) == 2

    # Both commands started the warm worker (postcheck.worker) beside it: one runs.
    deadline = time.monotonic() + 90
    while not (warm := worker.status(home)).ready:
        assert time.monotonic() < deadline, (home / worker.LOG_FILE).read_text()
        time.sleep(0.2)
    assert (home / worker.LOG_FILE).read_text().count(" ready in ") == 1

    status = postcheck(env, "server", "status")
    assert f"running: http://127.0.0.1:{server['port']}" in status.stdout
    assert f"pid {server['pid']}" in status.stdout and str(home) in status.stdout
    assert f"worker: running, pid {warm.pid}" in status.stdout

    stopped = postcheck(env, "server", "stop")
    assert f"stopped the postcheck worker (pid {warm.pid})" in stopped.stdout
    assert f"stopped the background Prefect server (pid {server['pid']})" in stopped.stdout
    assert not alive(server["pid"]) and not alive(warm.pid)
    assert "worker: not running" in postcheck(env, "server", "status").stdout
    assert not (home / STATE_FILE).exists()
    assert postcheck(env, "server", "status").stdout.startswith("not running")


def test_stop_with_a_stale_pid_file(world):
    env, home = world
    gone = subprocess.Popen(["true"])
    gone.wait()
    home.mkdir(parents=True, exist_ok=True)
    (home / STATE_FILE).write_text(json.dumps({"pid": gone.pid, "port": 9}))
    stopped = postcheck(env, "server", "stop")
    assert f"(pid {gone.pid}) was gone; removed its pid file" in stopped.stdout
    assert not (home / STATE_FILE).exists()


def test_a_server_that_does_not_come_up_fails_the_command_in_one_line(world, tmp_path):
    """The start runs beside the command's imports (postcheck.runner): its failure still
    ends the command with one line naming the log, exit 1, and no server left behind."""
    env, _ = world
    env = dict(
        env, POSTCHECK_DATA_DIR=str(tmp_path / "data"), POSTCHECK_PREFECT_START_TIMEOUT="0.5"
    )
    env["POSTCHECK_PREFECT_PORT"] = str(free_port())
    failed = postcheck(env, "verify", URL)
    assert failed.returncode == 1, failed.stderr
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: the background Prefect server did not answer"), lines
    assert "server.log" in lines[-1] and "Traceback" not in failed.stderr
    assert not (tmp_path / "data" / "prefect" / STATE_FILE).exists()
    assert failed.stdout == ""
