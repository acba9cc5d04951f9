"""The proof counts: one record per distinct proof, and the counts derived from those records.

The credentials workers keep a tally of their own, of the credentials issued: one record per
proof whose credential was published, its `format` the credential's media type and its issue
time the credential's.

The only state written for a proof is one entry in `recorded`, keyed by (tenant, proof id):
an entry is either there or not, so a worker that dies at any moment leaves each proof counted
or not counted, never half counted, and counting it again later changes nothing. The Faust
layer passes a changelog-backed table as `recorded` and waits for each write to reach the
broker before acknowledging the proof event.

The counts per tenant, per (tenant, format) and per (tenant, day), and the (tenant, SHA-256)
lookup, are derived from the entries in memory, per shard (the partition the proof was counted
in), and rebuilt from the entries whenever the shards held change.

Rules:
- A proof id counted before (a replayed or redelivered event) changes nothing: counts are of
  distinct proofs, so at-least-once delivery never inflates them.
- A second submission of the same image by another event is a new proof (its own event id and
  issue time) and is counted; the (tenant, SHA-256) lookup names the earliest-issued proof of
  that image (the smaller proof id on a tie), whatever order they were counted in.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TypeVar

from streams.core.clock import from_epoch_millis
from streams.core.codecs.records import CredentialIssued, ProofCreated

__all__ = ["CountedProof", "ProofTally", "day_of", "table_key"]

K = TypeVar("K")


def table_key(*parts: str) -> str:
    """A composite table key that no tenant name can forge (a JSON array, not `a|b`)."""
    return json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))


def day_of(issued_at_ms: int) -> str:
    return f"{from_epoch_millis(issued_at_ms):%Y-%m-%d}"


@dataclass(frozen=True)
class CountedProof:
    """What the entry of one counted proof holds."""

    tenant: str
    proof_id: str
    format: str
    sha256: str
    issued_at: int
    shard: int

    @classmethod
    def of(cls, counted: ProofCreated | CredentialIssued, shard: int) -> CountedProof:
        if isinstance(counted, CredentialIssued):
            return cls(
                counted.tenant,
                counted.proof_id,
                counted.media_type,
                counted.image_sha256,
                counted.issued_at,
                shard,
            )
        return cls(
            counted.tenant,
            counted.proof_id,
            counted.format,
            counted.sha256,
            counted.issued_at,
            shard,
        )

    @property
    def key(self) -> str:
        return table_key(self.tenant, self.proof_id)

    @property
    def value(self) -> str:
        return json.dumps(
            {
                "format": self.format,
                "sha256": self.sha256,
                "issued_at": self.issued_at,
                "shard": self.shard,
            },
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_entry(cls, key: str, value: str) -> CountedProof:
        """The proof an entry of `recorded` describes; ValueError if it is not one."""
        try:
            tenant, proof_id = json.loads(key)
            fields = json.loads(value)
            return cls(
                tenant=str(tenant),
                proof_id=str(proof_id),
                format=str(fields["format"]),
                sha256=str(fields["sha256"]),
                issued_at=int(fields["issued_at"]),
                shard=int(fields["shard"]),
            )
        except (TypeError, KeyError, ValueError) as error:
            raise ValueError(f"not a counted-proof entry: {error.__class__.__name__}") from None


@dataclass
class _ShardCounts:
    by_tenant: Counter[str] = field(default_factory=Counter)
    by_format: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_day: Counter[tuple[str, str]] = field(default_factory=Counter)
    earliest: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)

    def add(self, proof: CountedProof) -> None:
        self.by_tenant[proof.tenant] += 1
        self.by_format[proof.tenant, proof.format] += 1
        self.by_day[proof.tenant, day_of(proof.issued_at)] += 1
        image = (proof.tenant, proof.sha256)
        candidate = (proof.issued_at, proof.proof_id)
        if image not in self.earliest or candidate < self.earliest[image]:
            self.earliest[image] = candidate


class ProofTally:
    """Counts distinct proofs into `recorded` and derives the counts of the shards it holds."""

    def __init__(self, recorded: MutableMapping[str, str]) -> None:
        self.recorded = recorded
        self._shards: dict[int, _ShardCounts] = {}

    def record(self, proof: ProofCreated | CredentialIssued, shard: int) -> bool:
        """Count `proof` (in `shard`), or the proof of a credential, unless it was counted
        before. True if it was new."""
        counted = CountedProof.of(proof, shard)
        if counted.key in self.recorded:
            return False
        self.recorded[counted.key] = counted.value
        self._shards.setdefault(shard, _ShardCounts()).add(counted)
        return True

    def rebuild(self, shards: Iterable[int]) -> list[str]:
        """Derive the counts again from `recorded`, keeping only the entries of `shards` (the
        ones held now). Returns the keys of entries that are not counted-proof entries."""
        held = set(shards)
        self._shards = {shard: _ShardCounts() for shard in held}
        unreadable = []
        for key, value in list(self.recorded.items()):
            try:
                counted = CountedProof.from_entry(key, value)
            except ValueError:
                unreadable.append(key)
                continue
            if counted.shard in held:
                self._shards[counted.shard].add(counted)
        return unreadable

    def by_tenant(self) -> dict[str, int]:
        return dict(self._sum(lambda counts: counts.by_tenant))

    def by_format(self) -> dict[tuple[str, str], int]:
        """Proofs per (tenant, format)."""
        return dict(self._sum(lambda counts: counts.by_format))

    def by_day(self) -> dict[tuple[str, str], int]:
        """Proofs per (tenant, UTC day of issue as YYYY-MM-DD)."""
        return dict(self._sum(lambda counts: counts.by_day))

    def lookup(self, tenant: str, sha256: str) -> str | None:
        """The id of the earliest-issued proof of the image `sha256` for `tenant`, if any."""
        found = [
            counts.earliest[tenant, sha256]
            for counts in self._shards.values()
            if (tenant, sha256) in counts.earliest
        ]
        return min(found)[1] if found else None

    def _sum(self, pick: Callable[[_ShardCounts], Mapping[K, int]]) -> Counter[K]:
        total: Counter[K] = Counter()
        for counts in self._shards.values():
            total.update(pick(counts))
        return total
