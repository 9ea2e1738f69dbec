"""The classifier at run time, without gRPC: loads the routing embedder and the DeBERTa
checkpoint in the background (retrying with back-off while either cannot be had), warms them up,
and then classifies, embeds and fits clusters through dynamic batchers that share one forward
thread. Ready once embeddings can be served: without the checkpoint, task type and complexity
come back unknown (never random heads' guesses) while embeddings and clusters still work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.classifier.config import ClassifierSettings
from services.classifier.output_cache import Kept, OutputCache
from services.classifier.tiers import TierPolicy

logger = logging.getLogger(__name__)


# Loader threads still running: a stopping runtime waits a little for them (LOADER_JOIN_S),
# because torch aborts the process when a thread is inside it as the interpreter finalises.
_LOADERS: set[threading.Thread] = set()
LOADER_JOIN_S = 10.0
# The embedder and the checkpoint load one at a time: transformers imports its model modules
# lazily, and two threads importing them at once can see a half-initialised module (a first
# load that fails for nothing); the two would share the cores anyway.
_LOAD_LOCK = threading.Lock()


async def _in_daemon_thread(fn):
    """Run blocking `fn` on a daemon thread: a download that is still running when the process
    is asked to stop must not hold up its exit beyond LOADER_JOIN_S (the default executor
    would hold it for good)."""
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

    thread = threading.Thread(
        target=lambda: (target(), _LOADERS.discard(thread)), name="model-loader", daemon=True
    )
    _LOADERS.add(thread)
    thread.start()
    return await future


async def join_loaders(timeout_s: float = LOADER_JOIN_S) -> None:
    """Wait up to `timeout_s` for loader threads still running (a local load ends in seconds;
    a hub download may not, and is then left to die with the process)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    for thread in list(_LOADERS):
        left = deadline - asyncio.get_running_loop().time()
        if left > 0:
            await asyncio.to_thread(thread.join, left)


class NotReady(RuntimeError):
    """The model is not loaded (yet); the message says why."""


class InvalidInput(ValueError):
    """The request cannot be served as asked; the message says what to change."""


class TooMany(RuntimeError):
    """More texts than the configured limit."""


class WrongSpace(RuntimeError):
    """Embeddings of another embedder than this classifier's; the message says what to do."""


@dataclass(frozen=True)
class Output:
    """One text through the runtime: the checkpoint's scores (None without the checkpoint),
    the routing embedding, its cluster and the tokens seen."""

    scores: object  # postprocess.Scores | None
    embedding: np.ndarray
    cluster_id: int | None
    truncated: bool
    token_count: int


@dataclass(frozen=True)
class Space:
    """The embedding space every embedding, centroid set and profile is tagged with."""

    id: str
    dim: int


# What an operator without the checkpoint is told to do, in one line.
CHECKPOINT_HINT = (
    "set FREESCALING_CLASSIFIER_MODEL to a local copy of nvidia/prompt-task-and-complexity-"
    "classifier (or let the machine reach the Hugging Face hub; `make checkpoint` writes a "
    "small test one)"
)
# The hub client warns on each of its own retries ("Retrying in 1s [Retry 1/5]"): a page of
# lines for one missing checkpoint. The loader logs one line per reason instead.
logging.getLogger("huggingface_hub").setLevel(logging.ERROR)


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
        self.engine = None  # the DeBERTa checkpoint (engine.Engine)
        self.batcher = None
        self.embedder = None  # embedder.SentenceEmbedder; None: the checkpoint's pooled state
        self.embed_batcher = None
        self.space: Space | None = None
        self.centroids = None  # centroids.CentroidSet in the space's embeddings
        self.status = f"the classifier model is loading ({settings.model}); retry shortly"
        self.embedder_status = f"the embedder is loading ({settings.embedder}); retry shortly"
        self.centroids_note = "no centroids yet: fit them with FitClusters"
        self.device = ""
        self._fit_lock = asyncio.Lock()
        # One forward pass at a time over both models: torch already spreads one pass over
        # every core, and two at once would only fight over them.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="forward")
        self.shared = None
        if settings.learning_addr:
            from services.classifier.shared_centroids import SharedCentroids

            self.shared = SharedCentroids(settings.learning_addr)
            self.centroids_note = (
                "no centroids for this embedder in learning yet: fit them with FitClusters"
            )
        self._tasks: list[asyncio.Task] = []
        self.cache = OutputCache(settings.output_cache_size)
        # Set once the checkpoint's first load attempt has ended, well or not: readiness waits
        # for it, so a normal start is never served half-classified.
        self._checkpoint_tried = asyncio.Event()

    @property
    def ready(self) -> bool:
        """Embeddings (and so clusters, onboarding and profile routing) can be served."""
        return self.space is not None

    @property
    def scoring_ready(self) -> bool:
        """The checkpoint's heads are loaded: task type and complexity are real."""
        return self.batcher is not None

    @property
    def degraded(self) -> str:
        """Why classification is partial while ready; empty when it is whole."""
        if self.ready and not self.scoring_ready:
            return (
                f"degraded: task type and complexity are unknown ({self.status}); embeddings "
                f"and clusters are served; {CHECKPOINT_HINT}"
            )
        return ""

    def _load(self):
        """Blocking: resolve, load, warm up the checkpoint (runs on a thread). The hub client's
        own retry warnings are kept out of the log: our one line per reason says enough."""
        from services.classifier import checkpoint
        from services.classifier.engine import Engine

        directory = checkpoint.resolve(self.settings.model, self.settings.cache_dir)
        with _LOAD_LOCK:
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

    def _load_embedder(self):
        """Blocking: the sentence-transformers embedder, warmed up (runs on a thread)."""
        from services.classifier.embedder import SentenceEmbedder, resolve
        from services.classifier.engine import cpu_count, pick_device

        directory = resolve(self.settings.embedder)
        with _LOAD_LOCK:
            device = pick_device(self.settings.device)
            if device == "cpu":
                import torch

                torch.set_num_threads(self.settings.threads or cpu_count())
            logger.info("loading the embedder from %s", directory)
            embedder = SentenceEmbedder.load(directory, device)
            embedder.warm_up(self.max_batch_for(device))
        return embedder

    def max_batch_for(self, device: str) -> int:
        if self.settings.max_batch:
            return self.settings.max_batch
        return 8 if device == "cpu" else 128

    def _batcher(self, run, device: str):
        from services.classifier.batcher import CPU_PADDING, GPU_PADDING, Batcher

        batcher = Batcher(
            run,
            max_batch=self.max_batch_for(device),
            max_delay_s=self.settings.max_delay_ms / 1000,
            queue_size=max(self.settings.queue_size, self.settings.batch_limit),
            length=lambda encoded: len(encoded.ids),
            padding=CPU_PADDING if device == "cpu" else GPU_PADDING,
            executor=self._executor,
        )
        batcher.start()
        return batcher

    async def refresh_centroids(self) -> bool:
        """Adopt the newest centroid set learning holds for this embedding space; True when it
        changed. Failures are logged and noted (GetClusters says them), never raised: clusters
        are optional to classification, and the next poll tries again."""
        from services.classifier.centroids import CentroidsError
        from services.classifier.shared_centroids import StoreUnavailable

        space = self.space
        try:
            newest = await self.shared.newest(space.id, space.dim, self.centroids)
        except (StoreUnavailable, CentroidsError) as exc:
            if self.centroids_note != str(exc):
                logger.warning("centroids: %s", exc)
            # Keep the set in use (if any): a learning outage must not change cluster ids.
            if self.centroids is None:
                self.centroids_note = str(exc)
            return False
        if newest is None or newest is self.centroids:
            return False
        self.centroids = newest
        self.centroids_note = ""
        logger.info(
            "centroids %s (k=%d) loaded from learning (%s)", newest.id, newest.k, self.shared.target
        )
        return True

    async def _poll_centroids(self) -> None:
        while True:
            await asyncio.sleep(self.settings.centroids_poll_s)
            await self.refresh_centroids()

    def _load_centroids(self) -> None:
        from services.classifier import centroids

        path = Path(self.settings.centroids)
        if not path.exists():
            return
        try:
            self.centroids = centroids.load(path, self.space.id, self.space.dim)
        except centroids.CentroidsError as exc:
            self.centroids_note = f"centroids refused: {exc}"
            logger.error("%s", self.centroids_note)
            return
        logger.info("centroids loaded from %s (k=%d)", path, self.centroids.k)

    async def _retrying(self, what: str, load, on_failure):
        """`load()` on a daemon thread until it works, backing off from 1 s to retry_max_s.
        The first failure is logged once as a warning with the reason; a repeat of the same
        reason only at debug level (one line for an operator, not a page of retries)."""
        delay, last = 1.0, None
        while True:
            try:
                return await _in_daemon_thread(load)
            except Exception as exc:  # any failure: report it, try again later
                reason = f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)
                on_failure(reason, min(delay * 2, self.settings.retry_max_s))
                level = logging.DEBUG if reason == last else logging.WARNING
                logger.log(
                    level,
                    "cannot load the %s (retrying, next in %.0f s): %s%s",
                    what,
                    delay,
                    reason,
                    f"; {CHECKPOINT_HINT}" if what == "classifier model" else "",
                )
                last = reason
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.retry_max_s)

    async def _space_up(self, space: Space, device: str, on_ready) -> None:
        self.space = space
        self.device = self.device or device
        if self.shared is not None:
            await self.refresh_centroids()
            self._tasks.append(asyncio.create_task(self._poll_centroids(), name="centroids"))
        else:
            self._load_centroids()
        logger.info("embeddings ready: %s (%d wide) on %s", space.id, space.dim, device)
        await on_ready()

    async def _load_checkpoint(self, on_space) -> None:
        def failed(reason: str, every: float) -> None:
            self.status = (
                f"the classifier model is unavailable: {reason}; retrying every "
                f"{every:.0f} s at most"
            )
            self._checkpoint_tried.set()

        engine = await self._retrying("classifier model", self._load, failed)
        self.engine = engine
        self.device = engine.device
        self.batcher = self._batcher(engine.run, engine.device)
        self.status = "ready"
        self._checkpoint_tried.set()
        logger.info(
            "classifier model ready on %s (max batch %d, int8 %s, fingerprint %s)",
            engine.device,
            self.max_batch_for(engine.device),
            engine.quantized,
            engine.fingerprint,
        )
        if on_space is not None:
            await on_space(Space(engine.fingerprint, engine.dim), engine.device)

    async def _load_embedder_task(self, on_space) -> None:
        def failed(reason: str, every: float) -> None:
            self.embedder_status = (
                f"the embedder is unavailable: {reason}; retrying every {every:.0f} s at most"
            )

        embedder = await self._retrying("embedder", self._load_embedder, failed)
        self.embedder = embedder
        self.embed_batcher = self._batcher(embedder.run, embedder.device)
        self.embedder_status = "ready"
        await on_space(Space(embedder.id, embedder.dim), embedder.device)

    async def load_until_ready(self, on_ready) -> None:
        """Load the embedder and the checkpoint until each works; `on_ready()` once
        embeddings can be served (the embedder loaded, or with the `checkpoint` embedder the
        checkpoint). The checkpoint goes on loading (and retrying) after that."""
        from services.classifier.embedder import CHECKPOINT

        async def on_space(space: Space, device: str) -> None:
            await self._checkpoint_tried.wait()
            await self._space_up(space, device, on_ready)

        if self.settings.embedder == CHECKPOINT:
            self.embedder_status = (
                "the checkpoint's pooled state (FREESCALING_CLASSIFIER_EMBEDDER=checkpoint)"
            )
            await self._load_checkpoint(on_space)
            return
        checkpoint = asyncio.create_task(self._load_checkpoint(None), name="checkpoint-loader")
        self._tasks.append(checkpoint)
        await self._load_embedder_task(on_space)
        await asyncio.gather(checkpoint)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await join_loaders()
        for batcher in (self.batcher, self.embed_batcher):
            if batcher is not None:
                await batcher.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self.shared is not None:
            await self.shared.close()

    def _require_ready(self) -> Space:
        if self.space is None:
            from services.classifier.embedder import CHECKPOINT

            if self.settings.embedder == CHECKPOINT or self.embedder is not None:
                raise NotReady(self.status)
            failed = (
                ""
                if self.status.startswith("the classifier model is loading")
                else (f"; {self.status}")
            )
            raise NotReady(self.embedder_status + failed)
        return self.space

    @staticmethod
    def _check_texts(texts: list[str]) -> None:
        for i, text in enumerate(texts):
            if not text.strip():
                where = f"texts[{i}]" if len(texts) > 1 else "text"
                raise InvalidInput(f"{where} is empty; send the prompt to classify")

    async def outputs(self, texts: list[str], scores: bool = True) -> list[Output]:
        """Scores (when the checkpoint is loaded and `scores`), embeddings and clusters; texts
        seen lately come from the output cache (FREESCALING_CLASSIFIER_OUTPUT_CACHE)."""
        space = self._require_ready()
        self._check_texts(texts)
        embedder = self.embedder
        # The checkpoint's pass: for its scores, or (the `checkpoint` embedder) its pooled state.
        scoring = self.batcher is not None and (scores or embedder is None)
        kept = [self.cache.get(space.id, scoring, t) for t in texts]
        missing = [i for i, k in enumerate(kept) if k is None]
        if missing:
            fresh = await self._passes([texts[i] for i in missing], scoring)
            for i, k in zip(missing, fresh, strict=True):
                kept[i] = k
                self.cache.put(space.id, scoring, texts[i], k)
        vectors = [k.embedding for k in kept]
        centroids = self.centroids
        clusters = (
            centroids.assign(np.stack(vectors)) if centroids is not None else [None] * len(texts)
        )
        return [
            Output(
                scores=k.scores,
                embedding=k.embedding,
                cluster_id=None if c is None else int(c),
                truncated=k.truncated,
                token_count=k.token_count,
            )
            for k, c in zip(kept, clusters, strict=True)
        ]

    async def _passes(self, texts: list[str], scoring: bool) -> list[Kept]:
        """The forward passes `texts` need: the checkpoint's (when `scoring`) and the
        embedder's, batched with other requests'."""
        embedder = self.embedder
        encoded = embedder.encode(texts) if embedder is not None else None
        passes = []
        if scoring:
            passes.append(self.batcher.submit(self.engine.encode(texts)))
        if encoded is not None:
            passes.append(self.embed_batcher.submit(encoded))
        done = await asyncio.gather(*passes)
        scored = done[0] if scoring else None
        vectors = done[-1] if encoded is not None else [s.embedding for s in scored]
        out = []
        for i, vector in enumerate(vectors):
            s = scored[i] if scored is not None else None
            out.append(
                Kept(
                    scores=s.scores if s is not None else None,
                    embedding=np.asarray(vector, dtype=np.float32),
                    truncated=s.truncated if s is not None else encoded[i].truncated,
                    token_count=s.token_count if s is not None else len(encoded[i].ids),
                )
            )
        return out

    async def classify(self, texts: list[str], scoring: str | None) -> list[Classified]:
        if len(texts) > self.settings.batch_limit:
            raise TooMany(
                f"{len(texts)} texts is more than the batch limit of {self.settings.batch_limit} "
                "(FREESCALING_CLASSIFIER_BATCH_LIMIT); split the batch"
            )
        scoring = scoring or self.settings.scoring
        results = []
        for output in await self.outputs(texts):
            if output.scores is None:
                # No heads, no guess: the tier is left unspecified and routing falls back.
                results.append(Classified(output, "", 0.0, scoring, ""))
                continue
            tier, value, model = self.policy.decide(output.scores, scoring)
            results.append(Classified(output, tier, value, scoring, model))
        return results

    async def embed(self, texts: list[str], limit: bool = True) -> list[Output]:
        if limit and len(texts) > self.settings.batch_limit:
            raise TooMany(
                f"{len(texts)} texts is more than the batch limit of {self.settings.batch_limit} "
                "(FREESCALING_CLASSIFIER_BATCH_LIMIT); split the request"
            )
        return await self.outputs(texts, scores=False)

    def _given_points(self, vectors: list[list[float]], embedder: str) -> np.ndarray:
        space = self.space
        if embedder != space.id:
            raise WrongSpace(
                f"the embeddings come from embedder {embedder or '(unnamed)'!r}; this "
                f"classifier embeds with {space.id!r}: classify the texts again, or send texts"
            )
        for i, v in enumerate(vectors):
            if len(v) != space.dim:
                raise InvalidInput(
                    f"embeddings[{i}] has {len(v)} values; the embedder's have {space.dim}"
                )
        points = np.asarray(vectors, dtype=np.float32)
        if not np.isfinite(points).all():
            raise InvalidInput("embeddings hold a NaN or infinite value")
        return points

    async def fit_clusters(
        self,
        texts: list[str],
        k: int,
        seed: int,
        max_iter: int,
        vectors: list[list[float]] | None = None,
        embedder: str = "",
    ) -> FitResult:
        """K-means over the texts' embeddings, or over `vectors` this embedder computed."""
        from services.classifier import centroids
        from services.common.kmeans import kmeans

        space = self._require_ready()
        if texts and vectors:
            raise InvalidInput("send texts or embeddings, not both")
        count = len(vectors) if vectors else len(texts)
        if k < 1:
            raise InvalidInput(f"k must be at least 1, got {k}")
        if count < k:
            what = "embeddings" if vectors else "texts"
            raise InvalidInput(f"{count} {what} cannot make {k} clusters; send at least k")
        if max_iter < 0:
            raise InvalidInput(f"max_iter must be 0 (default 100) or more, got {max_iter}")
        points = self._given_points(vectors, embedder) if vectors else None
        self._check_texts(texts)
        async with self._fit_lock:
            if points is None:
                chunk = self.settings.batch_limit
                outputs = []
                for start in range(0, len(texts), chunk):
                    outputs += await self.outputs(texts[start : start + chunk], scores=False)
                points = np.stack([o.embedding for o in outputs])
            result = await asyncio.to_thread(kmeans, points, k, seed, max_iter or 100)
            sizes = np.bincount(result.assignments, minlength=k).tolist()
            cset = centroids.CentroidSet(
                centroids=result.centroids.astype(np.float32),
                model_fingerprint=space.id,
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
            self.centroids = cset
            self.centroids_note = ""
            logger.info("fitted %d clusters over %d texts, stored in %s", k, count, where)
        return FitResult(
            cset, [int(a) for a in result.assignments], result.inertia, result.iterations, path
        )

    def clusters(self):
        self._require_ready()
        if self.centroids is None:
            raise LookupError(self.centroids_note)
        return self.centroids
