"""The command line as a user runs it: real process, exit codes, one-line errors."""

import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

FIX = Path(__file__).parents[1] / "fixtures"
SEED = "https://x.com/Archer83Able/status/1857106849690673728"


@pytest.fixture
def cli(prefect_api, server, tmp_path):
    base = dict(os.environ)
    base.update(server.env())
    base.update(
        {
            "POSTCHECK_DATA_DIR": str(tmp_path / "data"),
            "POSTCHECK_RETRY_BACKOFF_SECONDS": "0",
            "PREFECT_API_URL": prefect_api,
            "PREFECT_LOGGING_TO_API_ENABLED": "false",
            "COLUMNS": "200",
        }
    )
    base.pop("POSTCHECK_X_BEARER_TOKEN", None)

    def run(*args, input=None, timeout=120, env=None):
        proc = subprocess.run(
            [sys.executable, "-m", "postcheck.cli", *args],
            env={**base, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
        assert "Traceback" not in proc.stdout + proc.stderr
        return proc

    return run


@pytest.fixture
def cli_here(prefect_api, server, tmp_path, monkeypatch):
    """The same command line run in this process: `postcheck.cli.main` with its argv, its
    own stdin, stdout and stderr, the same settings as `cli`, and whatever it sets in the
    environment undone afterwards. For tests of what the commands do and print; the ones
    about a real process (exit status from the interpreter, stdin, pools, terminals) use
    `cli`. Saves a Python start and its imports per command (1-4 s each)."""
    from click.testing import CliRunner

    from postcheck.cli import main
    from postcheck.services import reset_services

    settings = dict(server.env())
    settings.update(
        {
            "POSTCHECK_DATA_DIR": str(tmp_path / "data"),
            "POSTCHECK_RETRY_BACKOFF_SECONDS": "0",
            "PREFECT_API_URL": prefect_api,
            "COLUMNS": "200",
        }
    )

    def run(*args, input=None):
        saved = dict(os.environ)
        monkeypatch.setattr(sys, "argv", ["postcheck", *args])
        reset_services()  # every command opens its settings and store afresh, as a process
        try:
            with CliRunner().isolation(
                input=input, env={**settings, "POSTCHECK_X_BEARER_TOKEN": None}
            ) as (stdout, stderr, _):
                with pytest.raises(SystemExit) as exited:
                    main()
                sys.stdout.flush()  # what went through sys.stdout.write, not a console
                sys.stderr.flush()
                proc = subprocess.CompletedProcess(
                    args,
                    exited.value.code,
                    stdout.getvalue().decode(),
                    stderr.getvalue().decode(),
                )
        finally:
            reset_services()
            os.environ.clear()
            os.environ.update(saved)
        assert "Traceback" not in proc.stdout + proc.stderr
        return proc

    return run


def test_known_add_then_verify_json(cli_here):
    cli = cli_here

    added = cli(
        "known",
        "add",
        str(FIX / "known" / "koksan-2010.jpg"),
        "--source-url",
        "https://example.org/2010/parade",
        "--first-seen",
        "2010-10-10",
        "--caption",
        "Koksan SPGs at the 2010 parade",
    )
    assert added.returncode == 0, added.stderr
    assert "added: known image #1" in added.stdout
    proc = cli("verify", SEED, "--json")
    assert proc.returncode == 0, proc.stdout[:3000] + proc.stderr
    report = json.loads(proc.stdout)
    assert report["verdict"] == "recycled"
    assert report["post"]["author_handle"] == "Archer83Able"
    assert report["images"][0]["matches"][0]["known"]["caption"] == "Koksan SPGs at the 2010 parade"
    assert report["prefect_run_url"].startswith("http://127.0.0.1:")
    search = report["images"][0]["reverse_search"]
    assert [x["service"] for x in search["links"]][-1] == "TinEye"
    assert quote(report["images"][0]["source_url"], safe="") in search["links"][-1]["url"]
    table = cli("verify", SEED, "--links")
    assert f"TinEye: {search['links'][-1]['url']}" in table.stdout
    listing = cli("known", "list")
    assert "Koksan SPGs" in listing.stdout


def test_verify_table_for_a_deleted_post_exits_zero(cli_here):
    cli = cli_here
    proc = cli("verify", "https://x.com/fixture_news/status/1830130969605047271")
    assert proc.returncode == 0, proc.stderr
    assert "unavailable" in proc.stdout and "deleted by the Post author" in proc.stdout


def test_check_that_failed_exits_nonzero(cli):
    proc = cli("verify", "https://x.com/fixture_news/status/1896395868337078575")
    assert proc.returncode == 1
    assert "error" in proc.stdout and "not an image" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "https://example.com/news"], "error: not a post URL"),
        (["verify", "javascript:alert(1)"], "error: unsupported URL scheme"),
        (["known", "add", "/no/such/file.jpg"], "error: /no/such/file.jpg: no such file"),
        (["known", "add", str(FIX / "posts.json")], "not an image (JSON)"),
        (
            ["known", "add", str(FIX / "known" / "coffee-2025.jpg"), "--first-seen", "yesterday"],
            "error: not a date",
        ),
        (
            ["check", str(FIX / "known" / "coffee-2025.jpg"), "--claimed-place", "Kursk"],
            "error: claimed place 'Kursk': give LAT,LON",
        ),
        (
            [
                "known",
                "add",
                str(FIX / "known" / "coffee-2025.jpg"),
                "--first-seen",
                "0001-01-01T00:00:00+05:00",
            ],
            "error: first seen 0001-01-01T00:00:00+05:00 is out of range",
        ),
        (
            [
                "check",
                str(FIX / "metadata" / "camera-original.jpg"),
                "--claimed-date",
                "0001-01-01",
            ],
            "error: claimed date 0001-01-01T00:00:00+00:00 is out of range",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    proc = cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


MARKUP = "[/quote] [bold red]not bold[/] :fire:"


def test_user_text_is_never_read_as_markup(cli_here, server):
    """Post text, file names and error messages print as they are: no rich markup, no
    emoji codes (a `[/quote]` once crashed the error printer)."""
    cli = cli_here
    proc = cli("known", "add", f"/no/such/{MARKUP}.jpg")
    assert proc.returncode == 2
    assert f"error: /no/such/{MARKUP}.jpg: no such file" in proc.stderr
    server.world.edit_text("1857106849690673728", f"Koksan {MARKUP}")
    proc = cli("verify", SEED)
    assert proc.returncode == 0, proc.stderr
    assert f"Koksan {MARKUP}" in proc.stdout


def test_a_pasted_article_over_512_kb_reaches_the_flow(cli, tmp_path):
    """Prefect refuses flow parameters over 512 KB: the pasted text goes by reference
    (kept in the data folder by its hash), and errors are never echoed whole."""
    seed = (FIX / "articles" / "seed-article.txt").read_text()
    text = seed + "\n" + MARKUP + "\n" + ("filler line of a very long page\n" * 20_000)
    assert len(text.encode()) > 600_000
    proc = cli("article", "-", input=text)
    assert proc.returncode == 0, proc.stderr[:2000]
    assert "1 embedded post(s)" in proc.stdout
    assert "Archer83Able" in proc.stdout
    assert len(proc.stderr) < 2000
    stored = list((tmp_path / "data" / "inputs").rglob("*"))
    assert any(p.is_file() and p.stat().st_size == len(text.encode()) for p in stored)


def test_import_reads_regular_files_only_under_the_byte_cap(cli, tmp_path):
    """A FIFO, a link to /dev/zero or a device named *.jpg once hung the import for ever
    (nothing else got in); a file is read under the byte cap, whatever its size said."""
    folder = tmp_path / "archive"
    folder.mkdir()
    shutil.copy(FIX / "known" / "koksan-2010.jpg", folder / "good.jpg")
    os.mkfifo(folder / "pipe.jpg")
    (folder / "zero.jpg").symlink_to("/dev/zero")
    with open(folder / "huge.jpg", "wb") as fh:
        fh.truncate(1 << 40)  # sparse: a terabyte of zeros that takes no disk
    try:
        os.mknod(folder / "device.jpg", stat.S_IFCHR | 0o600, os.makedev(1, 5))
        device = True
    except OSError:  # not allowed here (no root, or a container): the link covers devices
        device = False
    proc = cli("known", "import", str(folder), "--workers", "2", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "import: 1 added" in proc.stdout
    assert "pipe.jpg: not a regular file (a FIFO)" in proc.stderr
    assert "zero.jpg: not a regular file (a character device)" in proc.stderr
    assert "huge.jpg: too large (1,099,511,627,776 bytes" in proc.stderr
    assert ("device.jpg: not a regular file (a character device)" in proc.stderr) == device
    check = cli("check", str(folder / "pipe.jpg"))
    assert check.returncode == 2
    assert check.stderr.strip() == f"error: {folder / 'pipe.jpg'}: not a regular file (a FIFO)"


NOT_PICTURES = [
    (
        "page.html",
        b"<!DOCTYPE html><html><body><p>Not a photo</p></body></html>",
        "not an image or video (an HTML page)",
    ),
    (
        "drawing.svg",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        "not an image or video (an SVG drawing)",
    ),
    (
        "report.pdf",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        "not an image or video (a PDF document)",
    ),
    ("empty.jpg", b"", "empty file (0 bytes)"),
]


def test_a_local_file_that_is_not_a_picture_is_bad_input(cli, tmp_path):
    """README: bad input exits 2 with one line. A page, a drawing, a PDF or an empty file
    once ran a whole check and exited 1, as if the check had failed."""
    from postcheck.errors import BadMedia
    from postcheck.media import check_local_media
    from postcheck.settings import Settings

    for name, content, message in NOT_PICTURES:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(BadMedia) as refused:
            check_local_media(tmp_path / name, Settings(), as_video=False)
        assert str(refused.value) == message
    proc = cli("check", str(tmp_path / "page.html"))  # and the command line says so
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip() == f"error: page.html: {NOT_PICTURES[0][2]}"


def test_verify_telegram_and_mastodon_through_the_real_fetch_path(cli_here):
    cli = cli_here
    proc = cli("verify", "https://t.me/fixturerepost/210")
    assert proc.returncode == 0, proc.stderr
    assert "Reposts 24/7" in proc.stdout and "no_known_match" in proc.stdout  # empty library
    assert "Forwarded from: Front Line Photos (https://t.me/fixturefront/101)" in proc.stdout
    assert "Edited: the post was edited" in proc.stdout
    proc = cli("verify", "https://mastodon.example/@reposter@other.example/110000000000000003")
    assert proc.returncode == 0, proc.stderr
    assert "@reposter@other.example" in proc.stdout and "Content warning: war" in proc.stdout
    proc = cli("verify", "https://locked.example/@someone/110000000000000001")
    assert proc.returncode == 1
    assert "refuses unauthenticated reads" in proc.stdout


def test_platforms_lists_every_registered_platform(cli):
    from postcheck.sources import platforms

    proc = cli("platforms")
    assert proc.returncode == 0, proc.stderr
    for platform in platforms().values():
        assert platform.title in proc.stdout
    proc = cli("verify", "https://t.me/fixturefront")
    assert proc.returncode == 2 and "that is a Telegram channel, not a post" in proc.stderr


def test_bulk_verify_from_file_json_lines_and_bad_lines(cli_here, tmp_path):
    """Several URLs: one flow run, JSON Lines in input order; bad lines reported one line
    each (exit 2) while the good ones are still checked; comments and blanks skipped."""
    cli = cli_here
    listing = tmp_path / "urls.txt"
    listing.write_text(
        "# tonight's list\n"
        f"{SEED}\n"
        "\n"
        "https://example.org/not-a-post\n"
        "https://bsky.app/profile/newsdesk.example.org/post/3lbqz2fa4ak2c\n"
    )
    proc = cli("verify", "--from", str(listing), "--json")
    assert proc.returncode == 2, proc.stderr
    [bad] = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert "urls.txt:4" in bad
    reports = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["url"] for r in reports] == [
        SEED,
        "https://bsky.app/profile/newsdesk.example.org/post/3lbqz2fa4ak2c",
    ]
    assert all(r["verdict"] != "error" for r in reports), [r["reasons"] for r in reports]
    assert len({r["flow_run_id"] for r in reports}) == 1  # one run for the batch

    table = cli("verify", SEED, "https://x.com/fixture_news/status/1841391417553846349")
    assert table.returncode == 0, table.stderr
    assert "2 posts" in table.stdout and "no_known_match" in table.stdout


def _flow_run_and_children(run_id):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    async def _read():
        async with get_client() as client:
            run = await client.read_flow_run(run_id)
            children = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id])
                )
            )
            flow = await client.read_flow(run.flow_id)
            return run, flow.name, children

    return asyncio.run(_read())


def test_bulk_check_folder_files_and_urls_in_one_run(cli, server, tmp_path):
    """A nested folder (a non-image, a hidden file, a link out of it, a fake .jpg), a file
    and an image URL: ONE check-images run, JSON Lines in input order, each bad item named
    on one line (exit 2) while the rest are checked; a progress bar only on a terminal."""
    from prefect_artifacts import artifacts

    pics = tmp_path / "pics"
    (pics / "sub").mkdir(parents=True)
    shutil.copy(FIX / "images" / "x-coins.jpg", pics / "a.jpg")
    shutil.copy(FIX / "images" / "b-camera.jpg", pics / "sub" / "b.jpg")
    shutil.copy(FIX / "images" / "b-coffee.jpg", pics / ".hidden.jpg")
    (pics / "notes.txt").write_text("not a picture")
    (pics / "sub" / "fake.jpg").write_text("<html>not a picture</html>")
    outside = tmp_path / "elsewhere.jpg"
    shutil.copy(FIX / "images" / "x-motorcycle.jpg", outside)
    (pics / "link.jpg").symlink_to(outside)
    server.world.files["mirrored.jpg"] = (
        (FIX / "images" / "x-chelsea-mirrored.jpg").read_bytes(),
        "image/jpeg",
    )
    url = f"{server.base_url}/files/mirrored.jpg"
    single = str(FIX / "known" / "koksan-2010.jpg")
    args = [str(pics), url, str(tmp_path / "missing.jpg"), "ftp://example.org/x.jpg", single]
    # FORCE_COLOR makes rich take stderr for a terminal: still no bar for JSON to a pipe.
    proc = cli("check", *args, "--json", "--claimed-date", "2024-01-01", env={"FORCE_COLOR": "1"})
    assert proc.returncode == 2, proc.stderr
    stderr = re.sub(r"\x1b\[[0-9;]*m", "", proc.stderr)  # FORCE_COLOR styles it
    bad = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(bad) == 3, stderr
    assert any("fake.jpg" in b and "not an image" in b for b in bad)
    assert any("missing.jpg: no such file" in b for b in bad)
    assert any("ftp://example.org/x.jpg: unsupported URL scheme" in b for b in bad)
    assert "skipped 1 files that are not images" in stderr
    assert "skipped 1 links that lead out of the folder" in stderr
    reports = [json.loads(line) for line in proc.stdout.splitlines()]  # nothing else there
    assert [Path(r["url"]).name for r in reports] == [
        "a.jpg",
        "b.jpg",
        "mirrored.jpg",
        Path(single).name,
    ]
    assert all(r["check_id"] for r in reports) and len({r["check_id"] for r in reports}) == 4
    assert [r["verdict"] for r in reports] == ["no_known_match"] * 4  # empty library
    [run_id] = {r["flow_run_id"] for r in reports}  # one run for the batch
    run, flow_name, children = _flow_run_and_children(run_id)
    assert flow_name == "check-images" and run.name == "check 4 pictures"
    assert run.parameters["claimed_date"] == "2024-01-01"
    assert children == []  # tasks, not a subflow per picture
    [summary] = artifacts("check-images-summary", run_id)
    assert "**4** pictures" in summary.data and "no_known_match: **4**" in summary.data
    assert str(tmp_path) not in summary.data  # file names only, not the user's folders

    assert "checking" not in proc.stderr
    table = cli("check", str(pics / "a.jpg"), url, env={"FORCE_COLOR": "1"})
    assert table.returncode == 0, table.stderr
    assert "2 pictures" in table.stdout and "no_known_match" in table.stdout
    assert "checking" in table.stderr and "2/2" in table.stderr  # the progress bar


def test_known_export_as_threatexchange_file_and_csv(cli_here, tmp_path):
    cli = cli_here
    from postcheck.verifiers.families import families
    from postcheck.verifiers.perceptual import library_view

    photo = FIX / "known" / "koksan-2010.jpg"
    added = cli(
        "known",
        "add",
        str(photo),
        "--source-url",
        "https://example.org/p",
        "--first-seen",
        "2010-10-10",
        "--caption",
        "Koksan, parade",
    )
    assert added.returncode == 0, added.stderr
    expected = families()["pdq"].library_codes(library_view(photo))[""].hex()
    tx = tmp_path / "library.txt"
    proc = cli("known", "export", "--format", "tx", "-o", str(tx))
    assert proc.returncode == 0, proc.stderr
    assert "exported 1 PDQ hashes" in proc.stderr
    # what python-threatexchange's LocalFileSignalExchangeAPI reads: "<type> <hash>" a line
    assert tx.read_text() == f"pdq {expected}\n"
    proc = cli("known", "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert rows == [
        {
            "signal_type": "pdq",
            "hash": expected,
            "source_url": "https://example.org/p",
            "first_seen": rows[0]["first_seen"],
            "caption": "Koksan, parade",
        }
    ]
    assert rows[0]["first_seen"].startswith("2010-10-10")
    bad = cli("known", "export", "--format", "xml")
    assert bad.returncode == 2 and "use one of tx, csv" in bad.stderr


def test_known_import_hashes_bad_lines_idempotent_list_show_and_round_trip(cli_here, tmp_path):
    cli = cli_here
    from postcheck.verifiers.families import families
    from postcheck.verifiers.perceptual import library_view

    def pdq_hex(path):
        return families()["pdq"].library_codes(library_view(path))[""].hex()

    coins, camera = (
        pdq_hex(FIX / "images" / "x-coins.jpg"),
        pdq_hex(FIX / "images" / "b-camera.jpg"),
    )
    hashes = tmp_path / "desk-list.txt"
    hashes.write_text(
        f"pdq {coins}\n{camera}\nvideo_md5 d41d8cd98f00b204e9800998ecf8427e\npdq 12ab\n"
    )
    proc = cli("known", "import-hashes", str(hashes))
    assert proc.returncode == 2
    assert f"{hashes}:3: signal type 'video_md5' is not matchable" in proc.stderr
    assert f"{hashes}:4: not a PDQ hash" in proc.stderr
    assert "2 hash-only entries added, 0 already in the library, 2 bad lines" in proc.stdout
    # The same list again adds nothing.
    hashes.write_text(f"pdq {coins}\npdq {camera}\n")
    again = cli("known", "import-hashes", "--format", "tx", str(hashes))
    assert again.returncode == 0, again.stderr
    assert "0 hash-only entries added, 2 already in the library" in again.stdout
    listed = cli("known", "list")
    assert "hash only: desk-list.txt line 1" in listed.stdout and "(no file)" in listed.stdout
    shown = cli("known", "show", "2")
    assert "none: a hash alone, from desk-list.txt line 2" in shown.stdout
    # Round trip: export -> import-hashes (stdin) -> export gives the same hashes.
    exported = cli("known", "export", "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    assert {coins, camera} <= set(exported.stdout.split(",")[4:] + exported.stdout.split())
    back = cli("known", "import-hashes", "-", input=exported.stdout)
    assert back.returncode == 0 and "(csv): 0 hash-only entries added" in back.stdout
    tx = cli("known", "export", "--format", "tx")
    assert tx.stdout == f"pdq {coins}\npdq {camera}\n"
    missing = cli("known", "import-hashes", str(tmp_path / "nope.txt"))
    assert missing.returncode == 2 and "nope.txt" in missing.stderr
