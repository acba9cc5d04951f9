"""Specification of `streams.core.tally`: distinct proofs are counted once, whatever is redelivered,
in one entry per proof from which the counts are derived."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from streams.core.clock import EPOCH, to_epoch_millis
from streams.core.codecs.records import ProofCreated
from streams.core.tally import CountedProof, ProofTally, day_of, table_key
from tests.support.codec_samples import CREDENTIAL_ISSUED, PROOF_CREATED

PROOF = replace(PROOF_CREATED, issued_at=1_718_000_000_123)  # 2024-06-10T06:13:20.123Z
DAY = 24 * 60 * 60 * 1000
# What a composite key made by joining strings would be split on or quoted with.
SEPARATORS = ["|", ",", '"', '","', "]", "\\", ":"]


def counts(tally: ProofTally) -> dict[str, Any]:
    """Everything `tally` derives."""
    return {
        "by_tenant": tally.by_tenant(),
        "by_format": tally.by_format(),
        "by_day": tally.by_day(),
    }


@pytest.fixture
def tally() -> ProofTally:
    return ProofTally(recorded={})


@pytest.fixture
def local_time_fourteen_hours_ahead(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "XST-14")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_new_proof_is_counted_for_its_tenant_format_and_day(tally: ProofTally) -> None:
    assert tally.record(PROOF, shard=3) is True

    assert tally.by_tenant() == {"acme": 1}
    assert tally.by_format() == {("acme", "PNG"): 1}
    assert tally.by_day() == {("acme", "2024-06-10"): 1}
    assert tally.lookup("acme", PROOF.sha256) == PROOF.proof_id


def test_a_credential_is_counted_for_its_tenant_media_type_and_day_of_issue(
    tally: ProofTally,
) -> None:
    assert tally.record(CREDENTIAL_ISSUED, shard=1) is True
    assert tally.record(CREDENTIAL_ISSUED, shard=1) is False  # a replayed proof event

    assert tally.by_format() == {("acme", "image/png"): 1}
    assert tally.by_day() == {("acme", "2024-11-28"): 1}
    assert tally.lookup("acme", CREDENTIAL_ISSUED.image_sha256) == CREDENTIAL_ISSUED.proof_id


def test_a_counted_proof_is_one_entry_keyed_by_tenant_and_proof_id(tally: ProofTally) -> None:
    tally.record(PROOF, shard=3)

    [(key, value)] = tally.recorded.items()
    assert key == table_key("acme", PROOF.proof_id)
    assert CountedProof.from_entry(key, value) == CountedProof(
        tenant="acme",
        proof_id=PROOF.proof_id,
        format="PNG",
        sha256=PROOF.sha256,
        issued_at=PROOF.issued_at,
        shard=3,
    )


def test_the_same_proof_again_changes_nothing(tally: ProofTally) -> None:
    tally.record(PROOF, shard=0)
    entries, before = dict(tally.recorded), counts(tally)

    assert tally.record(PROOF, shard=0) is False
    assert dict(tally.recorded) == entries
    assert counts(tally) == before


def test_a_proof_whose_entry_survived_a_crash_is_not_counted_again() -> None:
    recorded: dict[str, str] = {}
    ProofTally(recorded).record(PROOF, shard=0)  # the worker dies before acknowledging

    restarted = ProofTally(recorded)
    restarted.rebuild(shards=[0])

    assert restarted.record(PROOF, shard=0) is False  # the redelivered proof event
    assert restarted.by_tenant() == {"acme": 1}


def test_a_second_proof_of_the_same_image_is_counted_and_the_lookup_names_the_earliest(
    tally: ProofTally,
) -> None:
    later = replace(PROOF, proof_id="prf-0002", event_id="evt-0002", issued_at=PROOF.issued_at + 1)

    tally.record(later, shard=0)
    assert tally.record(PROOF, shard=0) is True

    assert tally.by_tenant() == {"acme": 2}
    assert tally.by_format() == {("acme", "PNG"): 2}
    assert tally.lookup("acme", PROOF.sha256) == PROOF.proof_id


def test_of_two_proofs_issued_the_same_millisecond_the_lookup_names_the_smaller_id(
    tally: ProofTally,
) -> None:
    tally.record(replace(PROOF, proof_id="prf-b"), shard=0)
    tally.record(replace(PROOF, proof_id="prf-a"), shard=1)

    assert tally.lookup("acme", PROOF.sha256) == "prf-a"


def test_the_same_image_from_another_tenant_is_looked_up_separately(tally: ProofTally) -> None:
    theirs = replace(PROOF, tenant="globex", proof_id="prf-0002")

    tally.record(PROOF, shard=0)
    tally.record(theirs, shard=1)

    assert tally.by_tenant() == {"acme": 1, "globex": 1}
    assert tally.lookup("acme", PROOF.sha256) == PROOF.proof_id
    assert tally.lookup("globex", PROOF.sha256) == "prf-0002"
    assert tally.lookup("initech", PROOF.sha256) is None


def test_proofs_are_counted_per_format_and_per_day(tally: ProofTally) -> None:
    proofs = [
        PROOF,
        replace(PROOF, proof_id="prf-0002", format="JPEG"),
        replace(PROOF, proof_id="prf-0003", issued_at=PROOF.issued_at + DAY),
    ]

    for proof in proofs:
        tally.record(proof, shard=0)

    assert tally.by_format() == {("acme", "PNG"): 2, ("acme", "JPEG"): 1}
    assert tally.by_day() == {("acme", "2024-06-10"): 2, ("acme", "2024-06-11"): 1}


def random_proofs(seed: int, count: int) -> list[tuple[ProofCreated, int]]:
    """`count` proofs of a few tenants, formats, days and images, each with a shard."""
    rng = random.Random(seed)
    proofs = []
    for number in range(count):
        tenant = rng.choice(["acme", "globex", "initech", "Zürich-株式会社"])
        proof = replace(
            PROOF,
            tenant=tenant,
            proof_id=f"prf-{number:04d}",
            format=rng.choice(["JPEG", "PNG", "WEBP"]),
            sha256=f"{rng.randrange(8):064x}",
            issued_at=PROOF.issued_at + rng.randrange(3) * DAY + rng.randrange(1000),
        )
        proofs.append((proof, sum(map(ord, tenant)) % 4))  # a tenant's proofs share a shard
    return proofs


@pytest.mark.parametrize("seed", range(5))
def test_counts_rebuilt_from_the_entries_equal_the_counts_kept_while_recording(
    seed: int,
) -> None:
    proofs = random_proofs(seed, 200)
    live = ProofTally(recorded={})
    for proof, shard in proofs + proofs[:50]:  # with redeliveries
        live.record(proof, shard)

    rebuilt = ProofTally(recorded=dict(live.recorded))
    assert rebuilt.rebuild(shards=range(4)) == []

    assert counts(rebuilt) == counts(live)
    assert sum(rebuilt.by_tenant().values()) == 200
    for proof, _ in proofs:
        assert rebuilt.lookup(proof.tenant, proof.sha256) == live.lookup(proof.tenant, proof.sha256)


def test_a_rebuild_counts_only_the_shards_held(tally: ProofTally) -> None:
    tally.record(PROOF, shard=0)
    tally.record(replace(PROOF, tenant="globex", proof_id="prf-0002"), shard=1)

    tally.rebuild(shards=[1])  # shard 0 went to another worker

    assert tally.by_tenant() == {"globex": 1}
    assert tally.lookup("acme", PROOF.sha256) is None


def test_a_rebuild_skips_and_reports_entries_that_are_no_counted_proof(tally: ProofTally) -> None:
    tally.record(PROOF, shard=0)
    tally.recorded["not json"] = "{}"
    tally.recorded[table_key("acme", "prf-x")] = '{"format":"PNG"}'

    unreadable = tally.rebuild(shards=[0])

    assert sorted(unreadable) == sorted(["not json", table_key("acme", "prf-x")])
    assert tally.by_tenant() == {"acme": 1}


@pytest.mark.parametrize("separator", SEPARATORS)
def test_tenants_with_separators_in_their_names_are_counted_apart(
    tally: ProofTally, separator: str
) -> None:
    # Joined naively with the separator, both entries would have the key "a<sep>b<sep>c".
    theirs = replace(PROOF, tenant="a" + separator + "b", proof_id="c")
    forged = replace(PROOF, tenant="a", proof_id="b" + separator + "c")

    assert tally.record(theirs, shard=0) is True
    assert tally.record(forged, shard=0) is True

    assert len(tally.recorded) == 2
    assert tally.by_tenant() == {theirs.tenant: 1, "a": 1}


@pytest.mark.parametrize("separator", SEPARATORS)
def test_composite_keys_of_different_parts_never_coincide(separator: str) -> None:
    left, right = ("a" + separator + "b", "c"), ("a", "b" + separator + "c")

    assert table_key(*left) != table_key(*right)
    assert json.loads(table_key(*left)) == list(left)
    assert json.loads(table_key(*right)) == list(right)


def test_table_keys_keep_non_ascii_tenants_readable() -> None:
    assert table_key("Zürich-株式会社", "PNG") == '["Zürich-株式会社","PNG"]'


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (EPOCH, "1970-01-01"),
        (datetime(2024, 6, 10, 23, 59, 59, 999_000, tzinfo=UTC), "2024-06-10"),
        (datetime(2024, 6, 11, tzinfo=UTC), "2024-06-11"),
        (datetime(2024, 2, 29, 12, tzinfo=UTC), "2024-02-29"),
    ],
)
def test_day_of_is_the_utc_calendar_day(moment: datetime, day: str) -> None:
    assert day_of(to_epoch_millis(moment)) == day


@pytest.mark.usefixtures("local_time_fourteen_hours_ahead")
def test_day_of_ignores_the_local_time_zone() -> None:
    late_evening_utc = to_epoch_millis(datetime(2024, 6, 10, 23, 0, tzinfo=UTC))

    assert time.localtime(late_evening_utc / 1000).tm_mday == 11
    assert day_of(late_evening_utc) == "2024-06-10"


@pytest.mark.usefixtures("local_time_fourteen_hours_ahead")
def test_a_proof_is_counted_on_its_utc_day(tally: ProofTally) -> None:
    tally.record(
        replace(PROOF, issued_at=to_epoch_millis(datetime(2024, 6, 10, 23, 0, tzinfo=UTC))), shard=0
    )

    assert tally.by_day() == {("acme", "2024-06-10"): 1}
