"""Video sampling (verifiers.video) on the fixture videos of fixtures/videos/, which
make_videos.py made from real photos: what probe says, which frames sample_frames keeps,
how bad files are refused, the caps, and video-to-video alignment through the matcher."""

from __future__ import annotations

import importlib.util
import itertools
import random
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image

from postcheck.errors import BadMedia
from postcheck.verifiers import matcher, perceptual, video
from postcheck.verifiers.families import families

FIXTURES = Path(__file__).parents[1] / "fixtures"
VIDEOS = FIXTURES / "videos"
KOKSAN = FIXTURES / "known" / "koksan-2010.jpg"

_spec = importlib.util.spec_from_file_location("make_videos", VIDEOS / "make_videos.py")
assert _spec is not None and _spec.loader is not None
make_videos = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_videos)  # the fixtures' geometry: where the photo is, when


def sample(name: str, **kw) -> list[video.SampledFrame]:
    return list(video.sample_frames(VIDEOS / name, max_duration=60, **kw))


# ----------------------------------------------------------------------------- probe


@pytest.mark.parametrize(
    ("name", "duration", "size", "fps", "audio"),
    [
        ("known-clip.mp4", 12.0, (480, 270), 25, True),
        ("new-with-known-photo.mp4", 10.0, (480, 270), 25, True),
        ("reupload-lowbitrate.mp4", 12.0, (320, 180), 15, False),
        ("reupload-trimmed.mp4", 6.0, (480, 270), 25, False),
        ("reupload-cropped.mp4", 12.0, (432, 242), 25, False),
        ("reupload-mirrored.mp4", 12.0, (480, 270), 25, False),
        ("unrelated-1.mp4", 9.0, (480, 270), 25, False),
        ("unrelated-2.mp4", 6.0, (480, 270), 25, False),
    ],
)
def test_probe_reads_the_fixture_videos(name, duration, size, fps, audio) -> None:
    info = video.probe(VIDEOS / name, max_duration=60)
    assert info.duration == pytest.approx(duration, abs=0.05)
    assert (info.width, info.height) == size
    assert info.fps == pytest.approx(fps)
    assert (info.codec, info.container, info.has_audio, info.rotation) == ("h264", "mp4", audio, 0)


def test_probe_reports_the_rotation_of_a_phone_video() -> None:
    info = video.probe(VIDEOS / "rotated-90.mp4", max_duration=60)
    assert (info.width, info.height, info.rotation) == (320, 180, 90)


# ----------------------------------------------------------------------------- bad input


BAD = [
    ("zero.mp4", "empty file (0 bytes)"),
    ("audio-only.m4a", "audio only: no video stream"),
    ("not-a-video.mp4", "not a video (a JPEG image)"),
    ("absurd-fps.mp4", "absurd frame rate: 10,000 frames per second (limit 240)"),
    ("tiny-8x8.mp4", "absurd resolution: 8x8"),
    ("empty-container.mp4", "no video stream (the file holds no streams)"),
]


@pytest.mark.parametrize(("name", "message"), BAD)
def test_bad_files_are_refused_with_a_one_line_message(name, message) -> None:
    with pytest.raises(BadMedia) as probed:
        video.probe(VIDEOS / name, max_duration=60)
    with pytest.raises(BadMedia) as sampled:
        sample(name)
    for exc in (probed.value, sampled.value):
        assert str(exc) == message
        assert "\n" not in str(exc) and str(VIDEOS) not in str(exc)


def test_a_truncated_file_yields_what_decodes_and_says_so() -> None:
    # unrelated-1.mp4 cut in half; its index (moov, at the front) still promises 9 s.
    assert video.probe(VIDEOS / "truncated.mp4", max_duration=60).duration == 9.0
    sampler = video.sample_frames(VIDEOS / "truncated.mp4", max_duration=60)
    frames = list(sampler)
    assert len(frames) >= 2 and frames[0].t == 0.0
    assert sampler.truncated and sampler.stopped == "truncated"
    assert 1.0 < sampler.last_t < 6.0
    assert sampler.note.startswith("truncated or damaged: frames decode only up to ")
    assert sampler.note.endswith(" of 9.0 s") and "\n" not in sampler.note
    # The same frames as in the whole file, as far as they go.
    whole = sample("unrelated-1.mp4")
    assert [f.t for f in frames] == [f.t for f in whole[: len(frames)]]


def test_a_whole_file_is_not_reported_truncated() -> None:
    sampler = video.sample_frames(VIDEOS / "known-clip.mp4", max_duration=60)
    frames = list(sampler)
    assert frames and sampler.stopped == "end" and not sampler.truncated
    assert sampler.note is None and sampler.decode_errors == 0
    assert sampler.last_t > 11.5


def test_cut_and_damaged_copies(tmp_path: Path) -> None:
    data = (VIDEOS / "known-clip.mp4").read_bytes()
    cases = {
        "tail.mp4": (data[len(data) // 2 :], "not a video (unknown type)"),
        "head-1k.mp4": (data[:1024], "corrupt or truncated video (End of file)"),
        # The whole index and not one frame's bytes.
        "head-8k.mp4": (data[:8192], "no decodable video frame (corrupt or truncated)"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(BadMedia, match=r"^" + message.replace("(", r"\(").replace(")", r"\)")):
            list(video.sample_frames(tmp_path / name, max_duration=60))
    # 4 KB of garbage in the middle: damaged packets are skipped, decoding goes on.
    damaged = bytearray(data)
    rng = random.Random(1)
    for i in range(len(data) // 2, len(data) // 2 + 4000):
        damaged[i] = rng.randrange(256)
    (tmp_path / "damaged.mp4").write_bytes(bytes(damaged))
    sampler = video.sample_frames(tmp_path / "damaged.mp4", max_duration=60)
    frames = list(sampler)
    assert sampler.decode_errors > 0 and sampler.stopped == "end"
    assert sampler.note == f"{sampler.decode_errors} damaged packet(s) skipped"
    assert frames[-1].t > 9.0


# ----------------------------------------------------------------------------- caps


def test_probe_refuses_a_video_over_the_caps() -> None:
    clip = VIDEOS / "known-clip.mp4"
    with pytest.raises(BadMedia, match=r"^video too long: 12\.0 s \(limit 5 s\)$"):
        video.probe(clip, max_duration=5)
    with pytest.raises(
        BadMedia, match=r"^video frame too large: 480x270 pixels \(limit 100,000\)$"
    ):
        video.probe(clip, max_duration=60, max_pixels=100_000)
    with pytest.raises(BadMedia, match=r"^absurd frame rate: 25 frames per second \(limit 24\)$"):
        video.probe(clip, max_duration=60, max_fps=24)


def test_sampling_stops_at_max_duration_and_max_frames() -> None:
    # probe is the gate that refuses a long video; sample_frames, given one anyway (or a
    # file whose header lies), stops at the cap and says so.
    sampler = video.sample_frames(VIDEOS / "known-clip.mp4", max_duration=5)
    frames = list(sampler)
    assert frames and all(f.t <= 5 for f in frames) and frames[-1].t >= 4
    assert sampler.stopped == "max_duration" and not sampler.truncated
    assert sampler.note == "sampled the first 5 s only of 12.0 s"

    sampler = video.sample_frames(VIDEOS / "known-clip.mp4", max_duration=60, max_frames=2)
    assert len(list(sampler)) == 2
    assert sampler.stopped == "max_frames"
    assert sampler.note.startswith("stopped at 2 sampled frames")


def test_frames_are_streamed_not_decoded_up_front() -> None:
    with video.sample_frames(VIDEOS / "known-clip.mp4", max_duration=60) as sampler:
        first = next(sampler)
        assert first.t == 0.0
        assert sampler.decoded < 20  # of 300 frames
    with pytest.raises(StopIteration):
        next(sampler)  # closed


# ----------------------------------------------------------------------------- sampling


@pytest.mark.parametrize(
    "name",
    [
        "known-clip.mp4",
        "new-with-known-photo.mp4",
        "reupload-lowbitrate.mp4",
        "reupload-trimmed.mp4",
        "reupload-cropped.mp4",
        "reupload-mirrored.mp4",
        "unrelated-1.mp4",
        "unrelated-2.mp4",
    ],
)
def test_samples_cover_the_whole_video_at_least_every_interval(name) -> None:
    info = video.probe(VIDEOS / name, max_duration=60)
    frames = sample(name, max_side=200, min_interval=2.0)
    assert frames[0].t == 0.0 and frames[0].reason == "keyframe"
    times = [f.t for f in frames]
    assert times == sorted(times)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) <= 2.0 + 0.25  # the next decoded frame after the interval
    assert info.duration - times[-1] <= 2.0 + 0.25
    assert {f.reason for f in frames} <= {"keyframe", "scene-change", "interval"}
    for f in frames:
        assert f.image.mode == "RGB" and max(f.image.size) == 200
        assert f.image.size[0] / f.image.size[1] == pytest.approx(info.width / info.height, 0.02)


@pytest.mark.parametrize(
    ("name", "cuts"),
    [
        ("new-with-known-photo.mp4", [4.0, 6.0]),  # no keyframe at these cuts
        ("known-clip.mp4", [4.0, 8.0]),
        ("unrelated-1.mp4", [3.0, 6.0]),  # moon -> retina: the faintest cut, 19.7
    ],
)
def test_scene_changes_are_found_and_slow_motion_is_not_one(name, cuts) -> None:
    # With a huge interval, only keyframes and scene changes are sampled: the first frame
    # and one frame at each hard cut, nothing in the slow pans and zooms between.
    frames = sample(name, min_interval=100)
    assert frames[0].t == 0.0
    found = [(f.t, f.reason) for f in frames[1:]]
    assert [r for _, r in found] == ["scene-change"] * len(cuts)
    for (t, _), cut in zip(found, cuts, strict=True):
        assert cut <= t <= cut + 0.2  # within a frame or two (non-reference frames skipped)


def test_scene_threshold_is_the_knob() -> None:
    frames = sample("new-with-known-photo.mp4", min_interval=100, scene_threshold=1000)
    assert [(f.t, f.reason) for f in frames] == [(0.0, "keyframe")]


def _write_still_video(path: Path, seconds: float, keyint: int) -> None:
    img = Image.open(FIXTURES / "images" / "b-camera.jpg").convert("RGB").resize((160, 120))
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.options = {"crf": "30", "x264-params": f"keyint={keyint}:min-keyint={keyint}"}
        for _ in range(round(seconds * 25)):
            out.mux(stream.encode(av.VideoFrame.from_image(img)))
        out.mux(stream.encode(None))


def test_near_identical_samples_are_dropped(tmp_path: Path) -> None:
    # A still picture with a keyframe every 5 frames: 20 keyframes in 4 s, nothing new on
    # screen; only the interval samples remain.
    path = tmp_path / "still.mp4"
    _write_still_video(path, 4.0, keyint=5)
    with av.open(str(path)) as c:
        keys = sum(f.key_frame for f in c.decode(video=0))
    assert keys == 20
    frames = list(video.sample_frames(path, max_duration=60, min_interval=2.0))
    assert [(f.t, f.reason) for f in frames] == [(0.0, "keyframe"), (2.0, "interval")]


@pytest.mark.parametrize(
    ("suffix", "fmt", "codec", "container"),
    [
        ("avi", "avi", "mjpeg", "avi"),  # intra-only: every frame is a keyframe
        ("mkv", "matroska", "mpeg4", "matroska"),
        ("webm", "webm", "libvpx-vp9", "webm"),
        ("ts", "mpegts", "libx264", "mpegts"),
        ("flv", "flv", "flv", "flv"),
        ("mpg", "mpeg", "mpeg2video", "mpeg"),
    ],
)
def test_other_containers_and_codecs(tmp_path: Path, suffix, fmt, codec, container) -> None:
    # 4 s: a slow zoom into the camera photo, then (at 2 s) a cut to the coins.
    camera = Image.open(FIXTURES / "images" / "b-camera.jpg").convert("RGB")
    coins = Image.open(FIXTURES / "images" / "x-coins.jpg").convert("RGB").resize((160, 120))
    path = tmp_path / f"clip.{suffix}"
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=Fraction(25))
        stream.width, stream.height = 160, 120
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for i in range(100):
            img = camera.resize((160, 120), box=(i, i, 512 - i, 512 - i)) if i < 50 else coins
            out.mux(stream.encode(av.VideoFrame.from_image(img)))
        out.mux(stream.encode(None))
    info = video.probe(path, max_duration=60)
    assert (info.container, info.width, info.height) == (container, 160, 120)
    assert info.duration == pytest.approx(4.0, abs=0.15) and info.fps == pytest.approx(25)
    sampler = video.sample_frames(path, max_duration=60)
    frames = [(f.t, f.reason) for f in sampler]
    assert sampler.stopped == "end"
    # The cut, and not every keyframe of an intra-only or short-GOP stream.
    assert (2.0, "scene-change") in frames
    assert 2 <= len(frames) <= 4


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
            "not a video (a HEIF/AVIF image, brand heic)",
        ),
        (b"GIF89a\x10\x00\x10\x00", "not a video (a GIF image: check it as an image)"),
        (b"\x89PNG\r\n\x1a\n", "not a video (a PNG image)"),
        (b"  <!DOCTYPE html><html>", "not a video (an HTML page)"),
        (b"#EXTM3U\n#EXT-X-VERSION:3\n", "not a video (an HLS playlist, not a video file)"),
        (b"ID3\x04\x00", "not a video (MP3 audio only)"),
        (b'{"error": "not found"}', "not a video (JSON)"),
    ],
)
def test_what_is_not_a_video_is_named(tmp_path: Path, head: bytes, message: str) -> None:
    path = tmp_path / "upload.mp4"
    path.write_bytes(head + bytes(2000))
    with pytest.raises(BadMedia) as exc:
        video.probe(path, max_duration=60)
    assert str(exc.value) == message


def test_rotated_phone_video_frames_come_out_upright() -> None:
    # rotated-90.mp4 stores the camera photo turned sideways, with a display matrix that
    # turns it back; its first frame is this part of the upright photo.
    phash = families()["phash"]
    upright = Image.open(FIXTURES / "images" / "b-camera.jpg").convert("RGB")
    reference = phash.library_codes(perceptual.library_view(upright.crop((112, 0, 400, 512))))[""]
    frame = sample("rotated-90.mp4")[0]
    assert frame.image.size == (180, 320)

    def distance(img: Image.Image) -> int:
        return phash.distance(reference, phash.library_codes(perceptual.library_view(img))[""])

    assert distance(frame.image) <= phash.threshold
    assert distance(frame.image.rotate(180)) > phash.threshold


# ----------------------------------------------------------------------------- the photo


def test_the_known_photo_inside_the_new_video_is_in_the_sampled_frames() -> None:
    """Frames sampled while the photo is on screen show it faithfully: the photo's part of
    the frame is within the pHash and dHash thresholds of koksan-2010.jpg; no frame
    before or after is."""
    fams = families()
    known_view = perceptual.library_view(KOKSAN)
    known = {n: fams[n].library_codes(known_view)[""] for n in ("phash", "dhash")}
    frames = sample("new-with-known-photo.mp4", min_interval=0.25)
    start, end = make_videos.PHOTO_START, make_videos.PHOTO_END
    inside = [f for f in frames if start <= f.t < end]
    outside = [f for f in frames if f.t < start - 0.1 or f.t >= end]
    assert len(inside) >= 6 and len(outside) >= 20
    assert inside[0].reason == "scene-change" and inside[0].t <= start + 0.2

    def distances(frame: video.SampledFrame) -> dict[str, int]:
        scale = frame.image.width / make_videos.SIZE[0]
        box = tuple(round(v * scale) for v in make_videos.PHOTO_BOX)
        view = perceptual.library_view(frame.image.crop(box))
        return {n: fams[n].distance(known[n], fams[n].library_codes(view)[""]) for n in known}

    for frame in inside:
        d = distances(frame)
        assert all(d[n] <= fams[n].threshold for n in d), (frame.t, d)
    for frame in outside:
        d = distances(frame)
        assert all(d[n] > fams[n].threshold for n in d), (frame.t, d)


# ----------------------------------------------------------------------------- alignment


def test_align_matches_finds_the_dominant_offset_and_spans() -> None:
    pairs = [
        (0.0, 4.0),
        (2.0, 6.1),
        (2.0, 9.0),  # the same query frame also resembles another moment
        (4.0, 7.9),
        (6.0, 10.0),
        (1.0, 11.5),  # strays
        (5.0, 0.5),
    ]
    al = video.align_matches(pairs)
    assert al is not None
    assert al.offset == pytest.approx(4.0, abs=0.05)
    assert al.count == 4  # distinct query frames
    assert al.query_span == (0.0, 6.0)
    assert al.known_span == (4.0, 10.0)
    assert video.align_matches([]) is None
    assert video.align_matches([(3.0, 1.0)]) == video.Alignment(-2.0, 1, (3.0, 3.0), (1.0, 1.0))


def test_align_matches_tolerance() -> None:
    pairs = [(0.0, 4.0), (2.0, 7.0), (4.0, 8.0)]
    assert video.align_matches(pairs, tolerance=0.5).count == 2
    assert video.align_matches(pairs, tolerance=1.0).count == 3


# ----------------------------------------------------------------------------- matching


class FrameLibrary:
    """The known clip's frames (every 0.5 s) and the known photos, in the project's image
    index; a query video's sampled frames go through matcher.match one by one."""

    def __init__(self) -> None:
        self.entries: list[matcher.IndexEntry] = []
        self.features = {}
        for f in video.sample_frames(VIDEOS / "known-clip.mp4", max_duration=60, min_interval=0.5):
            self._add(1, f"known-clip@{f.t}", f.image)
        for n, photo in enumerate(sorted((FIXTURES / "known").glob("*.jpg")), start=100):
            self._add(n, f"{photo.name}@0", photo)
        self.index = matcher.LibraryIndex(self.entries)

    def _add(self, known_id: int, key: str, source) -> None:
        view = perceptual.library_view(source)
        fp = perceptual.library_fingerprint(view)
        codes = {k: bytes.fromhex(v) for k, v in fp.hashes.items()}
        self.entries.append(matcher.IndexEntry(known_id, key, codes, fp.colourfulness))
        self.features[key] = view.features

    def matches(self, name: str) -> tuple[int, dict[str, list[tuple[float, float]]]]:
        """Sampled frames, and per known item the (t_query, t_known) pairs that matched."""
        frames = sample(name)
        found: dict[str, list[tuple[float, float]]] = {}
        for f in frames:
            query = perceptual.query_print(f.image)
            for m in matcher.match(query, self.index, lambda e, v: self.features[e.sha256], k=1):
                if m.is_match:
                    item, _, t_known = m.known.sha256.partition("@")
                    found.setdefault(item, []).append((f.t, float(t_known)))
        return len(frames), found


@pytest.fixture(scope="module")
def library() -> FrameLibrary:
    return FrameLibrary()


@pytest.mark.parametrize(
    ("name", "offset", "known_from", "known_to"),
    [
        ("reupload-lowbitrate.mp4", 0.0, 0.0, 12.0),
        ("reupload-trimmed.mp4", 4.0, 4.0, 10.0),
        ("reupload-cropped.mp4", 0.0, 0.0, 12.0),
        ("reupload-mirrored.mp4", 0.0, 0.0, 12.0),
    ],
)
def test_reuploads_align_with_the_known_clip(library, name, offset, known_from, known_to) -> None:
    sampled, found = library.matches(name)
    assert set(found) == {"known-clip"}
    al = video.align_matches(found["known-clip"])
    assert al.count >= video.VIDEO_MATCH_MIN_FRAMES
    assert al.count >= sampled - 1  # nearly every sampled frame
    assert al.offset == pytest.approx(offset, abs=0.5)
    assert known_from - 0.5 <= al.known_span[0] and al.known_span[1] <= known_to + 0.5
    assert al.known_span[1] - al.known_span[0] >= (known_to - known_from) - 4.5


@pytest.mark.parametrize("name", ["unrelated-1.mp4", "unrelated-2.mp4"])
def test_unrelated_clips_match_nothing(library, name) -> None:
    sampled, found = library.matches(name)
    assert sampled >= 3 and found == {}


def test_the_new_video_matches_only_the_known_photo_while_it_is_shown(library) -> None:
    _, found = library.matches("new-with-known-photo.mp4")
    assert set(found) == {"koksan-2010.jpg"}
    times = [t for t, _ in found["koksan-2010.jpg"]]
    assert times and all(make_videos.PHOTO_START <= t < make_videos.PHOTO_END for t in times)
