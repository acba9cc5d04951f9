"""The compute limit: what one core does when it only hashes and signs, images in memory.

Each distinct image goes through exactly the pipeline's CPU-bound steps (`survey_image`: the
hashes with their draft-mode policy, the window hashes and the local features; the proof
document, canonical JSON and the Ed25519 signature) in a tight loop; the cheapest of a few
repeats, in CPU seconds, is its cost. The limit of an event mix is the number of events over the
summed cost of the images they submit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

from streams.core.clock import now_millis
from streams.core.pipeline import ImageLimits, survey_image
from streams.core.proof_document import FeatureDigest, ProofDocument, SignedProof, sign_proof
from streams.core.signing import Signer
from streams.devtools.benchmarking.corpus import BenchImage
from streams.devtools.benchmarking.results import ComputeLimit

__all__ = ["available_cores", "least_cpu_seconds", "measure_limit", "prove_in_memory"]


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0))


def least_cpu_seconds(function: Callable[[], object], repeats: int) -> float:
    """The least CPU time of `repeats` calls of `function`: other load on the machine stretches
    wall time, and the least of a few is the call with the fewest interruptions."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        function()
        best = min(best, time.process_time() - started)
    return best


def prove_in_memory(
    image: BenchImage, signer: Signer, limits: ImageLimits, submitted_at_ms: int
) -> SignedProof:
    """The signed proof of `image`: what the pipeline computes between fetch and store."""
    surveyed = survey_image(image.data, limits, None)
    document = ProofDocument.for_event(
        event_id=image.name,
        tenant="bench",
        submitted_at_ms=submitted_at_ms,
        source_uri=f"inline:{image.name}",
        image=surveyed.facts,
        windows=surveyed.windows,
        features=FeatureDigest.of(surveyed.features),
    )
    return sign_proof(document, signer)


def measure_limit(
    corpus: Sequence[BenchImage],
    picks: Sequence[int],
    signer: Signer,
    limits: ImageLimits,
    *,
    repeats: int = 3,
    progress: Callable[[], None] = lambda: None,
) -> ComputeLimit:
    """The compute limit of the events submitting `corpus[pick]` for each pick."""
    wall: list[float] = []
    cpu: list[float] = []
    submitted_at_ms = now_millis()
    # The first proof pays for lazy imports and table set-ups that no later one does.
    prove_in_memory(corpus[0], signer, limits, submitted_at_ms)
    for image in corpus:
        timings = []
        for _ in range(repeats):
            started, started_cpu = time.perf_counter(), time.process_time()
            prove_in_memory(image, signer, limits, submitted_at_ms)
            timings.append((time.process_time() - started_cpu, time.perf_counter() - started))
        cpu.append(min(cpu_seconds for cpu_seconds, _ in timings))
        wall.append(min(wall_seconds for _, wall_seconds in timings))
        progress()
    return ComputeLimit(
        cpu_seconds_per_event=sum(cpu[pick] for pick in picks) / len(picks),
        cores=available_cores(),
        wall_seconds_per_event=sum(wall[pick] for pick in picks) / len(picks),
        cpu_seconds_by_image=tuple(cpu),
    )
