"""Measure how well verification survives what CDNs do, on the corpus of bench/corpus.py.

Every original and distractor is proved as the pipeline proves it (signed version 2 proofs and
their feature blobs in a proof store, indexed by SHA-256, pHash and window hashes); every
original is served in each family of `CopyFamily`, and each copy is verified by the
`Verifier` the CLI and the verify service run, over in-memory indexes that answer as the
PostgreSQL proof index does (`WindowIndex`: windows within pHash or dHash 8). Distractors and
other shots of an original's scene are verified against the originals' proofs. Beside the
verifier, the same rule is applied exhaustively, with no index (every proof compared): a copy
is accepted on a window pair within pHash 8 and dHash 12, otherwise on the ORB/RANSAC check
of the 5 proofs whose closest pair of windows is nearest, within 40 bits of pHash plus dHash;
what the verifier misses against it is what the indexed search costs. Prints recall per
family (the global rule, each stage alone, the exhaustive rule and the verifier), false
positives, CPU per proof and per copy, bytes per proof; writes
the figures as JSON under bench/results/ and the distance and inlier distributions as a PNG
beside it (needs the `bench` extra: matplotlib). docs/verification.md records the output.

    .venv/bin/python bench/robustness.py [--corpus ~/.cache/credlink/cdn-corpus]
        [--originals N] [--distractors N]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageOps
from PIL.JpegImagePlugin import JpegImageFile

from streams.core.image_verifier import (
    DHASH_THRESHOLD,
    PERCEPTUAL_THRESHOLD,
    StoredProofs,
    Verdict,
    Verifier,
)
from streams.core.imaging import JPEG_DRAFT_MIN_SIDE, hashing_luma, inspect_image
from streams.core.local_features import (
    MIN_INLIERS,
    GeometricMatch,
    LocalFeatures,
    local_features,
    match_geometry,
)
from streams.core.perceptual_index import IndexEntry, PerceptualIndex
from streams.core.pipeline import ImageLimits, store_proof, survey_image
from streams.core.proof_document import FeatureDigest, ProofDocument, sign_proof
from streams.core.signing import KeySet, Signer
from streams.core.stores.filesystem import FilesystemProofStore
from streams.core.window_hashes import (
    CANDIDATE_DISTANCE,
    WindowComparison,
    WindowHash,
    compare_windows,
    geometric_candidates,
    proof_windows,
    query_windows,
)
from streams.core.window_index import WINDOW_SEARCH_DISTANCE, WindowIndex
from streams.devtools.benchmarking.cdn_copies import CopyFamily, cdn_copy
from streams.devtools.benchmarking.corpus import build_corpus
from streams.devtools.benchmarking.results import percentile
from streams.devtools.samples import encode

DEFAULT_CORPUS = Path.home() / ".cache" / "credlink" / "cdn-corpus"
RESULTS = Path(__file__).parent / "results"
NO_LIMIT = 1 << 31  # the corpus is trusted: no size or pixel limit applies
# The upload a proof is made from: a camera-quality JPEG of the corpus picture.
UPLOAD_QUALITY = 92
WINDOW_HASH_BYTES = 16
# The image mix of `credlink bench` (bench/hash_reduce.py uses the same), for the proving cost.
BENCH_SEED = 20261128
BENCH_IMAGES = 24
REPEATS = 3

T = TypeVar("T")
SIGNER = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
UNBOUNDED = ImageLimits(max_bytes=NO_LIMIT, max_pixels=NO_LIMIT)


@dataclass
class ProofSide:
    """A proof store and the indexes a proof index would hold, with the verifier over them."""

    store: FilesystemProofStore
    exact: dict[str, str] = field(default_factory=dict)
    global_hashes: PerceptualIndex = field(default_factory=PerceptualIndex)
    windows: WindowIndex = field(default_factory=WindowIndex)
    keys: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def prove(self, name: str, data: bytes) -> None:
        """Prove `data` as the pipeline does and index the proof under corpus id `name`."""
        surveyed = survey_image(data, UNBOUNDED, None)
        document = ProofDocument.for_event(
            event_id=name,
            tenant="bench",
            submitted_at_ms=0,
            source_uri=f"corpus:{name}",
            image=surveyed.facts,
            windows=surveyed.windows,
            features=FeatureDigest.of(surveyed.features),
        )
        stored = store_proof(
            self.store,
            key_prefix="proofs/",
            document=document,
            signed=sign_proof(document, SIGNER),
            features=surveyed.features,
            retention=timedelta(days=1),
        )
        self.file(document, stored.key, name)

    def file(self, document: ProofDocument, key: str, name: str) -> None:
        proof_id = document.proof_id
        self.keys[proof_id], self.names[proof_id] = key, name
        self.exact.setdefault(document.image.sha256, proof_id)
        self.global_hashes.add(
            IndexEntry(proof_id, "bench", document.image.phash, document.image.dhash)
        )
        assert document.windows is not None
        self.windows.add(proof_id, "bench", document.windows)

    def verifier(self, window_search_distance: int) -> Verifier:
        stored = StoredProofs(self.store, self.keys.get)
        return Verifier(
            exact=lambda _tenant, sha256: self.exact.get(sha256),
            perceptual=self.global_hashes,
            proofs=stored,
            keyset=KeySet([SIGNER.public_key]),
            max_image_bytes=NO_LIMIT,
            max_image_pixels=NO_LIMIT,
            windows=self.windows,
            features=stored.features,
            window_search_distance=window_search_distance,
        )

    def accepted(self, verdict: Verdict) -> str | None:
        """The corpus id of the proof a verdict verified, if it verified one."""
        return self.names[verdict.proof_id] if verdict.verified and verdict.proof_id else None


@dataclass(frozen=True)
class Hashed:
    """A picture as a proof records it, or a copy as a verifier hashes it.

    `name` is the corpus id (a copy's is its original's); `kind` is a proof's role (original,
    distractor) or a copy's family.
    """

    name: str
    kind: str
    phash: int
    dhash: int
    windows: tuple[WindowHash, ...]
    features: LocalFeatures


@dataclass
class Verification:
    """What verifying one copy against the proofs accepted, and on which evidence."""

    by_windows: set[str] = field(default_factory=set)
    by_geometry: set[str] = field(default_factory=set)
    by_global_hash: set[str] = field(default_factory=set)
    # For the distributions: the window comparison with each proof, and each geometric check.
    comparisons: dict[str, WindowComparison] = field(default_factory=dict)
    checks: dict[str, GeometricMatch] = field(default_factory=dict)

    @property
    def accepted(self) -> set[str]:
        return self.by_windows or self.by_geometry


def cpu_ms(function: Callable[[], T]) -> tuple[T, float]:
    """The value of `function()` and the CPU milliseconds it took (every thread of the process)."""
    start = time.process_time()
    value = function()
    return value, (time.process_time() - start) * 1000


def decoded_luma(data: bytes) -> Image.Image:
    """The luminance the pipeline hashes: a JPEG decoded in draft mode, oriented, reduced."""
    with Image.open(io.BytesIO(data)) as picture:
        if isinstance(picture, JpegImageFile):
            picture.draft("L", (JPEG_DRAFT_MIN_SIDE, JPEG_DRAFT_MIN_SIDE))
        picture.load()
        return hashing_luma(ImageOps.exif_transpose(picture))


def hashed(
    name: str,
    kind: str,
    data: bytes,
    windows_of: Callable[[Image.Image], tuple[WindowHash, ...]],
    costs: dict[str, list[float]],
    step: str,
) -> Hashed:
    """Hash `data` as the pipeline would and `windows_of` its luminance, adding the CPU each
    part took to `costs` under `{step}_baseline_ms`, `_windows_ms` and `_features_ms`."""
    facts, baseline = cpu_ms(lambda: inspect_image(data, max_bytes=NO_LIMIT, max_pixels=NO_LIMIT))
    luma = decoded_luma(data)
    windows, window_ms = cpu_ms(lambda: windows_of(luma))
    features, feature_ms = cpu_ms(lambda: local_features(luma))
    costs[f"{step}_baseline_ms"].append(baseline)
    costs[f"{step}_windows_ms"].append(window_ms)
    costs[f"{step}_features_ms"].append(feature_ms)
    return Hashed(name, kind, int(facts.phash, 16), int(facts.dhash, 16), windows, features)


def prove(name: str, role: str, data: bytes, costs: dict[str, list[float]]) -> Hashed:
    return hashed(name, role, data, proof_windows, costs, "proof")


def copy_of(source: str, family: str, data: bytes, costs: dict[str, list[float]]) -> Hashed:
    return hashed(source, family, data, query_windows, costs, "copy")


def verify(copy: Hashed, proofs: Sequence[Hashed], costs: dict[str, list[float]]) -> Verification:
    """Verify `copy` against every proof, as a verifier whose index holds `proofs` would."""
    result = Verification()
    start = time.process_time()
    for proof in proofs:
        if (copy.phash ^ proof.phash).bit_count() <= PERCEPTUAL_THRESHOLD and (
            copy.dhash ^ proof.dhash
        ).bit_count() <= DHASH_THRESHOLD:
            result.by_global_hash.add(proof.name)
        comparison = compare_windows(copy.windows, proof.windows)
        if comparison is None:
            continue
        result.comparisons[proof.name] = comparison
        if comparison.matching_window is not None:
            result.by_windows.add(proof.name)
    costs["match_windows_ms"].append((time.process_time() - start) * 1000)
    by_id = {proof.name: proof for proof in proofs}
    for proof_id in geometric_candidates(result.comparisons):
        check, check_ms = cpu_ms(partial(match_geometry, copy.features, by_id[proof_id].features))
        costs["geometric_check_ms"].append(check_ms)
        result.checks[proof_id] = check
        if check.confirms:
            result.by_geometry.add(proof_id)
    return result


def read_manifest(corpus: Path) -> list[dict[str, str]]:
    with (corpus / "manifest.csv").open(newline="") as manifest:
        return list(csv.DictReader(manifest))


def picture(corpus: Path, entry: dict[str, str]) -> Image.Image:
    folder = {"original": "originals", "distractor": "distractors", "hardneg": "hardneg"}
    with Image.open(corpus / folder[entry["role"]] / f"{entry['id']}.png") as stored:
        return stored.convert("RGB")


def share(values: Iterable[bool]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def proving_cost(seed: int) -> dict[str, float]:
    """What window hashes and features add to proving the image mix `credlink bench` submits:
    CPU ms per distinct image (0.3 to 12 MP JPEG, PNG and WebP), the least of REPEATS runs."""
    costs: dict[str, list[float]] = defaultdict(list)
    for image in build_corpus(seed, BENCH_IMAGES):
        luma = decoded_luma(image.data)
        for name, step in (
            (
                "baseline_ms",
                partial(inspect_image, image.data, max_bytes=NO_LIMIT, max_pixels=NO_LIMIT),
            ),
            ("windows_ms", partial(proof_windows, luma)),
            ("features_ms", partial(local_features, luma)),
        ):
            costs[name].append(min(cpu_ms(step)[1] for _ in range(REPEATS)))
    figures = {name: mean(values) for name, values in costs.items()}
    figures["increase"] = (figures["windows_ms"] + figures["features_ms"]) / figures["baseline_ms"]
    return figures


def histogram(values: Iterable[int]) -> dict[int, int]:
    """How many times each value occurs, by value: what the JSON keeps of a distribution."""
    return dict(sorted(Counter(values).items()))


def occurrences(counts: dict[int, int]) -> list[int]:
    return [value for value, count in counts.items() for _ in range(count)]


def run(
    corpus: Path,
    originals: int | None,
    distractors: int | None,
    workspace: Path,
    window_search_distance: int,
) -> dict[str, Any]:
    entries = read_manifest(corpus)
    chosen = {
        "original": [e for e in entries if e["role"] == "original"][:originals],
        "distractor": [e for e in entries if e["role"] == "distractor"][:distractors],
        "hardneg": [e for e in entries if e["role"] == "hardneg"],
    }
    costs: dict[str, list[float]] = defaultdict(list)
    # Pillow's and OpenCV's first calls load plugins and tables: paid once, not per proof.
    first = encode(picture(corpus, chosen["original"][0]), "JPEG", quality=UPLOAD_QUALITY)
    copy_of("warm-up", "warm-up", first, defaultdict(list))
    proofs: list[Hashed] = []
    copies: list[Hashed] = []
    copy_bytes: list[bytes] = []
    # The verifier's view: every proof, and the originals' alone (what unrelated pictures are
    # verified against), in one store.
    store = FilesystemProofStore(workspace / "proofs")
    everything, originals_only = ProofSide(store), ProofSide(store)
    for index, entry in enumerate(chosen["original"]):
        source = picture(corpus, entry)
        upload = encode(source, "JPEG", quality=UPLOAD_QUALITY)
        proofs.append(prove(entry["id"], "original", upload, costs))
        everything.prove(entry["id"], upload)
        for family in CopyFamily:
            copy_bytes.append(cdn_copy(source, family, index))
            copies.append(copy_of(entry["id"], family, copy_bytes[-1], costs))
        print(f"original {index + 1}/{len(chosen['original'])}", flush=True)
    for proof_id, name in everything.names.items():
        key = everything.keys[proof_id]
        document = ProofDocument.from_dict(json.loads(store.get(key))["proof"])
        originals_only.file(document, key, name)
    unrelated: list[Hashed] = []
    unrelated_bytes: list[bytes] = []
    for index, entry in enumerate(chosen["distractor"]):
        data = encode(picture(corpus, entry), "PNG")
        proofs.append(prove(entry["id"], "distractor", data, defaultdict(list)))
        everything.prove(entry["id"], data)
        unrelated.append(copy_of(entry["id"], "distractor", data, defaultdict(list)))
        unrelated_bytes.append(data)
        if index % 200 == 0:
            print(f"distractor {index + 1}/{len(chosen['distractor'])}", flush=True)
    for entry in chosen["hardneg"]:
        data = encode(picture(corpus, entry), "PNG")
        unrelated.append(copy_of(entry["id"], "same-scene", data, defaultdict(list)))
        unrelated_bytes.append(data)
    original_proofs = [proof for proof in proofs if proof.kind == "original"]
    verifier = everything.verifier(window_search_distance)
    originals_verifier = originals_only.verifier(window_search_distance)
    methods: dict[str, Counter[str]] = defaultdict(Counter)

    recall: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    wrong: dict[str, int] = defaultdict(int)
    own_distance: dict[str, list[int]] = defaultdict(list)
    other_distance: list[int] = []
    own_inliers: list[int] = []
    # Wrong candidates, by whether their transform is one a CDN makes (only the count of
    # inliers then keeps them out) or not.
    wrong_inliers: dict[bool, list[int]] = {True: [], False: []}
    for number, (copy, data) in enumerate(zip(copies, copy_bytes, strict=True)):
        verdict, verify_ms = cpu_ms(partial(verifier.verify, data))
        costs["verifier_ms"].append(verify_ms)
        found = everything.accepted(verdict)
        recall[copy.kind]["verifier"].append(found == copy.name)
        wrong["copy verified for another proof by the verifier"] += found not in (None, copy.name)
        methods[copy.kind][verdict.similarity.method if verdict.similarity else "none"] += 1
        result = verify(copy, proofs, costs)
        recall[copy.kind]["exhaustive"].append(copy.name in result.accepted)
        recall[copy.kind]["windows"].append(copy.name in result.by_windows)
        recall[copy.kind]["geometry"].append(copy.name in result.by_geometry)
        recall[copy.kind]["global hash (today)"].append(copy.name in result.by_global_hash)
        wrong["copy accepted for another proof"] += bool(result.accepted - {copy.name})
        wrong["copy accepted for another proof, today's rule"] += bool(
            result.by_global_hash - {copy.name}
        )
        distances = {proof_id: c.nearest for proof_id, c in result.comparisons.items()}
        own_distance[copy.kind].append(distances.pop(copy.name, 128))
        others = list(distances.values())
        other_distance.append(min(others, default=128))
        for proof_id, check in result.checks.items():
            if proof_id == copy.name:
                own_inliers.append(check.inliers)
            else:
                wrong_inliers[check.plausible].append(check.inliers)
        if number % 500 == 0:
            print(f"copy {number + 1}/{len(copies)}", flush=True)
    for copy, data in zip(unrelated, unrelated_bytes, strict=True):
        result = verify(copy, original_proofs, defaultdict(list))
        kind = "distractor" if copy.kind == "distractor" else "same-scene shot"
        found = originals_only.accepted(originals_verifier.verify(data))
        wrong[f"{kind} verified for an original by the verifier"] += found is not None
        wrong[f"{kind} accepted for an original"] += bool(result.accepted)
        wrong[f"{kind} accepted for an original, today's rule"] += bool(result.by_global_hash)
        if copy.kind != "distractor":
            continue  # another shot of the scene is neither a copy nor unrelated
        other_distance.append(min((c.nearest for c in result.comparisons.values()), default=128))
        for check in result.checks.values():
            wrong_inliers[check.plausible].append(check.inliers)

    families = {
        family: {rule: share(values) for rule, values in rules.items()}
        for family, rules in recall.items()
    }
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_end": os.getloadavg(),
        },
        "corpus": {role: len(values) for role, values in chosen.items()},
        "proofs_indexed": len(proofs),
        "copies": len(copies),
        "recall": families,
        "minimum_recall": min(rules["verifier"] for rules in families.values()),
        "verified_by": {family: dict(counts) for family, counts in methods.items()},
        "false_positives": dict(wrong),
        "cpu_ms": {name: mean(values) for name, values in costs.items()},
        "proof_cost_increase": (mean(costs["proof_windows_ms"]) + mean(costs["proof_features_ms"]))
        / mean(costs["proof_baseline_ms"]),
        "bytes_per_proof": {
            "window_hashes": mean(
                [len(proof.windows) * WINDOW_HASH_BYTES for proof in original_proofs]
            ),
            "feature_blob": mean([len(proof.features.to_bytes()) for proof in original_proofs]),
        },
        "distributions": {
            "own_nearest_window_distance": histogram(
                d for values in own_distance.values() for d in values
            ),
            "own_nearest_window_distance_p95": {
                family: percentile(values, 0.95) for family, values in own_distance.items()
            },
            "unrelated_nearest_window_distance": histogram(other_distance),
            "own_candidate_inliers": histogram(own_inliers),
            "wrong_candidate_inliers_plausible_transform": histogram(wrong_inliers[True]),
            "wrong_candidate_inliers_implausible_transform": histogram(wrong_inliers[False]),
        },
    }


def print_tables(figures: dict[str, Any]) -> None:
    recall = figures["recall"]
    rules = ["global hash (today)", "windows", "geometry", "exhaustive", "verifier"]
    print("\n| copy family | " + " | ".join(rules) + " |")
    print("|---" * (len(rules) + 1) + "|")
    for family, by_rule in recall.items():
        print(f"| {family} | " + " | ".join(f"{by_rule[rule]:.2f}" for rule in rules) + " |")
    print(f"\nminimum recall (verifier): {figures['minimum_recall']:.2f}")
    print("\n| false positive | count |\n|---|---|")
    for kind, count in figures["false_positives"].items():
        print(f"| {kind} | {count} |")
    print("\n| cost | mean |\n|---|---|")
    for name, value in figures["cpu_ms"].items():
        print(f"| {name} | {value:.1f} ms |")
    print(f"| proving cost increase | {100 * figures['proof_cost_increase']:.0f} % |")
    mix = figures["proving_cost_on_bench_mix"]
    print(
        f"| proving the `credlink bench` image mix | {mix['baseline_ms']:.1f} ms + windows "
        f"{mix['windows_ms']:.1f} ms + features {mix['features_ms']:.1f} ms "
        f"(+{100 * mix['increase']:.0f} %) |"
    )
    for name, value in figures["bytes_per_proof"].items():
        print(f"| {name} | {value:.0f} B |")
    distributions = figures["distributions"]
    own = occurrences(distributions["own_nearest_window_distance"])
    unrelated = occurrences(distributions["unrelated_nearest_window_distance"])
    print(
        "\nnearest windows, pHash + dHash bits: copies p50/p95 "
        f"{percentile(own, 0.5)}/{percentile(own, 0.95)}; unrelated min/p1/p5 "
        f"{min(unrelated)}/{percentile(unrelated, 0.01)}/{percentile(unrelated, 0.05)}"
    )
    true_inliers = occurrences(distributions["own_candidate_inliers"])
    plausible = occurrences(distributions["wrong_candidate_inliers_plausible_transform"])
    implausible = occurrences(distributions["wrong_candidate_inliers_implausible_transform"])
    if true_inliers:
        print(
            f"ORB inliers: true candidates p5/p50 {percentile(true_inliers, 0.05)}/"
            f"{percentile(true_inliers, 0.5)}; wrong candidates with a plausible transform "
            f"max {max(plausible, default=0)}, with an implausible one "
            f"max {max(implausible, default=0)}"
        )


def draw(figures: dict[str, Any], path: Path) -> bool:
    """The distance and inlier distributions as a PNG; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        return False
    distributions = figures["distributions"]
    own = occurrences(distributions["own_nearest_window_distance"])
    true_inliers = occurrences(distributions["own_candidate_inliers"])
    figure, (hashes, inliers) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    top = max([*true_inliers, 1])
    panels = (
        (
            hashes,
            list(range(0, 81, 2)),
            {
                "copy vs its own proof": own,
                "vs nearest unrelated proof": occurrences(
                    distributions["unrelated_nearest_window_distance"]
                ),
            },
        ),
        (
            inliers,
            [0, *[2**k for k in range(0, top.bit_length() + 1)]],
            {
                "true candidate": true_inliers,
                "wrong candidate, plausible transform": occurrences(
                    distributions["wrong_candidate_inliers_plausible_transform"]
                ),
            },
        ),
    )
    for axes, bins, series in panels:
        for label, values in series.items():
            axes.hist(values, bins=bins, alpha=0.6, label=label)
    hashes.axvline(CANDIDATE_DISTANCE + 0.5, color="grey", linestyle=":", label="geometric check")
    hashes.set(
        xlabel="nearest pair of windows: pHash + dHash distance (bits)",
        ylabel="copies",
        yscale="log",
    )
    hashes.legend()
    inliers.hist(
        occurrences(distributions["wrong_candidate_inliers_implausible_transform"]),
        bins=panels[1][1],
        histtype="step",
        color="grey",
        label="wrong candidate, implausible transform",
    )
    inliers.axvline(MIN_INLIERS, color="black", linestyle="--", label="confirm")
    inliers.set(xlabel="ORB/RANSAC inliers", ylabel="candidates", xscale="symlog", yscale="log")
    inliers.set_xlim(left=0)
    inliers.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--originals", type=int, help="only the first N originals")
    parser.add_argument("--distractors", type=int, help="only the first N distractors")
    parser.add_argument(
        "--window-search-distance",
        type=int,
        default=WINDOW_SEARCH_DISTANCE,
        help="the verifier's window search radius, in bits of pHash or dHash",
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="credlink-robustness-") as workspace:
        figures = run(
            arguments.corpus,
            arguments.originals,
            arguments.distractors,
            Path(workspace),
            arguments.window_search_distance,
        )
    figures["window_search_distance"] = arguments.window_search_distance
    figures["proving_cost_on_bench_mix"] = proving_cost(BENCH_SEED)
    print_tables(figures)
    RESULTS.mkdir(exist_ok=True)
    stem = "robustness-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{stem}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nwrote {RESULTS / stem}.json", end="")
    print(f" and {stem}.png" if draw(figures, RESULTS / f"{stem}.png") else "")


if __name__ == "__main__":
    main()
