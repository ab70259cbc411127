"""Dates from users, files and posts, kept within a range everything downstream can take.

Python's datetime ends at years 1 and 9999: year 1 at +05:00 has no UTC equivalent
(converting it overflows, as the store does on every write) and 'a claimed date minus 30
days' overflows too. No photograph is older than 1826 and none we check is from the far
future, so a date outside EARLIEST..LATEST is bad input (or, in a file, not a date).
Pure: no I/O; verifiers use it as well.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

EARLIEST = datetime(1800, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
RANGE_TEXT = "1800-01-01 to 2199-12-31"


def in_range(value: datetime) -> bool:
    """Whether the moment lies within EARLIEST..LATEST (naive values read as UTC).
    Comparing aware datetimes never overflows, even at year 1 or 9999."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return EARLIEST <= aware < LATEST


def checked(value: datetime, what: str = "date") -> datetime:
    """`value`, or ValueError naming it when it is out of range."""
    if not in_range(value):
        raise ValueError(f"{what} {value.isoformat()} is out of range ({RANGE_TEXT})")
    return value


def parse_datetime(value: str | date | datetime | None, what: str = "date") -> datetime | None:
    """'2010-10-10' or an ISO timestamp -> aware datetime within range (a bare date is
    midnight UTC; the verdict rules read it as 'some time that day'); ValueError with a
    one-line reason otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day, tzinfo=UTC)
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"not a date: {text[:60]!r} (use YYYY-MM-DD or an ISO timestamp)"
            ) from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return checked(parsed, what)
