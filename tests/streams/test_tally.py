"""Specification of `streams.tally`: distinct proofs are counted once, whatever is redelivered."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from streams.codecs.records import epoch_millis
from streams.tally import ProofTally, day_of, table_key
from tests.streams.codecs.samples import PROOF_CREATED

PROOF = replace(PROOF_CREATED, issued_at=1_718_000_000_123)  # 2024-06-10T06:13:20.123Z
# What a composite key made by joining strings would be split on or quoted with.
SEPARATORS = ["|", ",", '"', '","', "]", "\\", ":"]


def tables(tally: ProofTally) -> dict[str, dict[str, Any]]:
    """A snapshot of every table of `tally`."""
    return {
        "seen": dict(tally.seen),
        "by_tenant": dict(tally.by_tenant),
        "by_format": dict(tally.by_format),
        "by_day": dict(tally.by_day),
        "lookup": dict(tally.lookup),
    }


@pytest.fixture
def tally() -> ProofTally:
    return ProofTally(
        seen={},
        by_tenant=defaultdict(int),
        by_format=defaultdict(int),
        by_day=defaultdict(int),
        lookup={},
    )


@pytest.fixture
def local_time_fourteen_hours_ahead(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "XST-14")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_new_proof_is_counted_for_its_tenant_format_and_day(tally: ProofTally) -> None:
    assert tally.record(PROOF) is True

    assert tally.by_tenant == {"acme": 1}
    assert tally.by_format == {'["acme","PNG"]': 1}
    assert tally.by_day == {'["acme","2024-06-10"]': 1}
    assert tally.lookup == {table_key("acme", PROOF.sha256): PROOF.proof_id}
    assert tally.seen == {table_key("acme", PROOF.proof_id): True}


def test_the_same_proof_again_changes_nothing(tally: ProofTally) -> None:
    tally.record(PROOF)
    before = tables(tally)

    assert tally.record(PROOF) is False
    assert tables(tally) == before


def test_a_second_proof_of_the_same_image_is_counted_but_the_lookup_keeps_the_first(
    tally: ProofTally,
) -> None:
    tally.record(PROOF)
    again = replace(PROOF, proof_id="prf-0002", event_id="evt-0002", issued_at=PROOF.issued_at + 1)

    assert tally.record(again) is True

    assert tally.by_tenant == {"acme": 2}
    assert tally.by_format == {table_key("acme", "PNG"): 2}
    assert tally.lookup == {table_key("acme", PROOF.sha256): PROOF.proof_id}


def test_the_same_image_from_another_tenant_is_looked_up_separately(tally: ProofTally) -> None:
    theirs = replace(PROOF, tenant="globex", proof_id="prf-0002")

    tally.record(PROOF)
    tally.record(theirs)

    assert tally.by_tenant == {"acme": 1, "globex": 1}
    assert tally.lookup == {
        table_key("acme", PROOF.sha256): PROOF.proof_id,
        table_key("globex", PROOF.sha256): "prf-0002",
    }


def test_proofs_are_counted_per_format_and_per_day(tally: ProofTally) -> None:
    day = 24 * 60 * 60 * 1000
    proofs = [
        PROOF,
        replace(PROOF, proof_id="prf-0002", format="JPEG"),
        replace(PROOF, proof_id="prf-0003", issued_at=PROOF.issued_at + day),
    ]

    for proof in proofs:
        tally.record(proof)

    assert tally.by_format == {table_key("acme", "PNG"): 2, table_key("acme", "JPEG"): 1}
    assert tally.by_day == {table_key("acme", "2024-06-10"): 2, table_key("acme", "2024-06-11"): 1}


@pytest.mark.parametrize("separator", SEPARATORS)
def test_composite_keys_of_different_parts_never_coincide(separator: str) -> None:
    left, right = ("a" + separator + "b", "c"), ("a", "b" + separator + "c")

    assert table_key(*left) != table_key(*right)
    assert json.loads(table_key(*left)) == list(left)
    assert json.loads(table_key(*right)) == list(right)


@pytest.mark.parametrize("separator", SEPARATORS)
def test_tenants_with_separators_in_their_names_are_counted_apart(
    tally: ProofTally, separator: str
) -> None:
    # Joined naively with the separator, both would count under "a<sep>b<sep>PNG".
    theirs = replace(PROOF, tenant="a" + separator + "b", format="PNG", proof_id="prf-1")
    forged = replace(PROOF, tenant="a", format="b" + separator + "PNG", proof_id="prf-2")

    assert tally.record(theirs) is True
    assert tally.record(forged) is True

    assert tally.by_format == {
        table_key(theirs.tenant, "PNG"): 1,
        table_key("a", forged.format): 1,
    }
    assert len(tally.by_day) == 2
    assert len(tally.lookup) == 2


def test_table_keys_keep_non_ascii_tenants_readable() -> None:
    assert table_key("Zürich-株式会社", "PNG") == '["Zürich-株式会社","PNG"]'


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), "1970-01-01"),
        (datetime(2024, 6, 10, 23, 59, 59, 999_000, tzinfo=UTC), "2024-06-10"),
        (datetime(2024, 6, 11, tzinfo=UTC), "2024-06-11"),
        (datetime(2024, 2, 29, 12, tzinfo=UTC), "2024-02-29"),
    ],
)
def test_day_of_is_the_utc_calendar_day(moment: datetime, day: str) -> None:
    assert day_of(epoch_millis(moment)) == day


@pytest.mark.usefixtures("local_time_fourteen_hours_ahead")
def test_day_of_ignores_the_local_time_zone() -> None:
    late_evening_utc = epoch_millis(datetime(2024, 6, 10, 23, 0, tzinfo=UTC))

    assert time.localtime(late_evening_utc / 1000).tm_mday == 11
    assert day_of(late_evening_utc) == "2024-06-10"


@pytest.mark.usefixtures("local_time_fourteen_hours_ahead")
def test_a_proof_is_counted_on_its_utc_day(tally: ProofTally) -> None:
    tally.record(replace(PROOF, issued_at=epoch_millis(datetime(2024, 6, 10, 23, 0, tzinfo=UTC))))

    assert tally.by_day == {table_key("acme", "2024-06-10"): 1}
