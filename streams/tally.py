"""What the proof-count tables record for each proof event, and what a duplicate does.

Every key a tally writes starts with the tenant, so all of a tenant's state lives in the
partition its events are grouped into. The tables are plain mappings here; the Faust layer
passes its changelog-backed tables.

Rules:
- A proof id seen before (a replayed or redelivered event) changes nothing: counts are of
  distinct proofs, so at-least-once delivery never inflates them.
- A second submission of the same image by another event is a new proof (its own event id and
  issue time) and is counted; the (tenant, SHA-256) lookup keeps pointing at the first proof.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from streams.codecs.records import ProofCreated

__all__ = ["ProofTally", "day_of", "table_key"]


def table_key(*parts: str) -> str:
    """A composite table key that no tenant name can forge (a JSON array, not `a|b`)."""
    return json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))


def day_of(issued_at_ms: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=issued_at_ms)).strftime(
        "%Y-%m-%d"
    )


@dataclass
class ProofTally:
    seen: MutableMapping[str, bool]
    by_tenant: MutableMapping[str, int]
    by_format: MutableMapping[str, int]
    by_day: MutableMapping[str, int]
    lookup: MutableMapping[str, str]

    def record(self, proof: ProofCreated) -> bool:
        """Count `proof` unless it was counted before. True if it was new."""
        seen_key = table_key(proof.tenant, proof.proof_id)
        if seen_key in self.seen:
            return False
        self.seen[seen_key] = True
        self.by_tenant[proof.tenant] += 1
        self.by_format[table_key(proof.tenant, proof.format)] += 1
        self.by_day[table_key(proof.tenant, day_of(proof.issued_at))] += 1
        lookup_key = table_key(proof.tenant, proof.sha256)
        if lookup_key not in self.lookup:
            self.lookup[lookup_key] = proof.proof_id
        return True
