"""The centroid file: K-means centroids with the embedder id (`model_fingerprint`) and dimension
they belong to; centroids of another embedder or dimension are refused at load."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class CentroidsError(RuntimeError):
    """The centroid file cannot be used with this embedder; the message says why."""


@dataclass(frozen=True)
class CentroidSet:
    centroids: np.ndarray  # (k, dim) float32
    model_fingerprint: str
    seed: int
    sizes: list[int]
    fitted_at: float = field(default_factory=time.time)

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def dim(self) -> int:
        return int(self.centroids.shape[1])

    @property
    def id(self) -> str:
        digest = hashlib.sha256(self.model_fingerprint.encode())
        digest.update(np.ascontiguousarray(self.centroids, dtype=np.float32).tobytes())
        return digest.hexdigest()[:16]

    def assign(self, embeddings: np.ndarray) -> np.ndarray:
        """Nearest centroid (squared Euclidean) of each row."""
        c = self.centroids.astype(np.float64)
        e = np.asarray(embeddings, dtype=np.float64)
        d = (e**2).sum(1)[:, None] - 2 * e @ c.T + (c**2).sum(1)[None, :]
        return d.argmin(axis=1)


def save(path: Path, cset: CentroidSet) -> None:
    """Write atomically (a temporary file renamed), so a reader never sees half a file."""
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "model_fingerprint": cset.model_fingerprint,
        "dim": str(cset.dim),
        "k": str(cset.k),
        "seed": str(cset.seed),
        "sizes": json.dumps(cset.sizes),
        "fitted_at": repr(cset.fitted_at),
    }
    tmp = path.with_name(path.name + ".tmp")
    save_file({"centroids": cset.centroids.astype(np.float32)}, str(tmp), metadata=meta)
    tmp.replace(path)


def load(path: Path, model_fingerprint: str, dim: int) -> CentroidSet:
    """Read `path`; CentroidsError when it is unreadable or belongs to another model/dimension."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            centroids = f.get_tensor("centroids")
    except Exception as exc:  # safetensors raises its own error types for a corrupt file
        raise CentroidsError(f"cannot read centroid file {path}: {exc}") from None
    theirs = meta.get("model_fingerprint", "")
    if theirs != model_fingerprint:
        raise CentroidsError(
            f"centroid file {path} was fitted with a different embedder ({theirs!r}; this one is "
            f"{model_fingerprint!r}); refit with FitClusters or remove the file"
        )
    if centroids.ndim != 2 or centroids.shape[1] != dim or meta.get("dim") != str(dim):
        raise CentroidsError(
            f"centroid file {path} holds {centroids.shape[-1]}-dimensional centroids, this "
            f"embedder's embeddings have {dim}; refit with FitClusters or remove the file"
        )
    return CentroidSet(
        centroids=centroids,
        model_fingerprint=theirs,
        seed=int(meta.get("seed", "0")),
        sizes=[int(s) for s in json.loads(meta.get("sizes", "[]"))],
        fitted_at=float(meta.get("fitted_at", "0")),
    )
