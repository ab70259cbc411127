"""Capture: a check's HTTP exchanges recorded in the transport layer, media kept once."""

from postcheck.capture import body_path, exchanges_dir, read_log

X_PHOTO = "https://x.com/fixture_news/status/1841391417553846349"


def test_a_check_records_its_exchanges_without_a_second_copy_of_the_media(run, svc):
    _, report = run(X_PHOTO)
    log = exchanges_dir(svc.settings.data_dir) / f"{report.flow_run_id}.jsonl"
    entries = read_log(log)
    urls = [e["request"]["url"] for e in entries]
    media_shas = {i.media.sha256 for i in report.images if i.media}
    assert media_shas and len(entries) >= 1 + len(media_shas)
    recorded = {e["response"]["body_sha256"]: e for e in entries if "response" in e}
    for sha in media_shas:  # every download recorded, its body the media file itself
        assert sha in recorded and recorded[sha]["response"]["body_complete"]
        assert body_path(svc.settings.data_dir, svc.media, sha) == svc.media.path_for(sha)
        assert (
            not (exchanges_dir(svc.settings.data_dir) / "bodies")
            .joinpath(sha[:2], sha[2:4], sha)
            .exists()
        )
    api = [e for e in entries if e["response"]["body_sha256"] not in media_shas]
    assert api, urls  # the platform's answer for the post is kept in the exchanges' store
    path = body_path(svc.settings.data_dir, svc.media, api[0]["response"]["body_sha256"])
    assert path is not None and path.stat().st_size == api[0]["response"]["body_size"]
