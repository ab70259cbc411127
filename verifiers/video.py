"""Sample a video's frames for matching. Pure: a local file in, frames out (no network,
no database, no Prefect). Decoding is PyAV (FFmpeg's libraries, bundled in its wheel).

`probe` reads the container and decodes one frame; it refuses what we will not decode
with `BadMedia` and a one-line reason. It is the gate for the caps: a video longer than
`max_duration` is refused there. `sample_frames` streams the video once and yields the
frames worth matching: every keyframe, every scene change, and at least one frame every
`min_interval` seconds; a keyframe or scene change that looks like the last frame kept is
dropped. Only kept frames are converted to RGB (at most `max_side` pixels, upright, in
display proportions); every other frame costs its decode and a 32x32 luma thumbnail, and
frames no other frame refers to (most B-frames) are not decoded at all. Nothing holds more
than a few frames at a time. Given a video over the caps anyway (or a header that lies),
it stops at `max_duration` and says so; a cut or damaged file yields what decodes and says
`truncated`; a file of which nothing decodes is BadMedia.

Scene changes: the mean absolute difference (0-255) of consecutive 32x32 luma thumbnails,
at least SCENE_THRESHOLD = 12 and at least SCENE_RATIO = 3 times the mean of the previous
SCENE_WINDOW = 10 differences (a fast pan does not fire on every frame). Measured: inside a
scene (slow pans and zooms over real photos) at most 6.1 in the 25 fps fixtures, 10.9
after the 15 fps / 60 kbit/s re-encode, 7.2 in the grainy 60 s 720p benchmark clip; hard
cuts 19.7-155 in the fixtures, 39-101 in the benchmark clip; the 32x32 thumbnails of
7,503 pairs of 123 real photos differ by 12 or more in every pair (99.97 % by 15 or more).

Video-to-video matching: a known video is indexed as its sampled frames (every 0.5 s is
plenty), each a library picture of the image matcher; a query video's sampled frames go
through the matcher like photos, and `align_matches` finds the time offset most of the
matched frames agree on and the stretch of each video it covers. A known video matches
when VIDEO_MATCH_MIN_FRAMES query frames agree. Measured on the fixtures (known clip every
0.5 s, queries every 2 s): the low-bitrate, trimmed, cropped and mirrored re-uploads match
with every sampled frame at the right offset (+-0.1 s; 4 s for the trimmed one); 27
unrelated clips (161 frames) match nothing. Meta's vPDQ (1 PDQ hash per second, distance
<= 31, quality >= 50, match at >= 80 % of frames) found only the low-bitrate and trimmed
copies (0 % of the cropped and mirrored ones), took longer on the 720p minute (6-8 s, it
decodes every frame) and has no wheel on PyPI (its build needs FFmpeg's headers and
links a second FFmpeg): not used.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from postcheck.errors import BadMedia

if TYPE_CHECKING:
    import av
    from av.video.reformatter import VideoReformatter
else:

    class _PyAV:
        """PyAV, imported on first use: a command that handles no video (a photo post's
        verify, `check` of a photo) does not pay its import (benchmarks/cli_latency.py)."""

        _module: ModuleType | None = None

        def __getattr__(self, name: str):
            if _PyAV._module is None:
                import av
                import av.error
                import av.stream
                import av.video.reformatter

                _PyAV._module = av
            return getattr(_PyAV._module, name)

    av = _PyAV()

# Scene-change detector (see the module docstring for the measurements).
THUMB_SIDE = 32
SCENE_THRESHOLD = 12.0
SCENE_RATIO = 3.0
SCENE_WINDOW = 10
# A keyframe or scene-change candidate this close (same measure) to the last frame kept
# shows nothing new and is dropped. Re-encoding noise on a still picture stays under 1.
DUPLICATE_THRESHOLD = 2.0
# Keyframes closer than this fraction of min_interval to the last frame kept are not
# sampled for being keyframes: intra-only video (MJPEG, screen recorders) and very short
# GOPs make every frame or every few frames a keyframe.
KEYFRAME_MIN_GAP = 0.5

# Sides outside these bounds are not a video anyone watches.
MIN_SIDE = 16
MAX_SIDE = 16384
DEFAULT_MAX_PIXELS = 8192 * 4320  # 8K
DEFAULT_MAX_FPS = 240.0
# Decoder errors tolerated (each skips one damaged packet) before we stop decoding.
MAX_DECODE_ERRORS = 25
# Decoding stops short of the declared duration by more than this: truncated.
TRUNCATION_SLACK = 0.5

# Video-to-video: a known video matches when at least this many sampled query frames
# match its frames at one time offset (within ALIGN_TOLERANCE seconds).
VIDEO_MATCH_MIN_FRAMES = 2
ALIGN_TOLERANCE = 1.0

# Container families we open, by their first bytes: the FFmpeg demuxer name, and the
# name we report. Nothing else reaches FFmpeg's format probing (HLS playlists, concat
# lists, image sequences and the like would open other files or be no video at all).
DEMUXERS = {
    "mp4": "mov",
    "matroska": "matroska",
    "webm": "matroska",
    "avi": "avi",
    "flv": "flv",
    "mpegts": "mpegts",
    "mpeg": "mpeg",
    "ogg": "ogg",
}
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1", b"avif", b"avis"}


@dataclass(frozen=True)
class VideoInfo:
    duration: float  # seconds, as the container declares it (0.0 if it does not)
    width: int  # coded size of the video stream
    height: int
    fps: float  # average frame rate (0.0 if not declared)
    codec: str
    has_audio: bool
    container: str  # mp4, webm, matroska, avi, flv, mpegts, mpeg, ogg
    rotation: int = 0  # degrees counter-clockwise to show it upright (phone videos)


@dataclass
class SampledFrame:
    t: float  # seconds from start
    image: Image.Image  # RGB, upright, longest side <= max_side
    reason: str  # "keyframe", "scene-change", "interval"
    # 32x32 luma thumbnail (uint8), as used for scene changes; handy for dedupe downstream.
    thumb: np.ndarray | None = field(default=None, repr=False, compare=False)


# ----------------------------------------------------------------------------- probing


def _sniff(head: bytes) -> str:
    """Our name for the container, or BadMedia saying what the bytes are instead."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            raise BadMedia(f"not a video (a HEIF/AVIF image, brand {brand.decode('latin-1')})")
        return "mp4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mp4"  # QuickTime without ftyp
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpeg"
    for packet in (188, 192):  # MPEG-TS, M2TS
        offset = packet - 188
        if len(head) > offset + 2 * packet and all(
            head[offset + k * packet] == 0x47 for k in range(3)
        ):
            return "mpegts"
    raise BadMedia(f"not a video ({_describe(head)})")


def _describe(head: bytes) -> str:
    if head.startswith(b"\xff\xd8\xff"):
        return "a JPEG image"
    if head.startswith(b"\x89PNG"):
        return "a PNG image"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image: check it as an image"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "a WebP image"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "WAV audio only"
    if head.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")):
        return "MP3 audio only"
    if head.startswith(b"fLaC"):
        return "FLAC audio only"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if text.startswith(b"#extm3u"):
        return "an HLS playlist, not a video file"
    if text.startswith((b"{", b"[")):
        return "JSON"
    return "unknown type"


def _open(path: Path) -> tuple[av.container.InputContainer, str]:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise BadMedia(f"cannot read the video ({exc.strerror or exc})") from None
    if size == 0:
        raise BadMedia("empty file (0 bytes)")
    kind = _sniff(head)
    try:
        container = av.open(
            str(path),
            format=DEMUXERS[kind],
            options={"protocol_whitelist": "file"},
            metadata_errors="replace",
        )
    except (av.error.FFmpegError, OSError, ValueError, UnicodeError) as exc:
        raise BadMedia(f"corrupt or truncated video ({_reason(exc)})") from None
    return container, kind


def _reason(exc: BaseException) -> str:
    """FFmpeg's words without the file name it likes to append."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:100]


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    streams = [
        s
        for s in container.streams.video
        if not (s.disposition & av.stream.Disposition.attached_pic)  # cover art
    ]
    if not streams:
        if container.streams.audio:
            raise BadMedia("audio only: no video stream")
        if not container.streams:
            raise BadMedia("no video stream (the file holds no streams)")
        raise BadMedia("no video stream")
    return streams[0]


def _check(
    container: av.container.InputContainer,
    kind: str,
    *,
    max_duration: float,
    max_pixels: int,
    max_fps: float,
) -> tuple[av.video.stream.VideoStream, VideoInfo]:
    stream = _video_stream(container)
    ctx = stream.codec_context
    if ctx is None:
        raise BadMedia("no decoder for this video's codec")
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if width == 0 or height == 0:
        raise BadMedia("no decodable video stream (no frame size)")
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
        raise BadMedia(f"absurd resolution: {width}x{height}")
    if width * height > max_pixels:
        raise BadMedia(f"video frame too large: {width}x{height} pixels (limit {max_pixels:,})")
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate is not None else 0.0
    if rate is not None and (fps <= 0 or fps > max_fps or not math.isfinite(fps)):
        raise BadMedia(f"absurd frame rate: {fps:,.0f} frames per second (limit {max_fps:g})")
    duration = _declared_duration(container, stream)
    if duration is not None and duration <= 0:
        raise BadMedia("zero-length video")
    if duration is not None and duration > max_duration:
        raise BadMedia(f"video too long: {duration:.1f} s (limit {max_duration:g} s)")
    info = VideoInfo(
        duration=round(duration or 0.0, 3),
        width=width,
        height=height,
        fps=round(fps, 3),
        codec=ctx.name,
        has_audio=bool(container.streams.audio),
        container=kind,
    )
    return stream, info


def _declared_duration(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> float | None:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def probe(
    path: Path | str,
    *,
    max_duration: float,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_fps: float = DEFAULT_MAX_FPS,
) -> VideoInfo:
    """What the video is, after decoding its first frame to prove it decodes. BadMedia
    with a one-line reason for anything we refuse (see the module docstring)."""
    path = Path(path)
    container, kind = _open(path)
    with container:
        try:
            stream, info = _check(
                container, kind, max_duration=max_duration, max_pixels=max_pixels, max_fps=max_fps
            )
            stream.thread_type = "AUTO"
            first = next(_decode(container, stream, _Counters()), None)
        except BadMedia:
            raise
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise BadMedia(f"corrupt video ({_reason(exc)})") from None
    if first is None:
        raise BadMedia("no decodable video frame (corrupt or truncated)")
    return _with_rotation(info, first)


def _with_rotation(info: VideoInfo, frame: av.VideoFrame) -> VideoInfo:
    rotation = _rotation(frame)
    if not rotation:
        return info
    return dataclasses.replace(info, rotation=rotation)


def _rotation(frame: av.VideoFrame) -> int:
    try:
        angle = frame.rotation  # counter-clockwise degrees, from the display matrix
    except (AttributeError, ValueError):
        return 0
    return round(float(angle) / 90.0) * 90 % 360


# ----------------------------------------------------------------------------- decoding


@dataclass
class _Counters:
    decoded: int = 0
    errors: int = 0
    read_error: str | None = None


def _decode(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, n: _Counters
) -> Iterator[av.VideoFrame]:
    """Frames in display order. A damaged packet is skipped (up to MAX_DECODE_ERRORS); a
    read error (a file that ends early) ends the stream; both are counted in `n`."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            n.read_error = _reason(exc)
            packet = None
        try:
            # After a read error, an empty packet flushes what the decoder still holds.
            frames = packet.decode() if packet is not None else stream.codec_context.decode(None)
        except (av.error.FFmpegError, ValueError) as exc:
            n.errors += 1
            if n.errors > MAX_DECODE_ERRORS:
                n.read_error = n.read_error or f"too many decode errors ({_reason(exc)})"
                return
            continue
        for frame in frames:
            n.decoded += 1
            yield frame
        if packet is None:
            return


class FrameSampler:
    """Stream the video once; yield (as SampledFrame) every keyframe, every scene change and
    at least one frame every `min_interval` seconds (near-duplicates of the last kept frame
    dropped), until the end, `max_duration` seconds or `max_frames` frames. BadMedia if the
    file is refused or not a single frame decodes; a truncated file yields what decodes.
    After (or during) iteration the sampler says how decoding went.

    `stopped` is "end" (the whole video), "truncated" (decoding ended early: a cut or
    damaged file; what decoded was yielded), "max_duration", "max_frames" or "frame_cap"
    (more frames than max_duration x max_fps). `note` is a one-line account for the
    report when anything but "end" happened or damaged packets were skipped."""

    def __init__(
        self,
        path: Path | str,
        *,
        max_duration: float,
        max_side: int = 320,
        min_interval: float = 2.0,
        scene_threshold: float = SCENE_THRESHOLD,
        max_frames: int = 400,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_fps: float = DEFAULT_MAX_FPS,
        all_frames: bool = False,
    ) -> None:
        self.path = Path(path)
        self.max_duration = max_duration
        self.max_side = max_side
        self.min_interval = min_interval
        self.scene_threshold = scene_threshold
        self.max_frames = max_frames
        self.max_pixels = max_pixels
        self.max_fps = max_fps
        self.all_frames = all_frames
        self.info: VideoInfo | None = None
        self.stopped: str | None = None
        self.decoded = 0
        self.sampled = 0
        self.decode_errors = 0
        self.last_t = 0.0
        self._sar = 1.0
        self._iter = self._run()

    def __iter__(self) -> FrameSampler:
        return self

    def __next__(self) -> SampledFrame:
        return next(self._iter)

    def close(self) -> None:
        """Stop early and close the file (also done when the sampler is dropped)."""
        self._iter.close()

    def __enter__(self) -> FrameSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def truncated(self) -> bool:
        return self.stopped == "truncated"

    @property
    def note(self) -> str | None:
        declared = self.info.duration if self.info else 0.0
        of = f" of {declared:.1f} s" if declared else ""
        if self.stopped == "truncated":
            return f"truncated or damaged: frames decode only up to {self.last_t:.1f} s{of}"
        if self.stopped == "max_duration":
            return f"sampled the first {self.max_duration:g} s only{of}"
        if self.stopped == "max_frames":
            return f"stopped at {self.max_frames} sampled frames ({self.last_t:.1f} s{of})"
        if self.stopped == "frame_cap":
            return f"stopped after {self.decoded:,} frames in {self.last_t:.1f} s{of}"
        if self.decode_errors:
            return f"{self.decode_errors} damaged packet(s) skipped"
        return None

    def _run(self) -> Iterator[SampledFrame]:
        container, kind = _open(self.path)
        with container:
            try:
                yield from self._sample(container, kind)
            except BadMedia:
                raise
            except (av.error.FFmpegError, OSError, ValueError) as exc:
                if self.sampled == 0:
                    raise BadMedia(f"corrupt video ({_reason(exc)})") from None
                self.stopped = "truncated"
        if self.sampled == 0:
            raise BadMedia("no decodable video frame (corrupt or truncated)")

    def _sample(self, container: av.container.InputContainer, kind: str) -> Iterator[SampledFrame]:
        # The header is checked as probe does, except the duration: a longer video is
        # sampled up to max_duration (probe is the gate that refuses it).
        stream, info = _check(
            container, kind, max_duration=math.inf, max_pixels=self.max_pixels, max_fps=self.max_fps
        )
        self.info = info
        sar = stream.codec_context.sample_aspect_ratio
        self._sar = float(sar) if sar else 1.0  # anamorphic video: pixels are not square
        stream.thread_type = "AUTO"
        if not self.all_frames:
            # Frames no other frame refers to (most B-frames) are never decoded: about
            # a third of the decoding time, and a cut is still seen within a frame or two.
            stream.codec_context.skip_frame = "NONREF"
        fps = info.fps if info.fps > 0 else 25.0
        frame_cap = int((self.max_duration + 1) * self.max_fps)
        reformatter = av.video.reformatter.VideoReformatter()
        counters = _Counters()
        t0: float | None = None
        last_kept: np.ndarray | None = None
        kept_t = 0.0
        prev: np.ndarray | None = None
        diffs: list[float] = []
        due = 0.0
        for frame in _decode(container, stream, counters):
            self.decoded = counters.decoded
            self.decode_errors = counters.errors
            if frame.width * frame.height > self.max_pixels:
                raise BadMedia(
                    f"video frame too large: {frame.width}x{frame.height} pixels"
                    f" (limit {self.max_pixels:,})"
                )
            t_abs = float(frame.time) if frame.time is not None else counters.decoded / fps
            t0 = t_abs if t0 is None else t0
            t = t_abs - t0
            if t > self.max_duration:
                self.stopped = "max_duration"
                return
            if counters.decoded > frame_cap:
                self.stopped = "frame_cap"
                return
            self.last_t = max(self.last_t, t)
            thumb = reformatter.reformat(
                frame, width=THUMB_SIDE, height=THUMB_SIDE, format="gray", interpolation="AREA"
            ).to_ndarray()
            small = thumb.astype(np.int16)
            reason = None
            if prev is not None:
                diff = float(np.abs(small - prev).mean())
                recent = sum(diffs) / len(diffs) if diffs else 0.0
                if diff >= self.scene_threshold and diff >= SCENE_RATIO * recent:
                    reason = "scene-change"
                diffs.append(diff)
                if len(diffs) > SCENE_WINDOW:
                    diffs.pop(0)
            if (
                reason is None
                and frame.key_frame
                and (last_kept is None or t - kept_t >= KEYFRAME_MIN_GAP * self.min_interval)
            ):
                reason = "keyframe"
            if (
                reason is not None
                and last_kept is not None
                and float(np.abs(small - last_kept).mean()) < DUPLICATE_THRESHOLD
            ):
                reason = None  # nothing new on screen
            if reason is None and (last_kept is None or t >= due - 1e-6):
                reason = "interval"
            prev = small
            if reason is None:
                continue
            if self.sampled == 0 and self.info.rotation == 0:
                self.info = _with_rotation(self.info, frame)
            yield SampledFrame(
                t=round(t, 3),
                image=self._rgb(frame, reformatter),
                reason=reason,
                thumb=thumb,
            )
            self.sampled += 1
            last_kept = small
            kept_t = t
            due = t + self.min_interval
            if self.sampled >= self.max_frames:
                self.stopped = "max_frames"
                return
        self.decoded = counters.decoded
        self.decode_errors = counters.errors
        if counters.read_error is not None or self._ends_early(fps):
            self.stopped = "truncated"
        else:
            self.stopped = "end"

    def _ends_early(self, fps: float) -> bool:
        declared = self.info.duration if self.info else 0.0
        if not declared:
            return False
        return self.last_t + 1.0 / fps < declared - max(TRUNCATION_SLACK, 2.0 / fps)

    def _rgb(self, frame: av.VideoFrame, reformatter: VideoReformatter) -> Image.Image:
        """Upright RGB at most max_side on its longest side, in display proportions."""
        width, height = frame.width, frame.height
        sar = self._sar
        display_w = width * sar if 0.1 < sar < 10 else float(width)
        scale = min(1.0, self.max_side / max(display_w, height))
        out_w = max(2, round(display_w * scale))
        out_h = max(2, round(height * scale))
        image = reformatter.reformat(
            frame, width=out_w, height=out_h, format="rgb24", interpolation="AREA"
        ).to_image()
        rotation = _rotation(frame)
        if rotation:
            image = image.rotate(rotation, expand=True)
        return image


# The name callers use: a sampler is made and iterated in one go.
sample_frames = FrameSampler


# ----------------------------------------------------------------------------- alignment


@dataclass(frozen=True)
class Alignment:
    offset: float  # t_known - t_query, seconds
    count: int  # query frames that match at this offset
    query_span: tuple[float, float]  # where the match is in the query video
    known_span: tuple[float, float]  # ... and in the known video


def align_matches(
    pairs: Sequence[tuple[float, float]], *, tolerance: float = ALIGN_TOLERANCE
) -> Alignment | None:
    """The dominant time offset among matched frame pairs (t_query, t_known) of one query
    video against one known video, and the stretch of each video it covers.

    Sampled frames of two copies are not the same instants (other keyframes, another frame
    rate), so pairs agree on the offset only within about a sampling interval. Every pair's
    offset is tried: it is supported by each query frame that has a pair within
    `tolerance` seconds of it (the closest such pair stands for that frame, so a frame
    matching several known frames counts once). The best-supported offset (ties: the
    tighter one) is refined to the median of its supporting pairs. None without pairs."""
    if not pairs:
        return None
    by_query: dict[float, list[float]] = {}
    for t_query, t_known in pairs:
        by_query.setdefault(round(float(t_query), 3), []).append(float(t_known) - float(t_query))
    best: tuple[int, float, float, dict[float, float]] | None = None
    for candidate in sorted({round(o, 3) for offsets in by_query.values() for o in offsets}):
        support: dict[float, float] = {}
        for t_query, offsets in by_query.items():
            nearest = min(offsets, key=lambda o: abs(o - candidate))
            if abs(nearest - candidate) <= tolerance:
                support[t_query] = nearest
        spread = sum(abs(o - candidate) for o in support.values()) / len(support)
        if best is None or (len(support), -spread) > (best[0], -best[1]):
            best = (len(support), spread, candidate, support)
    assert best is not None
    support = best[3]
    offset = float(np.median(list(support.values())))
    queries = sorted(support)
    knowns = sorted(q + o for q, o in support.items())
    return Alignment(
        offset=round(offset, 3),
        count=len(support),
        query_span=(queries[0], queries[-1]),
        known_span=(round(knowns[0], 3), round(knowns[-1], 3)),
    )


def frame_at(path: Path | str, t: float, max_side: int = 512) -> Image.Image | None:
    """The frame shown at `t` seconds (the first one at or after it), upright RGB at most
    `max_side` pixels; None if the video has no frame there. Seeks to the keyframe before
    `t` and decodes from there, never from the start."""
    container, _ = _open(Path(path))
    try:
        stream = _video_stream(container)
        stream.thread_type = "AUTO"
        time_base = float(stream.time_base) if stream.time_base else 0.0
        if time_base > 0:
            container.seek(
                max(0, int(t / time_base)), stream=stream, backward=True, any_frame=False
            )
        fps = float(stream.average_rate) if stream.average_rate else 25.0
        last = None
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            last = frame
            if frame.time >= t - 0.5 / fps:
                break
        if last is None:
            return None
        image = last.to_image()
        rotation = _rotation(last)
        if rotation:
            image = image.rotate(rotation, expand=True)
        image.thumbnail((max_side, max_side))
        return image.convert("RGB")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise BadMedia(f"corrupt or truncated video ({_reason(exc)})") from None
    finally:
        container.close()
