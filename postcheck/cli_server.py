"""`postcheck server status|start|stop`: the data folder's background Prefect server.

Imports neither prefect nor the store: `server status` answers at once."""

from __future__ import annotations

import os

import typer

from postcheck.console import plain_console

server_app = typer.Typer(
    no_args_is_help=True,
    help="The background Prefect server that runs go to when PREFECT_API_URL is not set.",
)
out = plain_console()
err = plain_console(stderr=True)


def _data_dir():
    from postcheck.settings import get_settings

    return get_settings().data_dir


def _print_status(server) -> None:
    if server.running:
        out.print(f"running: {server.ui_url} (API {server.api_url}), pid {server.pid}")
    else:
        out.print("not running (the next command that runs a flow starts it)")
    out.print(f"PREFECT_HOME: {server.home}")
    out.print(f"log: {server.log}")
    from postcheck import worker

    if not worker.available():
        out.print("worker: off (POSTCHECK_WORKER=0, or no fork and descriptor passing here)")
    else:
        warm = worker.status(server.home)
        if warm.ready:
            out.print(f"worker: running, pid {warm.pid} (log: {warm.log})")
        elif warm.running:
            out.print(
                f"worker: starting, pid {warm.pid} (importing; until it is ready commands run "
                f"in their own process; log: {warm.log})"
            )
        else:
            out.print("worker: not running (started beside the server by the next command)")
    configured = os.environ.get("PREFECT_API_URL")
    if configured and configured != server.api_url:
        out.print(f"PREFECT_API_URL is set: runs go to {configured}, not to this server")


@server_app.command("status")
def server_status() -> None:
    """Whether the background server runs, its URL, pid and PREFECT_HOME."""
    from postcheck.prefect_background import status

    _print_status(status(_data_dir()))


@server_app.command("start")
def server_start() -> None:
    """Start the background server and its worker if not running (commands do it on first use)."""
    from postcheck.prefect_background import ServerError, ensure
    from postcheck.settings import get_settings

    settings = get_settings()
    try:
        server = ensure(
            settings.data_dir,
            settings.prefect_port,
            settings.prefect_start_timeout,
            notice=lambda line: err.print(line, soft_wrap=True),
        )
    except ServerError as exc:
        err.print(f"error: {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    from postcheck import worker

    worker.ensure(server.home)  # the warm worker beside it, starting in the background
    _print_status(server)


@server_app.command("stop")
def server_stop() -> None:
    """Stop the background server and its worker (the database and runs stay in PREFECT_HOME)."""
    from postcheck import worker
    from postcheck.prefect_background import prefect_home, stop

    stopped = worker.stop(prefect_home(_data_dir()))
    if stopped:
        out.print(stopped)
    _, done = stop(_data_dir())
    out.print(done)
