"""Time as this project keeps it: UTC instants, integer milliseconds since the Unix epoch, and
their RFC 3339 text (the form proof metadata and verdicts carry, a contract with readers)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Literal

__all__ = [
    "EPOCH",
    "from_epoch_millis",
    "iso_utc",
    "now_millis",
    "to_epoch_millis",
    "utc_now",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_MILLISECOND = timedelta(milliseconds=1)


def utc_now() -> datetime:
    """The current instant, as an aware UTC datetime."""
    return datetime.now(UTC)


def now_millis() -> int:
    """The current instant, in milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


def from_epoch_millis(millis: int) -> datetime:
    """The UTC instant `millis` milliseconds after the Unix epoch (before it, when negative).

    Raises `OverflowError` when the instant is outside the years 1 to 9999.
    """
    return EPOCH + timedelta(milliseconds=millis)


def to_epoch_millis(moment: datetime) -> int:
    """Milliseconds since the Unix epoch of the aware datetime `moment`, exactly (no float
    rounding), rounded down to the millisecond."""
    return (moment - EPOCH) // _MILLISECOND


def iso_utc(moment: datetime, *, precision: Literal["seconds", "milliseconds"] = "seconds") -> str:
    """`moment` as RFC 3339 UTC text: `2024-06-10T06:13:20Z`, or `2024-06-10T06:13:20.123Z`
    with millisecond precision. Finer digits are cut off, not rounded."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone; an instant is needed")
    utc = moment.astimezone(UTC)
    seconds = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if precision == "milliseconds":
        return f"{seconds}.{utc.microsecond // 1000:03d}Z"
    return f"{seconds}Z"
