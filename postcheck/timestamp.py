"""RFC 3161 timestamps over a bundle manifest's sha256: the request to a time-stamping
authority (POSTCHECK_TSA_URL) and the check of a token kept in a bundle.

rfc3161-client (Trail of Bits, Rust-backed ASN.1 and PKCS#7) builds the query, parses the
reply and verifies the signature against given certificates; the POST goes through
postcheck's own HTTP client (timeouts, user agent, the network guard).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from postcheck import http
from postcheck.settings import Settings

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
SHA256_OID = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")


class NoTimestamp(Exception):
    """The TSA gave no token; the message says why in one line. `transient`: a retry
    may help (unreachable, timed out, a 5xx/408/429), unlike a refusal or a bad reply."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class Token:
    query: bytes  # the TimeStampReq as sent (it holds the nonce the reply must echo)
    reply: bytes  # the TimeStampResp as received (DER)
    gen_time: str
    serial: int
    tsa_url: str


def request_token(data: bytes, tsa_url: str, settings: Settings) -> Token:
    """Ask the TSA for a token over sha256(data). NoTimestamp names what went wrong:
    unreachable, refused (HTTP status or PKI status), or a bad reply."""
    query = TimestampRequestBuilder(
        data=data, hash_algorithm=HashAlgorithm.SHA256, nonce=True, cert_req=True
    ).build()
    try:
        with http.client(settings) as client:
            answer = client.post(
                tsa_url, content=query.as_bytes(), headers={"Content-Type": QUERY_TYPE}
            )
    except httpx.TimeoutException:
        raise NoTimestamp(f"TSA unreachable ({tsa_url}: timed out)", True) from None
    except httpx.HTTPError as exc:
        why = str(exc) or type(exc).__name__
        raise NoTimestamp(f"TSA unreachable ({tsa_url}: {why})", True) from None
    if answer.status_code != 200:
        status = answer.status_code
        raise NoTimestamp(
            f"TSA refused the request (HTTP {status})", status >= 500 or status in (408, 429)
        )
    try:
        reply = decode_timestamp_response(answer.content)
    except ValueError as exc:
        raise NoTimestamp(f"bad reply from the TSA (not a timestamp response: {exc})") from None
    if reply.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        why = "; ".join(reply.status_string) or PKIStatus(reply.status).name
        raise NoTimestamp(f"TSA refused the request (PKI status {reply.status}: {why})")
    problem = imprint_problem(reply, hashlib.sha256(data).digest()) or nonce_problem(
        reply, query.nonce
    )
    if problem:
        raise NoTimestamp(f"bad reply from the TSA ({problem})")
    return Token(
        query.as_bytes(),
        answer.content,
        reply.tst_info.gen_time.isoformat(),
        reply.tst_info.serial_number,
        tsa_url,
    )


def imprint_problem(reply: TimeStampResponse, digest: bytes) -> str | None:
    imprint = reply.tst_info.message_imprint
    if imprint.hash_algorithm != SHA256_OID:
        return f"the token's imprint is not a sha256 ({imprint.hash_algorithm.dotted_string})"
    if imprint.message != digest:
        return f"the token's imprint {imprint.message.hex()} is not the sha256 {digest.hex()}"
    return None


def nonce_problem(reply: TimeStampResponse, nonce: int | None) -> str | None:
    if nonce is not None and reply.tst_info.nonce != nonce:
        return "the token's nonce is not the request's"
    return None


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM file (a TSA certificate, its CA, or a whole chain)."""
    try:
        certs = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: no PEM certificate ({exc})") from None
    return certs


def verify_token(
    reply_der: bytes,
    query_der: bytes | None,
    data: bytes,
    trusted: list[x509.Certificate] | None,
) -> tuple[bool, str]:
    """(valid, one line). The imprint must be sha256(data), the nonce the query's; with
    trusted certificates the signature and chain are checked too (self-signed ones are
    the roots; with none self-signed, the given certificates are the trust anchors)."""
    try:
        reply = decode_timestamp_response(reply_der)
    except ValueError as exc:
        return False, f"the timestamp token is unreadable ({exc})"
    digest = hashlib.sha256(data).digest()
    if problem := imprint_problem(reply, digest):
        return False, f"the timestamp token does not match manifest.json: {problem}"
    nonce = None
    if query_der is not None:
        nonce = _query_nonce(query_der, data)
        if nonce is False:
            return False, "the timestamp query kept beside the token is not for manifest.json"
        if problem := nonce_problem(reply, nonce):
            return False, f"the timestamp token does not answer its query: {problem}"
    when = (
        f"timestamped {reply.tst_info.gen_time.isoformat()} (serial {reply.tst_info.serial_number})"
    )
    if not trusted:
        return True, (
            f"token matches manifest.json, {when}; its signature was not checked against a "
            "trusted certificate (give --tsa-cert)"
        )
    roots = [c for c in trusted if c.issuer == c.subject]
    if not roots:
        raise ValueError(
            "the certificates given include no self-signed root: give the TSA's CA "
            "certificate (or its whole chain, root included)"
        )
    builder = VerifierBuilder()
    for cert in roots:
        builder = builder.add_root_certificate(cert)
    for cert in trusted:
        if cert not in roots:
            builder = builder.add_intermediate_certificate(cert)
    if isinstance(nonce, int):
        builder = builder.nonce(nonce)
    try:
        builder.build().verify(reply, digest)
    except VerificationError as exc:
        # OpenSSL's error stack is long; its verify reason is the line a person needs.
        reason = re.search(r"Verify error: ([^\"]+)", str(exc))
        return False, (
            "the timestamp token's signature does not verify against the given "
            f"certificates: {reason.group(1) if reason else exc}"
        )
    return True, f"token matches manifest.json and is signed by a trusted certificate, {when}"


def _query_nonce(query_der: bytes, data: bytes) -> int | bool | None:
    """The nonce of a kept query, or False if that query was not over `data`."""
    from rfc3161_client import _rust

    try:
        query = _rust.parse_timestamp_request(query_der)
    except ValueError:
        return False
    if query.message_imprint.message != hashlib.sha256(data).digest():
        return False
    return query.nonce
