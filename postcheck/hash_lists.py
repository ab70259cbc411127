"""Hash lists other tools read: the library's PDQ codes in python-threatexchange's local-file
format (`LocalFileSignalExchangeAPI`: one `<signal type> <hash>` a line, the type being
`PdqSignal.get_name()`, "pdq"), or as CSV with each picture's provenance. Pure: text in,
text out."""

from __future__ import annotations

import csv
import io

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
