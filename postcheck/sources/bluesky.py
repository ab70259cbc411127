"""Bluesky through the `atproto` SDK against the public AppView, no login.

Facts used here (see shared/reference/README.md): a post's own images are in
`app.bsky.embed.images#view` or, for a quote with media, in `recordWithMedia#view.media`;
the view's `fullsize` is a CDN re-encode, "may or may not be the exact original blob", so
we prefer the original blob from the author's PDS (`com.atproto.sync.getBlob`), whose CID
carries the sha256 of the bytes, and fall back to the CDN image.
"""

from __future__ import annotations

import base64
import functools
import re
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import httpx
from atproto import Client
from atproto_client import exceptions as at_exc
from atproto_client.request import Request
from atproto_identity.cache.in_memory_cache import DidInMemoryCache
from atproto_identity.did.resolvers.plc_resolver import DidPlcResolver
from atproto_identity.exceptions import AtProtocolError as IdentityError

from postcheck.dates import checked
from postcheck.domain import MediaRef, Platform, Post, PostRef
from postcheck.errors import BadURL, FetchError, PostUnavailable, TransientError
from postcheck.http import ssl_context
from postcheck.sources.base import Source
from postcheck.urls import host_of, short

BSKY_HOSTS = frozenset({"bsky.app", "staging.bsky.app"})
_HANDLE = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_DID = r"did:[a-z]+:[a-zA-Z0-9._:%-]{1,2000}"
_ACTOR = rf"(?:{_DID}|{_HANDLE})"
_RKEY = r"[A-Za-z0-9._:~-]{1,512}"
_WEB_PATH = re.compile(rf"^/profile/(?P<actor>{_ACTOR})/post/(?P<rkey>{_RKEY})/?$")
_PROFILE_PATH = re.compile(rf"^/profile/(?P<actor>{_ACTOR})(?:/[a-z]*)?/?$")
_AT_URI = re.compile(rf"^at://(?P<actor>{_ACTOR})/app\.bsky\.feed\.post/(?P<rkey>{_RKEY})/?$")


def web_url(actor: str, rkey: str) -> str:
    return f"https://bsky.app/profile/{actor}/post/{rkey}"


def sha256_of_cid(cid: str) -> str | None:
    """The sha256 digest a CIDv1 (base32, 'b…') names, as hex; None for other forms."""
    if not cid.startswith("b"):
        return None
    body = cid[1:].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError:
        return None
    # version 1, codec (raw 0x55 or dag-pb 0x70), multihash sha2-256 (0x12), length 32
    if len(raw) == 36 and raw[0] == 0x01 and raw[2] == 0x12 and raw[3] == 0x20:
        return raw[4:].hex()
    return None


def _get(obj: Any, name: str) -> Any:
    """Field of an SDK model or of a plain dict (unknown $types stay dicts)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _blob_cid(blob: Any) -> str | None:
    ref = _get(blob, "ref")
    link = _get(ref, "link") or _get(ref, "$link") if ref is not None else None
    return link or _get(blob, "cid")


class BlueskySource(Source):
    platform: ClassVar[Platform] = Platform.BLUESKY
    hosts: ClassVar[frozenset[str]] = BSKY_HOSTS

    @classmethod
    def parse_url(cls, url: str) -> PostRef | None:
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
        return PostRef(
            platform=Platform.BLUESKY, post_id=rkey, author=actor, url=web_url(actor, rkey)
        )

    def _client(self) -> Client:
        timeout = httpx.Timeout(self.settings.read_timeout, connect=self.settings.connect_timeout)
        request = Request(
            timeout=timeout, headers={"User-Agent": self.settings.user_agent}, verify=ssl_context()
        )
        return Client(base_url=self.settings.bsky_appview_url, request=request)

    def fetch(self, ref: PostRef) -> Post:
        client = self._client()
        try:
            did = ref.author or ""
            if not did.startswith("did:"):
                did = self._resolve_handle(client, did)
            uri = f"at://{did}/app.bsky.feed.post/{ref.post_id}"
            what = f"Bluesky post {uri}"
            try:
                answer = client.app.bsky.feed.get_posts({"uris": [uri]})
            except at_exc.AtProtocolError as exc:
                raise _translate(exc, what) from None
            if not answer.posts:
                raise PostUnavailable(
                    f"{what} not found (deleted, or the account is gone)", "not_found"
                )
            return self._post_from_view(answer.posts[0], did)
        finally:
            client.request.close()

    def _resolve_handle(self, client: Client, handle: str) -> str:
        what = f"Bluesky handle @{handle}"
        try:
            return client.com.atproto.identity.resolve_handle({"handle": handle}).did
        except at_exc.BadRequestError as exc:
            if _error_name(exc) in {"InvalidRequest", "HandleNotFound"}:
                raise PostUnavailable(
                    f"{what} does not resolve (renamed, deleted or never existed)", "not_found"
                ) from None
            raise _translate(exc, what) from None
        except at_exc.AtProtocolError as exc:
            raise _translate(exc, what) from None

    def _pds_endpoint(self, did: str) -> str | None:
        """The author's PDS from the DID document; None when it cannot be had (we then use
        the CDN copy, so this is never fatal)."""
        if not did.startswith("did:plc:"):
            return None  # did:web documents live on the author's own host
        try:
            doc = _plc_resolver(self.settings.bsky_plc_url, self.settings.read_timeout).resolve(did)
        except (IdentityError, httpx.HTTPError, ValueError):
            return None
        if doc is None:
            return None
        endpoint = doc.get_pds_endpoint()
        if not endpoint:
            return None
        parts = urlsplit(endpoint)
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None

    def _post_from_view(self, view: Any, did: str) -> Post:
        record = view.record
        author = view.author
        uri = view.uri
        rkey = uri.rsplit("/", 1)[-1]
        try:
            created = datetime.fromisoformat(_get(record, "created_at").replace("Z", "+00:00"))
            created = checked(created, "createdAt")  # anyone writes it: year 1 is possible
        except (AttributeError, ValueError):
            raise FetchError(f"Bluesky post {uri}: record has no valid createdAt") from None
        images_view, record_images = self._own_images(view.embed, _get(record, "embed"))
        pds = self._pds_endpoint(did) if images_view else None
        media = []
        for i, image in enumerate(images_view):
            blob = _get(record_images[i], "image") if i < len(record_images) else None
            cid = _blob_cid(blob) if blob is not None else None
            ratio = _get(image, "aspect_ratio")
            fullsize = _get(image, "fullsize")
            video: dict[str, Any] = {}
            if _get(image, "playlist"):  # app.bsky.embed.video#view: the poster is the thumbnail
                fullsize = _get(image, "thumbnail")
                video_cid = _get(image, "cid")
                if not video_cid and record_images:
                    video_cid = _blob_cid(_get(record_images[0], "video"))
                video = {"video_url": _get(image, "playlist"), "video_fallback_urls": []}
                if pds and video_cid:  # the original MP4 blob first, the HLS rendition after
                    video = {
                        "video_url": f"{pds}/xrpc/com.atproto.sync.getBlob?"
                        + urlencode({"did": did, "cid": video_cid}),
                        "video_fallback_urls": [_get(image, "playlist")],
                        "video_expected_sha256": sha256_of_cid(video_cid),
                    }
                cid = None  # the poster has no blob of its own
            if not fullsize:
                continue
            url, fallbacks, expected = fullsize, [], None
            if pds and cid:
                url = f"{pds}/xrpc/com.atproto.sync.getBlob?" + urlencode({"did": did, "cid": cid})
                fallbacks, expected = [fullsize], sha256_of_cid(cid)
            media.append(
                MediaRef(
                    position=i,
                    kind="video" if video else "photo",
                    url=url,
                    fallback_urls=fallbacks,
                    alt_text=_get(image, "alt") or None,
                    width=_get(ratio, "width"),
                    height=_get(ratio, "height"),
                    platform_key=cid or _get(image, "cid"),
                    expected_sha256=expected,
                    **video,
                )
            )
        quoted = self._quoted_uri(view.embed)
        handle = _get(author, "handle")
        return Post(
            platform=Platform.BLUESKY,
            uri=uri,
            url=web_url(handle or did, rkey),
            post_id=rkey,
            author_id=_get(author, "did"),
            author_handle=handle,
            author_name=_get(author, "display_name"),
            created_at=created,
            text=_get(record, "text") or "",
            media=media,
            quoted_uri=quoted,
            fetched_via="bsky-appview",
        )

    @staticmethod
    def _own_images(embed_view: Any, record_embed: Any) -> tuple[list[Any], list[Any]]:
        """The post's own images (view and record), not those of a quoted post."""
        view_type = _get(embed_view, "py_type") or _get(embed_view, "$type") or ""
        if view_type.startswith("app.bsky.embed.recordWithMedia"):
            embed_view = _get(embed_view, "media")
            record_embed = _get(record_embed, "media")
            view_type = _get(embed_view, "py_type") or _get(embed_view, "$type") or ""
        if view_type.startswith("app.bsky.embed.images"):
            return list(_get(embed_view, "images") or []), list(_get(record_embed, "images") or [])
        if view_type.startswith("app.bsky.embed.video"):
            return [embed_view], [record_embed]
        return [], []

    @staticmethod
    def _quoted_uri(embed_view: Any) -> str | None:
        view_type = _get(embed_view, "py_type") or ""
        if view_type.startswith("app.bsky.embed.recordWithMedia"):
            embed_view = _get(embed_view, "record")
            view_type = "app.bsky.embed.record"
        if view_type.startswith("app.bsky.embed.record"):
            return _get(_get(embed_view, "record"), "uri")
        return None


@functools.lru_cache(maxsize=4)
def _plc_resolver(plc_url: str, timeout: float) -> DidPlcResolver:
    """One resolver (one connection pool, one TLS context) per directory, with the SDK's
    in-memory cache: the PDS of an author does not move between two of their posts."""
    return DidPlcResolver(
        plc_url, timeout=timeout, cache=DidInMemoryCache(stale_ttl=600, max_ttl=3600)
    )


def _error_name(exc: at_exc.AtProtocolError) -> str | None:
    response = getattr(exc, "response", None)
    content = getattr(response, "content", None)
    return getattr(content, "error", None)


def _translate(exc: at_exc.AtProtocolError, what: str) -> Exception:
    """SDK exception -> postcheck error kind, with a one-line message."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    content = getattr(response, "content", None)
    name = getattr(content, "error", None)
    message = getattr(content, "message", None)
    if isinstance(exc, at_exc.RateLimitExceededError):
        reset = exc.reset_at
        wait = max(0.0, (reset - datetime.now(reset.tzinfo)).total_seconds()) if reset else None
        return TransientError(f"{what}: rate limited by the AppView (HTTP 429)", retry_after=wait)
    if isinstance(exc, at_exc.InvokeTimeoutError):
        return TransientError(f"{what}: the AppView timed out")
    if isinstance(exc, at_exc.NetworkError) and status is None:
        return TransientError(f"{what}: cannot reach the AppView")
    if name == "NotFound" or status == 404:
        return PostUnavailable(f"{what} not found", "not_found")
    if name in {"AccountTakedown", "RepoTakendown"}:
        return PostUnavailable(f"{what}: the account was taken down", "suspended")
    if name in {"AccountDeactivated", "RepoDeactivated"}:
        return PostUnavailable(f"{what}: the account is deactivated", "deactivated")
    if name == "BlockedActor" or name == "BlockedByActor":
        return PostUnavailable(f"{what}: blocked", "blocked")
    if status is not None and (status >= 500 or isinstance(exc, at_exc.NetworkError)):
        return TransientError(f"{what}: AppView server error (HTTP {status})")
    detail = f"{name}: {message}" if name else f"HTTP {status}"
    return FetchError(f"{what}: {short(detail, 160)}")
