"""Mastodon's URLs, settings and identities (cheap to import: fetching lives in `fetch`).

A Mastodon instance is any host, so the URL's path says whether it is a status:
`/@<user>/<id>`, `/@<user>@<host>/<id>` (a remote account's post as this instance shows
it) and `/users/<user>/statuses/<id>` (the ActivityPub id). The instance named in the URL
is asked; its id for the status is the one in the URL.
"""

from __future__ import annotations

import re
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from postcheck.domain import Post, PostRef
from postcheck.errors import BadURL
from postcheck.settings import Settings
from postcheck.sources.base import Platform, PlatformSettings
from postcheck.urls import short

_USER = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?"
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
_ACCT = rf"{_USER}(?:@{_HOST})?"
_STATUS_ID = r"[0-9]{1,20}"
_WEB_PATH = re.compile(rf"^/(?:web/|deck/)?@(?P<acct>{_ACCT})/(?P<id>{_STATUS_ID})(?:/embed)?/?$")
_AP_PATH = re.compile(rf"^/users/(?P<acct>{_USER})/statuses/(?P<id>{_STATUS_ID})/?$")
_PROFILE_PATH = re.compile(
    rf"^/(?:web/|deck/)?(?:@(?P<acct>{_ACCT})(?:/(?:with_replies|media|followers|following|tagged/[^/]+))?|users/{_USER})/?$"
)


class MastodonSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="POSTCHECK_MASTODON_", extra="ignore")

    # Where each instance is asked, by host (JSON in the environment); an instance not
    # listed is asked at https://<host>. Tests point an instance at the fixture server.
    instance_urls: dict[str, str] = Field(default_factory=dict)
    # Mastodon's default limit for unauthenticated API reads is 300 requests per 5 minutes
    # per address: one a second stays inside it.
    requests_per_second: float = 1.0


def mastodon_settings(settings: Settings) -> MastodonSettings:
    return MastodonPlatform().settings(settings)


def instance_url(host: str, settings: Settings) -> str:
    urls = {k.lower(): v for k, v in mastodon_settings(settings).instance_urls.items()}
    return urls.get(host.lower(), f"https://{host.lower()}").rstrip("/")


def post_key(host: str, status_id: str) -> str:
    return f"mastodon:{host.lower()}/{status_id}"


class MastodonPlatform(Platform):
    name: ClassVar[str] = "mastodon"
    title: ClassVar[str] = "Mastodon"
    any_host: ClassVar[bool] = True
    url_forms: ClassVar[tuple[str, ...]] = (
        "https://<instance>/@<user>/<id>",
        "https://<instance>/@<user>@<host>/<id> (a remote account's post on that instance)",
        "https://<instance>/users/<user>/statuses/<id>",
    )
    settings_model = MastodonSettings

    def parse_url(self, url: str) -> PostRef | None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        if parts.scheme not in ("http", "https") or "." not in host:
            return None
        path = parts.path
        match = _WEB_PATH.match(path) or _AP_PATH.match(path)
        if match is None:
            if _PROFILE_PATH.match(path) and "@" in path:
                raise BadURL(f"that is a Mastodon profile, not a post: {short(url)}")
            return None  # not a Mastodon path: maybe another site's
        acct, status_id = match.group("acct"), match.group("id").lstrip("0")
        if not status_id:
            raise BadURL(f"Mastodon post id is zero: {short(url)}")
        return self.ref(
            status_id,
            acct,
            f"https://{host}/@{acct}/{status_id}",
            post_key(host, status_id),
        )

    def claim_key(self, ref: PostRef) -> str:
        return ref.key

    def artifact_slug(self, key_or_uri: str) -> str:
        return "mastodon-" + key_or_uri.removeprefix("mastodon:").replace("/", "-")

    def fetch(self, ref: PostRef, settings: Settings) -> Post:
        from postcheck.sources.mastodon.fetch import fetch

        return fetch(ref, settings)


def instance_of(ref: PostRef) -> str:
    """The host of the instance a ref names (its key is mastodon:<host>/<id>)."""
    return ref.key.removeprefix("mastodon:").rsplit("/", 1)[0]
