"""One contract every registered platform keeps, through its real clients against the
fixture server. Each platform's fixture supplies its cases (`Fixture.contract`); this file
names no platform, so a new platform is tested here by adding its package."""

import hashlib

import pytest

from postcheck.domain import Verdict
from postcheck.errors import BadURL, PostcheckError, PostUnavailable
from postcheck.fixtures.server import Fault
from postcheck.media import download_image, download_video
from postcheck.sources import fetch_post, fetch_posts, parse_post_url, platforms


def _cases():
    out = {}
    for name, platform in platforms().items():
        fixture = platform.fixture_class()
        if fixture is not None and fixture.contract is not None:
            out[name] = (platform, fixture.contract)
    return out


CASES = _cases()


def test_every_platform_has_contract_cases():
    assert set(CASES) == set(platforms())


@pytest.fixture(params=sorted(CASES))
def case(request, env, monkeypatch):
    platform, contract = CASES[request.param]
    for key, value in contract.settings_env.items():
        monkeypatch.setenv(key, value)
    from postcheck.services import reset_services, services

    reset_services()
    return platform, contract, services()


def _digest(server, name):
    return hashlib.sha256(server.world.image_bytes(name)).hexdigest()


@pytest.mark.parametrize("name", sorted(CASES))
def test_parses_its_own_url_forms(name):
    platform, contract = CASES[name]
    for url, key in contract.post_urls.items():
        ref = parse_post_url(url)
        assert (ref.platform, ref.key) == (platform.name, key), url
        again = parse_post_url(ref.url)  # the canonical URL names the same post
        assert again.platform == platform.name and again.post_id == ref.post_id


@pytest.mark.parametrize("name", sorted(CASES))
def test_refuses_its_profile_and_other_non_post_urls(name):
    platform, contract = CASES[name]
    for url in contract.refused_urls:
        with pytest.raises(BadURL) as info:
            parse_post_url(url)
        message = str(info.value)
        assert message and "\n" not in message and "Traceback" not in message, url
        # The platform itself claims the URL (a precise message, not "unsupported").
        with pytest.raises(BadURL):
            platform.parse_url(url if "://" in url else f"https://{url}")


def test_photo_post_gives_its_photos_at_the_largest_size(case, server):
    platform, contract, svc = case
    post = fetch_post(parse_post_url(contract.photo_post), svc.settings)
    assert post.platform == platform.name
    photos = [m for m in post.media if m.kind == "photo"]
    assert len(photos) == len(contract.photo_files)
    for media, name in zip(photos, contract.photo_files, strict=True):
        stored = download_image(media.url, svc.settings, svc.media)
        assert stored.sha256 == _digest(server, name), media.url
        assert (stored.width, stored.height) == server.world.image_size(name)


def test_video_post_gives_its_video(case, server):
    _, contract, svc = case
    post = fetch_post(parse_post_url(contract.video_post), svc.settings)
    [video] = [m for m in post.media if m.video_url]
    assert video.kind in {"video", "gif"}
    stored = download_video(video.video_url, svc.settings, svc.media)
    assert stored.sha256 == _digest(server, contract.video_file)


def test_deleted_post_is_unavailable(case, server):
    _, contract, svc = case
    with pytest.raises(PostUnavailable) as info:
        fetch_post(parse_post_url(contract.deleted_post), svc.settings)
    assert "\n" not in str(info.value)


def test_batch_fetch_answers_each_post_alone(case, server):
    """A missing post in a batch is unavailable alone; the others still come."""
    platform, contract, svc = case
    refs = [parse_post_url(u) for u in (contract.photo_post, contract.deleted_post)]
    refs.append(parse_post_url(contract.video_post))
    single = fetch_post(refs[0], svc.settings)
    found = fetch_posts(refs, svc.settings)
    assert len(found) == 3
    assert found[0].uri == single.uri and found[0].media == single.media
    assert isinstance(found[1], PostUnavailable)
    assert not isinstance(found[2], PostcheckError) and found[2].platform == platform.name
    assert platform.batch_limit(svc.settings) >= 1


def test_server_error_is_retried_then_error(case, server, prefect_api, monkeypatch):
    _, contract, _ = case
    monkeypatch.setenv("POSTCHECK_FETCH_RETRIES", "2")
    from postcheck.flows.verify_post import verify_post
    from postcheck.services import reset_services

    reset_services()
    server.fault(contract.fault_path, Fault(status=503, times=10))
    state = verify_post(contract.photo_post, return_state=True)
    report = state.result(raise_on_failure=False)
    assert state.is_failed() and report.verdict is Verdict.ERROR
    assert "503" in report.reasons[0] and "\n" not in report.reasons[0]
    assert len(server.requests_to(contract.fault_path)) == 3  # first try + 2 retries


def test_no_module_names_a_platform_but_its_own_package():
    """Only the registry finds platforms: no module outside a platform's package imports
    it (the registry itself imports them by discovery, not by name)."""
    import ast
    from pathlib import Path

    root = Path(__file__).parents[1]
    offenders = []
    for folder in ("postcheck", "flows", "verifiers", "fixtures", "benchmarks", "tools"):
        for path in (root / folder).rglob("*.py"):
            rel = path.relative_to(root).as_posix()
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                for name in names:
                    for platform in platforms():
                        package = f"postcheck.sources.{platform}"
                        own = rel.startswith(f"postcheck/sources/{platform}/")
                        if (name == package or name.startswith(package + ".")) and not own:
                            offenders.append(f"{rel} imports {name}")
    assert offenders == []
