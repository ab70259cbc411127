"""Domain types shared by sources, verifiers, store, flows and reports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field


class Verdict(StrEnum):
    RECYCLED = "recycled"
    ALTERED = "altered"
    MATCHES_KNOWN = "matches_known"
    METADATA_CONFLICT = "metadata_conflict"
    NO_KNOWN_MATCH = "no_known_match"
    UNAVAILABLE = "unavailable"
    ERROR = "error"


class PostRef(BaseModel):
    """What a URL names, before anything is fetched. Made by the platform's `parse_url`."""

    platform: str = Field(description="Registered platform name (postcheck.sources).")
    post_id: str = Field(description="The post's id on its platform.")
    author: str | None = Field(None, description="Author as written in the URL.")
    url: str = Field(description="Canonical web URL of the post.")
    key: str = Field(
        description="Stable identity before fetching; equals the fetched Post.uri when the "
        "URL already names the post for good (not, e.g., through a handle to resolve)."
    )


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
    platform_key: str | None = Field(None, description="The platform's id of the media item.")
    expected_sha256: str | None = Field(
        None, description="Digest the platform vouches for (a Bluesky blob CID), if any."
    )
    video_url: str | None = Field(None, description="The video itself (MP4 or HLS playlist).")
    video_fallback_urls: list[str] = Field(default_factory=list)
    video_expected_sha256: str | None = None
    duration_ms: int | None = None
    note: str | None = Field(
        None, description="What the report must say about this item (e.g. only a thumbnail)."
    )


class Post(BaseModel):
    platform: str
    uri: str = Field(description="Stable identity, in the platform's own URI format.")
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
    edit_of: list[str] = Field(default_factory=list, description="Earlier versions' ids.")
    edited_at: datetime | None = Field(None, description="When the post was last edited.")
    facts: dict[str, str] = Field(
        default_factory=dict,
        description="What the platform says about the post beyond the fields above "
        "('forwarded_from', 'video', …), shown in reports.",
    )


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
        description="Hex code by family ('dct256') and by region ('dct256@win:tl90')."
    )
    quality: float = Field(1.0, description="0..1 detail; below the floor nothing is hashed.")
    colourfulness: float = Field(0.0, description="~0 for grayscale pictures.")
    width: int | None = Field(None, description="Working copy the codes were taken from.")
    height: int | None = None
    codeset: str | None = Field(
        None, description="The hash families and revisions the codes were taken under."
    )


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
    COMPOSITE = "composite"  # one tile of a collage, grid or side-by-side comparison


# Edits that change what the picture shows or how it is framed: a near match with one of
# these is `altered` (unless it is older than the post, then `recycled` says more).
# Padding, a screenshot around it or a grey copy change the presentation, not the picture.
TELLING_EDITS = frozenset(
    {
        MatchEdit.MIRRORED,
        MatchEdit.CROPPED,
        MatchEdit.OVERLAID,
        MatchEdit.ROTATED,
        MatchEdit.RETOUCHED,
        MatchEdit.COMPOSITE,
    }
)


class KnownImage(BaseModel):
    id: int
    sha256: str | None = Field(None, description="Its file; None for a hash-only entry.")
    source_url: str | None = None
    first_seen: datetime | None = None
    caption: str | None = None
    credit: str | None = None
    origin: str = "import"
    post_uri: str | None = None
    hash_only: bool = Field(False, description="A hash from a hash list: no file we have.")
    list_name: str | None = Field(None, description="The hash list it was imported from.")
    list_line: int | None = Field(None, description="Its line in that list.")


class Match(BaseModel):
    known: KnownImage
    distances: dict[str, int]
    score: float = Field(
        description="Distance against the family's threshold: 0 same, 0.5 at the cut, 1 far."
    )
    edits: list[MatchEdit] = Field(default_factory=list)
    details: list[str] = Field(default_factory=list, description="The edits in words.")
    is_match: bool = Field(description="Proven the same picture (see stage).")
    stage: str | None = Field(None, description="Which code found it and what proved it.")
    known_time: float | None = Field(None, description="Seconds into the known video, if one.")
    hash_only: bool = Field(False, description="Matched by a hash alone: no file confirmed it.")


class MetadataFacts(BaseModel):
    """What the file's own metadata (EXIF, XMP, C2PA) says. Absent fields were not in the
    file; `present` is False when the file carries no EXIF and no XMP at all."""

    present: bool = False
    readable: bool = True
    error: str | None = Field(None, description="Why the metadata could not be read.")
    container: str | None = Field(None, description="Where EXIF was looked for: JPEG, PNG...")
    exif_present: bool = False
    xmp_present: bool = False
    # Dates: *_raw as written ('YYYY:MM:DD HH:MM:SS'); the parsed value is aware when the
    # file recorded an offset (OffsetTime*), naive (camera local time) otherwise.
    capture_time: datetime | None = None
    capture_time_raw: str | None = None
    capture_offset: str | None = None
    capture_subsec: str | None = None
    digitized_time: datetime | None = None
    digitized_time_raw: str | None = None
    digitized_offset: str | None = None
    modified_time: datetime | None = None
    modified_time_raw: str | None = None
    modified_offset: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    camera_serial: str | None = None
    camera_owner: str | None = None
    lens: str | None = None
    lens_make: str | None = None
    lens_serial: str | None = None
    software: str | None = None
    processing_history: list[dict[str, str]] = Field(
        default_factory=list,
        description="Software that wrote or changed the file, oldest first: EXIF Software, "
        "ProcessingSoftware, XMP CreatorTool and xmpMM:History events (source, software, "
        "action, when).",
    )
    digital_source_type: str | None = Field(
        None, description="IPTC DigitalSourceType declared in XMP (e.g. trainedAlgorithmicMedia)."
    )
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt: float | None = Field(None, description="Metres; negative below sea level.")
    gps_time: datetime | None = Field(None, description="GPSDateStamp + GPSTimeStamp (UTC).")
    gps_time_raw: str | None = None
    gps_datum: str | None = None
    orientation: str | None = None
    has_thumbnail: bool = False
    thumbnail_size: int | None = Field(None, description="Bytes of the embedded JPEG thumbnail.")
    thumbnail_width: int | None = None
    thumbnail_height: int | None = None
    thumbnail_error: str | None = Field(None, description="Why the thumbnail was not compared.")
    thumbnail_fingerprint: Fingerprint | None = Field(
        None, description="Perceptual hashes of the thumbnail (black bars trimmed)."
    )
    thumbnail_distance: int | None = Field(
        None, description="pHash + dHash bits (of 128) between thumbnail and main image."
    )
    thumbnail_differs: bool | None = Field(
        None, description="True when the thumbnail shows another picture or framing."
    )
    provenance: ProvenanceFacts | None = Field(
        None, description="C2PA Content Credentials, when they were looked for."
    )
    fields: dict[str, str] = Field(default_factory=dict)


class ProvenanceFacts(BaseModel):
    """What a C2PA manifest (Content Credentials) in the file claims, and whether it
    validated. `passed` is about integrity (signature and hashes); `trusted` about the
    signer's certificate chaining to a trust anchor postcheck was given."""

    present: bool = False
    readable: bool = True
    error: str | None = None
    sdk: str | None = Field(None, description="c2pa-python / c2pa-rs versions that read it.")
    active_manifest: str | None = None
    manifest_count: int = 0
    title: str | None = None
    claim_generator: str | None = None
    signer: str | None = Field(None, description="Common name of the signing certificate.")
    issuer: str | None = Field(None, description="Organisation named in the certificate.")
    signed_at: str | None = Field(None, description="Trusted timestamp, if one was attached.")
    cert_serial: str | None = None
    algorithm: str | None = None
    actions: list[dict[str, str]] = Field(
        default_factory=list,
        description="Claimed actions of the active manifest: action, digitalSourceType, "
        "softwareAgent, when, description.",
    )
    digital_source_types: list[str] = Field(default_factory=list)
    ai_generated: bool = Field(False, description="trainedAlgorithmicMedia claimed.")
    ai_composite: bool = Field(False, description="compositeWithTrainedAlgorithmicMedia.")
    ingredients: list[dict[str, str]] = Field(default_factory=list)
    validation_state: str | None = Field(None, description="Invalid, Valid or Trusted.")
    validation_failures: list[dict[str, str]] = Field(default_factory=list)
    passed: bool | None = None
    trusted: bool = False
    remote_url: str | None = None


class Finding(BaseModel):
    """A fact or red flag found in the metadata, with the fields that prove it."""

    code: str
    message: str
    red_flag: bool = False
    source: str = Field(
        "exif", description="What it was read from: exif, xmp, thumbnail, c2pa, known-original."
    )
    fields: dict[str, Any] = Field(default_factory=dict)


class FrameMatch(BaseModel):
    t: float = Field(description="Seconds into the post's video.")
    known_t: float | None = Field(None, description="Seconds into the known video, if one.")
    distances: dict[str, int] = Field(default_factory=dict)
    thumbnail: str | None = Field(None, description="The frame, small, as a data: URI.")


class VideoMatch(BaseModel):
    """A known picture or video found in the post's video, and where."""

    known: KnownImage
    known_is_video: bool = False
    frames: list[FrameMatch] = Field(default_factory=list)
    span: tuple[float, float] = Field(description="First and last matching frame, seconds.")
    known_span: tuple[float, float] | None = None
    offset: float | None = Field(None, description="Known time minus post time (videos).")
    edits: list[MatchEdit] = Field(default_factory=list)
    details: list[str] = Field(default_factory=list)


class VideoEvidence(BaseModel):
    media: StoredMedia | None = Field(None, description="The video file that was checked.")
    duration: float
    width: int
    height: int
    fps: float
    frames_examined: int
    note: str | None = Field(None, description="Truncated, or stopped at a cap.")
    matches: list[VideoMatch] = Field(default_factory=list)


class Rematch(BaseModel):
    """How a recheck matched an unchanged picture's stored file again, the library having
    changed since its last check: against only the known pictures added since that check
    (no removal since), or against the whole library."""

    mode: Literal["added_since", "full"]
    since_version: int = Field(description="The library version of the last check.")
    candidates: int | None = Field(
        None, description="Known pictures looked at (added_since: those added since)."
    )


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
    video: VideoEvidence | None = None
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    evidence_id: int | None = Field(
        None, description="The known picture the verdict rests on (what reports show)."
    )
    rematch: Rematch | None = Field(
        None, description="Set when a recheck re-matched this unchanged picture's file."
    )

    @property
    def evidence(self) -> Match | None:
        """The match the verdict rests on, if it rests on a known picture."""
        return next((m for m in self.matches if m.known.id == self.evidence_id), None)

    @computed_field  # in every JSON dump, so each renderer reads the links from the report
    @property
    def reverse_search(self) -> ReverseSearch:
        """Where to search the picture by its public URL (no request is made to them)."""
        from postcheck import reverse_search  # here: urls -> errors -> domain at import

        return ReverseSearch(
            links=[
                ReverseSearchLink(service=name, url=url)
                for name, url in reverse_search.links_for(self.source_url)
            ],
            note=reverse_search.no_links_reason(self.source_url),
        )


class ReverseSearchLink(BaseModel):
    service: str
    url: str


class ReverseSearch(BaseModel):
    """Reverse-image search links of a picture, or why it has none."""

    links: list[ReverseSearchLink] = Field(default_factory=list)
    note: str | None = Field(None, description="Why there are no links (a local file, …).")


class Transition(BaseModel):
    """What changed about a post between two checks."""

    kind: Literal["deleted", "restored", "text_edited", "media_changed", "verdict_changed"]
    message: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class RecheckOutcome(BaseModel):
    """What the recheck found for one watched post."""

    url: str
    platform: str
    verdict: str
    failed: bool = Field(description="The post could not be fetched (tried again next run).")
    transitions: list[Transition] = Field(default_factory=list)
    flow_run_id: str | None = None
    message: str = ""


class CheckReport(BaseModel):
    """One check of one post: the verdict and all the evidence behind it."""

    url: str
    post: Post | None = None
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    images: list[ImageReport] = Field(default_factory=list)
    check_id: int | None = None
    flow_run_id: str | None = None
    captures: list[str] = Field(
        default_factory=list,
        description="The exchange logs (postcheck.capture) of this check when it ran inside "
        "a batch (bulk verify, recheck): its batch's platform answer, then its own downloads. "
        "Empty: the flow run's log.",
    )
    checked_at: datetime
    library_version: int | None = Field(
        None, description="The library version the media were matched against."
    )
