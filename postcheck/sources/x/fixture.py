"""X's part of the fixture server: the embed endpoint, API v2 (one tweet and batches),
pbs.twimg.com photos and video posters, video.twimg.com MP4s and HLS, t.co short links.

    /x/syndication/tweet-result?id=&token=    X embed endpoint (checks the token)
    /x/api/2/tweets/<id>                      X API v2 (checks the bearer token)
    /x/api/2/tweets?ids=a,b                   X API v2 batch: `data` list, `errors[]` for the rest
    /x/pbs/media/<key>?format=&name=          X photos (name=orig is the original)
    /x/pbs/amplify_video_thumb/<id>/img/<key> X video posters
    /x/video/<key>/…                          MP4 variants and an HLS playlist
    /t.co/<code>, /pic/<code>                 short links, 301 to the status URL

Posts come from fixtures/posts.json (`x_users`, `x_posts`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from postcheck.fixtures.server import (
    HERE,
    ContractCases,
    PlatformFixture,
    Reply,
    Request,
    Route,
    hls_playlist,
    reencode,
)
from postcheck.sources.x.token import syndication_token

# The API v2 bearer token the fixture accepts (tests set it as POSTCHECK_X_BEARER_TOKEN).
BEARER_TOKEN = "fixture-bearer-token"
X_SIZES = {"thumb": 150, "small": 680, "medium": 1200, "large": 2048, "900x900": 900}
_TWITTER_EPOCH_MS = 1288834974657


class Fixture(PlatformFixture):
    name = "x"
    contract = ContractCases(
        post_urls={
            "https://x.com/Archer83Able/status/1857106849690673728": "x:1857106849690673728",
            "https://twitter.com/Archer83Able/status/1857106849690673728?s=20": "x:1857106849690673728",
            "https://mobile.twitter.com/Archer83Able/status/1857106849690673728": "x:1857106849690673728",
            "https://fxtwitter.com/Archer83Able/status/1857106849690673728": "x:1857106849690673728",
            "https://x.com/i/web/status/1857106849690673728": "x:1857106849690673728",
            "x.com/Archer83Able/status/1857106849690673728/photo/1": "x:1857106849690673728",
        },
        refused_urls=(
            "https://x.com/Archer83Able",
            "https://x.com/Archer83Able/likes",
            "https://twitter.com/intent/tweet?text=hi",
        ),
        photo_post="https://x.com/fixture_news/status/1841391417553846349",
        photo_files=("images/x-motorcycle.jpg", "images/x-coins.jpg"),
        video_post="https://x.com/fixture_video/status/1888893210588117609",
        video_file="videos/unrelated-2.mp4",
        deleted_post="https://x.com/fixture_news/status/1830130969605047271",
        fault_path="/x/syndication/",
    )

    def __init__(self, world) -> None:
        super().__init__(world)
        spec = json.loads((HERE / "posts.json").read_text())
        self.users: dict[str, dict[str, Any]] = copy.deepcopy(spec["x_users"])
        self.posts: dict[str, dict[str, Any]] = copy.deepcopy(spec["x_posts"])

    def env(self, base_url: str) -> dict[str, str]:
        return {
            "POSTCHECK_X_SYNDICATION_URL": f"{base_url}/x/syndication",
            "POSTCHECK_X_API_URL": f"{base_url}/x/api",
            "POSTCHECK_X_TCO_URL": f"{base_url}/t.co",
            "POSTCHECK_X_PIC_URL": f"{base_url}/pic",
        }

    def media_by_key(self, key: str) -> dict[str, Any] | None:
        for post in self.posts.values():
            for media in post.get("media", []):
                if media["key"] == key:
                    return media
        return None

    # --- scenario changes ---------------------------------------------------------------

    def delete(self, key: str) -> bool:
        if key not in self.posts:
            return False
        self.posts[key]["state"] = "deleted"
        return True

    def edit_text(self, key: str, text: str) -> bool:
        return self.update(self.posts, key, text=text)

    def replace_image(self, key: str, position: int, image: str) -> bool:
        if key not in self.posts:
            return False
        media = self.posts[key]["media"][position]
        media["image"] = image
        media["key"] = "R" + hashlib.sha1(image.encode()).hexdigest()[:14]
        return True

    def add_generated(self, index: int, image: str) -> tuple[str, str]:
        self.users.setdefault("fixture_bulk", {"id": "1400000000000000009", "name": "Bulk Poster"})
        base_ms = 1_700_000_000_000 - _TWITTER_EPOCH_MS
        created = datetime.fromtimestamp(
            (base_ms + _TWITTER_EPOCH_MS + index * 60_000) / 1000, tz=UTC
        )
        tweet_id = str(((base_ms + index * 60_000) << 22) | index)
        self.posts[tweet_id] = {
            "user": "fixture_bulk",
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "text": f"Bulk post {index}",
            "media": [
                {
                    "type": "photo",
                    "key": f"Bulk{index:011d}",
                    "media_key": f"3_{tweet_id}",
                    "image": image,
                    "tco": f"bk{index:08d}",
                }
            ],
        }
        return f"https://x.com/fixture_bulk/status/{tweet_id}", tweet_id

    # --- routes -------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            (re.compile(r"/(t\.co|pic)/([A-Za-z0-9]+)"), self._short_link),
            (re.compile(r"/x/syndication/tweet-result"), self._syndication),
            (re.compile(r"/x/api/2/tweets/([0-9]+)"), self._v2_one),
            (re.compile(r"/x/api/2/tweets"), self._v2_many),
            (
                re.compile(
                    r"/x/pbs/(?:media|amplify_video_thumb/[^/]+/img)/([A-Za-z0-9_-]+)(?:\.(\w+))?(?::(\w+))?"
                ),
                self._photo,
            ),
            (
                re.compile(
                    r"/x/video/([A-Za-z0-9_-]+)/(?:vid/.+\.mp4|pl/(playlist\.m3u8|seg0\.ts))"
                ),
                self._video,
            ),
        ]

    def _short_link(self, req: Request) -> Reply:
        for tweet_id, post in self.posts.items():
            if any(md.get("tco") == req.match.group(2) for md in post.get("media", [])):
                kind = "photo" if post["media"][0]["type"] == "photo" else "video"
                target = f"https://twitter.com/{post['user']}/status/{tweet_id}/{kind}/1"
                return Reply(301, b"", "text/html", {"Location": target})
        return Reply(404, b"", "text/html")

    def _syndication(self, req: Request) -> Reply:
        tweet_id = req.one("id")
        if not re.fullmatch(r"[0-9]{1,40}", tweet_id) or req.one("token") != syndication_token(
            tweet_id
        ):
            return Reply.json(400, {"error": "invalid id or token"})
        return Reply.json(*render_syndication(self, req.base_url, tweet_id))

    @staticmethod
    def _unauthorized(req: Request) -> Reply | None:
        if req.headers.get("Authorization") == f"Bearer {BEARER_TOKEN}":
            return None
        return Reply.json(
            401,
            {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            },
        )

    def _v2_one(self, req: Request) -> Reply:
        refused = self._unauthorized(req)
        if refused is not None:
            return refused
        return Reply.json(*render_v2(self, req.base_url, req.match.group(1), req.query))

    def _v2_many(self, req: Request) -> Reply:
        """GET /2/tweets?ids=: the tweets found in a `data` list, the others as `errors[]`
        beside it (HTTP 200), as X answers a batch lookup."""
        refused = self._unauthorized(req)
        if refused is not None:
            return refused
        ids = [i for i in ",".join(req.query.get("ids", [])).split(",") if i]
        if not ids or len(ids) > 100:
            return Reply.json(
                400,
                {"title": "Invalid Request", "detail": "ids: 1 to 100 tweet ids", "status": 400},
            )
        data, errors = [], []
        includes: dict[str, list[dict[str, Any]]] = {}
        for tweet_id in ids:
            _, body = render_v2(self, req.base_url, tweet_id, req.query)
            if "data" in body:
                data.append(body["data"])
                for name, items in body.get("includes", {}).items():
                    have = includes.setdefault(name, [])
                    have.extend(i for i in items if i not in have)
            errors.extend(body.get("errors", []))
        out: dict[str, Any] = {}
        if data:
            out["data"] = data
        if includes:
            out["includes"] = includes
        if errors:
            out["errors"] = errors
        return Reply.json(200, out)

    def _photo(self, req: Request) -> Reply:
        media = self.media_by_key(req.match.group(1))
        if media is None:
            return Reply(404, b"", "text/plain")
        data = self.world.image_bytes(media["image"])
        name = req.one("name") or req.match.group(3) or "medium"
        if media["image"] != "@html" and name != "orig":
            data = reencode(data, X_SIZES.get(name, 1200))
        return Reply(200, data, "image/jpeg")

    def _video(self, req: Request) -> Reply:
        media = self.media_by_key(req.match.group(1))
        if media is None or not media.get("video"):
            return Reply(404, b"", "text/plain")
        part = req.match.group(2)
        if part == "playlist.m3u8":
            return Reply(200, hls_playlist("seg0.ts"), "application/x-mpegURL")
        if part == "seg0.ts":
            return Reply(200, self.world.mpegts(media["video"]), "video/mp2t")
        return Reply(200, self.world.image_bytes(media["video"]), "video/mp4")


def x_media_url(base: str, media: dict[str, Any]) -> str:
    if media["type"] in ("video", "animated_gif"):
        return f"{base}/x/pbs/amplify_video_thumb/{media['key']}/img/{media['key']}.jpg"
    return f"{base}/x/pbs/media/{media['key']}.jpg"


def x_video_variants(base: str, media: dict[str, Any], shape: str) -> list[dict[str, Any]]:
    """X lists an HLS playlist and MP4s at several sizes; the fixture serves the same file
    at each size (what matters is which one the client picks)."""
    rate = "bitrate" if shape == "syndication" else "bit_rate"
    out = [
        {
            "content_type": "application/x-mpegURL",
            "url": f"{base}/x/video/{media['key']}/pl/playlist.m3u8",
        }
    ]
    for size, bitrate in (("320x180", 256000), ("480x270", 832000), ("1280x720", 2176000)):
        out.append(
            {
                rate: bitrate,
                "content_type": "video/mp4",
                "url": f"{base}/x/video/{media['key']}/vid/avc1/{size}/clip.mp4",
            }
        )
    return out


def render_syndication(fx: Fixture, base: str, tweet_id: str) -> tuple[int, Any]:
    post = fx.posts.get(tweet_id)
    if post is None:
        return 404, {}
    state = post.get("state", "ok")
    if state == "deleted":
        return 200, {
            "__typename": "TweetTombstone",
            "tombstone": {
                "text": {
                    "text": "This Post was deleted by the Post author. Learn more",
                    "entities": [],
                    "rtl": False,
                }
            },
        }
    if state == "protected" or fx.users[post["user"]].get("protected"):
        return 200, {"__typename": "TweetTombstone"}
    user = fx.users[post["user"]]
    text = post["text"]
    media_entities, details, photos = [], [], []
    full = text
    if post.get("media"):
        tco = post["media"][0].get("tco", "AbCdEf1234")
        link = f"https://t.co/{tco}"
        start = len(text) + 1
        full = f"{text} {link}"
        for i, media in enumerate(post["media"]):
            width, height = fx.world.image_size(media["image"])
            url = x_media_url(base, media)
            kind = "photo" if media["type"] == "photo" else "video"
            expanded = f"https://x.com/{post['user']}/status/{tweet_id}/{kind}/{i + 1}"
            entity = {
                "display_url": f"pic.x.com/{tco}",
                "expanded_url": expanded,
                "indices": [start, len(full)],
                "url": link,
            }
            if i == 0:
                media_entities.append(entity)
            detail = dict(entity)
            detail.update(
                {
                    "ext_media_availability": {"status": "Available"},
                    "media_url_https": url,
                    "original_info": {"height": height, "width": width, "focus_rects": []},
                    "sizes": {
                        name: {
                            "h": min(height, side),
                            "resize": "crop" if name == "thumb" else "fit",
                            "w": min(width, side),
                        }
                        for name, side in X_SIZES.items()
                        if name != "900x900"
                    },
                    "type": media["type"],
                    "url": link,
                }
            )
            if media.get("alt"):
                detail["ext_alt_text"] = media["alt"]
            if media["type"] != "photo":
                detail["additional_media_info"] = {}
                detail["video_info"] = {
                    "aspect_ratio": [width, height],
                    "duration_millis": media.get("duration_ms", 10000),
                    "variants": x_video_variants(base, media, "syndication"),
                }
            else:
                photos.append(
                    {
                        "backgroundColor": {"red": 204, "green": 214, "blue": 221},
                        "cropCandidates": [],
                        "expandedUrl": expanded,
                        "url": url,
                        "width": width,
                        "height": height,
                    }
                )
            details.append(detail)
    created = post["created_at"]
    editable_until = (
        int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp() * 1000) + 3600_000
    )
    body = {
        "__typename": "Tweet",
        "lang": "en",
        "favorite_count": 12,
        "possibly_sensitive": False,
        "created_at": created,
        "display_text_range": [0, len(text)],
        "entities": {
            "hashtags": [],
            "urls": [],
            "user_mentions": [],
            "symbols": [],
            **({"media": media_entities} if media_entities else {}),
        },
        "id_str": tweet_id,
        "text": full,
        "user": {
            "id_str": user["id"],
            "name": user["name"],
            "profile_image_url_https": f"{base}/x/pbs/profile_images/{user['id']}/avatar_normal.jpg",
            "screen_name": post["user"],
            "verified": False,
            "is_blue_verified": False,
        },
        "edit_control": {
            "edit_tweet_ids": post.get("edit_ids", [tweet_id]),
            "editable_until_msecs": str(editable_until),
            "is_edit_eligible": True,
            "edits_remaining": "5",
        },
        "mediaDetails": details,
        "photos": photos,
        "conversation_count": 0,
        "news_action_type": "conversation",
        "isEdited": len(post.get("edit_ids", [tweet_id])) > 1,
        "isStaleEdit": False,
    }
    if details and details[0]["type"] == "video":
        body["video"] = {
            "aspectRatio": details[0]["video_info"]["aspect_ratio"],
            "contentType": "media_entity",
            "durationMs": media.get("duration_ms", 10000),
            "mediaAvailability": {"status": "available"},
            "poster": details[0]["media_url_https"],
            "variants": [
                {"type": v["content_type"], "src": v["url"]}
                for v in details[0]["video_info"]["variants"]
            ],
            "videoId": {"type": "tweet", "id": tweet_id},
            "viewCount": 0,
        }
    return 200, body


def render_v2(
    fx: Fixture, base: str, tweet_id: str, query: dict[str, list[str]]
) -> tuple[int, Any]:
    post = fx.posts.get(tweet_id)
    expansions = ",".join(query.get("expansions", [])).split(",")
    if post is None or post.get("state") == "deleted":
        return 200, {
            "errors": [
                {
                    "value": tweet_id,
                    "detail": f"Could not find tweet with id: [{tweet_id}].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "id",
                    "resource_id": tweet_id,
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            ]
        }
    user = fx.users[post["user"]]
    if post.get("state") == "protected" or user.get("protected"):
        return 200, {
            "errors": [
                {
                    "value": tweet_id,
                    "detail": f"Sorry, you are not authorized to see the Tweet with id: [{tweet_id}].",
                    "title": "Authorization Error",
                    "resource_type": "tweet",
                    "parameter": "id",
                    "resource_id": tweet_id,
                    "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
                }
            ]
        }
    text = post["text"]
    media = post.get("media", [])
    if media:
        text = f"{text} https://t.co/{media[0].get('tco', 'AbCdEf1234')}"
    data: dict[str, Any] = {
        "id": tweet_id,
        "text": text,
        "edit_history_tweet_ids": post.get("edit_ids", [tweet_id]),
        "created_at": post["created_at"],
        "author_id": user["id"],
    }
    includes: dict[str, Any] = {}
    if media:
        data["attachments"] = {"media_keys": [m["media_key"] for m in media]}
        if "attachments.media_keys" in expansions:
            items = []
            for m in media:
                width, height = fx.world.image_size(m["image"])
                item: dict[str, Any] = {
                    "media_key": m["media_key"],
                    "type": m["type"],
                    "width": width,
                    "height": height,
                }
                if m["type"] == "photo":
                    item["url"] = x_media_url(base, m)
                else:
                    item["preview_image_url"] = x_media_url(base, m)
                    item["duration_ms"] = m.get("duration_ms", 10000)
                    item["variants"] = x_video_variants(base, m, "v2")
                if m.get("alt"):
                    item["alt_text"] = m["alt"]
                items.append(item)
            includes["media"] = items
    if "author_id" in expansions:
        includes["users"] = [
            {
                "id": user["id"],
                "name": user["name"],
                "username": post["user"],
                "protected": bool(user.get("protected")),
            }
        ]
    body: dict[str, Any] = {"data": data}
    if includes:
        body["includes"] = includes
    return 200, body
