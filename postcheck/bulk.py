"""Bulk commands' helpers for the CLI: the items of `postcheck check PATH_OR_URL...`
(folders walked, bad items named), one flow run for the batch, and the progress bar."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from postcheck.errors import PostcheckError

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclass
class Items:
    """What a bulk check was given: the sources to check, in order, the bad ones (where,
    why: one line each, exit 2), and notes on what a folder walk left out."""

    sources: list[str] = field(default_factory=list)
    bad: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


NO_SUCH_FILE = "no such file"


def refusal(path: Path) -> str | None:
    """Why a local file cannot be checked (before Prefect starts), or None: the one rule
    for `check FILE` and for each file of a bulk check."""
    return file_refusal(path) or media_refusal(path)


def file_refusal(path: Path) -> str | None:
    """Why a path a user named is not a file to read (missing, a FIFO, a device...)."""
    from postcheck.localfiles import not_regular

    if not path.exists():
        return NO_SUCH_FILE
    return not_regular(path)


def media_refusal(path: Path) -> str | None:
    """Why a regular file's content cannot be checked as a picture or video."""
    from postcheck.errors import BadMedia
    from postcheck.flows.check_image import is_video
    from postcheck.media import check_local_media
    from postcheck.settings import get_settings

    try:  # a page, a PDF, an SVG, an empty file is bad input
        check_local_media(path, get_settings(), as_video=is_video(str(path)))
    except BadMedia as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    return None


def url_refusal(item: str) -> str | None:
    from postcheck.urls import check_url_shape

    scheme = _SCHEME.match(item)
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        return f"unsupported URL scheme '{scheme.group(1).lower()}:' (only http and https)"
    try:
        check_url_shape(item)
    except PostcheckError as exc:
        return str(exc)
    return None


def collect(args: list[str]) -> Items:
    """Files, folders (walked recursively by the library import's walker) and image URLs,
    in the order given; a folder's pictures in its walk's (sorted) order."""
    from postcheck.library import image_files

    items = Items()
    for arg in args:
        path = Path(arg).expanduser()
        if _SCHEME.match(arg) or not path.is_dir():
            why = url_refusal(arg) if _SCHEME.match(arg) else refusal(path)
            if why is None:
                items.sources.append(arg)
            else:
                items.bad.append((arg, why))
            continue
        refused: list[tuple[str, str]] = []
        outside: list[Path] = []
        other: list[Path] = []
        for found in image_files(path, refused, outside=outside, other=other):
            why = refusal(found)
            if why is None:
                items.sources.append(str(found))
            else:
                items.bad.append((str(found), why))
        items.bad += refused
        if other:
            items.notes.append(f"{arg}: skipped {len(other)} files that are not images or videos")
        if outside:
            items.notes.append(f"{arg}: skipped {len(outside)} links that lead out of the folder")
    return items


def wants_progress(console: Console, as_json: bool) -> bool:
    """A progress bar only on a terminal, and never for JSON piped to another program."""
    return console.is_terminal and not (as_json and not sys.stdout.isatty())


@contextmanager
def progress_bar(total: int, what: str, enabled: bool) -> Iterator[Callable[[], None]]:
    """A rich progress bar on stderr; yields the callback that advances it by one."""
    if not enabled:
        yield lambda: None
        return
    bar = Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        job = bar.add_task(what, total=total)
        yield lambda: bar.advance(job)


def run_check_batch(
    sources: list[str], claimed_date: str | None, claimed_place: str | None, workers: int
):
    """Every source in ONE flow run (check-images), `workers` at once; its final state."""
    from prefect import tags
    from prefect.task_runners import ThreadPoolTaskRunner

    from postcheck.flows.check_images import check_images
    from postcheck.item_lists import as_parameters
    from postcheck.runner import cli_run_settings
    from postcheck.services import services

    flow = check_images.with_options(task_runner=ThreadPoolTaskRunner(max_workers=workers))
    listed, listed_file = as_parameters(sources, services().settings.data_dir)
    with cli_run_settings(), tags("bulk"):
        return flow(
            sources=listed,
            count=len(sources),
            claimed_date=claimed_date,
            claimed_place=claimed_place,
            sources_file=listed_file,
            return_state=True,
        )
