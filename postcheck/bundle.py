"""Evidence bundles: one check's exchanges (WARC), media, report (JSON and HTML) and a
manifest of sha256 hashes, in one zip; and the verification of such a zip."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import postcheck
from postcheck.capture import body_path, exchanges_dir, read_log
from postcheck.domain import CheckReport
from postcheck.errors import PostcheckError
from postcheck.media import MediaStore
from postcheck.store import Store
from postcheck.timestamp import Token, verify_token

MANIFEST = "manifest.json"
SIDECAR = "manifest.json.sha256"
# Beside the manifest, outside it (they are over its hash): the RFC 3161 query as sent
# (its nonce), the TSA's reply, and what happened (timestamp.json).
TOKEN = "manifest.json.tsr"
QUERY = "manifest.json.tsq"
STAMP = "timestamp.json"
UNLISTED = {MANIFEST, SIDECAR, TOKEN, QUERY, STAMP}
# Headers that describe the wire, not the payload we kept (httpcore has de-chunked it).
WIRE_HEADERS = {"transfer-encoding"}


def write_warc(path: Path, entries: list[dict], data_dir: Path, media: MediaStore) -> int:
    """Request and response records for each exchange, bodies streamed from disk."""
    count = 0
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for e in entries:
            req, res = e["request"], e.get("response")
            date = e["date"]
            uri = req["url"]
            req_headers = StatusAndHeaders(
                f"{req['method']} {req['target']} HTTP/1.1",
                [tuple(h) for h in req["headers"]],
                is_http_request=True,
            )
            body = base64.b64decode(req.get("body_b64", ""))
            request = writer.create_warc_record(
                uri,
                "request",
                payload=BytesIO(body),
                length=len(body),
                http_headers=req_headers,
                warc_headers_dict={"WARC-Date": date},
            )
            if res is None:
                writer.write_record(request)
                count += 1
                continue
            headers = [
                (f"X-Archive-Orig-{k}" if k.lower() in WIRE_HEADERS else k, v)
                for k, v in res["headers"]
            ]
            status = StatusAndHeaders(
                f"{res['status']} {res['reason']}".strip(), headers, protocol=res["http_version"]
            )
            source = body_path(data_dir, media, res["body_sha256"])
            payload = source.open("rb") if source else BytesIO(b"")
            with payload:
                response = writer.create_warc_record(
                    uri,
                    "response",
                    payload=payload,
                    length=res["body_size"] if source else 0,
                    http_headers=status,
                    warc_headers_dict={"WARC-Date": date},
                )
                writer.write_record(response)
            request.rec_headers.add_header(
                "WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID")
            )
            writer.write_record(request)
            count += 1
    return count


def _ext(mime: str | None) -> str:
    return {
        "image/jpeg": ".jpg",
        "image/png": ".png",
        "image/webp": ".webp",
        "image/gif": ".gif",
        "video/mp4": ".mp4",
    }.get(mime or "", "")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _link(url: str | None) -> str:
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{_e(url)}">{_e(url)}</a>'
    return _e(url or "—")


CSS = """body{font:14px/1.4 sans-serif;margin:1.5em;color:#111}
table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3em;vertical-align:top}
.pair{display:flex;gap:1em}.pair figure{margin:0;max-width:48%}.pair img{max-width:100%}
@media print{a{color:#000}.pair{break-inside:avoid}}"""


def html_report(report: dict, pictures: dict[str, str], history: list[dict], note: str) -> str:
    """The report, self-contained: images are files in the bundle, no scripts, all escaped."""
    post = report.get("post") or {}
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "img-src 'self' data:; style-src 'unsafe-inline'\">",
        f"<title>postcheck evidence: {_e(report.get('url'))}</title><style>{CSS}</style></head>",
        f"<body><h1>Verdict: {_e(report.get('verdict'))}</h1>",
        f"<p>Post: {_link(report.get('url'))} · checked {_e(report.get('checked_at'))}"
        f" · check #{_e(report.get('check_id'))}</p>",
        f"<p>Author: {_e(post.get('author_handle'))} · posted {_e(post.get('created_at'))}</p>",
        f"<blockquote>{_e(post.get('text'))}</blockquote>",
        "<h2>Reasons</h2><ul>",
        *[f"<li>{_e(r)}</li>" for r in report.get("reasons", [])],
        "</ul>",
        f"<p>{_e(note)}</p>",
    ]
    for image in report.get("images", []):
        out.append(f"<h2>Picture {image['position'] + 1}: {_e(image['verdict'])}</h2>")
        mine = (image.get("media") or {}).get("sha256")
        best = next((m for m in image.get("matches", []) if m.get("is_match")), None)
        out.append("<div class='pair'>")
        if mine in pictures:
            out.append(
                f"<figure><img src='{_e(pictures[mine])}' alt='post picture'>"
                "<figcaption>the post's picture</figcaption></figure>"
            )
        if best and best.get("hash_only"):
            out.append(
                f"<p class='hash-only'>The known picture is a hash alone: "
                f"{_e(best.get('stage') or 'no file could confirm it')}.</p>"
            )
        elif best and best["known"].get("sha256") in pictures:
            out.append(
                f"<figure><img src='{_e(pictures[best['known']['sha256']])}' "
                "alt='known picture'><figcaption>the known picture</figcaption></figure>"
            )
        out.append("</div><ul>")
        out += [f"<li>{_e(r)}</li>" for r in image.get("reasons", [])]
        out.append("</ul>")
        links = image.get("links") or {}
        if links:
            out.append("<p>Search: " + " · ".join(_link(u) for u in links.values()) + "</p>")
        if image.get("matches"):
            out.append(
                "<table><tr><th>known picture</th><th>match</th><th>source</th>"
                "<th>first seen</th><th>caption</th><th>credit</th><th>origin</th></tr>"
            )
            for m in image["matches"]:
                k = m["known"]
                out.append(
                    f"<tr><td>#{_e(k['id'])}</td><td>{'yes' if m['is_match'] else 'no'} "
                    f"({_e(m.get('stage'))})</td><td>{_link(k.get('source_url'))}</td>"
                    f"<td>{_e(k.get('first_seen'))}</td><td>{_e(k.get('caption'))}</td>"
                    f"<td>{_e(k.get('credit'))}</td><td>{_e(k.get('origin'))}</td></tr>"
                )
            out.append("</table>")
        if image.get("findings"):
            out.append("<h3>Metadata findings</h3><ul>")
            out += [f"<li>{_e(f['code'])}: {_e(f['message'])}</li>" for f in image["findings"]]
            out.append("</ul>")
    out.append(
        "<h2>History of the post</h2><table><tr><th>check</th><th>when</th>"
        "<th>verdict</th><th>changes</th></tr>"
    )
    for h in history:
        out.append(
            f"<tr><td>#{_e(h['id'])}</td><td>{_e(h['at'])}</td><td>{_e(h['verdict'])}"
            f"</td><td>{_e(', '.join(h['changes']) or '—')}</td></tr>"
        )
    out.append("</table></body></html>")
    return "\n".join(out)


def _sha_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def check_exchanges(report: CheckReport, data_dir: Path) -> tuple[list[dict], str]:
    """The exchanges behind a check and a sentence saying what they are. A check made in a
    batch (bulk verify, recheck) has its batch's log (the platform's answer) and its own
    (its downloads); a single verify-post, its flow run's log."""
    logs = report.captures or ([report.flow_run_id] if report.flow_run_id else [])
    entries = [e for name in logs for e in read_log(exchanges_dir(data_dir) / f"{name}.jsonl")]
    if not entries:
        return [], "This check has no recorded HTTP exchanges (it predates capture): no WARC."
    note = f"{len(entries)} HTTP exchanges recorded for this check (exchanges.warc.gz)."
    if any(name.startswith("batch-") for name in report.captures):
        note += (
            " The post was fetched in a batch request with other posts (bulk verify or the"
            " recheck): the platform's whole answer to that request is included, other posts"
            " of the batch with it; the media downloads are this post's only."
        )
    return entries, note


@dataclass
class Bundle:
    path: Path
    manifest_sha256: str
    exchanges: int
    files: int = 0
    timestamp: str = "none"  # one line: the token's time, or why there is none


def manifest_timestamp_line(tsa_url: str | None) -> str:
    if not tsa_url:
        return "none: POSTCHECK_TSA_URL is not set (no RFC 3161 token)"
    return (
        f"RFC 3161 token requested from {tsa_url} over the sha256 of this file "
        f"({SIDECAR}); the token is {TOKEN}, the outcome {STAMP}"
    )


def build_bundle(
    report: CheckReport,
    history: list[dict],
    data_dir: Path,
    media: MediaStore,
    out: Path,
    tsa_url: str | None = None,
) -> Bundle:
    entries, note = check_exchanges(report, data_dir)
    files: list[dict] = []
    pictures: dict[str, str] = {}
    data = report.model_dump(mode="json")
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(out, "w") as zf:

        def add_file(name: str, source: Path) -> None:
            sha, size = _sha_file(source)
            zf.write(source, name, compress_type=zipfile.ZIP_STORED)
            files.append({"path": name, "sha256": sha, "size": size})

        def add_bytes(name: str, blob: bytes) -> None:
            zf.writestr(name, blob, compress_type=zipfile.ZIP_DEFLATED)
            files.append(
                {"path": name, "sha256": hashlib.sha256(blob).hexdigest(), "size": len(blob)}
            )

        if entries:
            warc = Path(tmp) / "exchanges.warc.gz"
            write_warc(warc, entries, data_dir, media)
            add_file("exchanges.warc.gz", warc)
        for image in report.images:
            for stored in (image.media, image.video.media if image.video else None):
                if stored and media.path_for(stored.sha256).exists():
                    name = f"media/{stored.sha256}{_ext(stored.mime)}"
                    if name not in {f["path"] for f in files}:
                        add_file(name, media.path_for(stored.sha256))
                    if stored.mime.startswith("image/"):
                        pictures[stored.sha256] = name
            best = next((m for m in image.matches if m.is_match), None)
            known_file = media.file_of(best.known.sha256) if best else None
            if best and known_file:
                name = f"known/{best.known.sha256}"
                if name not in {f["path"] for f in files}:
                    add_file(name, known_file)
                pictures[best.known.sha256] = name
        add_bytes("report.json", json.dumps(data, indent=2, ensure_ascii=False).encode())
        add_bytes("report.html", html_report(data, pictures, history, note).encode())
        manifest = {
            "postcheck_version": postcheck.__version__,
            "created_at": datetime.now(UTC).isoformat(),
            "check_id": report.check_id,
            "flow_run_id": report.flow_run_id,
            "captures": report.captures,
            "post_url": report.url,
            "exchanges": note,
            "timestamp": manifest_timestamp_line(tsa_url),
            "files": files,
        }
        blob = json.dumps(manifest, indent=2).encode()
        manifest_sha = hashlib.sha256(blob).hexdigest()
        zf.writestr(MANIFEST, blob)
        zf.writestr(SIDECAR, f"{manifest_sha}  {MANIFEST}\n")
    return Bundle(out, manifest_sha, len(entries), len(files) + 1)


def read_manifest(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(MANIFEST)


def attach_timestamp(bundle: Bundle, token: Token | None, reason: str | None) -> Bundle:
    """Add the token (or why there is none) beside the manifest of a written bundle."""
    if token is not None:
        bundle.timestamp = f"timestamped {token.gen_time} by {token.tsa_url}"
        stamp = {
            "status": "granted",
            "timestamped": f"sha256 of {MANIFEST}",
            "manifest_sha256": bundle.manifest_sha256,
            "tsa_url": token.tsa_url,
            "gen_time": token.gen_time,
            "serial": str(token.serial),
            "token": TOKEN,
            "query": QUERY,
        }
    else:
        bundle.timestamp = f"no timestamp: {reason}"
        stamp = {"status": "none", "reason": reason, "manifest_sha256": bundle.manifest_sha256}
    with zipfile.ZipFile(bundle.path, "a") as zf:
        if token is not None:
            zf.writestr(TOKEN, token.reply)
            zf.writestr(QUERY, token.query)
        zf.writestr(STAMP, json.dumps(stamp, indent=2))
    return bundle


class NotABundle(Exception):
    pass


class NoSuchCheck(PostcheckError):
    """The export's target names no recorded check (bad input, like a malformed URL)."""


def find_check(store: Store, target: str) -> tuple[CheckReport, list[dict]]:
    """The check a target names (a check id, or a post URL: its latest check) and the
    post's history (every check of it with its transitions). BadURL / NoSuchCheck."""
    from postcheck.sources import parse_post_url

    target = target.strip()
    if target.isdigit():
        row = store.get_check(int(target))
        if row is None:
            raise NoSuchCheck(f"no check #{target}")
    else:
        ref = parse_post_url(target)
        uri = store.post_uri_for(ref)
        rows = store.history(uri) if uri else []
        if not rows:
            raise NoSuchCheck(f"no checks recorded for {ref.url}")
        row = rows[0]
    report = store.report_of(row)
    report.check_id = row.id
    history = []
    uri = report.post.uri if report.post else None
    if uri:
        changes: dict[int, list[str]] = {}
        for t in store.transitions(uri):
            changes.setdefault(t.check_id, []).append(t.kind)
        history = [
            {
                "id": c.id,
                "at": f"{c.finished_at:%Y-%m-%d %H:%M:%S}",
                "verdict": c.verdict,
                "changes": changes.get(c.id, []),
            }
            for c in store.history(uri)
        ]
    return report, history


def bundle_path(output: str | None, data_dir: Path, check_id: int | None) -> Path:
    """Where a bundle goes: a given file path as is; a folder (an existing one, a path
    ending in "/", or by default the data folder's exports/) gets postcheck-check-<id>.zip."""
    given = Path(output).expanduser() if output else None
    if given is not None and not given.is_dir() and not output.endswith(("/", "\\")):
        given.parent.mkdir(parents=True, exist_ok=True)
        return given.absolute()
    folder = given or data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder.absolute() / f"postcheck-check-{check_id}.zip"


def verify_bundle(path: Path, trusted: list | None = None) -> tuple[bool, str]:
    """(intact, message naming the first file that differs, then what the timestamp token
    says). NotABundle if it is not one; ValueError if `trusted` has no root."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise NotABundle(f"{path}: not a zip file ({exc})") from None
    with zf:
        names = set(zf.namelist())
        if MANIFEST not in names or SIDECAR not in names:
            raise NotABundle(f"{path}: no {MANIFEST}: not a postcheck bundle")
        blob = zf.read(MANIFEST)
        expected = zf.read(SIDECAR).decode("ascii", "replace").split()[0]
        stamp_ok, stamp = _token_check(zf, names, blob, trusted)
        if hashlib.sha256(blob).hexdigest() != expected:
            return (
                False,
                f"{MANIFEST} differs (its sha256 is not the one recorded beside it); {stamp}",
            )
        if not stamp_ok:
            return False, stamp
        try:
            manifest = json.loads(blob)
            files = manifest["files"]
        except (ValueError, KeyError, TypeError):
            return False, f"{MANIFEST} differs (unreadable)"
        for entry in files:
            name = entry["path"]
            if name not in names:
                return False, f"{name} is missing"
            digest, size = hashlib.sha256(), 0
            with zf.open(name) as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
            if digest.hexdigest() != entry["sha256"] or size != entry["size"]:
                return False, f"{name} differs from the manifest"
        extra = sorted(names - {f["path"] for f in files} - UNLISTED)
        if extra:
            return False, f"{extra[0]} is not in the manifest"
    return True, f"intact: {len(files)} files match the manifest (sha256 {expected}); {stamp}"


def _token_check(
    zf: zipfile.ZipFile, names: set[str], manifest: bytes, trusted: list | None
) -> tuple[bool, str]:
    if TOKEN not in names:
        reason = "the bundle carries no RFC 3161 token"
        if STAMP in names:
            with contextlib.suppress(ValueError):
                reason += f" ({json.loads(zf.read(STAMP)).get('reason')})"
        return True, f"no timestamp: {reason}"
    query = zf.read(QUERY) if QUERY in names else None
    return verify_token(zf.read(TOKEN), query, manifest, trusted)
