"""Every HTTP client postcheck makes, and one place that turns HTTP outcomes into
postcheck's error kinds.

All traffic goes through `transport()`: httpx clients (pages, media, atproto) use it
directly, requests-based SDKs (tweepy, Mastodon.py) get a `requests_session()` whose adapter
sends through it. So the SSRF guard, the timeouts, and anything that must see every
exchange (an evidence recorder) live in one place.
"""

from __future__ import annotations

import email.utils
import functools
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager

import certifi
import httpx
import requests
import requests.adapters
import requests.structures
import requests.utils

from postcheck.capture import CapturingTransport
from postcheck.errors import FetchError, TransientError
from postcheck.netguard import GuardedTransport, parse_allowed
from postcheck.settings import Settings


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One TLS context for the process: building one loads the CA bundle (~70 ms), which
    every short-lived client would otherwise pay again."""
    return ssl.create_default_context(cafile=certifi.where())


def transport(settings: Settings) -> httpx.BaseTransport:
    """The transport every connection goes through: only to public addresses (plus the
    networks the settings allow, e.g. the fixture server's), TLS verified."""
    guarded = GuardedTransport(
        parse_allowed(settings.allowed_networks), verify=ssl_context(), trust_env=False
    )
    return CapturingTransport(guarded)


def timeout(settings: Settings) -> httpx.Timeout:
    return httpx.Timeout(
        settings.read_timeout, connect=settings.connect_timeout, pool=settings.connect_timeout
    )


def client(settings: Settings, **kwargs) -> httpx.Client:
    """An httpx client with our timeouts and user agent on `transport()`."""
    headers = {"User-Agent": settings.user_agent}
    headers.update(kwargs.pop("headers", {}))
    return httpx.Client(
        timeout=timeout(settings), headers=headers, transport=transport(settings), **kwargs
    )


class HttpxAdapter(requests.adapters.BaseAdapter):
    """A requests adapter that sends through an httpx client on `transport()`, so SDKs
    built on requests (tweepy, Mastodon.py) get the same guard as everything else.
    `base_urls` sends a fixed API host elsewhere (tweepy's api.twitter.com -> a setting)."""

    def __init__(self, settings: Settings, base_urls: dict[str, str] | None = None) -> None:
        super().__init__()
        self._client = client(settings)
        self._base_urls = {k: v.rstrip("/") for k, v in (base_urls or {}).items()}

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # type: ignore[override]
        url = request.url
        for prefix, base in self._base_urls.items():
            if url.startswith(prefix):
                url = base + url[len(prefix) :]
                break
        limits = self._client.timeout
        if isinstance(timeout, tuple):
            limits = httpx.Timeout(timeout[1], connect=timeout[0])
        elif isinstance(timeout, int | float):
            limits = httpx.Timeout(timeout)
        try:
            answer = self._client.request(
                request.method,
                url,
                headers=dict(request.headers),
                content=request.body,
                timeout=limits,
                follow_redirects=False,
            )
        except httpx.TimeoutException as exc:
            raise requests.Timeout(str(exc) or "timed out", request=request) from None
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
            raise requests.ConnectionError(
                str(exc) or type(exc).__name__, request=request
            ) from None
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = requests.structures.CaseInsensitiveDict(answer.headers.items())
        response._content = answer.content
        response._content_consumed = True
        response.url = request.url
        response.reason = answer.reason_phrase
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.request = request
        response.elapsed = answer.elapsed
        response.connection = self
        return response

    def close(self) -> None:
        self._client.close()


def requests_session(
    settings: Settings, base_urls: dict[str, str] | None = None
) -> requests.Session:
    """A requests session whose every request goes through `transport()`."""
    session = requests.Session()
    session.trust_env = False
    adapter = HttpxAdapter(settings, base_urls)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = settings.user_agent
    return session


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
