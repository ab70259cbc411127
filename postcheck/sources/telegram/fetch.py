"""Fetching a Telegram channel post from its embed widget, `t.me/<channel>/<id>?embed=1`,
with httpx and selectolax, no login.

How the widget answers (measured by others on live pages: the "Telegram web surfaces"
notes and parsers in public repositories, see README):

* Every answer is HTTP 200, a missing post included: its message div carries the class
  `err_message` and a `.tgme_widget_message_error` says "Post not found"; a real post's
  div carries `data-post="<channel>/<id>"`.
* The channel's title is `.tgme_widget_message_owner_name`; the date is the `<time
  datetime>` inside `.tgme_widget_message_date` (not the first `<time>`: a video's
  duration is one too); "edited" is a word in `.tgme_widget_message_meta` (no edit time
  is shown); a forward names its source in `.tgme_widget_message_forwarded_from_name`.
* The text is `.js-message_text` (an album nests a second one inside the first); the
  quoted message of a reply is `.js-message_reply_text` inside `.tgme_widget_message_reply`
  and is not the post's text.
* Photos are `background-image:url(...)` styles on `.tgme_widget_message_photo_wrap`. An
  album (`.js-message_grouped_wrap`) is one message with one `data-post`; its items' ids
  appear only as `?single` links, and its tiles are small, so each item is read from its
  own widget (`?embed=1&single`), which shows that photo at the widget's full size.
* A video is `video.tgme_widget_message_video[src]` inside `.tgme_widget_message_video_player`
  with its poster on `.tgme_widget_message_video_thumb`; a video the widget will not play
  (too large, or "open in Telegram") has the poster and no `<video>`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from postcheck import http
from postcheck.dates import checked
from postcheck.domain import MediaRef, Post, PostRef
from postcheck.errors import FetchError, PostcheckError, PostUnavailable, TransientError
from postcheck.html_depth import MAX_DEPTH, cap_depth
from postcheck.settings import Settings
from postcheck.sources.telegram.platform import post_key, telegram_settings
from postcheck.urls import ascii_digits, short

_STYLE_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
_SINGLE = re.compile(r"/([0-9]{1,12})\?single")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_MEDIA = ", ".join(
    [
        ".tgme_widget_message_photo_wrap",
        ".tgme_widget_message_video_player",
        ".tgme_widget_message_roundvideo_player",
    ]
)
# Parts of the widget that are not the post's own media: the replied-to message, a linked
# page's preview, the channel's avatar.
_NOT_OWN = (
    "tgme_widget_message_reply",
    "tgme_widget_message_link_preview",
    "tgme_widget_message_user",
)
NO_PLAYABLE_VIDEO = (
    "the Telegram widget offers no playable video for this post (too large for it, or "
    "only in the app): only its thumbnail was checked"
)


def fetch(ref: PostRef, settings: Settings) -> Post:
    channel = ref.author or ""
    what = f"Telegram post {channel}/{ref.post_id}"
    tree = _widget(channel, ref.post_id, settings, what)
    message = _message(tree, what)
    media = _media(message)
    if message.css_first(".js-message_grouped_wrap") is not None:
        media = _album_items(channel, media, settings, what)
    return _post(ref, message, media, what)


def _widget(channel: str, post_id: str, settings: Settings, what: str, single: bool = False):
    base = telegram_settings(settings).url.rstrip("/")
    url = f"{base}/{channel}/{post_id}?embed=1" + ("&single" if single else "")
    with http.network_errors(what), http.client(settings) as client:
        response = client.get(url, headers={"Accept": "text/html"})
    if response.status_code in (404, 410):
        raise PostUnavailable(f"{what} not found (HTTP {response.status_code})", "not_found")
    http.check_status(response, what)
    if len(response.content) > settings.max_page_bytes:
        raise FetchError(f"{what}: the widget page is too large ({len(response.content):,} bytes)")
    # Telegram's widget nests a dozen levels; a page nested past MAX_DEPTH is not one, and
    # lexbor would take minutes over it (its parse time grows with the square of the depth).
    page, deep = cap_depth(response.text)
    if deep:
        raise FetchError(
            f"{what}: the widget page nests deeper than {MAX_DEPTH} elements "
            f"({deep:,} tags past that depth): not Telegram's widget"
        )
    return LexborHTMLParser(page)


def _message(tree: LexborHTMLParser, what: str) -> LexborNode:
    message = tree.css_first(".tgme_widget_message[data-post]")
    error = tree.css_first(".tgme_widget_message_error")
    if message is None:
        if error is not None or tree.css_first(".err_message") is not None:
            detail = _text(error) if error is not None else "Post not found"
            reason = "not_found" if "not found" in detail.lower() else "restricted"
            raise PostUnavailable(f"{what} is unavailable: {short(detail, 120)}", reason)
        raise FetchError(f"{what}: the widget answered with no post in it")
    return message


def _text(node: LexborNode | None) -> str:
    if node is None:
        return ""
    return " ".join((node.text(deep=True) or "").split())


def _inside(node: LexborNode, classes: tuple[str, ...]) -> bool:
    parent = node.parent
    while parent is not None:
        own = (parent.attributes.get("class") or "").split()
        if any(c in own for c in classes):
            return True
        parent = parent.parent
    return False


def _style_url(node: LexborNode | None) -> str | None:
    if node is None:
        return None
    match = _STYLE_URL.search(node.attributes.get("style") or "")
    if match is None:
        return None
    url = match.group(1).strip()
    return "https:" + url if url.startswith("//") else url


def _duration_ms(text: str) -> int | None:
    parts = text.strip().split(":")
    if not parts or not all(ascii_digits(p) for p in parts):
        return None
    seconds = 0
    for p in parts:
        seconds = seconds * 60 + int(p)
    return seconds * 1000


def _media(message: LexborNode) -> list[dict[str, Any]]:
    """The post's own photos and videos, in order, as plain dicts (positions come later)."""
    out: list[dict[str, Any]] = []
    for node in message.css(_MEDIA):
        if _inside(node, _NOT_OWN):
            continue
        classes = (node.attributes.get("class") or "").split()
        single = _SINGLE.search(node.attributes.get("href") or "")
        item_id = single.group(1) if single else None
        if "tgme_widget_message_photo_wrap" in classes:
            url = _style_url(node)
            if url:
                out.append({"kind": "photo", "url": url, "item": item_id})
            continue
        thumb = _style_url(
            node.css_first(
                ".tgme_widget_message_video_thumb, .tgme_widget_message_roundvideo_thumb"
            )
        )
        video = node.css_first("video")
        src = (video.attributes.get("src") or "").strip() if video is not None else ""
        duration = node.css_first(".message_video_duration")
        entry = {
            "kind": "video",
            "url": thumb,
            "item": item_id,
            "video_url": src or None,
            "duration_ms": _duration_ms(_text(duration)) if duration is not None else None,
        }
        if not src:
            entry["note"] = NO_PLAYABLE_VIDEO
        if thumb or src:
            out.append(entry)
    return out


def _album_items(
    channel: str, grouped: list[dict[str, Any]], settings: Settings, what: str
) -> list[dict[str, Any]]:
    """Each album item from its own widget (the grouped tiles are small); an item whose
    widget cannot be read keeps its tile, said so."""
    out = []
    for entry in grouped:
        if entry.get("item") is None:
            out.append(entry)
            continue
        item_what = f"Telegram post {channel}/{entry['item']}"
        try:
            tree = _widget(channel, entry["item"], settings, item_what, single=True)
            own = _media(_message(tree, item_what))
        except TransientError:
            raise  # the whole fetch is tried again
        except PostcheckError:
            own = []
        if own:
            out.append({**own[0], "item": entry["item"]})
        else:
            out.append({**entry, "note": "the album's tile (its own widget could not be read)"})
    return out


def _post_text(message: LexborNode) -> str:
    body = next((n for n in message.css(".js-message_text") if not _inside(n, _NOT_OWN)), None)
    if body is None:
        return ""
    text = LexborHTMLParser(_BR.sub("\n", body.html or "")).text(deep=True) or ""
    return "\n".join(" ".join(line.split()) for line in text.strip().splitlines()).strip()


def _post(ref: PostRef, message: LexborNode, media: list[dict[str, Any]], what: str) -> Post:
    channel, post_id = (message.attributes.get("data-post") or "/").rsplit("/", 1)
    channel = channel or (ref.author or "")
    post_id = post_id or ref.post_id
    stamp = message.css_first(".tgme_widget_message_date time[datetime]") or message.css_first(
        ".tgme_widget_message_meta time[datetime]"
    )
    try:
        created = datetime.fromisoformat(
            (stamp.attributes.get("datetime") or "").replace("Z", "+00:00")
        )
        created = checked(created, "the widget's date")
    except (AttributeError, ValueError):
        raise FetchError(f"{what}: the widget shows no valid date") from None
    facts: dict[str, str] = {}
    meta = message.css_first(".tgme_widget_message_meta")
    if meta is not None and "edited" in _text(meta).lower().split():
        facts["edited"] = "the post was edited (the widget shows no edit time)"
    forwarded = message.css_first(".tgme_widget_message_forwarded_from_name")
    if forwarded is not None:
        href = (forwarded.attributes.get("href") or "").strip()
        name = _text(forwarded)
        facts["forwarded_from"] = f"{name} ({href})" if href else name
    reply = message.css_first("a.tgme_widget_message_reply")
    if reply is not None and reply.attributes.get("href"):
        facts["reply_to"] = str(reply.attributes.get("href"))
    refs = []
    for i, entry in enumerate(media):
        if not entry.get("url"):
            continue
        refs.append(
            MediaRef(
                position=i,
                kind=entry["kind"],
                url=entry["url"],
                platform_key=f"{channel}/{entry['item']}" if entry.get("item") else None,
                video_url=entry.get("video_url"),
                duration_ms=entry.get("duration_ms"),
                note=entry.get("note"),
            )
        )
    return Post(
        platform="telegram",
        uri=post_key(channel, post_id),
        url=f"https://t.me/{channel}/{post_id}",
        post_id=post_id,
        author_id=channel.lower(),
        author_handle=channel,
        author_name=_text(message.css_first(".tgme_widget_message_owner_name")) or None,
        created_at=created,
        text=_post_text(message),
        media=refs,
        fetched_via="telegram-widget",
        facts=facts,
    )
