"""Property-based tests: the URL parser and the metadata reader never crash and never
return nonsense, whatever they are given."""

import contextlib
import io
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from postcheck.errors import BadURL
from postcheck.sources import parse_post_url
from postcheck.verifiers.metadata import read_metadata

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTS = [
    "x.com",
    "twitter.com",
    "mobile.twitter.com",
    "bsky.app",
    "example.com",
    "пример.рф",
    "127.0.0.1",
    "",
]
SCHEMES = ["https://", "http://", "at://", "javascript:", "file://", "", "ftp://", "HTTPS://"]
SEGMENTS = st.one_of(
    st.sampled_from(
        ["status", "statuses", "i", "web", "profile", "post", "app.bsky.feed.post", "photo", "1"]
    ),
    st.from_regex(r"[0-9]{1,22}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_.:-]{1,30}", fullmatch=True),
    st.text(max_size=12),
)


@FAST
@given(
    st.sampled_from(SCHEMES),
    st.sampled_from(HOSTS),
    st.lists(SEGMENTS, max_size=6),
    st.text(max_size=20),
)
def test_url_parser_is_total(scheme, host, segments, tail):
    url = scheme + host + "/" + "/".join(segments) + tail
    try:
        ref = parse_post_url(url)
    except BadURL as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) < 400
        return
    # Whatever parses names one post, and its canonical URL names the same post.
    again = parse_post_url(ref.url)
    assert (again.platform, again.post_id, again.key) == (ref.platform, ref.post_id, ref.key)
    assert ref.post_id and len(ref.url) <= 2100


@FAST
@given(st.text(max_size=3000))
def test_url_parser_on_any_text(text):
    with contextlib.suppress(BadURL):
        parse_post_url(text)


def _jpeg_with_exif(exif_payload: bytes) -> bytes:
    """A real JPEG whose APP1 segment carries the given (possibly hostile) EXIF bytes."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 120, 150)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    segment = b"Exif\x00\x00" + exif_payload
    app1 = b"\xff\xe1" + struct.pack(">H", min(len(segment) + 2, 0xFFFF)) + segment[: 0xFFFF - 2]
    return jpeg[:2] + app1 + jpeg[2:]


TIFF_HEADERS = st.sampled_from(
    [b"MM\x00*\x00\x00\x00\x08", b"II*\x00\x08\x00\x00\x00", b"MM\x00*", b""]
)


@FAST
@given(TIFF_HEADERS, st.binary(max_size=600))
def test_metadata_reader_never_raises_on_hostile_exif(header, body):
    facts = read_metadata(_jpeg_with_exif(header + body))
    assert isinstance(facts.readable, bool)
    if not facts.readable:
        assert facts.error and "\n" not in facts.error


@FAST
@given(st.binary(max_size=4000))
def test_metadata_reader_never_raises_on_any_bytes(data):
    facts = read_metadata(data)
    assert isinstance(facts.present, bool)
