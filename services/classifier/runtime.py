"""The classifier at run time, without gRPC: loads the model in the background (retrying with
back-off while it cannot be had), warms it up, and then classifies, embeds and fits clusters
through the dynamic batcher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.classifier.config import ClassifierSettings
from services.classifier.tiers import TierPolicy

logger = logging.getLogger(__name__)


async def _in_daemon_thread(fn):
    """Run blocking `fn` on a daemon thread: a download or load that is still running when
    the process is asked to stop must not hold up its exit (the default executor would)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def settle(setter, value) -> None:
        if not future.done():
            setter(value)

    def target() -> None:
        try:
            outcome = (future.set_result, fn())
        except BaseException as exc:  # handed to the awaiting task, which reports it
            outcome = (future.set_exception, exc)
        # RuntimeError: the loop has closed, the process is stopping and nobody awaits this.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=target, name="model-loader", daemon=True).start()
    return await future


class NotReady(RuntimeError):
    """The model is not loaded (yet); the message says why."""


class InvalidInput(ValueError):
    """The request cannot be served as asked; the message says what to change."""


class TooMany(RuntimeError):
    """More texts than the configured limit."""


@dataclass(frozen=True)
class Classified:
    output: object  # engine.Output
    tier: str
    tier_score: float
    scoring: str
    tier_model: str


@dataclass(frozen=True)
class FitResult:
    cluster_set: object  # centroids.CentroidSet
    assignments: list[int]
    inertia: float
    iterations: int
    path: Path | None  # None: stored in learning


class ClassifierRuntime:
    def __init__(self, settings: ClassifierSettings) -> None:
        self.settings = settings
        self.policy = TierPolicy(
            complexity_thresholds=tuple(settings.tier_thresholds),  # type: ignore[arg-type]
            compass_thresholds=tuple(settings.compass_thresholds),  # type: ignore[arg-type]
            models=dict(settings.tier_models),
        )
        self.engine = None
        self.batcher = None
        self.status = f"the classifier model is loading ({settings.model}); retry shortly"
        self.centroids_note = "no centroids yet: fit them with FitClusters"
        self.device = ""
        self._fit_lock = asyncio.Lock()
        self.shared = None
        if settings.learning_addr:
            from services.classifier.shared_centroids import SharedCentroids

            self.shared = SharedCentroids(settings.learning_addr)
            self.centroids_note = (
                "no centroids for this model in learning yet: fit them with FitClusters"
            )
        self._poller: asyncio.Task | None = None

    @property
    def ready(self) -> bool:
        return self.batcher is not None

    def _load(self):
        """Blocking: resolve, load, warm up (runs on a thread)."""
        from services.classifier import checkpoint
        from services.classifier.engine import Engine

        directory = checkpoint.resolve(self.settings.model, self.settings.cache_dir)
        logger.info("loading the classifier model from %s", directory)
        engine = Engine.load(
            directory,
            device=self.settings.device,
            quantize_int8=self.settings.quantize_int8,
            threads=self.settings.threads,
            onednn=self.settings.onednn,
        )
        engine.warm_up(self.max_batch_for(engine.device))
        return engine

    def max_batch_for(self, device: str) -> int:
        if self.settings.max_batch:
            return self.settings.max_batch
        return 8 if device == "cpu" else 128

    async def refresh_centroids(self, engine) -> bool:
        """Adopt the newest centroid set learning holds for this model; True when it changed.
        Failures are logged and noted (GetClusters says them), never raised: clusters are
        optional to classification, and the next poll tries again."""
        from services.classifier.centroids import CentroidsError
        from services.classifier.shared_centroids import StoreUnavailable

        try:
            newest = await self.shared.newest(engine.fingerprint, engine.dim, engine.centroids)
        except (StoreUnavailable, CentroidsError) as exc:
            if self.centroids_note != str(exc):
                logger.warning("centroids: %s", exc)
            # Keep the set in use (if any): a learning outage must not change cluster ids.
            if engine.centroids is None:
                self.centroids_note = str(exc)
            return False
        if newest is None or newest is engine.centroids:
            return False
        engine.centroids = newest
        self.centroids_note = ""
        logger.info(
            "centroids %s (k=%d) loaded from learning (%s)", newest.id, newest.k, self.shared.target
        )
        return True

    async def _poll_centroids(self, engine) -> None:
        while True:
            await asyncio.sleep(self.settings.centroids_poll_s)
            await self.refresh_centroids(engine)

    def _load_centroids(self, engine) -> None:
        from services.classifier import centroids

        path = Path(self.settings.centroids)
        if not path.exists():
            return
        try:
            engine.centroids = centroids.load(path, engine.fingerprint, engine.dim)
        except centroids.CentroidsError as exc:
            self.centroids_note = f"centroids refused: {exc}"
            logger.error("%s", self.centroids_note)
            return
        logger.info("centroids loaded from %s (k=%d)", path, engine.centroids.k)

    async def load_until_ready(self, on_ready) -> None:
        """Try to load until it works, backing off from 1 s to retry_max_s; then `on_ready()`."""
        delay = 1.0
        while True:
            try:
                engine = await _in_daemon_thread(self._load)
                break
            except Exception as exc:  # any failure: log it, report it, try again later
                self.status = (
                    f"the classifier model is unavailable: {exc}; retrying every "
                    f"{min(delay * 2, self.settings.retry_max_s):.0f} s at most"
                )
                logger.error(
                    "cannot load the classifier model (next attempt in %.0f s): %s", delay, exc
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.retry_max_s)
        from services.classifier.batcher import CPU_PADDING, GPU_PADDING, Batcher

        if self.shared is not None:
            await self.refresh_centroids(engine)
            self._poller = asyncio.create_task(self._poll_centroids(engine), name="centroids")
        else:
            self._load_centroids(engine)
        self.engine = engine
        self.device = engine.device
        max_batch = self.max_batch_for(engine.device)
        batcher = Batcher(
            engine.run,
            max_batch=max_batch,
            max_delay_s=self.settings.max_delay_ms / 1000,
            queue_size=max(self.settings.queue_size, self.settings.batch_limit),
            length=lambda encoded: len(encoded.ids),
            padding=CPU_PADDING if engine.device == "cpu" else GPU_PADDING,
        )
        batcher.start()
        self.batcher = batcher
        self.status = "ready"
        logger.info(
            "classifier model ready on %s (max batch %d, int8 %s, fingerprint %s)",
            engine.device,
            max_batch,
            engine.quantized,
            engine.fingerprint,
        )
        await on_ready()

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        if self.batcher is not None:
            await self.batcher.close()
        if self.shared is not None:
            await self.shared.close()

    def _require_ready(self):
        if self.batcher is None:
            raise NotReady(self.status)
        return self.engine, self.batcher

    @staticmethod
    def _check_texts(texts: list[str]) -> None:
        for i, text in enumerate(texts):
            if not text.strip():
                where = f"texts[{i}]" if len(texts) > 1 else "text"
                raise InvalidInput(f"{where} is empty; send the prompt to classify")

    async def outputs(self, texts: list[str]) -> list:
        engine, batcher = self._require_ready()
        self._check_texts(texts)
        return await batcher.submit(engine.encode(texts))

    async def classify(self, texts: list[str], scoring: str | None) -> list[Classified]:
        if len(texts) > self.settings.batch_limit:
            raise TooMany(
                f"{len(texts)} texts is more than the batch limit of {self.settings.batch_limit} "
                "(FREESCALING_CLASSIFIER_BATCH_LIMIT); split the batch"
            )
        scoring = scoring or self.settings.scoring
        results = []
        for output in await self.outputs(texts):
            tier, value, model = self.policy.decide(output.scores, scoring)
            results.append(Classified(output, tier, value, scoring, model))
        return results

    async def embed(self, texts: list[str], limit: bool = True) -> list:
        if limit and len(texts) > self.settings.batch_limit:
            raise TooMany(
                f"{len(texts)} texts is more than the batch limit of {self.settings.batch_limit} "
                "(FREESCALING_CLASSIFIER_BATCH_LIMIT); split the request"
            )
        return await self.outputs(texts)

    async def fit_clusters(self, texts: list[str], k: int, seed: int, max_iter: int) -> FitResult:
        from services.classifier import centroids
        from services.classifier.kmeans import kmeans

        engine, _ = self._require_ready()
        if k < 1:
            raise InvalidInput(f"k must be at least 1, got {k}")
        if len(texts) < k:
            raise InvalidInput(f"{len(texts)} texts cannot make {k} clusters; send at least k")
        if max_iter < 0:
            raise InvalidInput(f"max_iter must be 0 (default 100) or more, got {max_iter}")
        self._check_texts(texts)
        async with self._fit_lock:
            chunk = self.settings.batch_limit
            outputs = []
            for start in range(0, len(texts), chunk):
                outputs += await self.outputs(texts[start : start + chunk])
            points = np.stack([o.embedding for o in outputs])
            result = await asyncio.to_thread(kmeans, points, k, seed, max_iter or 100)
            sizes = np.bincount(result.assignments, minlength=k).tolist()
            cset = centroids.CentroidSet(
                centroids=result.centroids.astype(np.float32),
                model_fingerprint=engine.fingerprint,
                seed=seed,
                sizes=[int(s) for s in sizes],
            )
            if self.shared is not None:
                # Stored first, used after: a set no other replica can load is never in use.
                from services.classifier.shared_centroids import StoreUnavailable

                try:
                    await self.shared.store(cset)
                except StoreUnavailable as exc:
                    raise StoreUnavailable(
                        f"{exc}; the fitted centroids are not in use, retry FitClusters"
                    ) from None
                path, where = None, f"learning ({self.shared.target})"
            else:
                path = Path(self.settings.centroids)
                await asyncio.to_thread(centroids.save, path, cset)
                where = str(path)
            engine.centroids = cset
            self.centroids_note = ""
            logger.info("fitted %d clusters over %d texts, stored in %s", k, len(texts), where)
        return FitResult(
            cset, [int(a) for a in result.assignments], result.inertia, result.iterations, path
        )

    def clusters(self):
        engine, _ = self._require_ready()
        if engine.centroids is None:
            raise LookupError(self.centroids_note)
        return engine.centroids
