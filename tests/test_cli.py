"""The command line as a user runs it: real process, exit codes, one-line errors."""

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

FIX = Path(__file__).parents[1] / "fixtures"
SEED = "https://x.com/Archer83Able/status/1857106849690673728"


@pytest.fixture
def cli(prefect_api, server, tmp_path):
    env = dict(os.environ)
    env.update(server.env())
    env.update(
        {
            "POSTCHECK_DATA_DIR": str(tmp_path / "data"),
            "POSTCHECK_RETRY_BACKOFF_SECONDS": "0",
            "PREFECT_API_URL": prefect_api,
            "PREFECT_LOGGING_TO_API_ENABLED": "false",
            "COLUMNS": "200",
        }
    )
    env.pop("POSTCHECK_X_BEARER_TOKEN", None)

    def run(*args, input=None, timeout=120):
        proc = subprocess.run(
            [sys.executable, "-m", "postcheck.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
        assert "Traceback" not in proc.stdout + proc.stderr
        return proc

    return run


def test_known_add_then_verify_json(cli):
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
    listing = cli("known", "list")
    assert "Koksan SPGs" in listing.stdout


def test_verify_table_for_a_deleted_post_exits_zero(cli):
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


def test_user_text_is_never_read_as_markup(cli, server):
    """Post text, file names and error messages print as they are: no rich markup, no
    emoji codes (a `[/quote]` once crashed the error printer)."""
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


def test_verify_telegram_and_mastodon_through_the_real_fetch_path(cli):
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
