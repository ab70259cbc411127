"""Videos end to end: the platforms' video shapes through the real clients, frames matched
against known pictures and known videos, bad files, learning a video."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from postcheck.domain import MatchEdit, Verdict
from postcheck.library import add_known_file
from postcheck.sources import fetch_post, parse_post_url
from postcheck.sources.x.fixture import BEARER_TOKEN

FIX = Path(__file__).parents[1] / "fixtures"
VIDEOS = FIX / "videos"
X_VIDEO = "https://x.com/fixture_video/status/1907002495595447049"
BSKY_VIDEO = "https://bsky.app/profile/photoguy.example.org/post/3lfqvideopq22"


@pytest.mark.parametrize("bearer", [False, True], ids=["syndication", "api-v2"])
def test_x_video_variants_pick_the_smallest_that_is_enough(env, server, monkeypatch, bearer):
    if bearer:
        monkeypatch.setenv("POSTCHECK_X_BEARER_TOKEN", BEARER_TOKEN)
    from postcheck.settings import reload_settings

    ref = parse_post_url(X_VIDEO)
    [media] = fetch_post(ref, reload_settings()).media
    assert media.kind == "video" and media.url.endswith("name=orig")  # the poster
    assert media.video_url.endswith("/vid/avc1/480x270/clip.mp4")  # not 320x180, not 720p
    assert media.video_fallback_urls[0].endswith("/1280x720/clip.mp4")
    assert media.video_fallback_urls[-1].endswith("/pl/playlist.m3u8")
    assert media.duration_ms == 10000


def test_bluesky_video_original_blob_then_hls(env, server, settings):
    ref = parse_post_url(BSKY_VIDEO)
    [media] = fetch_post(ref, settings).media
    assert media.kind == "video"
    assert "/xrpc/com.atproto.sync.getBlob?" in media.video_url and media.video_expected_sha256
    assert media.video_fallback_urls[0].endswith("/playlist.m3u8")
    assert media.url.endswith("/thumbnail.jpg")


def test_a_known_photo_inside_a_new_video(run, server):
    _, report = run(X_VIDEO)
    assert report.verdict is Verdict.RECYCLED
    [image] = report.images
    video = image.video
    assert (
        video is not None
        and video.frames_examined >= 4
        and video.duration == pytest.approx(10, abs=0.5)
    )
    [found] = [m for m in video.matches if m.known.caption == "Koksan SPGs at the 2010 parade"]
    assert 3.5 <= found.span[0] <= 6.0 and not found.known_is_video
    assert found.frames[0].thumbnail.startswith("data:image/jpeg;base64,")
    assert (
        "in the post's video at 0:0" in image.reasons[0]
        and "first seen 2010-10-10" in image.reasons[0]
    )
    assert server.requests_to("/x/video/1907002400000000000/vid/avc1/480x270/")


def test_a_mirrored_reupload_of_a_known_video_via_hls(run, server):
    from postcheck.fixtures.server import Fault

    # The PDS refuses the original blob: the HLS rendition is checked instead.
    server.fault(
        "/xrpc/com.atproto.sync.getBlob",
        Fault(status=400, times=99, body=b'{"error":"BlobNotFound","message":"Blob not found"}'),
    )
    _, report = run(BSKY_VIDEO)
    assert report.verdict is Verdict.RECYCLED
    [found] = report.images[0].video.matches
    assert found.known_is_video and found.known.caption == "Footage archive clip (2022)"
    assert MatchEdit.MIRRORED in found.edits
    assert abs(found.offset) <= 0.5 and found.known_span[1] - found.known_span[0] >= 6
    assert server.requests_to("/bsky-video/") and "of the known video" in found.details[0]


@pytest.fixture(scope="module")
def clip_library(fixture_server, tmp_path_factory):
    """The known clip and the 2010 photo added once, in a data folder of the module's own,
    for `check` to copy."""
    from conftest import point_settings_at

    from postcheck.services import reset_services, services

    data = tmp_path_factory.mktemp("clip-library") / "data"
    with pytest.MonkeyPatch.context() as mp:
        point_settings_at(fixture_server, data, mp)
        try:
            for path, first_seen, caption in [
                (VIDEOS / "known-clip.mp4", datetime(2022, 3, 1, tzinfo=UTC), "clip"),
                (FIX / "known" / "koksan-2010.jpg", datetime(2010, 10, 10, tzinfo=UTC), None),
            ]:
                add_known_file(services(), path, first_seen=first_seen, caption=caption)
        finally:
            reset_services()  # the store closed before its files are copied
    return data


@pytest.fixture
def svc(env, request):
    from postcheck.services import services

    if "check" in request.fixturenames:  # its library is copied in before the store opens
        request.getfixturevalue("check")
    return services()


@pytest.fixture
def check(prefect_api, env, clip_library):
    """check-image of a fixture video against the clip library (a copy of it, the test's
    own): (state, report)."""
    from conftest import copy_data_folder

    from postcheck.flows.check_image import check_image

    copy_data_folder(clip_library)

    def _check(name, **kw):
        state = check_image(str(VIDEOS / name), return_state=True, **kw)
        return state, state.result(raise_on_failure=False)

    return _check


@pytest.mark.parametrize(
    ("name", "offset", "edit"),
    [
        ("reupload-lowbitrate.mp4", 0.0, None),
        ("reupload-trimmed.mp4", 4.0, None),
        ("reupload-cropped.mp4", 0.0, MatchEdit.CROPPED),
        ("reupload-mirrored.mp4", 0.0, MatchEdit.MIRRORED),
    ],
)
def test_each_reupload_of_a_known_video_is_found_and_placed(check, name, offset, edit):
    _, report = check(name, claimed_date="2025-01-01")
    assert report.verdict is Verdict.RECYCLED
    [found] = report.images[0].video.matches
    assert found.known_is_video and found.offset == pytest.approx(offset, abs=0.5)
    if edit:
        assert edit in found.edits


@pytest.mark.parametrize("name", ["unrelated-1.mp4", "unrelated-2.mp4"])
def test_unrelated_clips_match_nothing(check, name):
    _, report = check(name)
    assert report.verdict is Verdict.NO_KNOWN_MATCH and report.images[0].video.matches == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("zero.mp4", "empty file (0 bytes)"),
        ("audio-only.m4a", "audio only"),
        ("not-a-video.mp4", "not a video"),
        ("absurd-fps.mp4", "absurd frame rate"),
        ("empty-container.mp4", "no video stream"),
    ],
)
def test_bad_videos_get_one_line_and_a_recorded_status(check, svc, name, message):
    state, report = check(name)
    assert state.is_failed() and report.verdict is Verdict.ERROR
    assert message in report.reasons[0] and "\n" not in report.reasons[0]
    assert svc.store.counts()["checks"] == 1


def test_a_truncated_video_is_checked_as_far_as_it_goes(check):
    _, report = check("truncated.mp4")
    assert report.verdict is Verdict.NO_KNOWN_MATCH
    assert "truncated" in (report.images[0].video.note or "")


def test_a_video_over_the_duration_cap_is_refused(check, monkeypatch):
    monkeypatch.setenv("POSTCHECK_MAX_VIDEO_SECONDS", "5")
    from postcheck.services import reset_services

    reset_services()
    state, report = check("known-clip.mp4")
    assert state.is_failed() and report.verdict is Verdict.ERROR
    assert "video too long" in report.reasons[0]


def test_learn_on_verify_keeps_the_video(prefect_api, svc, server):
    """A video first seen in one post makes a later re-upload `recycled`, pointing at it."""
    from postcheck.flows.check_image import check_image
    from postcheck.flows.verify_post import verify_post

    first = verify_post(BSKY_VIDEO, return_state=True).result()
    assert first.verdict is Verdict.NO_KNOWN_MATCH
    learned = [k for k in svc.store.list_known() if k.origin == "learned"]
    assert (
        any(k.post_uri.endswith("3lfqvideopq22") for k in learned) and len(learned) == 2
    )  # poster + video
    report = check_image(
        str(VIDEOS / "reupload-lowbitrate.mp4"), claimed_date="2025-07-01", return_state=True
    ).result()
    assert report.verdict is Verdict.RECYCLED
    assert "3lfqvideopq22" in report.reasons[0]
