"""Fetching X posts: API v2 through tweepy with a bearer token, else the public embed
endpoint (one post a request; API v2 also in batches of up to 100).

Facts used here (see shared/reference/README.md): the syndication endpoint answers
`tweet-result?id=&token=` with a `Tweet` or a `TweetTombstone`, `{}` or 404 when not found;
photos come at original size as `<base>?format=<ext>&name=orig`; a video's or GIF's
`media_url_https` is its poster image; API v2 needs `expansions=attachments.media_keys`
and reports missing or protected tweets in `errors[]` with HTTP 200.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from postcheck import http
from postcheck.domain import MediaRef, Post, PostRef
from postcheck.errors import FetchError, PostcheckError, PostUnavailable, TransientError
from postcheck.settings import Settings
from postcheck.sources.base import FetchResult
from postcheck.sources.x.platform import API_V2_BATCH, bearer_token, x_settings
from postcheck.sources.x.secrets import protect_logs
from postcheck.sources.x.token import syndication_token

if TYPE_CHECKING:  # tweepy (and oauthlib) only with a bearer token: imported where used
    import tweepy

_TWITTER_EPOCH_MS = 1288834974657
_DEFAULT_API = "https://api.twitter.com"

# Sent to the embed endpoint the way react-tweet sends it.
_SYNDICATION_FEATURES = ";".join(
    [
        "tfw_timeline_list:",
        "tfw_follower_count_sunset:true",
        "tfw_tweet_edit_backend:on",
        "tfw_refsrc_session:on",
        "tfw_fosnr_soft_interventions_enabled:on",
        "tfw_show_birdwatch_pivots_enabled:on",
        "tfw_show_business_verified_badge:on",
        "tfw_duplicate_scribes_to_settings:on",
        "tfw_use_profile_image_shape_enabled:on",
        "tfw_show_blue_verified_badge:on",
        "tfw_legacy_timeline_sunset:true",
        "tfw_show_gov_verified_badge:on",
        "tfw_show_business_affiliate_badge:on",
        "tfw_tweet_edit_frontend:on",
    ]
)


def snowflake_time(tweet_id: str) -> datetime | None:
    """When X minted this id (ids after 2010-11 are snowflakes carrying their own time)."""
    value = int(tweet_id)
    if value < 29_700_000_000_000_000:  # pre-snowflake ids carry no time
        return None
    return datetime.fromtimestamp(((value >> 22) + _TWITTER_EPOCH_MS) / 1000, tz=UTC)


def original_photo_url(media_url: str) -> str:
    """`…/media/KEY.jpg` (or `?format=jpg&name=small`) -> `…/media/KEY?format=jpg&name=orig`."""
    parts = urlsplit(media_url)
    path = parts.path
    fmt = None
    if ":" in path.rsplit("/", 1)[-1]:  # legacy `KEY.jpg:large`
        path = path.rsplit(":", 1)[0]
    last = path.rsplit("/", 1)[-1]
    if "." in last:
        stem, fmt = last.rsplit(".", 1)
        path = path[: -len(last)] + stem
    if fmt is None:
        match = re.search(r"(?:^|&)format=([a-z]+)", parts.query)
        fmt = match.group(1) if match else "jpg"
    return f"{parts.scheme}://{parts.netloc}{path}?format={fmt}&name=orig"


def _kind(media_type: str) -> str:
    return {"photo": "photo", "video": "video", "animated_gif": "gif"}.get(media_type, "photo")


# Frames are hashed at 320 px or less: the smallest MP4 whose short side reaches this is
# enough, and far cheaper to fetch and decode than the largest.
VIDEO_MIN_SHORT_SIDE = 240
_RESOLUTION = re.compile(r"/([0-9]{2,5})x([0-9]{2,5})/")


def pick_video(variants: list[dict[str, Any]]) -> tuple[str | None, list[str]]:
    """(best URL, fallbacks) among X's variants: the smallest MP4 with a short side of at
    least VIDEO_MIN_SHORT_SIDE (the largest if none reaches it), then the larger MP4s, then
    the HLS playlist."""
    mp4s, playlists = [], []
    for v in variants:
        url = v.get("url") or v.get("src")
        ctype = v.get("content_type") or v.get("type") or ""
        if not url:
            continue
        if ctype == "video/mp4":
            size = _RESOLUTION.search(url)
            short = min(int(size.group(1)), int(size.group(2))) if size else 0
            bitrate = v.get("bitrate") or v.get("bit_rate") or 0
            mp4s.append((short, bitrate, url))
        elif "mpegurl" in ctype.lower():
            playlists.append(url)
    mp4s.sort()
    enough = [m for m in mp4s if m[0] >= VIDEO_MIN_SHORT_SIDE] or mp4s[-1:]
    order = [m[2] for m in enough] + [m[2] for m in reversed(mp4s) if m not in enough] + playlists
    return (order[0], order[1:]) if order else (None, [])


def _media_ref(position: int, kind: str, url: str, **extra: Any) -> MediaRef:
    orig = original_photo_url(url)
    fallbacks = [u for u in (url,) if u != orig]
    return MediaRef(position=position, kind=kind, url=orig, fallback_urls=fallbacks, **extra)


def fetch(ref: PostRef, settings: Settings) -> Post:
    token = bearer_token(settings)
    if token:
        return _fetch_api_v2(ref, settings, token)
    return _fetch_syndication(ref, settings)


# --- keyless embed endpoint -------------------------------------------------------


def _fetch_syndication(ref: PostRef, settings: Settings) -> Post:
    what = f"X post {ref.post_id}"
    params = {
        "id": ref.post_id,
        "lang": "en",
        "features": _SYNDICATION_FEATURES,
        "token": syndication_token(ref.post_id),
    }
    url = x_settings(settings).syndication_url.rstrip("/") + "/tweet-result"
    with http.network_errors(what), http.client(settings) as client:
        response = client.get(url, params=params)
    if response.status_code == 404:
        raise PostUnavailable(f"{what} not found (deleted or never existed)", "not_found")
    http.check_status(response, what)
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise FetchError(f"{what}: the embed endpoint answered with non-JSON") from None
    if not isinstance(data, dict):
        raise FetchError(f"{what}: unexpected answer from the embed endpoint")
    if not data:
        raise PostUnavailable(f"{what} not found (deleted or never existed)", "not_found")
    if data.get("__typename") == "TweetTombstone":
        text = (((data.get("tombstone") or {}).get("text") or {}).get("text") or "").strip()
        reason = "deleted" if "deleted" in text.lower() else "restricted"
        detail = text.removesuffix("Learn more").strip() or "not visible to signed-out viewers"
        raise PostUnavailable(f"{what} is unavailable: {detail}", reason)
    return _post_from_syndication(ref, data)


def _post_from_syndication(ref: PostRef, data: dict[str, Any]) -> Post:
    try:
        user = data.get("user") or {}
        created = datetime.fromisoformat(data["created_at"].replace("Z", "+00:00"))
        text = data.get("text") or ""
        start, end = (data.get("display_text_range") or [0, len(text)])[:2]
        media = []
        for i, item in enumerate(data.get("mediaDetails") or []):
            info = item.get("original_info") or {}
            video = item.get("video_info") or {}
            video_url, video_fallbacks = pick_video(video.get("variants") or [])
            media.append(
                _media_ref(
                    i,
                    _kind(item.get("type", "photo")),
                    item["media_url_https"],
                    alt_text=item.get("ext_alt_text"),
                    width=info.get("width"),
                    height=info.get("height"),
                    platform_key=item.get("media_key") or item.get("id_str"),
                    video_url=video_url,
                    video_fallback_urls=video_fallbacks,
                    duration_ms=video.get("duration_millis"),
                )
            )
        quoted = data.get("quoted_tweet") or {}
        edits = (data.get("edit_control") or {}).get("edit_tweet_ids") or []
        screen_name = user.get("screen_name")
        tweet_id = str(data.get("id_str") or ref.post_id)
        return Post(
            platform="x",
            uri=f"x:{tweet_id}",
            url=f"https://x.com/{screen_name or 'i/web'}/status/{tweet_id}",
            post_id=tweet_id,
            author_id=user.get("id_str"),
            author_handle=screen_name,
            author_name=user.get("name"),
            created_at=created,
            text=text[start:end],
            media=media,
            quoted_uri=f"x:{quoted['id_str']}" if quoted.get("id_str") else None,
            fetched_via="x-syndication",
            edit_of=[e for e in edits if e != tweet_id],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FetchError(f"X post {ref.post_id}: malformed embed answer ({exc})") from None


# --- API v2 -------------------------------------------------------------------------


def _client(settings: Settings, bearer: str) -> tweepy.Client:
    """tweepy's client on our requests session: its fixed host api.twitter.com goes to the
    configured base URL, through the guarded transport, with our timeouts."""
    import tweepy

    protect_logs()
    client = tweepy.Client(bearer_token=bearer, wait_on_rate_limit=False)
    client.session.close()
    client.session = http.requests_session(
        settings, base_urls={_DEFAULT_API: x_settings(settings).api_url}
    )
    client.user_agent = f"{settings.user_agent} {client.user_agent}"
    return client


_EXPANSIONS = ["attachments.media_keys", "author_id", "referenced_tweets.id"]
_MEDIA_FIELDS = [
    "type",
    "url",
    "preview_image_url",
    "width",
    "height",
    "alt_text",
    "duration_ms",
    "variants",
]
_TWEET_FIELDS = [
    "created_at",
    "author_id",
    "attachments",
    "edit_history_tweet_ids",
    "referenced_tweets",
    "withheld",
    "note_tweet",
]
_USER_FIELDS = ["username", "name", "protected"]


@contextmanager
def _api_errors(what: str) -> Iterator[None]:
    """tweepy's and requests' exceptions -> postcheck's error kinds, one line each."""
    import tweepy

    try:
        yield
    except tweepy.TooManyRequests as exc:
        wait = http.retry_after_seconds(exc.response.headers)
        raise TransientError(f"{what}: X API rate limit (HTTP 429)", retry_after=wait) from None
    except tweepy.TwitterServerError as exc:
        raise TransientError(
            f"{what}: X API server error (HTTP {exc.response.status_code})"
        ) from None
    except tweepy.Unauthorized:
        raise FetchError(f"{what}: the X API refused the bearer token (HTTP 401)") from None
    except tweepy.NotFound:
        raise PostUnavailable(f"{what} not found", "not_found") from None
    except tweepy.HTTPException as exc:
        raise FetchError(f"{what}: X API HTTP {exc.response.status_code}") from None
    except requests.Timeout:
        raise TransientError(f"{what}: X API timed out") from None
    except requests.ConnectionError:
        raise TransientError(f"{what}: cannot reach the X API") from None


def _fetch_api_v2(ref: PostRef, settings: Settings, bearer: str) -> Post:
    what = f"X post {ref.post_id}"
    client = _client(settings, bearer)
    try:
        with _api_errors(what):
            response = client.get_tweet(
                ref.post_id,
                expansions=_EXPANSIONS,
                media_fields=_MEDIA_FIELDS,
                tweet_fields=_TWEET_FIELDS,
                user_fields=_USER_FIELDS,
            )
    finally:
        client.session.close()
    tweet = response.data
    if tweet is None:
        raise _v2_unavailable(what, response.errors or [])
    return _post_from_v2(ref, tweet, response.includes or {})


def fetch_many_v2(refs: Sequence[PostRef], settings: Settings, bearer: str) -> list[FetchResult]:
    """GET /2/tweets?ids= in chunks of 100: the tweets found come in `data`, the others in
    `errors[]` (HTTP 200); one missing tweet is unavailable alone, not its batch."""
    out: list[FetchResult] = []
    client = _client(settings, bearer)
    try:
        for start in range(0, len(refs), API_V2_BATCH):
            chunk = refs[start : start + API_V2_BATCH]
            what = (
                f"X posts {chunk[0].post_id}…" if len(chunk) > 1 else f"X post {chunk[0].post_id}"
            )
            try:
                with _api_errors(what):
                    response = client.get_tweets(
                        [r.post_id for r in chunk],
                        expansions=_EXPANSIONS,
                        media_fields=_MEDIA_FIELDS,
                        tweet_fields=_TWEET_FIELDS,
                        user_fields=_USER_FIELDS,
                    )
            except PostcheckError as exc:  # the whole request failed: so did each post
                out.extend([exc] * len(chunk))
                continue
            found = {str(t.id): t for t in response.data or []}
            errors: dict[str, list[dict[str, Any]]] = {}
            for err in response.errors or []:
                key = str(err.get("resource_id") or err.get("value") or "")
                errors.setdefault(key, []).append(err)
            includes = response.includes or {}
            for ref in chunk:
                tweet = found.get(ref.post_id)
                if tweet is None:
                    out.append(
                        _v2_unavailable(f"X post {ref.post_id}", errors.get(ref.post_id, []))
                    )
                    continue
                try:
                    out.append(_post_from_v2(ref, tweet, includes))
                except PostcheckError as exc:
                    out.append(exc)
    finally:
        client.session.close()
    return out


def _v2_unavailable(what: str, errors: list[dict[str, Any]]) -> Exception:
    for err in errors:
        kind = str(err.get("type", ""))
        detail = err.get("detail") or err.get("title") or ""
        if kind.endswith("/resource-not-found"):
            return PostUnavailable(f"{what} not found (deleted or never existed)", "not_found")
        if kind.endswith("/not-authorized-for-resource"):
            return PostUnavailable(f"{what} is from a protected account", "protected")
        if "suspend" in detail.lower():
            return PostUnavailable(f"{what}: the account is suspended", "suspended")
    if not errors:  # a batch answer that leaves a tweet out: it is not there
        return PostUnavailable(f"{what} not found (deleted or never existed)", "not_found")
    return FetchError(f"{what}: X API error: {errors[0].get('title') or 'no data returned'}")


def _post_from_v2(ref: PostRef, tweet: tweepy.Tweet, includes: dict[str, Any]) -> Post:
    users = {u.id: u for u in includes.get("users", [])}
    media_by_key = {m.media_key: m for m in includes.get("media", [])}
    author = users.get(tweet.author_id)
    keys = (tweet.attachments or {}).get("media_keys", [])
    media = []
    for i, key in enumerate(keys):
        m = media_by_key.get(key)
        if m is None:
            continue
        url = m.url if m.type == "photo" else m.preview_image_url
        if not url:
            continue
        video_url, video_fallbacks = pick_video(m.variants or [])
        media.append(
            _media_ref(
                i,
                _kind(m.type),
                url,
                alt_text=m.alt_text,
                width=m.width,
                height=m.height,
                platform_key=key,
                video_url=video_url,
                video_fallback_urls=video_fallbacks,
                duration_ms=m.duration_ms,
            )
        )
    if tweet.withheld and not media and not tweet.text:
        raise PostUnavailable(f"X post {ref.post_id} is withheld", "withheld")
    text = tweet.text
    note = tweet.data.get("note_tweet") or {}
    if note.get("text"):  # long posts: the full text lives in note_tweet
        text = note["text"]
    quoted = next((str(r.id) for r in (tweet.referenced_tweets or []) if r.type == "quoted"), None)
    history = [str(e) for e in (tweet.edit_history_tweet_ids or [])]
    username = author.username if author else None
    return Post(
        platform="x",
        uri=f"x:{tweet.id}",
        url=f"https://x.com/{username or 'i/web'}/status/{tweet.id}",
        post_id=str(tweet.id),
        author_id=str(tweet.author_id) if tweet.author_id else None,
        author_handle=username,
        author_name=author.name if author else None,
        created_at=tweet.created_at,
        text=text,
        media=media,
        quoted_uri=f"x:{quoted}" if quoted else None,
        fetched_via="x-api-v2",
        edit_of=[e for e in history if e != str(tweet.id)],
    )
