"""Run Prefect flows from the command line: quiet console, no heartbeat wait, UI links."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


def ephemeral() -> bool:
    from prefect.settings import get_current_settings

    return not get_current_settings().api.url and not os.environ.get("PREFECT_API_URL")
