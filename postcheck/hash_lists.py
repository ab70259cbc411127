"""Hash lists other tools read: the library's PDQ codes in python-threatexchange's local-file
format (`LocalFileSignalExchangeAPI`: one `<signal type> <hash>` a line, the type being
`PdqSignal.get_name()`, "pdq"), or as CSV with each picture's provenance; and reading
such lists back (`known import-hashes`). Pure: text in, text out."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from postcheck.dates import parse_datetime
from postcheck.domain import KnownImage

SIGNAL_TYPE = "pdq"  # ThreatExchange's name of the PDQ signal type
CSV_COLUMNS = ("signal_type", "hash", "source_url", "first_seen", "caption")
FORMATS = ("tx", "csv")


def hash_list(entries: list[tuple[KnownImage, str]], fmt: str) -> str:
    """The list of (known image, PDQ hex) in format 'tx' or 'csv'."""
    if fmt == "tx":
        return "".join(f"{SIGNAL_TYPE} {code}\n" for _, code in entries)
    if fmt != "csv":
        raise ValueError(f"unknown hash list format {fmt!r}: use one of {', '.join(FORMATS)}")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for known, code in entries:
        seen = known.first_seen.isoformat() if known.first_seen else ""
        writer.writerow([SIGNAL_TYPE, code, known.source_url or "", seen, known.caption or ""])
    return buf.getvalue()


# --- reading hash lists ------------------------------------------------------------------

PDQ_HEX_DIGITS = 64


@dataclass
class HashLine:
    """One usable line of a hash list: a PDQ code and what the list said about it."""

    line: int
    code: bytes
    source_url: str | None = None
    first_seen: datetime | None = None
    caption: str | None = None


@dataclass
class ParsedList:
    format: str
    entries: list[HashLine] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line, why)


def detect_format(text: str) -> str:
    """'csv' when the first line is our CSV export's header, else 'tx'."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return "csv" if first.strip().lower().startswith("signal_type,") else "tx"


def _pdq_code(signal_type: str, value: str) -> bytes | str:
    """The code of a PDQ signal, or why the line is not one."""
    if signal_type.lower() != SIGNAL_TYPE:
        return (
            f"signal type {signal_type!r} is not matchable hash-only "
            f"(only {SIGNAL_TYPE} is): skipped"
        )
    if len(value) != PDQ_HEX_DIGITS:
        return f"not a PDQ hash: {PDQ_HEX_DIGITS} hex digits expected, {len(value)} found"
    try:
        return bytes.fromhex(value)
    except ValueError:
        return "not a PDQ hash: not hexadecimal"


def parse_hash_list(text: str, fmt: str | None = None) -> ParsedList:
    """Read a hash list: python-threatexchange's local file ('<signal type> <signal>' a
    line, split at the first space, as its LocalFileSignalExchangeAPI reads it; a bare
    signal is read as PDQ, like that API's per-collaboration signal_type) or our CSV
    export. Blank lines and '#' comments are skipped; every other line is an entry or a
    bad line with its reason."""
    fmt = fmt or detect_format(text)
    if fmt not in FORMATS:
        raise ValueError(f"unknown hash list format {fmt!r}: use one of {', '.join(FORMATS)}")
    return _parse_csv(text) if fmt == "csv" else _parse_tx(text)


def _parse_tx(text: str) -> ParsedList:
    out = ParsedList("tx")
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        signal_type, _, signal = line.partition(" ")
        if not signal:  # the whole line is the signal
            signal_type, signal = SIGNAL_TYPE, line
        code = _pdq_code(signal_type, signal.strip())
        if isinstance(code, str):
            out.bad.append((number, code))
        else:
            out.entries.append(HashLine(number, code))
    return out


def _parse_csv(text: str) -> ParsedList:
    out = ParsedList("csv")
    reader = csv.DictReader(io.StringIO(text))
    missing = {"signal_type", "hash"} - {c.strip().lower() for c in reader.fieldnames or []}
    if missing:
        out.bad.append((1, f"CSV header lacks {', '.join(sorted(missing))}"))
        return out
    for row in reader:
        number = reader.line_num
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        if not any(row.values()):
            continue
        code = _pdq_code(row.get("signal_type", ""), row.get("hash", ""))
        if isinstance(code, str):
            out.bad.append((number, code))
            continue
        try:
            seen = parse_datetime(row.get("first_seen") or None, "first seen")
        except ValueError as exc:
            out.bad.append((number, str(exc)))
            continue
        out.entries.append(
            HashLine(
                number,
                code,
                source_url=row.get("source_url") or None,
                first_seen=seen,
                caption=row.get("caption") or None,
            )
        )
    return out
