"""Specification of `streams.core.clock`: UTC instants, epoch milliseconds and their RFC 3339
text, exact to the millisecond and independent of the local time zone."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from streams.core.clock import (
    EPOCH,
    from_epoch_millis,
    iso_utc,
    now_millis,
    to_epoch_millis,
    utc_now,
)

# 2024-06-10T06:13:20.123Z
MOMENT_MS = 1_718_000_000_123


def test_the_epoch_is_midnight_utc_on_1970_01_01() -> None:
    assert EPOCH.isoformat() == "1970-01-01T00:00:00+00:00"
    assert to_epoch_millis(EPOCH) == 0


@pytest.mark.parametrize("millis", [0, 1, -1, 999, MOMENT_MS, -62_135_596_800_000])
def test_epoch_millis_survive_a_trip_through_a_datetime_exactly(millis: int) -> None:
    assert to_epoch_millis(from_epoch_millis(millis)) == millis


def test_an_instant_is_utc_whatever_zone_it_is_given_in() -> None:
    in_tokyo = datetime(2024, 6, 10, 15, 13, 20, 123_000, tzinfo=timezone(timedelta(hours=9)))

    assert to_epoch_millis(in_tokyo) == MOMENT_MS
    assert from_epoch_millis(MOMENT_MS) == in_tokyo
    assert from_epoch_millis(MOMENT_MS).tzinfo is UTC


def test_sub_millisecond_digits_are_cut_off() -> None:
    assert to_epoch_millis(from_epoch_millis(MOMENT_MS) + timedelta(microseconds=999)) == MOMENT_MS


def test_an_instant_outside_the_calendar_overflows() -> None:
    with pytest.raises(OverflowError):
        from_epoch_millis(10**15)


def test_now_is_the_current_utc_instant() -> None:
    before = time.time_ns() // 1_000_000
    now_ms, now = now_millis(), utc_now()
    after = time.time_ns() // 1_000_000

    assert before <= now_ms <= after
    assert before <= to_epoch_millis(now) <= after
    assert now.tzinfo is UTC


@pytest.mark.parametrize(
    ("millis", "seconds", "milliseconds"),
    [
        (MOMENT_MS, "2024-06-10T06:13:20Z", "2024-06-10T06:13:20.123Z"),
        (0, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59Z", "1969-12-31T23:59:59.999Z"),
        (1_718_000_000_007, "2024-06-10T06:13:20Z", "2024-06-10T06:13:20.007Z"),
    ],
)
def test_iso_text_has_the_chosen_precision_and_a_z(
    millis: int, seconds: str, milliseconds: str
) -> None:
    moment = from_epoch_millis(millis)

    assert iso_utc(moment) == seconds
    assert iso_utc(moment, precision="seconds") == seconds
    assert iso_utc(moment, precision="milliseconds") == milliseconds


def test_iso_text_is_in_utc_for_an_instant_of_another_zone() -> None:
    in_new_york = from_epoch_millis(MOMENT_MS).astimezone(timezone(timedelta(hours=-4)))

    assert iso_utc(in_new_york, precision="milliseconds") == "2024-06-10T06:13:20.123Z"


def test_iso_text_of_a_moment_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        iso_utc(datetime(2024, 6, 10, 6, 13, 20))
