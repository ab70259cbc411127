"""Fetches of untrusted URLs reach public addresses only, checked at every connection."""

import ipaddress
from pathlib import Path

import pytest

from postcheck.domain import Verdict
from postcheck.errors import ConfigError
from postcheck.media import MediaStore, download_image
from postcheck.netguard import BlockedDestination, is_allowed, parse_allowed
from postcheck.settings import reload_settings

FIX = Path(__file__).parents[1] / "fixtures"
JPEG = (FIX / "images" / "x-coins.jpg").read_bytes()


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2a00:1450:4001:82a::200e", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("224.0.0.1", False),
        # IPv6 forms that carry an IPv4 address are judged by it.
        ("::7f00:1", False),  # IPv4-compatible loopback
        ("::a9fe:a9fe", False),  # IPv4-compatible cloud metadata
        ("::808:808", True),
        ("64:ff9b::7f00:1", False),  # NAT64 to loopback
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b::808:808", True),  # NAT64 to a public address
        ("64:ff9b:1::a00:1", False),  # local-use NAT64, /96 position: 10.0.0.1
        ("64:ff9b:1:7f00:0:100::", False),  # local-use NAT64, /48 position: 127.0.0.1
        ("2002:7f00:1::1", False),  # 6to4 of loopback
        ("2002:a9fe:a9fe::1", False),
        ("2002:808:808::1", True),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # Teredo, client 127.0.0.1
    ],
)
def test_address_ranges(address, allowed):
    assert is_allowed(ipaddress.ip_address(address), []) is allowed


def test_an_allowed_ipv4_network_allows_its_mapped_forms_not_its_tunnels():
    nets = parse_allowed(["127.0.0.1/32"])
    assert is_allowed(ipaddress.ip_address("::ffff:127.0.0.1"), nets)
    assert is_allowed(ipaddress.ip_address("::7f00:1"), nets)
    assert not is_allowed(ipaddress.ip_address("64:ff9b::7f00:1"), nets)
    assert not is_allowed(ipaddress.ip_address("2002:7f00:1::1"), nets)


def test_allowed_networks_setting():
    nets = parse_allowed(["127.0.0.1/32", " "])
    assert is_allowed(ipaddress.ip_address("127.0.0.1"), nets)
    assert not is_allowed(ipaddress.ip_address("127.0.0.2"), nets)


def test_allowed_destinations_are_addresses_or_networks_with_an_optional_port():
    ip = ipaddress.ip_address
    allowed = parse_allowed(["127.0.0.1:8080", "[::1]:9090", "10.0.0.0/8:443", "fd00::/8"])
    assert is_allowed(ip("127.0.0.1"), allowed, 8080)
    assert not is_allowed(ip("127.0.0.1"), allowed, 4200)  # another local service
    assert is_allowed(ip("::ffff:127.0.0.1"), allowed, 8080)
    assert is_allowed(ip("::1"), allowed, 9090) and not is_allowed(ip("::1"), allowed, 8080)
    assert is_allowed(ip("10.9.8.7"), allowed, 443) and not is_allowed(ip("10.9.8.7"), allowed, 80)
    assert is_allowed(ip("fd00::5"), allowed, 1) and is_allowed(ip("fd00::5"), allowed, 65535)
    for bad in ["localhost:80", "127.0.0.1:0", "127.0.0.1:99999", "[::1]:", "127.0.0.1:８０"]:
        with pytest.raises(ConfigError, match="POSTCHECK_ALLOWED_NETWORKS"):
            parse_allowed([bad])


def test_a_redirect_to_another_local_port_is_refused(env, server, svc, prefect_api):
    """The tests allow the fixture server's port, not its address: a redirect to the
    (unauthenticated) Prefect API on the same address is refused, not stored."""
    prefect_port = prefect_api.split(":")[2].split("/")[0]
    url = f"{server.base_url}/redirect?to={prefect_api}/health"
    with pytest.raises(BlockedDestination, match=f"port {prefect_port}: not a public address"):
        download_image(url, svc.settings, svc.media)


@pytest.fixture
def strict(env, monkeypatch):
    """Settings with no network allowed beyond public addresses."""
    monkeypatch.setenv("POSTCHECK_ALLOWED_NETWORKS", "[]")
    settings = reload_settings()
    return settings, MediaStore(settings.media_dir)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.jpg",
        "http://localhost:9/x.jpg",
        "http://[::1]:9/x.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/x.jpg",
    ],
)
def test_private_destinations_are_refused(strict, url):
    settings, store = strict
    with pytest.raises(BlockedDestination, match="not a public address"):
        download_image(url, settings, store)


def test_a_redirect_to_a_private_address_is_refused(env, server, svc):
    server.world.files["ok.jpg"] = (JPEG, "image/jpeg")
    port = server.base_url.rsplit(":", 1)[1]
    # The fixture server itself is allowed (127.0.0.1/32); where it redirects is not.
    url = f"{server.base_url}/redirect?to=http://127.0.0.2:{port}/files/ok.jpg"
    with pytest.raises(BlockedDestination, match=r"127\.0\.0\.2"):
        download_image(url, svc.settings, svc.media)
    assert download_image(f"{server.base_url}/files/ok.jpg", svc.settings, svc.media).size == len(
        JPEG
    )


def test_a_did_document_pointing_at_the_metadata_service(prefect_api, known_library, server):
    """A hostile PDS endpoint is never contacted; the CDN copy is checked instead."""
    from postcheck.flows.verify_post import verify_post

    server.world.platform("bluesky").accounts["did:plc:pcfixturenewsdesk2222222"]["pds"] = (
        "http://169.254.169.254"
    )
    report = verify_post(
        "https://bsky.app/profile/newsdesk.example.org/post/3lbqz2fa4ak2c", return_state=True
    ).result()
    assert report.verdict is Verdict.NO_KNOWN_MATCH
    assert report.images[0].media is not None
    assert server.requests_to("/img/feed_fullsize/")  # the fallback that was checked
    assert not server.requests_to("/xrpc/com.atproto.sync.getBlob")


def test_article_on_a_private_address_fails_clearly(prefect_api, env, monkeypatch):
    from postcheck.flows.verify_article import verify_article
    from postcheck.services import reset_services

    monkeypatch.setenv("POSTCHECK_ALLOWED_NETWORKS", "[]")
    reset_services()
    state = verify_article("http://192.168.0.10/news/story.html", return_state=True)
    assert state.is_failed()
    assert "refused to connect to 192.168.0.10" in state.message
