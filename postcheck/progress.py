"""Progress of a batch: a flow reports each finished item to whoever listens (the CLI's
progress bar). The listener is passed in by the caller through a context variable, so
flows never import the CLI and a flow run with nobody listening reports to no one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_listener: ContextVar[Callable[[], None] | None] = ContextVar("postcheck_progress", default=None)


@contextmanager
def listening(on_item_done: Callable[[], None]) -> Iterator[None]:
    """Call `on_item_done()` each time a batch flow run in this context finishes an item."""
    token = _listener.set(on_item_done)
    try:
        yield
    finally:
        _listener.reset(token)


def item_done() -> None:
    """One item of the batch is finished (checked or failed)."""
    listener = _listener.get()
    if listener is not None:
        listener()
