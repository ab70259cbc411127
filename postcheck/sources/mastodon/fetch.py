"""Fetching a Mastodon status through Mastodon.py's public status call,
`Mastodon(api_base_url=<instance>).status(id)` (GET /api/v1/statuses/:id), no login.

How Mastodon answers (Mastodon.py's recorded test cassettes; Mastodon's REST::StatusSerializer
and REST::MediaAttachmentSerializer):

* A status: `account.acct` ("user" on its own instance, "user@host" for a remote one),
  `created_at`, `content` (HTML), `spoiler_text`, `edited_at` (null until edited), `uri`
  (the ActivityPub id, on the origin) and `url` (its web page), `reblog` (a boost carries
  the boosted status there), `media_attachments[]`.
* A media attachment: `type` image | gifv | video | audio | unknown; `url` the file at
  original size on the instance answering; `preview_url` a small rendition; `remote_url`
  the file on the origin server when the post came from another instance (then `url` is
  this instance's cached copy, which it re-processed, or its media proxy, and it is
  missing while the copy is not made); `description` the alt text; `meta.original` the
  width and height.
* A missing or deleted status is 404 `{"error":"Record not found"}` (410 on some
  servers); an instance that allows no unauthenticated API reads answers 401 with
  "This API requires an authenticated user" (or "This method requires an authenticated
  user"); 429 carries X-RateLimit-Reset.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import requests
from mastodon import Mastodon
from mastodon import errors as mastodon_errors
from selectolax.lexbor import LexborHTMLParser

from postcheck import http
from postcheck.dates import checked
from postcheck.domain import MediaRef, Post, PostRef
from postcheck.errors import FetchError, PostcheckError, PostUnavailable, TransientError
from postcheck.html_depth import MAX_DEPTH, cap_depth
from postcheck.settings import Settings
from postcheck.sources.mastodon.platform import instance_of, instance_url, post_key
from postcheck.urls import short

_KINDS = {"image": "photo", "gifv": "gif", "video": "video"}


def _client(base_url: str, settings: Settings) -> Mastodon:
    """Mastodon.py on our requests session: every connection through the guarded
    transport (an instance is any host anyone can name), our timeouts, no version probe,
    and a 429 raised, not slept through (Prefect's retries decide)."""
    return Mastodon(
        api_base_url=base_url,
        session=http.requests_session(settings),
        request_timeout=settings.read_timeout,
        version_check_mode="none",
        ratelimit_method="throw",
        user_agent=settings.user_agent,
    )


def fetch(ref: PostRef, settings: Settings) -> Post:
    host = instance_of(ref)
    what = f"Mastodon post {ref.post_id} on {host}"
    client = _client(instance_url(host, settings), settings)
    try:
        status = client.status(ref.post_id)
    except mastodon_errors.MastodonError as exc:
        raise _translate(exc, client, what, host) from None
    finally:
        client.session.close()
    try:
        return _post(ref, host, dict(status))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FetchError(f"{what}: malformed status ({type(exc).__name__}: {exc})") from None


def _translate(
    exc: mastodon_errors.MastodonError, client: Mastodon, what: str, host: str
) -> PostcheckError:
    """Mastodon.py's exception -> postcheck's error kind, one line."""
    cause = exc.__context__
    if isinstance(cause, PostcheckError):  # the SSRF guard refused the instance's address
        return cause
    if isinstance(exc, mastodon_errors.MastodonRatelimitError):
        reset = getattr(client, "ratelimit_reset", None)
        wait = max(0.0, float(reset) - time.time()) if reset else None
        return TransientError(f"{what}: rate limited by the instance (HTTP 429)", retry_after=wait)
    if isinstance(exc, mastodon_errors.MastodonNetworkError):
        if isinstance(cause, requests.Timeout):
            return TransientError(f"{what}: the instance timed out")
        return TransientError(f"{what}: cannot reach the instance")
    args = exc.args
    status = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    detail = str(args[3]) if len(args) > 3 and args[3] else ""
    if isinstance(exc, mastodon_errors.MastodonServerError) or (status or 0) >= 500:
        return TransientError(f"{what}: instance server error (HTTP {status})")
    if isinstance(exc, mastodon_errors.MastodonNotFoundError) or status == 404:
        return PostUnavailable(f"{what} not found (deleted, private or never existed)", "not_found")
    if status == 410:
        return PostUnavailable(f"{what} is gone (deleted)", "deleted")
    if status in (401, 403):
        why = f": {short(detail, 80)}" if detail else ""
        return FetchError(
            f"{what}: the instance {host} refuses unauthenticated reads (HTTP {status}{why}); "
            "postcheck reads without a login"
        )
    if isinstance(exc, mastodon_errors.MastodonAPIError) and status is None:
        return FetchError(f"{what}: unexpected answer from the instance ({short(str(exc), 100)})")
    return FetchError(f"{what}: HTTP {status}" + (f" ({short(detail, 80)})" if detail else ""))


def html_to_text(content: str, notes: dict[str, str] | None = None) -> str:
    """A status's HTML as the plain text a reader sees: paragraphs and line breaks kept.
    Any instance writes it: nesting past MAX_DEPTH is dropped before lexbor parses it
    (its parse time grows with the square of the depth), its text kept, and said so in
    `notes`."""
    if not content:
        return ""
    content, deep = cap_depth(content)
    if deep and notes is not None:
        notes["content_nesting"] = (
            f"the status's HTML nests deeper than {MAX_DEPTH} elements: {deep:,} tags past "
            "that depth were ignored (their text was read)"
        )
    content = content.replace("<br>", "\n").replace("<br/>", "\n").replace("<br />", "\n")
    content = content.replace("</p><p>", "</p>\n\n<p>")
    text = LexborHTMLParser(content).text(deep=True) or ""
    return "\n".join(line.strip() for line in text.strip().splitlines())


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    return obj.get(name) if hasattr(obj, "get") else getattr(obj, name, None)


def _media(attachments: list[Any]) -> list[MediaRef]:
    """Each picture or video at original size. A remote post's file is taken from its
    origin (`remote_url`: what its author uploaded, not this instance's re-processed copy),
    with the instance's copy (`url`) as the fallback; a local post's is `url`."""
    out: list[MediaRef] = []
    for i, item in enumerate(attachments):
        kind = _KINDS.get(str(_get(item, "type")))
        if kind is None:
            continue  # audio, or a remote file the instance does not describe
        order = [u for u in (_get(item, "remote_url"), _get(item, "url")) if u]
        if not order:
            continue
        original = _get(_get(item, "meta"), "original") or {}
        extra: dict[str, Any] = {}
        if kind == "photo":
            url, fallbacks = order[0], order[1:]
        else:  # a video or GIF (an MP4): its preview is the poster
            previews = [
                u for u in (_get(item, "preview_remote_url"), _get(item, "preview_url")) if u
            ]
            if not previews:
                continue
            url, fallbacks = previews[0], previews[1:]
            duration = _get(original, "duration")
            extra = {
                "video_url": order[0],
                "video_fallback_urls": order[1:],
                "duration_ms": int(float(duration) * 1000) if duration else None,
            }
        out.append(
            MediaRef(
                position=i,
                kind=kind,
                url=url,
                fallback_urls=fallbacks,
                alt_text=_get(item, "description") or None,
                width=_get(original, "width"),
                height=_get(original, "height"),
                platform_key=str(_get(item, "id")) if _get(item, "id") else None,
                **extra,
            )
        )
    return out


def _when(value: Any) -> datetime | None:
    """A status's time, within postcheck.dates' range (any instance may answer year 1)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return checked(value if value.tzinfo else value.replace(tzinfo=UTC), "created_at")


def _post(ref: PostRef, host: str, status: dict[str, Any]) -> Post:
    shown = status.get("reblog") or status  # a boost's id answers with the boosted status
    account = shown.get("account") or {}
    facts: dict[str, str] = {}
    if shown is not status:
        facts["boost_by"] = str(_get(status.get("account"), "acct") or "")
    if shown.get("spoiler_text"):
        facts["content_warning"] = str(shown["spoiler_text"])
    if (
        shown.get("url")
        and shown.get("url") != f"https://{host}/@{account.get('acct')}/{ref.post_id}"
    ):
        facts["original_url"] = str(shown["url"])
    if shown.get("uri"):
        facts["activitypub_id"] = str(shown["uri"])
    created = _when(shown.get("created_at"))
    if created is None:
        raise ValueError("no created_at")
    try:
        edited = _when(shown.get("edited_at"))
    except ValueError:  # an edit time out of range says it was edited, not when
        edited = None
        facts["edited"] = (
            f"edited, at a time out of range ({short(str(shown.get('edited_at')), 40)})"
        )
    acct = str(account.get("acct") or ref.author or "")
    return Post(
        platform="mastodon",
        uri=post_key(host, str(status.get("id") or ref.post_id)),
        url=f"https://{host}/@{acct}/{status.get('id') or ref.post_id}",
        post_id=str(status.get("id") or ref.post_id),
        author_id=str(account.get("id")) if account.get("id") else None,
        author_handle=acct or None,
        author_name=account.get("display_name") or None,
        created_at=created,
        text=html_to_text(str(shown.get("content") or ""), facts),
        media=_media(list(shown.get("media_attachments") or [])),
        fetched_via="mastodon-api",
        edited_at=edited,
        facts=facts,
    )
