"""Bluesky's part of the fixture server: the AppView, the PLC directory, the author's PDS
and the CDN.

    /xrpc/com.atproto.identity.resolveHandle  AppView
    /xrpc/app.bsky.feed.getPosts?uris=…       AppView (up to 25 URIs; posts it has, in order)
    /xrpc/com.atproto.sync.getBlob            the author's PDS (original blobs)
    /plc/<did>                                PLC directory (DID documents)
    /img/<preset>/plain/<did>/<cid>@jpeg      CDN (re-encoded, metadata stripped)
    /bsky-video/<did>/<cid>/…                 video CDN (HLS playlist, segments, thumbnail)

Posts come from fixtures/posts.json (`bsky_accounts`, `bsky_posts`).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import threading
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

_BULK_DID = "did:plc:pcfixturebulkposter444444"


def make_cid(data: bytes, codec: int = 0x55) -> str:
    """CIDv1, sha2-256, base32 multibase: 'bafkrei…' for raw blobs (0x55), 'bafyrei…' for
    dag-cbor records (0x71)."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


class Fixture(PlatformFixture):
    name = "bluesky"
    contract = ContractCases(
        post_urls={
            "https://bsky.app/profile/newsdesk.example.org/post/3lbqz2fa4ak2c": "at://newsdesk.example.org/app.bsky.feed.post/3lbqz2fa4ak2c",
            "https://bsky.app/profile/NewsDesk.Example.org/post/3lbqz2fa4ak2c/": "at://newsdesk.example.org/app.bsky.feed.post/3lbqz2fa4ak2c",
            "https://bsky.app/profile/did:plc:pcfixturenewsdesk2222222/post/3lbqz2fa4ak2c": "at://did:plc:pcfixturenewsdesk2222222/app.bsky.feed.post/3lbqz2fa4ak2c",
            "at://did:plc:pcfixturenewsdesk2222222/app.bsky.feed.post/3lbqz2fa4ak2c": "at://did:plc:pcfixturenewsdesk2222222/app.bsky.feed.post/3lbqz2fa4ak2c",
        },
        refused_urls=(
            "https://bsky.app/profile/newsdesk.example.org",
            "https://bsky.app/profile/newsdesk.example.org/feed/aaa",
            "at://did:plc:pcfixturenewsdesk2222222/app.bsky.actor.profile/self",
        ),
        photo_post="https://bsky.app/profile/newsdesk.example.org/post/3lbqz2fa4ak2c",
        photo_files=("images/b-camera.jpg",),
        video_post="https://bsky.app/profile/photoguy.example.org/post/3lfqvideopq22",
        video_file="videos/reupload-mirrored.mp4",
        deleted_post="https://bsky.app/profile/newsdesk.example.org/post/3lgonegonexx2",
        fault_path="/xrpc/app.bsky.feed.getPosts",
    )

    def __init__(self, world) -> None:
        super().__init__(world)
        spec = json.loads((HERE / "posts.json").read_text())
        self.accounts: dict[str, dict[str, Any]] = copy.deepcopy(spec["bsky_accounts"])
        self.posts: dict[str, dict[str, Any]] = copy.deepcopy(spec["bsky_posts"])
        self._cids: dict[str, str] = {}
        self._lock = threading.Lock()

    def env(self, base_url: str) -> dict[str, str]:
        return {
            "POSTCHECK_BSKY_APPVIEW_URL": base_url,
            "POSTCHECK_BSKY_PLC_URL": f"{base_url}/plc",
        }

    def cid_of(self, name: str) -> str:
        with self._lock:
            cid = self._cids.get(name)
        if cid is None:
            cid = make_cid(self.world.image_bytes(name))
            with self._lock:
                self._cids[name] = cid
        return cid

    def image_by_cid(self, cid: str) -> str | None:
        """The file (picture or video) a blob CID stands for."""
        for post in list(self.posts.values()):
            names = [image["image"] for image in post.get("images", [])]
            if post.get("video"):
                names += [post["video"]["file"], post["video"]["thumbnail"]]
            for name in names:
                if self.cid_of(name) == cid:
                    return name
        return None

    # --- scenario changes ---------------------------------------------------------------

    def delete(self, key: str) -> bool:
        return self.posts.pop(key, None) is not None

    def edit_text(self, key: str, text: str) -> bool:
        return self.update(self.posts, key, text=text)

    def replace_image(self, key: str, position: int, image: str) -> bool:
        if key not in self.posts:
            return False
        self.posts[key]["images"][position]["image"] = image
        return True

    def add_generated(self, index: int, image: str) -> tuple[str, str]:
        self.accounts.setdefault(
            _BULK_DID,
            {
                "handle": "bulk.example.org",
                "displayName": "Bulk Poster",
                "createdAt": "2023-01-01T00:00:00.000Z",
            },
        )
        created = datetime.fromtimestamp(1_700_000_000 + index * 60, tz=UTC)
        rkey = "3l" + format(index, "011d").translate(str.maketrans("0123456789", "abcdefghij"))
        key = f"{_BULK_DID}/{rkey}"
        self.posts[key] = {
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "text": f"Bulk post {index}",
            "images": [{"image": image, "alt": ""}],
        }
        return f"https://bsky.app/profile/bulk.example.org/post/{rkey}", key

    # --- routes -------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            (re.compile(r"/xrpc/com\.atproto\.identity\.resolveHandle"), self._resolve_handle),
            (re.compile(r"/xrpc/app\.bsky\.feed\.getPosts"), self._get_posts),
            (re.compile(r"/plc/(.+)"), self._plc),
            (re.compile(r"/xrpc/com\.atproto\.sync\.getBlob"), self._get_blob),
            (re.compile(r"/img/([a-z_]+)/plain/([^/]+)/([a-z0-9]+)@(jpeg|webp)"), self._cdn),
            (
                re.compile(
                    r"/bsky-video/([^/]+)/([a-z0-9]+)/(playlist\.m3u8|360p/video\.m3u8|360p/seg0\.ts|thumbnail\.jpg)"
                ),
                self._video,
            ),
        ]

    def _resolve_handle(self, req: Request) -> Reply:
        handle = req.one("handle").lower()
        for did, acct in self.accounts.items():
            if acct["handle"] == handle:
                return Reply.json(200, {"did": did})
        return Reply.json(400, {"error": "InvalidRequest", "message": "Unable to resolve handle"})

    def _get_posts(self, req: Request) -> Reply:
        """The AppView answers the posts it has, in the order asked, and leaves the others
        out (no error for a deleted post); more than 25 URIs is a bad request."""
        uris = req.query.get("uris", [])
        if len(uris) > 25:
            return Reply.json(
                400,
                {"error": "InvalidRequest", "message": "uris must not have more than 25 elements"},
            )
        views = []
        for uri in uris:
            if m := re.fullmatch(r"at://([^/]+)/app\.bsky\.feed\.post/([^/]+)", uri):
                key = f"{m.group(1)}/{m.group(2)}"
                if key in self.posts:
                    views.append(render_post_view(self, req.base_url, key))
        return Reply.json(200, {"posts": views})

    def _plc(self, req: Request) -> Reply:
        did = req.match.group(1)
        if did not in self.accounts:
            return Reply.json(404, {"message": f"DID not registered: {did}"})
        return Reply.json(200, did_document(self, req.base_url, did))

    def _get_blob(self, req: Request) -> Reply:
        name = self.image_by_cid(req.one("cid"))
        if name is None or req.one("did") not in self.accounts:
            return Reply.json(400, {"error": "BlobNotFound", "message": "Blob not found"})
        return Reply(200, self.world.image_bytes(name), "image/jpeg")

    def _cdn(self, req: Request) -> Reply:
        name = self.image_by_cid(req.match.group(3))
        if name is None:
            return Reply(404, b"", "text/plain")
        side = 2000 if req.match.group(1) == "feed_fullsize" else 1000
        return Reply(200, reencode(self.world.image_bytes(name), side), "image/jpeg")

    def _video(self, req: Request) -> Reply:
        name = self.image_by_cid(req.match.group(2))
        if name is None:
            return Reply(404, b"", "text/plain")
        post = next(p for p in self.posts.values() if p.get("video", {}).get("file") == name)
        part = req.match.group(3)
        if part == "thumbnail.jpg":
            return Reply(200, self.world.image_bytes(post["video"]["thumbnail"]), "image/jpeg")
        if part == "playlist.m3u8":  # master: one rendition, as Bluesky lists several
            body = (
                b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=480x270\n360p/video.m3u8\n"
            )
            return Reply(200, body, "application/x-mpegURL")
        if part == "360p/video.m3u8":
            return Reply(200, hls_playlist("seg0.ts"), "application/x-mpegURL")
        return Reply(200, self.world.mpegts(name), "video/mp2t")


def _author_view(fx: Fixture, base: str, did: str) -> dict[str, Any]:
    acct = fx.accounts[did]
    return {
        "did": did,
        "handle": acct["handle"],
        "displayName": acct["displayName"],
        "avatar": f"{base}/img/avatar/plain/{did}/bafkreiavatar@jpeg",
        "associated": {"chat": {"allowIncoming": "following"}},
        "viewer": {"muted": False, "blockedBy": False},
        "labels": [],
        "createdAt": acct["createdAt"],
    }


def _images(fx: Fixture, base: str, did: str, images: list[dict[str, Any]]) -> tuple[dict, dict]:
    record_images, view_images = [], []
    for image in images:
        data = fx.world.image_bytes(image["image"])
        cid = fx.cid_of(image["image"])
        width, height = fx.world.image_size(image["image"])
        ratio = {"height": height, "width": width}
        record_images.append(
            {
                "alt": image.get("alt", ""),
                "aspectRatio": ratio,
                "image": {
                    "$type": "blob",
                    "ref": {"$link": cid},
                    "mimeType": "image/jpeg",
                    "size": len(data),
                },
            }
        )
        view_images.append(
            {
                "thumb": f"{base}/img/feed_thumbnail/plain/{did}/{cid}@jpeg",
                "fullsize": f"{base}/img/feed_fullsize/plain/{did}/{cid}@jpeg",
                "alt": image.get("alt", ""),
                "aspectRatio": ratio,
            }
        )
    return (
        {"$type": "app.bsky.embed.images", "images": record_images},
        {"$type": "app.bsky.embed.images#view", "images": view_images},
    )


def _video(fx: Fixture, base: str, did: str, video: dict[str, Any]) -> tuple[dict, dict]:
    data = fx.world.image_bytes(video["file"])
    cid = fx.cid_of(video["file"])
    ratio = {"height": 270, "width": 480}
    record = {
        "$type": "app.bsky.embed.video",
        "alt": video.get("alt", ""),
        "aspectRatio": ratio,
        "video": {
            "$type": "blob",
            "ref": {"$link": cid},
            "mimeType": "video/mp4",
            "size": len(data),
        },
    }
    view = {
        "$type": "app.bsky.embed.video#view",
        "cid": cid,
        "alt": video.get("alt", ""),
        "playlist": f"{base}/bsky-video/{did}/{cid}/playlist.m3u8",
        "thumbnail": f"{base}/bsky-video/{did}/{cid}/thumbnail.jpg",
        "aspectRatio": ratio,
    }
    return record, view


def _record(fx: Fixture, base: str, key: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    post = fx.posts[key]
    did = key.split("/")[0]
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "createdAt": post["created_at"],
        "langs": ["en"],
        "text": post["text"],
    }
    embed_view = None
    if post.get("images"):
        rec_embed, embed_view = _images(fx, base, did, post["images"])
        record["embed"] = rec_embed
    if post.get("video"):
        record["embed"], embed_view = _video(fx, base, did, post["video"])
    quote = post.get("quote")
    if quote and quote in fx.posts:
        qrec, qview = _record(fx, base, quote)
        qdid, qrkey = quote.split("/")
        quri = f"at://{qdid}/app.bsky.feed.post/{qrkey}"
        qcid = make_cid(json.dumps(qrec, sort_keys=True).encode(), 0x71)
        strong = {"$type": "app.bsky.embed.record", "record": {"cid": qcid, "uri": quri}}
        view_record = {
            "$type": "app.bsky.embed.record#viewRecord",
            "uri": quri,
            "cid": qcid,
            "author": _author_view(fx, base, qdid),
            "value": qrec,
            "labels": [],
            "likeCount": 0,
            "replyCount": 0,
            "repostCount": 0,
            "quoteCount": 0,
            "indexedAt": fx.posts[quote]["created_at"],
            "embeds": [qview] if qview else [],
        }
        if "embed" in record:
            record["embed"] = {
                "$type": "app.bsky.embed.recordWithMedia",
                "media": record["embed"],
                "record": strong,
            }
            embed_view = {
                "$type": "app.bsky.embed.recordWithMedia#view",
                "media": embed_view,
                "record": {"record": view_record},
            }
        else:
            record["embed"] = strong
            embed_view = {"$type": "app.bsky.embed.record#view", "record": view_record}
    return record, embed_view


def render_post_view(fx: Fixture, base: str, key: str) -> dict[str, Any]:
    did, rkey = key.split("/")
    record, embed_view = _record(fx, base, key)
    view = {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
        "cid": make_cid(json.dumps(record, sort_keys=True).encode(), 0x71),
        "author": _author_view(fx, base, did),
        "record": record,
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": 3,
        "quoteCount": 0,
        "indexedAt": fx.posts[key]["created_at"],
        "viewer": {"threadMuted": False, "embeddingDisabled": False},
        "labels": [],
    }
    if embed_view:
        view["embed"] = embed_view
    return view


def did_document(fx: Fixture, base: str, did: str) -> dict[str, Any]:
    acct = fx.accounts[did]
    return {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
            "https://w3id.org/security/suites/secp256k1-2019/v1",
        ],
        "id": did,
        "alsoKnownAs": [f"at://{acct['handle']}"],
        "verificationMethod": [
            {
                "id": f"{did}#atproto",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": "zQ3shc6V2kvUxn7hNmPy9JMToKT7u2NH27SnKNxGL1GcBcS4j",
            }
        ],
        "service": [
            {
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": acct.get("pds", base),
            }
        ],
    }
