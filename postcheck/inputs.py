"""Large user inputs reach a flow by reference, never as a flow parameter.

The Prefect server refuses flow parameters over 512 KB (HTTP 422) and its UI shows every
parameter, so a pasted article is kept in the data folder under the sha256 of its bytes
and the flow gets the reference 'sha256:<hex>'. A worker on another machine reads it
from the shared data folder (README: work pools).
"""

from __future__ import annotations

import hashlib
import re

from postcheck.errors import PostcheckError
from postcheck.media import MediaStore
from postcheck.settings import Settings

_REF = re.compile(r"sha256:([0-9a-f]{64})")


def _store(settings: Settings) -> MediaStore:
    return MediaStore(settings.data_dir / "inputs")


def store_input(settings: Settings, data: bytes) -> str:
    """Keep `data` by content hash; the reference a flow takes instead of the bytes."""
    return "sha256:" + _store(settings).put(data)


def load_input(settings: Settings, ref: str) -> bytes:
    """The bytes a reference names, checked against their hash."""
    match = _REF.fullmatch(ref or "")
    if match is None:
        raise PostcheckError(f"not an input reference: {ref[:80]!r} (expected sha256:<hex>)")
    sha = match.group(1)
    try:
        data = _store(settings).read(sha)
    except OSError:
        raise PostcheckError(
            f"input {ref[:19]}… is not in the data folder {settings.data_dir} "
            "(a worker elsewhere needs the shared data folder)"
        ) from None
    if hashlib.sha256(data).hexdigest() != sha:
        raise PostcheckError(f"input {ref[:19]}… does not match its hash")
    return data
