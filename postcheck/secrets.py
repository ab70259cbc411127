"""Secrets: where the X bearer token comes from, and keeping it out of every log."""

from __future__ import annotations

import logging
import re

from postcheck.errors import ConfigError
from postcheck.settings import Settings

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


def x_bearer_token(settings: Settings) -> str | None:
    """The environment's POSTCHECK_X_BEARER_TOKEN, else the Prefect Secret block named by
    POSTCHECK_X_BEARER_SECRET_BLOCK, else None (then the keyless embed endpoint is used).
    Never a flow parameter: parameters are shown in the Prefect UI."""
    if settings.x_bearer_token is not None and settings.x_bearer_token.get_secret_value():
        return settings.x_bearer_token.get_secret_value()
    if settings.x_bearer_secret_block:
        from prefect.blocks.system import Secret

        try:
            value = Secret.load(settings.x_bearer_secret_block).get()
        except ValueError:
            raise ConfigError(
                f"no Prefect Secret block named {settings.x_bearer_secret_block!r}"
            ) from None
        return str(value) if value else None
    return None
