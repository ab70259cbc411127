"""One place that turns HTTP outcomes into postcheck's error kinds."""

from __future__ import annotations

import email.utils
import functools
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager

import certifi
import httpx

from postcheck.errors import FetchError, TransientError
from postcheck.netguard import GuardedTransport, parse_allowed
from postcheck.settings import Settings


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One TLS context for the process: building one loads the CA bundle (~70 ms), which
    every short-lived client would otherwise pay again."""
    return ssl.create_default_context(cafile=certifi.where())


def client(settings: Settings, **kwargs) -> httpx.Client:
    """An httpx client with our timeouts, whose connections go only to public addresses
    (plus the networks the settings allow, e.g. the fixture server's)."""
    timeout = httpx.Timeout(
        settings.read_timeout, connect=settings.connect_timeout, pool=settings.connect_timeout
    )
    headers = {"User-Agent": settings.user_agent}
    headers.update(kwargs.pop("headers", {}))
    transport = GuardedTransport(
        parse_allowed(settings.allowed_networks), verify=ssl_context(), trust_env=False
    )
    return httpx.Client(timeout=timeout, headers=headers, transport=transport, **kwargs)


def retry_after_seconds(headers: httpx.Headers | dict) -> float | None:
    """Seconds to wait, from Retry-After (seconds or HTTP date) or an x-rate-limit-reset epoch."""
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isascii() and value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    for name in ("x-rate-limit-reset", "ratelimit-reset"):
        reset = headers.get(name)
        if reset and reset.strip().isascii() and reset.strip().isdigit():
            return max(0.0, float(reset) - time.time())
    return None


def check_status(response: httpx.Response, what: str) -> None:
    """Raise the error kind a non-2xx status means; 404/410 are left to the caller."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 429:
        wait = retry_after_seconds(response.headers)
        hint = f", retry in {wait:.0f} s" if wait is not None else ""
        raise TransientError(f"{what}: rate limited (HTTP 429{hint})", retry_after=wait)
    if status >= 500 or status == 408:
        raise TransientError(f"{what}: server error (HTTP {status})")
    raise FetchError(f"{what}: HTTP {status}")


@contextmanager
def network_errors(what: str) -> Iterator[None]:
    """Translate httpx transport failures into TransientError with a one-line message."""
    try:
        yield
    except httpx.TimeoutException:
        raise TransientError(f"{what}: timed out") from None
    except httpx.TooManyRedirects:
        raise FetchError(f"{what}: too many redirects") from None
    except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
        raise TransientError(f"{what}: network error ({type(exc).__name__})") from None
    except httpx.InvalidURL as exc:
        raise FetchError(f"{what}: invalid URL ({exc})") from None
