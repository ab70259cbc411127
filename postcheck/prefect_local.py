"""A Prefect server of its own on 127.0.0.1 (own PREFECT_HOME and SQLite), for tests and
benchmarks: started once, since a start costs 7-12 s."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx

from postcheck.prefect_background import server_command, server_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPrefectServer:
    def __init__(self, home: Path, port: int | None = None, start_timeout: float = 90) -> None:
        self.home = Path(home)
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> LocalPrefectServer:
        self.home.mkdir(parents=True, exist_ok=True)
        env = server_env(self.home, self.port, PREFECT_SERVER_REGISTER_BLOCKS_ON_START="false")
        log = (self.home / "server.log").open("wb")
        self.proc = subprocess.Popen(
            server_command(self.port), env=env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Prefect server exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"Prefect server did not start within {self.start_timeout:.0f} s")

    def log_tail(self, chars: int = 2000) -> str:
        path = self.home / "server.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc = None

    def __enter__(self) -> LocalPrefectServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
