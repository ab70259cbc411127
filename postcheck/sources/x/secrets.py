"""Keeping X's bearer token out of every log."""

from __future__ import annotations

import logging
import re

_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9%._~+/=-]+")


class RedactBearer(logging.Filter):
    """tweepy logs request headers at DEBUG, Authorization included: blank the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "Bearer" in message:
            record.msg, record.args = _BEARER.sub(r"\1[redacted]", message), None
        return True


def protect_logs() -> None:
    for name in ("tweepy", "tweepy.client", "requests_oauthlib", "urllib3"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactBearer) for f in logger.filters):
            logger.addFilter(RedactBearer())
