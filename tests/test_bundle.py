"""Evidence bundles: a checked post exported, its WARC readable, every hash verified."""

import json
import re
import zipfile

from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from postcheck.cli import app

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
