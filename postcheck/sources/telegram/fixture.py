"""Telegram's part of the fixture server: the embed widget and the CDN.

    /telegram/<channel>/<id>?embed=1[&single]   the widget (HTTP 200 even for a missing post)
    /telegram/file/<token>.jpg                  photos and posters (cdn*.telesco.pe)
    /telegram/video/<token>.mp4                 videos

The markup follows real widget pages as public parsers and their recorded fixtures show
them (class names, nesting, the `?single` links of an album's items, the error page of a
missing post, "edited &nbsp;" before the date link). Album tiles are served small, as the
widget's grouped layout shows them; each item's own widget serves the full photo. Posts
come from fixtures/telegram/posts.json.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import re
import zlib
from typing import Any

from postcheck.fixtures.server import (
    HERE,
    ContractCases,
    PlatformFixture,
    Reply,
    Request,
    Route,
    reencode,
)

TILE_SIDE = 320  # what an album tile is served at


def _token(name: str, size: str = "full") -> str:
    return hashlib.sha1(f"{name}:{size}".encode()).hexdigest()[:24]


class Fixture(PlatformFixture):
    name = "telegram"
    contract = ContractCases(
        post_urls={
            "https://t.me/fixturefront/101": "telegram:fixturefront/101",
            "https://t.me/s/fixturefront/101": "telegram:fixturefront/101",
            "https://telegram.me/FixtureFront/101?single": "telegram:fixturefront/101",
            "t.me/fixturefront/101/": "telegram:fixturefront/101",
        },
        refused_urls=(
            "https://t.me/fixturefront",
            "https://t.me/s/fixturefront",
            "https://t.me/c/1234567890/101",
            "https://t.me/joinchat/AAAAAEkk2WdoDrB4-Q8-gg",
            "https://t.me/+AbCdEfGhIjKlMnOp",
        ),
        photo_post="https://t.me/fixturefront/102",
        photo_files=("images/x-motorcycle.jpg", "images/x-coins.jpg", "images/b-camera.jpg"),
        video_post="https://t.me/fixturefront/105",
        video_file="videos/unrelated-1.mp4",
        deleted_post="https://t.me/fixturefront/999",
        fault_path="/telegram/fixturefront/",
    )

    def __init__(self, world) -> None:
        super().__init__(world)
        spec = json.loads((HERE / "telegram" / "posts.json").read_text())
        self.channels: dict[str, dict[str, Any]] = spec["channels"]
        self.posts: dict[str, dict[str, Any]] = copy.deepcopy(spec["posts"])
        self._files: dict[str, tuple[str, int | None]] = {}  # token -> (file, max side)

    def env(self, base_url: str) -> dict[str, str]:
        return {"POSTCHECK_TELEGRAM_URL": f"{base_url}/telegram"}

    # --- scenario changes ---------------------------------------------------------------

    def delete(self, key: str) -> bool:
        return self.posts.pop(key, None) is not None

    def edit_text(self, key: str, text: str) -> bool:
        return self.update(self.posts, key, text=html.escape(text), edited=True)

    def replace_image(self, key: str, position: int, image: str) -> bool:
        post = self.posts.get(key)
        if post is None:
            return False
        if post.get("album"):
            post["album"][position]["photo"] = image
        else:
            post["photos"][position] = image
        return True

    # --- routes -------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            (re.compile(r"/telegram/file/([0-9a-f]+)\.jpg"), self._file),
            (re.compile(r"/telegram/video/([0-9a-f]+)\.mp4"), self._file),
            (re.compile(r"/telegram/([A-Za-z0-9_]+)/([0-9]+)"), self._widget),
        ]

    def _url(self, base: str, name: str, side: int | None = None, kind: str = "file") -> str:
        token = _token(name, str(side))
        self._files[token] = (name, side)
        return f"{base}/telegram/{kind}/{token}.{'mp4' if kind == 'video' else 'jpg'}"

    def _file(self, req: Request) -> Reply:
        found = self._files.get(req.match.group(1))
        if found is None:
            return Reply(404, b"", "text/plain")
        name, side = found
        data = self.world.image_bytes(name)
        if name.endswith(".mp4"):
            return Reply(200, data, "video/mp4")
        return Reply(200, reencode(data, side) if side else data, "image/jpeg")

    def _find(self, channel: str, post_id: str) -> tuple[str, dict[str, Any]] | None:
        """The post a message id belongs to: its own, or the album holding it."""
        for key, post in self.posts.items():
            chan, first = key.split("/")
            if chan.lower() != channel.lower():
                continue
            if first == post_id or any(i["id"] == post_id for i in post.get("album", [])):
                return key, post
        return None

    def _widget(self, req: Request) -> Reply:
        if req.one("embed") != "1":
            return Reply(302, b"", "text/html", {"Location": f"https://t.me/{req.match.group(1)}"})
        channel, post_id = req.match.group(1), req.match.group(2)
        found = self._find(channel, post_id)
        if found is None:
            return Reply(200, error_page().encode(), "text/html; charset=utf-8")
        key, post = found
        single = "single" in req.query
        body = widget_page(self, req.base_url, key, post, post_id if single else None)
        return Reply(200, body.encode(), "text/html; charset=utf-8")


def _page(inner: str) -> str:
    return (
        '<!DOCTYPE html>\n<html>\n  <head>\n    <meta charset="utf-8">\n'
        "    <title>Telegram Widget</title>\n"
        '    <link href="//telegram.org/css/widget-frame.css?72" rel="stylesheet">\n'
        "  </head>\n"
        '  <body class="widget_frame_base tgme_widget body_widget_post emoji_image nodark">\n'
        f"{inner}\n  </body>\n</html>\n"
    )


def error_page() -> str:
    """What the widget answers for a post that is not there (HTTP 200)."""
    return _page(
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">\n'
        '  <div class="tgme_widget_message text_not_supported_wrap js-widget_message err_message">\n'
        '    <div class="tgme_widget_message_bubble">\n'
        '      <div class="tgme_widget_message_error">Post not found</div>\n'
        "    </div>\n  </div>\n</div>"
    )


def widget_page(fx: Fixture, base: str, key: str, post: dict[str, Any], single: str | None) -> str:
    channel, first = key.split("/")
    post_id = single or first
    title = html.escape(fx.channels[channel]["title"])
    parts = [
        '<div class="tgme_widget_message_wrap js-widget_message_wrap date_visible">',
        f'  <div class="tgme_widget_message text_not_supported_wrap js-widget_message" '
        f'data-post="{channel}/{post_id}" data-peer="c1{zlib.crc32(channel.encode())}_0" '
        f'data-post-id="{post_id}">',
        f'    <div class="tgme_widget_message_user"><a href="https://t.me/{channel}"><i '
        f'class="tgme_widget_message_user_photo bgcolor3" style="background-color:#8bd"'
        f' data-content="{title[:1]}"><img src="{fx._url(base, "images/b-coffee.jpg", 80)}"></i></a></div>',
        '    <div class="tgme_widget_message_bubble">',
        '      <i class="tgme_widget_message_bubble_tail"><svg class="bubble_icon" width="9px" height="20px" viewBox="0 0 9 20"></svg></i>',
        f'      <div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" href="https://t.me/{channel}"><span dir="auto">{title}</span></a></div>',
    ]
    if post.get("forwarded"):
        fwd = post["forwarded"]
        parts.append(
            '      <div class="tgme_widget_message_forwarded_from accent_color">Forwarded from '
            f'<a class="tgme_widget_message_forwarded_from_name" href="{fwd["href"]}">'
            f'<span dir="auto">{html.escape(fwd["name"])}</span></a></div>'
        )
    if post.get("reply_to"):
        reply = post["reply_to"]
        parts.append(
            f'      <a class="tgme_widget_message_reply" href="https://t.me/{channel}/{reply["id"]}">'
            f'<div class="tgme_widget_message_author accent_color"><span class="tgme_widget_message_author_name" dir="auto">{html.escape(reply["author"])}</span></div>'
            f'<div class="tgme_widget_message_text js-message_reply_text" dir="auto">{html.escape(reply["text"])}</div></a>'
        )
    text = f'<div class="tgme_widget_message_text js-message_text" dir="auto">{post.get("text", "")}</div>'
    if post.get("album") and single is None:
        tiles = []
        for item in post["album"]:
            tiles.append(
                '          <a class="tgme_widget_message_photo_wrap grouped_media_wrap blured js-message_photo" '
                f"style=\"left:0px;top:0px;width:150px;height:200px;margin-right:2px;background-image:url('{fx._url(base, item['photo'], TILE_SIDE)}')\" "
                f'data-ratio="1.5" href="https://t.me/{channel}/{item["id"]}?single">'
                '<div class="grouped_media_helper"><div class="tgme_widget_message_photo grouped_media"></div></div></a>'
            )
        parts += [
            '      <div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap" data-margin-w="2" data-margin-h="2" style="width:453px;">',
            '        <div class="tgme_widget_message_grouped js-message_grouped" style="padding-top:75%">',
            '          <div class="tgme_widget_message_grouped_layer js-message_grouped_layer" style="width:453px;height:340px">',
            *tiles,
            "          </div>\n        </div>\n      </div>",
        ]
        # An album nests the caption's text div inside another.
        text = f'<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>'
    elif post.get("album"):
        item = next(i for i in post["album"] if i["id"] == single)
        parts.append(_photo(fx, base, channel, single, item["photo"]))
    for photo in post.get("photos", []):
        parts.append(_photo(fx, base, channel, post_id, photo))
    if post.get("video"):
        video = post["video"]
        thumb = fx._url(base, video["thumb"])
        if video.get("file"):
            player = (
                '<div class="tgme_widget_message_video_wrap" style="padding-top:56.25%">'
                f'<video class="tgme_widget_message_video js-message_video" src="{fx._url(base, video["file"], kind="video")}" width="100%" height="100%"></video></div>'
            )
        else:  # too large for the widget: the poster and "open in Telegram"
            player = (
                '<div class="message_media_not_supported_wrap"><div class="message_media_not_supported">'
                '<div class="message_media_not_supported_label">Media is too big</div>'
                f'<a href="https://t.me/{channel}/{post_id}" class="message_media_view_in_telegram">VIEW IN TELEGRAM</a></div></div>'
            )
        parts.append(
            f'      <a class="tgme_widget_message_video_player js-message_video_player" href="https://t.me/{channel}/{post_id}">'
            f'<i class="tgme_widget_message_video_thumb" style="background-image:url(\'{thumb}\')"></i>'
            f'{player}<div class="message_video_play js-message_video_play"></div>'
            f'<time class="message_video_duration js-message_video_duration">{video["duration"]}</time></a>'
        )
    if post.get("text") and single is None:
        parts.append(f"      {text}")
    edited = "edited &nbsp;" if post.get("edited") else ""
    parts += [
        '      <div class="tgme_widget_message_footer compact js-message_footer">',
        '        <div class="tgme_widget_message_info short js-message_info">',
        f'          <span class="tgme_widget_message_views">{post.get("views", "1")}</span><span class="copyonly"> views</span>'
        f'<span class="tgme_widget_message_meta">{edited}<a class="tgme_widget_message_date" href="https://t.me/{channel}/{post_id}">'
        f'<time datetime="{post["date"]}" class="datetime">{post["date"][11:16]}</time></a></span>',
        "        </div>\n      </div>\n    </div>\n  </div>\n</div>",
    ]
    return _page("\n".join(parts))


def _photo(fx: Fixture, base: str, channel: str, post_id: str, name: str) -> str:
    width, height = fx.world.image_size(name)
    return (
        f'      <a class="tgme_widget_message_photo_wrap {zlib.crc32(name.encode())} js-message_photo" '
        f"style=\"width:{min(width, 800)}px;background-image:url('{fx._url(base, name)}')\" "
        f'href="https://t.me/{channel}/{post_id}"><div class="tgme_widget_message_photo" '
        f'style="padding-top:{100 * height / width:.4f}%"></div></a>'
    )
