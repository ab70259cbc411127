"""X's URLs, settings and identities (cheap to import: fetching lives in `fetch`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from postcheck.domain import Post, PostRef
from postcheck.errors import BadURL, ConfigError
from postcheck.settings import Settings
from postcheck.sources.base import FetchResult, Platform, PlatformSettings
from postcheck.urls import host_of, short

X_HOSTS = frozenset(
    {"x.com", "twitter.com", "fxtwitter.com", "vxtwitter.com", "fixupx.com", "fixvx.com"}
)
_STATUS_PATH = re.compile(
    r"^/(?:i/web/status|i/status|(?P<user>[A-Za-z0-9_]{1,15})/status(?:es)?)/(?P<id>[0-9]{1,20})(?:/|$)"
)
_PROFILE_PATH = re.compile(r"^/[A-Za-z0-9_]{1,15}/?$")
# API v2 GET /2/tweets?ids= takes at most 100 ids.
API_V2_BATCH = 100


class XSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="POSTCHECK_X_", extra="ignore")

    # The embed (syndication) endpoint needs no key; API v2 needs a bearer token.
    syndication_url: str = "https://cdn.syndication.twimg.com"
    api_url: str = "https://api.twitter.com"
    bearer_token: SecretStr | None = None
    # Or the name of a Prefect Secret block holding it (read inside the run, never logged).
    bearer_secret_block: str | None = None
    # Short links in copied embeds: where t.co and pic.twitter.com are asked to redirect.
    tco_url: str = "https://t.co"
    pic_url: str = "https://pic.twitter.com"
    requests_per_second: float = 0.5


def bearer_token(settings: Settings) -> str | None:
    """The environment's POSTCHECK_X_BEARER_TOKEN, else the Prefect Secret block named by
    POSTCHECK_X_BEARER_SECRET_BLOCK, else None (then the keyless embed endpoint is used).
    Never a flow parameter: parameters are shown in the Prefect UI."""
    own = x_settings(settings)
    if own.bearer_token is not None and own.bearer_token.get_secret_value():
        return own.bearer_token.get_secret_value()
    if own.bearer_secret_block:
        from prefect.blocks.system import Secret

        try:
            value = Secret.load(own.bearer_secret_block).get()
        except ValueError:
            raise ConfigError(
                f"no Prefect Secret block named {own.bearer_secret_block!r}"
            ) from None
        return str(value) if value else None
    return None


class XPlatform(Platform):
    name: ClassVar[str] = "x"
    title: ClassVar[str] = "X/Twitter"
    hosts: ClassVar[frozenset[str]] = X_HOSTS
    url_forms: ClassVar[tuple[str, ...]] = (
        "https://x.com/<user>/status/<id> (also twitter.com, mobile.twitter.com, fxtwitter.com, vxtwitter.com, fixupx.com)",
        "https://x.com/i/web/status/<id>",
    )
    settings_model = XSettings
    batch_size: ClassVar[int] = API_V2_BATCH
    # Short links that stand for a post in copied embeds, and where each is asked.
    short_link_hosts: ClassVar[dict[str, str]] = {
        "t.co": "tco_url",
        "pic.twitter.com": "pic_url",
        "pic.x.com": "pic_url",
    }

    def parse_url(self, url: str) -> PostRef | None:
        if host_of(url) not in X_HOSTS:
            return None
        path = urlsplit(url).path
        match = _STATUS_PATH.match(path)
        if not match:
            if _PROFILE_PATH.match(path):
                raise BadURL(f"that is an X profile, not a post: {short(url)}")
            raise BadURL(f"not an X post URL (expected /<user>/status/<id>): {short(url)}")
        tweet_id = match.group("id").lstrip("0")
        if not tweet_id:
            raise BadURL(f"X post id is zero: {short(url)}")
        if int(tweet_id) >= 2**63:
            raise BadURL(f"X post id out of range: {short(url)}")
        user = match.group("user")
        canonical = f"https://x.com/{user or 'i/web'}/status/{tweet_id}"
        return self.ref(tweet_id, user, canonical, f"x:{tweet_id}")

    def batch_limit(self, settings: Settings) -> int:
        # Only API v2 has a batch lookup; the embed endpoint answers one post at a time.
        return API_V2_BATCH if bearer_token(settings) else 1

    def fetch(self, ref: PostRef, settings: Settings) -> Post:
        from postcheck.sources.x.fetch import fetch

        return fetch(ref, settings)

    def fetch_many(self, refs: Sequence[PostRef], settings: Settings) -> list[FetchResult]:
        token = bearer_token(settings)
        if not token:
            return super().fetch_many(refs, settings)
        from postcheck.sources.x.fetch import fetch_many_v2

        return fetch_many_v2(refs, settings, token)


def x_settings(settings: Settings) -> XSettings:
    return XPlatform().settings(settings)
