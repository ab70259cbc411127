"""Bluesky's URLs, settings and identities (cheap to import: fetching lives in `fetch`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic_settings import SettingsConfigDict

from postcheck.domain import Post, PostRef
from postcheck.errors import BadURL
from postcheck.settings import Settings
from postcheck.sources.base import FetchResult, Platform, PlatformSettings
from postcheck.urls import host_of, short

BSKY_HOSTS = frozenset({"bsky.app", "staging.bsky.app"})
_HANDLE = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_DID = r"did:[a-z]+:[a-zA-Z0-9._:%-]{1,2000}"
_ACTOR = rf"(?:{_DID}|{_HANDLE})"
_RKEY = r"[A-Za-z0-9._:~-]{1,512}"
_WEB_PATH = re.compile(rf"^/profile/(?P<actor>{_ACTOR})/post/(?P<rkey>{_RKEY})/?$")
_PROFILE_PATH = re.compile(rf"^/profile/(?P<actor>{_ACTOR})(?:/[a-z]*)?/?$")
_AT_URI = re.compile(rf"^at://(?P<actor>{_ACTOR})/app\.bsky\.feed\.post/(?P<rkey>{_RKEY})/?$")
# app.bsky.feed.getPosts takes at most 25 AT-URIs a request.
GET_POSTS_BATCH = 25


class BlueskySettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="POSTCHECK_BSKY_", extra="ignore")

    # The public AppView answers unauthenticated app.bsky.* reads.
    appview_url: str = "https://public.api.bsky.app"
    plc_url: str = "https://plc.directory"
    web_url: str = "https://bsky.app"
    requests_per_second: float = 5.0


def web_url(actor: str, rkey: str) -> str:
    return f"https://bsky.app/profile/{actor}/post/{rkey}"


def at_uri(actor: str, rkey: str) -> str:
    return f"at://{actor}/app.bsky.feed.post/{rkey}"


class BlueskyPlatform(Platform):
    name: ClassVar[str] = "bluesky"
    title: ClassVar[str] = "Bluesky"
    hosts: ClassVar[frozenset[str]] = BSKY_HOSTS
    url_forms: ClassVar[tuple[str, ...]] = (
        "https://bsky.app/profile/<handle or did>/post/<rkey>",
        "at://<did or handle>/app.bsky.feed.post/<rkey>",
    )
    settings_model = BlueskySettings
    batch_size: ClassVar[int] = GET_POSTS_BATCH

    def parse_url(self, url: str) -> PostRef | None:
        if url.startswith("at:"):
            match = _AT_URI.match(url)
            if not match:
                raise BadURL(
                    f"not a Bluesky post AT-URI (at://<did>/app.bsky.feed.post/<rkey>): {short(url)}"
                )
        else:
            if host_of(url) not in BSKY_HOSTS:
                return None
            path = urlsplit(url).path
            match = _WEB_PATH.match(path)
            if not match:
                if _PROFILE_PATH.match(path):
                    raise BadURL(f"that is a Bluesky profile, not a post: {short(url)}")
                raise BadURL(
                    f"not a Bluesky post URL (expected /profile/<handle>/post/<id>): {short(url)}"
                )
        actor = match.group("actor")
        if not actor.startswith("did:"):
            actor = actor.lower()
        rkey = match.group("rkey")
        # Before a handle is resolved the key names the post through it; with a DID it is
        # the post's AT-URI for good.
        return self.ref(rkey, actor, web_url(actor, rkey), at_uri(actor, rkey))

    def artifact_slug(self, key_or_uri: str) -> str:
        raw = key_or_uri.removeprefix("at://").replace("/app.bsky.feed.post/", "-")
        return f"bluesky-{raw}"

    def claim_key(self, ref: PostRef) -> str:
        return f"bluesky:{ref.author}/{ref.post_id}"

    def refetch_url(self, uri: str, url: str) -> str:
        # The AT-URI names the author by DID, which survives handle changes.
        return uri if uri.startswith("at://") else url

    def author_is_id(self, author: str) -> bool:
        return author.startswith("did:")

    def author_alias_url(self, ref: PostRef, author_id: str) -> str | None:
        """The same post named through the author id an embed ties its handle to."""
        return web_url(author_id, ref.post_id) if author_id.startswith("did:") else None

    def fetch(self, ref: PostRef, settings: Settings) -> Post:
        from postcheck.sources.bluesky.fetch import fetch

        return fetch(ref, settings)

    def fetch_many(self, refs: Sequence[PostRef], settings: Settings) -> list[FetchResult]:
        from postcheck.sources.bluesky.fetch import fetch_many

        return fetch_many(refs, settings)

    def reset(self) -> None:
        import sys

        fetch = sys.modules.get("postcheck.sources.bluesky.fetch")
        if fetch is not None:  # DID documents cached by the last settings' directory
            fetch.forget_resolvers()


def bluesky_settings(settings: Settings) -> BlueskySettings:
    return BlueskyPlatform().settings(settings)
