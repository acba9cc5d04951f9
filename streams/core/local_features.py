"""Local features of a picture and the geometric check that two pictures show the same scene.

Window hashes (`streams.core.window_hashes`) miss a copy whose logo, caption or off-centre crop
moves every hash; ORB keypoints still pair up between such a copy and its picture, and a
similarity transform (shift, scale, small rotation) explaining most pairs confirms it. Unrelated
pictures with repetitive texture also pair up, but never under one plausible transform: the
limits below separate them (docs/verification.md has the measurements).

Features travel as a compact, bounded blob (a proof's is kept apart from its document, which
can only name the blob's digest); `LocalFeatures.from_bytes` validates every field, because
stored bytes are not to be trusted.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

__all__ = [
    "DESCRIPTOR_BYTES",
    "MAX_FEATURE_BYTES",
    "MAX_KEYPOINTS",
    "MAX_SIDE",
    "MIN_INLIERS",
    "GeometricMatch",
    "LocalFeatures",
    "MalformedFeatures",
    "local_features",
    "match_geometry",
]

# ORB keypoints kept per picture, detected on its luminance scaled to at most MAX_SIDE pixels:
# 500 at 640 pixels confirmed 0.91-0.97 of every copy family measured.
MAX_KEYPOINTS = 500
MAX_SIDE = 640
DESCRIPTOR_BYTES = 32

# Blob layout, little-endian: magic, width, height, keypoint count; then each keypoint's x and
# y in quarter pixels (uint16); then each keypoint's descriptor.
_MAGIC = b"CLF1"
_HEADER = struct.Struct("<4sHHH")
_POSITION = np.dtype("<u2")
_QUARTERS = 4
MAX_FEATURE_BYTES = _HEADER.size + MAX_KEYPOINTS * (2 * _POSITION.itemsize + DESCRIPTOR_BYTES)

# Lowe's ratio test: a pair counts only if its descriptor is clearly nearer than the next best.
_RATIO = 0.8
# Fewer pairs than this cannot support a transform estimate worth checking.
_MIN_PAIRS = 8
# RANSAC reprojection error in pixels of the scaled luminance, and its effort.
_REPROJECTION_PIXELS = 4.0
_RANSAC_ITERATIONS = 2000
_RANSAC_CONFIDENCE = 0.995

# What a confirming transform looks like. Unrelated pictures reached 57 inliers on repetitive
# graphics, but with a scale near 0 and inliers piled on a few pixels; copies had at least 23
# (5th percentile), scale near the resize factor and a rotation of a few degrees.
MIN_INLIERS = 12
MIN_INLIER_RATIO = 0.25
MIN_SCALE = 0.1
MAX_SCALE = 10.0
MAX_ROTATION_DEGREES = 10.0
MIN_HULL_SHARE = 0.02
# So many inliers confirm whatever area they cover (a tight crop of a detailed region).
AMPLE_INLIERS = 50


class MalformedFeatures(ValueError):
    """A feature blob that is not one `LocalFeatures.to_bytes` writes."""


@dataclass(frozen=True, slots=True)
class LocalFeatures:
    """ORB keypoints of a picture: positions on its scaled luminance and binary descriptors.

    `positions` holds x, y pairs in quarter pixels as little-endian uint16, `descriptors` 32
    bytes per keypoint, in the same order; `width` and `height` are those of the scaled
    luminance the keypoints were found on.
    """

    width: int
    height: int
    positions: bytes
    descriptors: bytes

    @property
    def count(self) -> int:
        return len(self.descriptors) // DESCRIPTOR_BYTES

    def to_bytes(self) -> bytes:
        """The blob a proof's digest covers."""
        header = _HEADER.pack(_MAGIC, self.width, self.height, self.count)
        return header + self.positions + self.descriptors

    @classmethod
    def from_bytes(cls, blob: bytes) -> LocalFeatures:
        """Read a blob back, refusing anything `to_bytes` cannot have written."""
        if not _HEADER.size <= len(blob) <= MAX_FEATURE_BYTES:
            raise MalformedFeatures(f"feature blob of {len(blob)} bytes")
        magic, width, height, count = _HEADER.unpack_from(blob)
        if magic != _MAGIC:
            raise MalformedFeatures("not a feature blob (wrong magic bytes)")
        if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
            raise MalformedFeatures(f"feature blob declares a {width}x{height} picture")
        if count > MAX_KEYPOINTS:
            raise MalformedFeatures(f"feature blob declares {count} keypoints")
        positions_end = _HEADER.size + count * 2 * _POSITION.itemsize
        if len(blob) != positions_end + count * DESCRIPTOR_BYTES:
            raise MalformedFeatures(f"feature blob of {len(blob)} bytes for {count} keypoints")
        positions = blob[_HEADER.size : positions_end]
        xy = np.frombuffer(positions, dtype=_POSITION).reshape(-1, 2)
        if count and (xy[:, 0].max() >= width * _QUARTERS or xy[:, 1].max() >= height * _QUARTERS):
            raise MalformedFeatures("a keypoint lies outside the picture")
        return cls(width, height, positions, blob[positions_end:])

    def _points(self) -> np.ndarray[Any, np.dtype[np.float32]]:
        quarters = np.frombuffer(self.positions, dtype=_POSITION).reshape(-1, 2)
        return (quarters / _QUARTERS).astype(np.float32)

    def _descriptor_matrix(self) -> np.ndarray[Any, np.dtype[np.uint8]]:
        return np.frombuffer(self.descriptors, dtype=np.uint8).reshape(-1, DESCRIPTOR_BYTES)


@dataclass(frozen=True, slots=True)
class GeometricMatch:
    """The similarity transform that best maps a copy's keypoints onto a proof's.

    `scale` and `rotation_degrees` describe the transform from copy to proof; `hull_share` is
    the area the inliers span on the proof's picture, as a share of it.
    """

    inliers: int
    inlier_ratio: float
    scale: float
    rotation_degrees: float
    hull_share: float

    @property
    def plausible(self) -> bool:
        """Whether the transform is one a CDN makes (scale, turn, spread), however few pairs
        support it."""
        # A quarter turn is an orientation the copy lost, not a different picture.
        turn = abs(self.rotation_degrees) % 90
        return (
            self.inlier_ratio >= MIN_INLIER_RATIO
            and MIN_SCALE <= self.scale <= MAX_SCALE
            and min(turn, 90 - turn) <= MAX_ROTATION_DEGREES
            and (self.hull_share >= MIN_HULL_SHARE or self.inliers >= AMPLE_INLIERS)
        )

    @property
    def confirms(self) -> bool:
        """Whether enough pairs support a plausible transform to show the same picture."""
        return self.inliers >= MIN_INLIERS and self.plausible


_NO_MATCH = GeometricMatch(
    inliers=0, inlier_ratio=0.0, scale=0.0, rotation_degrees=0.0, hull_share=0.0
)


def local_features(luma: Image.Image) -> LocalFeatures:
    """The ORB keypoints of `luma` (8-bit luminance, as `streams.core.imaging` decodes it)."""
    if luma.mode != "L":
        raise ValueError(f"features are found on 8-bit luminance, not on mode {luma.mode}")
    scale = MAX_SIDE / max(luma.size)
    if scale < 1:
        luma = luma.resize(
            (max(1, round(luma.width * scale)), max(1, round(luma.height * scale))),
            Image.Resampling.BOX,
        )
    samples = np.asarray(luma)
    detector = cv2.ORB.create(nfeatures=MAX_KEYPOINTS)
    keypoints, descriptors = detector.detectAndCompute(samples, None)
    if descriptors is None:
        return LocalFeatures(luma.width, luma.height, b"", b"")
    limit = np.array([luma.width, luma.height]) * _QUARTERS - 1
    quarters = np.array([keypoint.pt for keypoint in keypoints]) * _QUARTERS
    positions = np.clip(np.round(quarters), 0, limit).astype(_POSITION)
    return LocalFeatures(
        luma.width, luma.height, positions.tobytes(), descriptors.astype(np.uint8).tobytes()
    )


def match_geometry(query: LocalFeatures, proof: LocalFeatures) -> GeometricMatch:
    """Pair the copy's keypoints with the proof's and fit the similarity transform between them.

    A match with no inliers when too few keypoints pair up to fit one.
    """
    if query.count < _MIN_PAIRS or proof.count < _MIN_PAIRS:
        return _NO_MATCH
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    candidates = matcher.knnMatch(query._descriptor_matrix(), proof._descriptor_matrix(), k=2)
    pairs = [
        best for best, *rest in candidates if rest and best.distance < _RATIO * rest[0].distance
    ]
    if len(pairs) < _MIN_PAIRS:
        return _NO_MATCH
    source = query._points()[[pair.queryIdx for pair in pairs]]
    target = proof._points()[[pair.trainIdx for pair in pairs]]
    transform, mask = cv2.estimateAffinePartial2D(
        source,
        target,
        method=cv2.RANSAC,
        ransacReprojThreshold=_REPROJECTION_PIXELS,
        maxIters=_RANSAC_ITERATIONS,
        confidence=_RANSAC_CONFIDENCE,
    )
    if transform is None:
        return _NO_MATCH
    inlying = mask.ravel().astype(bool)
    inliers = int(inlying.sum())
    hull_share = 0.0
    if inliers >= 3:
        hull = cv2.convexHull(target[inlying])
        hull_share = float(cv2.contourArea(hull)) / (proof.width * proof.height)
    return GeometricMatch(
        inliers=inliers,
        inlier_ratio=inliers / len(pairs),
        scale=float(math.hypot(transform[0, 0], transform[1, 0])),
        rotation_degrees=math.degrees(math.atan2(transform[1, 0], transform[0, 0])),
        hull_share=hull_share,
    )
