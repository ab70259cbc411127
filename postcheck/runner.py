"""Run Prefect flows from the command line: quiet console, no heartbeat wait, UI links."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def configure_console(verbose: bool) -> None:
    """Our CLI prints the outcome itself, so Prefect's console lines are for --verbose.

    Prefect reads its logging config from the environment each time it sets logging up
    (the temporary server does it again), so the levels go there, before prefect loads.
    The API handler is untouched: the Prefect UI keeps every log line."""
    level = "INFO" if verbose else "CRITICAL"
    os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = level
    os.environ["PREFECT_LOGGING_HANDLERS_DEBUG_LEVEL"] = level
    # A temporary server started by the CLI should not try to phone home from an
    # analyst's machine (and fail noisily offline).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Already set up, with other levels (a worker's child, postcheck.worker: Prefect was
    # imported before the command's -v was known): set up again with these.
    configuration = sys.modules.get("prefect.logging.configuration")
    if (
        configuration is not None
        and configuration.PROCESS_LOGGING_CONFIG
        and _logging_environment() != _logging_set_up_with
    ):
        configuration.setup_logging(incremental=False)  # 0.1-0.3 s: not when unchanged
        logging_set_up()


# The environment Prefect's logging was last set up with by logging_set_up() (its
# levels, handlers and their file all come from PREFECT_LOGGING_* and PREFECT_HOME).
_logging_set_up_with: dict[str, str] | None = None


def _logging_environment() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k.startswith("PREFECT_LOGGING_") or k == "PREFECT_HOME"
    }


def logging_set_up() -> None:
    """Prefect's logging is set up for this environment now (postcheck.worker, before it
    forks: a child whose command brings the same one keeps it)."""
    global _logging_set_up_with
    _logging_set_up_with = _logging_environment()


def use_background_server(notice: Callable[[str], None] = lambda _line: None) -> str | None:
    """Point this process's runs at the data folder's background Prefect server (started
    on first use) unless a Prefect API URL is configured (environment or Prefect profile),
    which wins. Returns the API URL chosen, None when the configured one is kept."""
    return start_background_server(notice)()


def start_background_server(
    notice: Callable[[str], None] = lambda _line: None,
) -> Callable[[], str | None]:
    """`use_background_server` in two halves, so that a command can import what it runs
    while the server boots: the server's start (or the health request that finds it) runs
    in a thread from now on; the function returned waits for it and points this process's
    runs at it (ServerError if it did not come up). A first command thus overlaps its own
    imports with the server's start instead of paying one after the other."""
    if os.environ.get("PREFECT_API_URL"):
        return lambda: None
    from prefect.settings import get_current_settings

    if get_current_settings().api.url:  # set in the active Prefect profile
        return lambda: None
    from postcheck import prefect_background, worker
    from postcheck.settings import get_settings

    settings = get_settings()
    outcome: list = []

    def start() -> None:
        try:
            server = prefect_background.ensure(
                settings.data_dir,
                settings.prefect_port,
                settings.prefect_start_timeout,
                notice,
            )
            outcome.append(server)
        except BaseException as exc:  # handed to the waiting thread
            outcome.append(exc)
            return
        # The warm worker beside it (postcheck.worker), for the next commands.
        with contextlib.suppress(OSError):
            worker.ensure(server.home)

    thread = threading.Thread(target=start, name="postcheck-server-start", daemon=True)
    thread.start()

    def ready() -> str | None:
        thread.join()
        (result,) = outcome
        if isinstance(result, BaseException):
            raise result
        os.environ["PREFECT_API_URL"] = result.api_url or ""
        # Prefect read its settings when it was imported: have it read them again.
        if "prefect.context" in sys.modules:
            from prefect.context import refresh_global_settings_context

            refresh_global_settings_context()
        return result.api_url

    return ready


@contextmanager
def cli_run_settings() -> Iterator[None]:
    """A CLI run exits right after its flow: waiting for the heartbeat thread buys nothing."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def ui_run_url(flow_run_id: str | None) -> str | None:
    """Link to the run in the Prefect UI, when runs go to a real server."""
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if not flow_run_id or not settings.api.url:
        return None
    ui = settings.ui_url or settings.api.url.removesuffix("/api")
    return f"{ui.rstrip('/')}/runs/flow-run/{flow_run_id}"
