"""Errors that carry a one-line message meant for the user.

Each class says what kind of failure it is, which decides the recorded status:
`PostUnavailable`/`MediaUnavailable` -> `unavailable`, everything else -> `error`.
`TransientError` is the only kind a retry can help.
"""

from __future__ import annotations

from postcheck.domain import Verdict


class PostcheckError(Exception):
    """Base class: str(exc) is a clear one-line message."""

    def __init__(self, message: str) -> None:
        # One line, always: messages end up in tables, state messages and logs.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class BadURL(PostcheckError):
    """The input is not a URL of a post we can check."""


class PostUnavailable(PostcheckError):
    """The platform says the post cannot be had: deleted, protected, suspended, not found."""

    def __init__(self, message: str, reason: str = "not_found") -> None:
        super().__init__(message)
        self.reason = reason


class MediaUnavailable(PostcheckError):
    """A media file of the post is gone (404/410) or refused to us (403)."""


class TransientError(PostcheckError):
    """A failure a retry may cure: timeout, connection reset, 5xx, 429."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FetchError(PostcheckError):
    """The platform answered in a way a retry will not change (4xx, malformed response)."""


class BadMedia(PostcheckError):
    """The bytes are not an image we accept: not an image, truncated, too large, a bomb."""


class ConfigError(PostcheckError):
    """A setting is missing or wrong."""


def failure_verdict(exc: BaseException) -> Verdict:
    """The recorded status of a failure, decided here and nowhere else: what cannot be had
    (a deleted or protected post, a media file gone) is `unavailable`; anything else
    (a platform error after retries, a bad file, a bug) is `error`."""
    if isinstance(exc, PostUnavailable | MediaUnavailable):
        return Verdict.UNAVAILABLE
    return Verdict.ERROR


def failure_reason(exc: BaseException, doing: str = "") -> str:
    """The one-line reason recorded with it; a bug is named by its kind only (its
    traceback goes to the run log)."""
    if isinstance(exc, PostcheckError):
        return str(exc)
    return f"internal error{' while ' + doing if doing else ''}: {type(exc).__name__}"
