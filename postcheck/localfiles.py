"""Reading local files a user named: regular files only, and never more than a cap.

A FIFO named `photo.jpg` blocks the reader until someone writes to it; a link to
/dev/zero never ends; a file may grow while it is read, so its size from stat() bounds
nothing. Files are therefore opened without blocking, judged by fstat() on the open
descriptor (nothing can swap the file between the check and the read), and read under
a byte cap.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from postcheck.errors import BadMedia

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
BLOCK = 1 << 20


def kind_of(mode: int) -> str | None:
    """None for a regular file, else what it is ('a FIFO', 'a character device', …)."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def not_regular(path: str | Path) -> str | None:
    """Why `path` (links followed) is not a regular file to read, or None if it is one."""
    try:
        kind = kind_of(os.stat(path).st_mode)
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    return f"not a regular file ({kind})" if kind else None


def open_regular(path: str | Path) -> BinaryIO:
    """Open a regular file for reading; BadMedia for anything else (never blocks)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        kind = kind_of(os.fstat(fd).st_mode)
        if kind:
            raise BadMedia(f"not a regular file ({kind})")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def size_of(fh: BinaryIO) -> int:
    return os.fstat(fh.fileno()).st_size


def blocks(fh: BinaryIO, max_bytes: int) -> Iterator[bytes]:
    """The file's bytes in blocks; BadMedia as soon as more than `max_bytes` have come
    (whatever the file's size said when it was opened)."""
    if size_of(fh) > max_bytes:
        raise BadMedia(f"too large ({size_of(fh):,} bytes, limit {max_bytes:,})")
    total = 0
    while block := fh.read(BLOCK):
        total += len(block)
        if total > max_bytes:
            raise BadMedia(f"too large (over {max_bytes:,} bytes: it grew while read)")
        yield block


def read_capped(path: str | Path, max_bytes: int) -> bytes:
    """The whole of a regular file of at most `max_bytes`; BadMedia otherwise."""
    with open_regular(path) as fh:
        return b"".join(blocks(fh, max_bytes))


def read_head(path: str | Path, n: int) -> bytes:
    """The first `n` bytes of a regular file (b'' for anything else)."""
    try:
        with open_regular(path) as fh:
            return fh.read(n)
    except (OSError, BadMedia):
        return b""
