"""Fetching Bluesky posts through the `atproto` SDK against the public AppView, no login;
many at once through app.bsky.feed.getPosts (25 AT-URIs a request).

Facts used here (see shared/reference/README.md): a post's own images are in
`app.bsky.embed.images#view` or, for a quote with media, in `recordWithMedia#view.media`;
the view's `fullsize` is a CDN re-encode, "may or may not be the exact original blob", so
we prefer the original blob from the author's PDS (`com.atproto.sync.getBlob`), whose CID
carries the sha256 of the bytes, and fall back to the CDN image.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from atproto import Client
from atproto_client import exceptions as at_exc
from atproto_client.request import Request
from atproto_identity.cache.in_memory_cache import DidInMemoryCache
from atproto_identity.did.resolvers.plc_resolver import DidPlcResolver
from atproto_identity.exceptions import AtProtocolError as IdentityError

from postcheck import http
from postcheck.dates import checked
from postcheck.domain import MediaRef, Post, PostRef
from postcheck.errors import FetchError, PostcheckError, PostUnavailable, TransientError
from postcheck.settings import Settings
from postcheck.sources.base import FetchResult
from postcheck.sources.bluesky.platform import (
    GET_POSTS_BATCH,
    at_uri,
    bluesky_settings,
    web_url,
)
from postcheck.urls import short


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


def _client(settings: Settings) -> Client:
    """The SDK's client on our transport (guarded, timeouts, user agent)."""
    request = Request(
        timeout=http.timeout(settings),
        headers={"User-Agent": settings.user_agent},
        transport=http.transport(settings),
    )
    return Client(base_url=bluesky_settings(settings).appview_url, request=request)


def fetch(ref: PostRef, settings: Settings) -> Post:
    [result] = fetch_many([ref], settings)
    if isinstance(result, PostcheckError):
        raise result
    return result


def fetch_many(refs: Sequence[PostRef], settings: Settings) -> list[FetchResult]:
    """Handles resolved to DIDs, then getPosts for up to 25 AT-URIs a request; a post the
    AppView leaves out of its answer is unavailable alone."""
    results: list[FetchResult | None] = [None] * len(refs)
    wanted: list[tuple[int, str, str]] = []  # (index, did, at-uri)
    client = _client(settings)
    try:
        for i, ref in enumerate(refs):
            did = ref.author or ""
            try:
                if not did.startswith("did:"):
                    did = _resolve_handle(client, did)
            except PostcheckError as exc:
                results[i] = exc
                continue
            wanted.append((i, did, at_uri(did, ref.post_id)))
        for start in range(0, len(wanted), GET_POSTS_BATCH):
            chunk = wanted[start : start + GET_POSTS_BATCH]
            what = f"Bluesky post {chunk[0][2]}" + (
                f" (and {len(chunk) - 1} more)" if len(chunk) > 1 else ""
            )
            try:
                answer = client.app.bsky.feed.get_posts({"uris": [uri for _, _, uri in chunk]})
            except at_exc.AtProtocolError as exc:
                error = _translate(exc, what)
                for i, _, _ in chunk:
                    results[i] = error
                continue
            views = {view.uri: view for view in answer.posts}
            for i, did, uri in chunk:
                view = views.get(uri)
                if view is None:
                    results[i] = PostUnavailable(
                        f"Bluesky post {uri} not found (deleted, or the account is gone)",
                        "not_found",
                    )
                    continue
                try:
                    results[i] = _post_from_view(view, did, settings)
                except PostcheckError as exc:
                    results[i] = exc
    finally:
        client.request.close()
    return [r for r in results if r is not None]


def _resolve_handle(client: Client, handle: str) -> str:
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


def _pds_endpoint(did: str, settings: Settings) -> str | None:
    """The author's PDS from the DID document; None when it cannot be had (we then use
    the CDN copy, so this is never fatal)."""
    if not did.startswith("did:plc:"):
        return None  # did:web documents live on the author's own host
    try:
        doc = plc_resolver(settings).resolve(did)
    except (IdentityError, httpx.HTTPError, ValueError):
        return None
    if doc is None:
        return None
    endpoint = doc.get_pds_endpoint()
    if not endpoint:
        return None
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _post_from_view(view: Any, did: str, settings: Settings) -> Post:
    record = view.record
    author = view.author
    uri = view.uri
    rkey = uri.rsplit("/", 1)[-1]
    try:
        created = datetime.fromisoformat(_get(record, "created_at").replace("Z", "+00:00"))
        created = checked(created, "createdAt")  # anyone writes it: year 1 is possible
    except (AttributeError, ValueError):
        raise FetchError(f"Bluesky post {uri}: record has no valid createdAt") from None
    images_view, record_images = _own_images(view.embed, _get(record, "embed"))
    pds = _pds_endpoint(did, settings) if images_view else None
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
    quoted = _quoted_uri(view.embed)
    handle = _get(author, "handle")
    return Post(
        platform="bluesky",
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


def _quoted_uri(embed_view: Any) -> str | None:
    view_type = _get(embed_view, "py_type") or ""
    if view_type.startswith("app.bsky.embed.recordWithMedia"):
        embed_view = _get(embed_view, "record")
        view_type = "app.bsky.embed.record"
    if view_type.startswith("app.bsky.embed.record"):
        return _get(_get(embed_view, "record"), "uri")
    return None


class _Resolver(DidPlcResolver):
    """The SDK's PLC resolver on our transport instead of a client of its own."""

    def __init__(self, settings: Settings) -> None:
        own = bluesky_settings(settings)
        super().__init__(
            own.plc_url,
            timeout=settings.read_timeout,
            cache=DidInMemoryCache(stale_ttl=600, max_ttl=3600),
        )
        self._client.close()
        self._client = http.client(settings)


_RESOLVERS: dict[tuple[Any, ...], DidPlcResolver] = {}


def plc_resolver(settings: Settings) -> DidPlcResolver:
    """One resolver (one connection pool) per directory and network settings, with the
    SDK's in-memory cache: the PDS of an author does not move between two of their posts."""
    key = (
        bluesky_settings(settings).plc_url,
        settings.read_timeout,
        settings.connect_timeout,
        tuple(settings.allowed_networks),
    )
    resolver = _RESOLVERS.get(key)
    if resolver is None:
        resolver = _RESOLVERS[key] = _Resolver(settings)
    return resolver


def forget_resolvers() -> None:
    _RESOLVERS.clear()


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
