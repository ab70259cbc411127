"""Evidence bundles: a checked post exported, its WARC readable, every hash verified."""

import asyncio
import hashlib
import json
import os
import re
import socket
import zipfile

from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from postcheck.cli import app
from postcheck.fixtures.server import Fault

BSKY = "https://bsky.app/profile/newsdesk.example.org/post/3lbqz2fa4ak2c"
SEED = "https://x.com/Archer83Able/status/1857106849690673728"
X_VIDEO = "https://x.com/fixture_video/status/1907002495595447049"


def rewrite(src, dst, name, change):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, change(data) if item.filename == name else data)


def flip(data: bytes) -> bytes:
    return data[:100] + bytes([data[100] ^ 1]) + data[101:]


def test_bundle_of_a_photo_post_and_its_verification(run, svc, tmp_path):
    _, report = run(SEED)
    out = tmp_path / "b.zip"
    cli = CliRunner()
    made = cli.invoke(app, ["export", SEED, "-o", str(out)])
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        html = zf.read("report.html").decode()
        records = list(ArchiveIterator(zf.open("exchanges.warc.gz")))
    shas = {i.media.sha256 for i in report.images if i.media}
    listed = {f["path"]: f for f in manifest["files"]}
    assert manifest["check_id"] == report.check_id and "report.json" in listed
    media_names = [n for n in names if n.startswith("media/")]
    assert {n.split("/")[1].split(".")[0] for n in media_names} == shas
    kinds = [r.rec_type for r in records]
    assert kinds.count("response") == kinds.count("request") >= 1 + len(shas)
    digests = {r.rec_headers.get_header("WARC-Payload-Digest") for r in records}
    assert all(r.rec_headers.get_header("WARC-Target-URI") for r in records)
    assert len(digests) > 1
    assert "<script" not in html and "src='http" not in html and "@media print" in html
    srcs = re.findall(r"<img src='([^']+)'", html)
    assert len(srcs) == 2 and all(src in listed for src in srcs)  # post and known picture
    assert report.verdict.value in html

    ok = cli.invoke(app, ["export", "--verify", str(out)])
    assert ok.exit_code == 0 and "intact" in ok.output
    bad = tmp_path / "bad.zip"
    rewrite(out, bad, media_names[0], flip)
    changed = cli.invoke(app, ["export", "--verify", str(bad)])
    assert changed.exit_code == 1 and media_names[0] in changed.output
    rewrite(out, bad, "manifest.json", flip)
    changed = cli.invoke(app, ["export", "--verify", str(bad)])
    assert changed.exit_code == 1 and "manifest.json differs" in changed.output
    (tmp_path / "not.zip").write_bytes(b"hello")
    assert cli.invoke(app, ["export", "--verify", str(tmp_path / "not.zip")]).exit_code == 2


def test_bundle_of_a_video_post_holds_the_video(run, svc, tmp_path):
    _, report = run(X_VIDEO)
    video = report.images[0].video.media
    out = tmp_path / "v.zip"
    made = CliRunner().invoke(app, ["export", str(report.check_id), "-o", str(out)])
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(out) as zf:
        assert zf.read(f"media/{video.sha256}.mp4") == svc.media.read(video.sha256)
    assert CliRunner().invoke(app, ["export", "--verify", str(out)]).exit_code == 0
    for bad in ("999", "https://example.com/not-a-post"):
        refused = CliRunner().invoke(app, ["export", bad])
        assert refused.exit_code == 2 and ("no check #999" in said(refused) or bad in said(refused))


def test_export_evidence_flow_run_and_its_artifact(run, svc, tmp_path):
    """What the export-evidence deployment runs: one flow run, its bundle under the data
    folder by default, an artifact with the path, the manifest hash and the token status."""
    from prefect.client.orchestration import get_client
    from prefect_artifacts import artifacts

    from postcheck.flows.export_evidence import export_evidence

    _, report = run(SEED)
    state = export_evidence(str(report.check_id), return_state=True)
    assert state.is_completed(), state.message
    made = state.result()
    path = svc.settings.data_dir.absolute() / "exports" / f"postcheck-check-{report.check_id}.zip"
    assert made["path"] == path and path.is_file()
    run_id = state.state_details.flow_run_id

    async def read_run():
        async with get_client() as client:
            flow_run = await client.read_flow_run(run_id)
            return flow_run, (await client.read_flow(flow_run.flow_id)).name

    flow_run, flow_name = asyncio.run(read_run())
    assert flow_name == "export-evidence" and flow_run.parameters["target"] == str(report.check_id)
    (artifact,) = artifacts(f"evidence-check-{report.check_id}", run_id)
    text = artifact.data
    assert made["manifest_sha256"] in text and path.as_uri() in text
    assert "no timestamp: POSTCHECK\\_TSA\\_URL is not set" in text
    assert f"files: {made['files']}" in text


def said(result) -> str:
    """The CLI's output as one line (the console wraps long lines)."""
    return " ".join(result.output.split())


def use_tsa(monkeypatch, url, allow=None):
    """Point exports at a TSA (the fixture server's by default) for this test."""
    from postcheck.services import reset_services

    monkeypatch.setenv("POSTCHECK_TSA_URL", url)
    if allow:
        nets = [*json.loads(os.environ["POSTCHECK_ALLOWED_NETWORKS"]), allow]
        monkeypatch.setenv("POSTCHECK_ALLOWED_NETWORKS", json.dumps(nets))
    reset_services()


def test_bundle_timestamped_by_the_local_tsa(run, svc, server, tmp_path, monkeypatch):
    _, _report = run(SEED)
    use_tsa(monkeypatch, f"{server.base_url}/tsa")
    out, cli = tmp_path / "t.zip", CliRunner()
    made = cli.invoke(app, ["export", SEED, "-o", str(out)])
    assert made.exit_code == 0 and "timestamped 20" in said(made), made.output
    with zipfile.ZipFile(out) as zf:
        manifest_blob, stamp = zf.read("manifest.json"), json.loads(zf.read("timestamp.json"))
        token = zf.read("manifest.json.tsr")
    assert stamp["status"] == "granted"
    assert stamp["manifest_sha256"] == hashlib.sha256(manifest_blob).hexdigest()
    assert "RFC 3161 token requested from" in json.loads(manifest_blob)["timestamp"]
    from rfc3161_client import decode_timestamp_response

    imprint = decode_timestamp_response(token).tst_info.message_imprint.message
    assert imprint == hashlib.sha256(manifest_blob).digest()

    plain = cli.invoke(app, ["export", "--verify", str(out)])
    assert plain.exit_code == 0 and "not checked against a trusted certificate" in said(plain)
    chain = tmp_path / "chain.pem"  # the TSA's certificate with its CA, as a TSA publishes it
    chain.write_bytes(server.tsa.tsa_cert.read_bytes() + server.tsa.ca_cert.read_bytes())
    for cert in (server.tsa.ca_cert, chain):
        signed = cli.invoke(app, ["export", "--verify", str(out), "--tsa-cert", str(cert)])
        assert signed.exit_code == 0 and "signed by a trusted certificate" in said(signed)
    from postcheck.fixtures.tsa import LocalTSA

    other = LocalTSA(tmp_path / "other-tsa")  # a CA that did not sign this token
    wrong = cli.invoke(app, ["export", "--verify", str(out), "--tsa-cert", str(other.ca_cert)])
    assert wrong.exit_code == 1 and "signature does not verify" in said(wrong)
    leaf = cli.invoke(app, ["export", "--verify", str(out), "--tsa-cert", str(server.tsa.tsa_cert)])
    assert leaf.exit_code == 2 and "no self-signed root" in said(leaf)

    # A changed manifest byte, even with its sidecar rewritten to match: the token says so.
    bad = tmp_path / "bad.zip"
    changed = flip(manifest_blob)
    rewrite(out, tmp_path / "half.zip", "manifest.json", lambda _: changed)
    sidecar = f"{hashlib.sha256(changed).hexdigest()}  manifest.json\n".encode()
    rewrite(tmp_path / "half.zip", bad, "manifest.json.sha256", lambda _: sidecar)
    for tampered in (tmp_path / "half.zip", bad):
        res = cli.invoke(app, ["export", "--verify", str(tampered)])
        assert res.exit_code == 1 and "token does not match manifest.json" in said(res)


def test_bundle_without_a_token_when_the_tsa_fails(run, svc, server, tmp_path, monkeypatch):
    _, _report = run(SEED)
    cli = CliRunner()
    server.fault("/tsa", Fault(status=503, times=10))  # through every retry
    use_tsa(monkeypatch, f"{server.base_url}/tsa")
    refused = cli.invoke(app, ["export", SEED, "-o", str(tmp_path / "r.zip")])
    assert refused.exit_code == 0
    assert "no timestamp: TSA refused the request (HTTP 503)" in said(refused)
    server.world.files["junk.tsr"] = (b"not a timestamp reply", "application/timestamp-reply")
    use_tsa(monkeypatch, f"{server.base_url}/files/junk.tsr")
    junk = cli.invoke(app, ["export", SEED, "-o", str(tmp_path / "j.zip")])
    assert junk.exit_code == 0 and "no timestamp: bad reply from the TSA" in said(junk)
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    use_tsa(monkeypatch, f"http://127.0.0.1:{port}/tsr", allow=f"127.0.0.1:{port}")
    out = tmp_path / "d.zip"
    down = cli.invoke(app, ["export", SEED, "-o", str(out)])
    assert down.exit_code == 0 and "no timestamp: TSA unreachable" in said(down), down.output
    with zipfile.ZipFile(out) as zf:
        assert "manifest.json.tsr" not in zf.namelist()
        assert json.loads(zf.read("timestamp.json"))["status"] == "none"
    ok = cli.invoke(app, ["export", "--verify", str(out)])
    assert ok.exit_code == 0 and "no timestamp: the bundle carries no RFC 3161 token" in said(ok)


def test_bundle_of_a_bulk_checked_post_has_its_batch_answer_and_downloads(
    prefect_api, svc, tmp_path
):
    """verify-posts fetches both Bluesky posts in one getPosts request; each post's bundle
    holds that batch answer and its own media downloads, not the other post's."""
    from postcheck.flows.verify_posts import verify_posts

    other = "https://bsky.app/profile/did:plc:pcfixturephotoguy3333333/post/3lddyx7tqyc2a"
    state = verify_posts([BSKY, other], 2, return_state=True)
    mine, theirs = state.result()
    assert mine.images and theirs.images
    assert len(mine.captures) == 2 and mine.captures[0] == theirs.captures[0]  # one batch
    out = tmp_path / "bulk.zip"
    made = CliRunner().invoke(app, ["export", str(mine.check_id), "-o", str(out)])
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(out) as zf:
        records = list(ArchiveIterator(zf.open("exchanges.warc.gz")))
        html = zf.read("report.html").decode()
    uris = [
        r.rec_headers.get_header("WARC-Target-URI") for r in records if r.rec_type == "response"
    ]
    assert any("getPosts" in u for u in uris)  # the batch's platform answer
    for image in mine.images:
        assert image.source_url in uris  # its media downloads ...
    assert not {i.source_url for i in theirs.images} & set(uris)  # ... and not the other's
    assert "whole answer to that request is included" in " ".join(html.split())
    assert CliRunner().invoke(app, ["export", "--verify", str(out)]).exit_code == 0

    # The nightly recheck batches the same way: a rechecked post's bundle has its answer.
    from postcheck.flows.recheck import recheck

    assert recheck(return_state=True).is_completed()
    latest = svc.store.history(mine.post.uri)[0]
    assert latest.id != mine.check_id and latest.report["captures"][0].startswith("batch-")
    again = tmp_path / "recheck.zip"
    assert CliRunner().invoke(app, ["export", BSKY, "-o", str(again)]).exit_code == 0
    with zipfile.ZipFile(again) as zf:
        records = list(ArchiveIterator(zf.open("exchanges.warc.gz")))
    assert any("getPosts" in (r.rec_headers.get_header("WARC-Target-URI") or "") for r in records)
