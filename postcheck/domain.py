"""Domain types shared by sources, verifiers, store, flows and reports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field


class Platform(StrEnum):
    X = "x"
    BLUESKY = "bluesky"


class Verdict(StrEnum):
    RECYCLED = "recycled"
    ALTERED = "altered"
    MATCHES_KNOWN = "matches_known"
    METADATA_CONFLICT = "metadata_conflict"
    NO_KNOWN_MATCH = "no_known_match"
    UNAVAILABLE = "unavailable"
    ERROR = "error"


class PostRef(BaseModel):
    """What a URL names, before anything is fetched."""

    platform: Platform
    post_id: str = Field(description="Tweet id, or Bluesky record key.")
    author: str | None = Field(None, description="Handle or DID as written in the URL.")
    url: str = Field(description="Canonical web URL of the post.")

    @property
    def key(self) -> str:
        """Stable identity before resolution (a Bluesky handle may still need resolving)."""
        if self.platform is Platform.X:
            return f"x:{self.post_id}"
        return f"at://{self.author}/app.bsky.feed.post/{self.post_id}"


MediaKind = Literal["photo", "video", "gif"]


class MediaRef(BaseModel):
    """One media item of a post, as the platform describes it."""

    position: int
    kind: MediaKind
    url: str = Field(description="Best URL for the original picture (poster for videos).")
    fallback_urls: list[str] = Field(default_factory=list)
    alt_text: str | None = None
    width: int | None = None
    height: int | None = None
    platform_key: str | None = Field(None, description="media_key (X) or blob CID (Bluesky).")
    expected_sha256: str | None = Field(
        None, description="Digest the platform vouches for (a Bluesky blob CID), if any."
    )


class Post(BaseModel):
    platform: Platform
    uri: str = Field(description="Stable identity: x:<id> or at://<did>/app.bsky.feed.post/<rkey>.")
    url: str
    post_id: str
    author_id: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    created_at: datetime
    text: str = ""
    media: list[MediaRef] = Field(default_factory=list)
    quoted_uri: str | None = None
    fetched_via: str = Field("", description="Which endpoint answered (for the evidence).")
    edit_of: list[str] = Field(default_factory=list, description="Earlier versions (X edits).")


class StoredMedia(BaseModel):
    """Bytes on disk, addressed by their sha256, with what the header says."""

    sha256: str
    path: str
    size: int
    format: str
    mime: str
    width: int
    height: int


class Fingerprint(BaseModel):
    """Perceptual hashes of one image, by family name, as hex strings."""

    hashes: dict[str, str] = Field(
        description="Hex hash by family; 'family@mirror' is the hash of the mirror image."
    )
    quality: float = Field(1.0, description="0..1 detail; below a family's floor it refuses.")
    colourfulness: float = Field(0.0, description="~0 for grayscale pictures.")


class MatchEdit(StrEnum):
    IDENTICAL = "identical"
    NEAR_COPY = "near_copy"
    MIRRORED = "mirrored"
    CROPPED = "cropped"
    PADDED = "padded"
    OVERLAID = "overlaid"
    ROTATED = "rotated"
    SCREENSHOT = "screenshot"
    GRAYSCALE = "grayscale"
    RETOUCHED = "retouched"


# Edits that change what the picture shows or how it is framed: a near match with one of
# these is `altered` (unless it is older than the post, then `recycled` says more).
TELLING_EDITS = frozenset(
    {
        MatchEdit.MIRRORED,
        MatchEdit.CROPPED,
        MatchEdit.OVERLAID,
        MatchEdit.ROTATED,
        MatchEdit.RETOUCHED,
        MatchEdit.PADDED,
        MatchEdit.SCREENSHOT,
    }
)


class KnownImage(BaseModel):
    id: int
    sha256: str
    source_url: str | None = None
    first_seen: datetime | None = None
    caption: str | None = None
    credit: str | None = None
    origin: str = "import"
    post_uri: str | None = None


class Match(BaseModel):
    known: KnownImage
    distances: dict[str, int]
    score: float = Field(description="Mean fraction of differing bits: 0 same, ~0.5 unrelated.")
    edits: list[MatchEdit] = Field(default_factory=list)
    is_match: bool = Field(description="Within the documented thresholds.")


class MetadataFacts(BaseModel):
    """What the file's own metadata says. Absent fields were not in the file."""

    present: bool = False
    readable: bool = True
    error: str | None = None
    capture_time: datetime | None = None
    capture_time_raw: str | None = None
    digitized_time_raw: str | None = None
    modified_time_raw: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    camera_serial: str | None = None
    lens: str | None = None
    software: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt: float | None = None
    orientation: str | None = None
    has_thumbnail: bool = False
    fields: dict[str, str] = Field(default_factory=dict)


class Finding(BaseModel):
    """A fact or red flag found in the metadata, with the fields that prove it."""

    code: str
    message: str
    red_flag: bool = False
    fields: dict[str, Any] = Field(default_factory=dict)


class ImageReport(BaseModel):
    position: int
    kind: MediaKind = "photo"
    source_url: str
    alt_text: str | None = None
    media: StoredMedia | None = None
    fingerprint: Fingerprint | None = None
    matches: list[Match] = Field(default_factory=list)
    metadata: MetadataFacts | None = None
    findings: list[Finding] = Field(default_factory=list)
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)


class CheckReport(BaseModel):
    """One check of one post: the verdict and all the evidence behind it."""

    url: str
    post: Post | None = None
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    images: list[ImageReport] = Field(default_factory=list)
    check_id: int | None = None
    flow_run_id: str | None = None
    checked_at: datetime
