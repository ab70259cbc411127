"""Run Prefect flows from the command line: quiet console, no heartbeat wait, UI links."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class OneLineFormatter(logging.Formatter):
    """Console lines without tracebacks: the API log (the Prefect UI) keeps them."""

    def formatException(self, ei: Any) -> str:  # noqa: N802
        return ""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = saved


def configure_console(verbose: bool) -> None:
    """Our CLI prints the outcome itself; Prefect's console lines are for --verbose."""
    import prefect  # noqa: F401  (sets up Prefect's logging)

    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    formatter = OneLineFormatter("%(asctime)s | %(levelname)-7s | %(name)s - %(message)s", "%H:%M:%S")
    for logger in loggers:
        for handler in logger.handlers:
            # Only Prefect's own console handlers; its API handler keeps feeding the UI.
            if isinstance(handler, logging.StreamHandler) and type(handler).__module__.startswith("prefect"):
                handler.setLevel(logging.INFO if verbose else logging.CRITICAL)
                handler.setFormatter(formatter)


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
