"""Process pools whose workers end when the process that started them does.

A pool worker waits on a queue whose write end it holds itself, so when its parent is
killed (kill -9, the OOM killer) it never sees end-of-file and lives on, re-parented to
PID 1, holding its memory; so does multiprocessing's resource tracker, which waits for
every worker to let go of its pipe. Each worker therefore asks Linux to kill it when its
parent dies (prctl PR_SET_PDEATHSIG) or, elsewhere, watches its parent's pid.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCH_SECONDS = 1.0


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A 'spawn' pool (the caller may be a Prefect process with threads running; forking
    those is unsafe) whose workers exit when this process ends, however it ends."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )


def die_with_parent(parent: int) -> None:
    """Pool initializer: end this process when `parent` ends."""
    if not (sys.platform.startswith("linux") and _pdeathsig(signal.SIGKILL)):
        threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _pdeathsig(sig: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)
