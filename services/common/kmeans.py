"""K-means with k-means++ initialisation, deterministic for a seed (numpy, float64): the classifier
fits its centroid sets with it and learning its validation-chosen clusters. Needs numpy, which
only those two services install."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KMeansResult:
    centroids: np.ndarray  # (k, dim)
    assignments: np.ndarray  # (n,)
    inertia: float
    iterations: int


def _sq_distances(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return (
        (points**2).sum(axis=1)[:, None]
        - 2 * points @ centroids.T
        + (centroids**2).sum(axis=1)[None, :]
    ).clip(min=0)


def kmeans_pp_init(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """First centre uniformly, each next one with probability proportional to D(x)^2."""
    n = points.shape[0]
    centres = [points[rng.integers(n)]]
    closest = _sq_distances(points, np.asarray(centres))[:, 0]
    for _ in range(1, k):
        total = closest.sum()
        # All points coincide with a centre already: any point will do.
        index = rng.integers(n) if total <= 0 else rng.choice(n, p=closest / total)
        centres.append(points[index])
        closest = np.minimum(closest, _sq_distances(points, points[index][None, :])[:, 0])
    return np.asarray(centres)


def kmeans(points: np.ndarray, k: int, seed: int, max_iter: int = 100) -> KMeansResult:
    """Lloyd's algorithm until assignments stop changing or `max_iter` iterations."""
    points = np.asarray(points, dtype=np.float64)
    if not 1 <= k <= points.shape[0]:
        raise ValueError(f"k must be between 1 and the number of points ({points.shape[0]})")
    rng = np.random.default_rng(seed)
    centroids = kmeans_pp_init(points, k, rng)
    assignments = np.full(points.shape[0], -1)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007
        new = _sq_distances(points, centroids).argmin(axis=1)
        if np.array_equal(new, assignments):
            break
        assignments = new
        for c in range(k):
            members = points[assignments == c]
            # An emptied cluster keeps its centre (it may win points back).
            if len(members):
                centroids[c] = members.mean(axis=0)
    distances = _sq_distances(points, centroids)
    assignments = distances.argmin(axis=1)
    inertia = float(distances[np.arange(len(points)), assignments].sum())
    return KMeansResult(centroids, assignments, inertia, iterations)
