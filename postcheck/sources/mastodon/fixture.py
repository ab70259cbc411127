"""Mastodon's part of the fixture server: instances by host under /mastodon/<host>/.

    /mastodon/<host>/api/v1/statuses/<id>                        the status (JSON)
    /mastodon/<host>/system/media_attachments/files/…/original/… the file, original size
    /mastodon/<host>/system/media_attachments/files/…/small/…    a small rendition
    /mastodon/<host>/system/cache/media_attachments/…            a remote post's copy

Statuses are rendered with the fields Mastodon serialises (as Mastodon.py's recorded test
cassettes show them). A remote account's post carries `remote_url` on its origin and a
`url` to this instance's re-processed cache (smaller, metadata stripped). An instance with
`authorized_fetch_only` answers every API read with 401, as instances that disallow
unauthenticated API access do. Posts come from fixtures/mastodon/statuses.json.
"""

from __future__ import annotations

import copy
import json
import re
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
from postcheck.urls import ascii_digits

CACHE_SIDE = 400  # what the fixture instance shrinks its cache of a remote picture to
SMALL_SIDE = 480


class Fixture(PlatformFixture):
    name = "mastodon"
    contract = ContractCases(
        post_urls={
            "https://mastodon.example/@osintdesk/110000000000000001": "mastodon:mastodon.example/110000000000000001",
            "https://Mastodon.Example/@osintdesk/110000000000000001/": "mastodon:mastodon.example/110000000000000001",
            "https://mastodon.example/users/osintdesk/statuses/110000000000000001": "mastodon:mastodon.example/110000000000000001",
            "https://mastodon.example/web/@osintdesk/110000000000000001": "mastodon:mastodon.example/110000000000000001",
            "https://mastodon.example/@reposter@other.example/110000000000000003": "mastodon:mastodon.example/110000000000000003",
        },
        refused_urls=(
            "https://mastodon.example/@osintdesk",
            "https://mastodon.example/@osintdesk/with_replies",
            "https://mastodon.example/@reposter@other.example",
        ),
        photo_post="https://mastodon.example/@osintdesk/110000000000000001",
        photo_files=("images/x-motorcycle.jpg", "images/x-coins.jpg"),
        video_post="https://mastodon.example/@osintdesk/110000000000000002",
        video_file="videos/unrelated-2.mp4",
        deleted_post="https://mastodon.example/@osintdesk/110000000000000099",
        fault_path="/mastodon/mastodon.example/api/v1/statuses/",
    )

    def __init__(self, world) -> None:
        super().__init__(world)
        spec = json.loads((HERE / "mastodon" / "statuses.json").read_text())
        self.instances: dict[str, dict[str, Any]] = spec["instances"]
        self.accounts: dict[str, dict[str, Any]] = spec["accounts"]
        self.statuses: dict[str, dict[str, Any]] = copy.deepcopy(spec["statuses"])
        self.files: dict[str, tuple[str, int | None]] = {}

    def env(self, base_url: str) -> dict[str, str]:
        urls = {host: f"{base_url}/mastodon/{host}" for host in self.instances}
        return {"POSTCHECK_MASTODON_INSTANCE_URLS": json.dumps(urls)}

    # --- scenario changes ---------------------------------------------------------------

    def delete(self, key: str) -> bool:
        return self.statuses.pop(key, None) is not None

    def edit_text(self, key: str, text: str) -> bool:
        edited = "2025-01-01T00:00:00.000Z"
        return self.update(self.statuses, key, content=f"<p>{text}</p>", edited_at=edited)

    def replace_image(self, key: str, position: int, image: str) -> bool:
        if key not in self.statuses:
            return False
        media = self.statuses[key]["media"][position]
        media["file"], media["id"] = image, str(int(media["id"]) + 1000)
        return True

    # --- routes -------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            (re.compile(r"/mastodon/([a-z0-9.-]+)/api/v1/statuses/([^/]+)"), self._status),
            (re.compile(r"/mastodon/([a-z0-9.-]+)/system/(.+)"), self._file),
        ]

    def _status(self, req: Request) -> Reply:
        host, status_id = req.match.group(1), req.match.group(2)
        instance = self.instances.get(host)
        if instance is None:
            return Reply.json(404, {"error": "Not Found"})
        if instance.get("authorized_fetch_only"):
            return Reply.json(401, {"error": "This API requires an authenticated user"})
        if not ascii_digits(status_id):
            return Reply.json(404, {"error": "Record not found"})
        status = self.statuses.get(f"{host}/{status_id}")
        if status is None:
            return Reply.json(404, {"error": "Record not found"})
        return Reply.json(
            200,
            render_status(self, req.base_url, host, status_id, status),
            {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299"},
        )

    def _media_url(self, base: str, host: str, media: dict[str, Any], style: str) -> str:
        kind = "cache/media_attachments" if style == "cache" else "media_attachments"
        size = "original" if style in ("original", "cache") else "small"
        if style == "preview" or (style == "small" and media["type"] != "image"):
            name, side = media.get("preview", media["file"]), None
            path = f"media_attachments/thumbnails/{media['id']}/original/preview.jpg"
        else:
            name = media["file"]
            side = {"cache": CACHE_SIDE, "small": SMALL_SIDE}.get(style)
            ext = "mp4" if name.endswith(".mp4") else "jpg"
            path = f"{kind}/files/{media['id']}/{size}/{'cached' if style == 'cache' else 'file'}.{ext}"
        self.files[f"{host}/{path}"] = (name, side)
        return f"{base}/mastodon/{host}/system/{path}"

    def _file(self, req: Request) -> Reply:
        found = self.files.get(f"{req.match.group(1)}/{req.match.group(2)}")
        if found is None:
            return Reply(404, b"", "text/plain")
        name, side = found
        data = self.world.image_bytes(name)
        if name.endswith(".mp4"):
            return Reply(200, data, "video/mp4")
        return Reply(200, reencode(data, side) if side else data, "image/jpeg")


def _account(fx: Fixture, base: str, key: str, answering: str) -> dict[str, Any]:
    home, username = key.split("/")
    acct = fx.accounts[key]
    local = home == answering
    web = f"https://{home}/@{username}"
    return {
        "id": acct["id"],
        "username": username,
        "acct": username if local else f"{username}@{home}",
        "display_name": acct["display_name"],
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": True,
        "group": False,
        "created_at": acct["created_at"],
        "note": "<p>Fixture account</p>",
        "url": web,
        "uri": f"https://{home}/users/{username}",
        "avatar": f"{base}/mastodon/{answering}/system/accounts/avatars/{acct['id']}.png",
        "avatar_static": f"{base}/mastodon/{answering}/system/accounts/avatars/{acct['id']}.png",
        "header": f"{base}/mastodon/{answering}/headers/original/missing.png",
        "header_static": f"{base}/mastodon/{answering}/headers/original/missing.png",
        "followers_count": 12,
        "following_count": 3,
        "statuses_count": 40,
        "last_status_at": "2025-02-10",
        "hide_collections": False,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": [],
    }


def render_status(
    fx: Fixture, base: str, host: str, status_id: str, status: dict[str, Any]
) -> dict[str, Any]:
    account = _account(fx, base, status["account"], host)
    home, username = status["account"].split("/")
    remote = home != host
    origin_id = status.get("remote_id", status_id)
    attachments = []
    for media in status.get("media", []):
        width, height = (
            fx.world.image_size(media["file"]) if not media["file"].endswith(".mp4") else (480, 270)
        )
        is_remote = remote and media.get("remote")
        item: dict[str, Any] = {
            "id": media["id"],
            "type": media["type"],
            "url": fx._media_url(base, host, media, "cache" if is_remote else "original"),
            "preview_url": fx._media_url(
                base, host, media, "small" if media["type"] == "image" else "preview"
            ),
            "remote_url": fx._media_url(base, home, media, "original") if is_remote else None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": {
                "original": {
                    "width": width,
                    "height": height,
                    "size": f"{width}x{height}",
                    "aspect": width / height,
                },
                "small": {
                    "width": 400,
                    "height": 400 * height // width,
                    "size": "400x300",
                    "aspect": width / height,
                },
                "focus": {"x": 0.0, "y": 0.0},
            },
            "description": media.get("description") or None,
            "blurhash": "UGC~-#M{0JfkNFofR%M{IURj%Mt7E0oM%MR*",
        }
        if media["type"] == "video":
            item["meta"]["original"].update(
                {"frame_rate": "30/1", "duration": media.get("duration", 10.0), "bitrate": 800000}
            )
        attachments.append(item)
    return {
        "id": status_id,
        "created_at": status["created_at"],
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": bool(status.get("spoiler_text")),
        "spoiler_text": status.get("spoiler_text", ""),
        "visibility": "public",
        "language": "en",
        "uri": f"https://{home}/users/{username}/statuses/{origin_id}",
        "url": f"https://{home}/@{username}/{origin_id}",
        "replies_count": 0,
        "reblogs_count": 2,
        "favourites_count": 5,
        "quotes_count": 0,
        "edited_at": status.get("edited_at"),
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": False,
        "content": status["content"],
        "filtered": [],
        "reblog": None,
        "application": None if remote else {"name": "Web", "website": None},
        "account": account,
        "media_attachments": attachments,
        "mentions": [],
        "tags": [],
        "emojis": [],
        "quote": None,
        "card": None,
        "poll": None,
    }
