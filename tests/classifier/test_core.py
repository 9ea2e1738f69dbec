"""The core pieces alone: the batcher (shared passes, length grouping, bounded queue), k-means,
centroid files, tiers, and the settings' validation."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from services.classifier import centroids
from services.classifier.batcher import CPU_PADDING, GPU_PADDING, Batcher, QueueFull
from services.classifier.config import ClassifierSettings
from services.classifier.postprocess import Scores
from services.classifier.tiers import TierPolicy
from services.common.kmeans import kmeans
from services.common.settings import SettingsError, load


def test_concurrent_submits_share_passes_grouped_by_length():
    passes: list[list[str]] = []

    def run(batch):
        passes.append(list(batch))
        return [item.upper() for item in batch]

    async def main():
        batcher = Batcher(run, max_batch=4, max_delay_s=0.05, queue_size=100)
        batcher.start()
        words = ["a" * 20, "b" * 10, "c" * 21, "d" * 11, "e" * 22, "f" * 10, "g" * 12, "h" * 20]
        results = await asyncio.gather(*(batcher.submit([w]) for w in words))
        await batcher.close()
        return words, results

    words, results = asyncio.run(main())
    assert [r[0] for r in results] == [w.upper() for w in words]
    assert len(passes) == 2
    assert [len(w) for w in passes[0]] == [10, 10, 11, 12]
    assert [len(w) for w in passes[1]] == [20, 20, 21, 22]


def test_texts_of_very_different_lengths_do_not_share_a_pass():
    passes: list[list[str]] = []

    def run(batch):
        passes.append(list(batch))
        return list(batch)

    async def main():
        batcher = Batcher(run, max_batch=8, max_delay_s=0.05, queue_size=100)
        batcher.start()
        await asyncio.gather(*(batcher.submit([w]) for w in ["x" * 100, "y" * 5, "z" * 6]))
        await batcher.close()

    asyncio.run(main())
    assert [[len(w) for w in p] for p in passes] == [[5, 6], [100]]


@pytest.mark.parametrize(
    ("padding", "expected"),
    [
        # CPU: at most 32 padded tokens per pass, whatever the lengths.
        (CPU_PADDING, [[50, 60], [80], [300, 310]]),
        # GPU: 32 tokens, or 30% of the pass's real tokens when that is more.
        (GPU_PADDING, [[50, 60, 80], [300, 310]]),
    ],
    ids=["cpu", "gpu"],
)
def test_padding_allowance_splits_passes(padding, expected):
    passes: list[list[str]] = []

    def run(batch):
        passes.append(list(batch))
        return list(batch)

    async def main():
        batcher = Batcher(run, max_batch=8, max_delay_s=0.05, queue_size=100, padding=padding)
        batcher.start()
        await asyncio.gather(*(batcher.submit(["x" * n]) for n in (310, 60, 80, 50, 300)))
        await batcher.close()

    asyncio.run(main())
    assert [[len(w) for w in p] for p in passes] == expected


def test_a_full_queue_is_refused_and_the_rest_still_served():
    started, release = threading.Event(), threading.Event()

    def run(batch):
        started.set()
        release.wait(10)
        return list(batch)

    async def main():
        batcher = Batcher(run, max_batch=2, max_delay_s=0, queue_size=3)
        batcher.start()
        first = asyncio.create_task(batcher.submit(["a", "b"]))
        while not started.is_set():  # the worker took them and is blocked in run
            await asyncio.sleep(0.01)
        assert batcher.queued == 0
        waiting = asyncio.create_task(batcher.submit(["c", "d", "e"]))
        await asyncio.sleep(0)
        with pytest.raises(QueueFull, match="3 of 3 texts waiting, 1 more asked"):
            await batcher.submit(["f"])
        release.set()
        done = await asyncio.gather(first, waiting)
        await batcher.close()
        return done

    assert asyncio.run(main()) == [["a", "b"], ["c", "d", "e"]]


def test_a_failed_pass_fails_only_its_requests():
    def run(batch):
        if "bad" in batch:
            raise RuntimeError("boom")
        return list(batch)

    async def main():
        batcher = Batcher(run, max_batch=1, max_delay_s=0, queue_size=10)
        batcher.start()
        results = await asyncio.gather(
            batcher.submit(["bad"]), batcher.submit(["ok"]), return_exceptions=True
        )
        await batcher.close()
        return results

    bad, ok = asyncio.run(main())
    assert isinstance(bad, RuntimeError) and ok == ["ok"]


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [10, 0], [0, 10]], dtype=float)
    return np.concatenate([c + rng.normal(0, 0.5, size=(20, 2)) for c in centres])


def test_kmeans_finds_separated_clusters_and_is_deterministic_for_a_seed():
    points = _blobs()
    a, b = kmeans(points, 3, seed=42), kmeans(points, 3, seed=42)
    assert np.array_equal(a.centroids, b.centroids) and a.inertia == b.inertia
    labels = a.assignments
    assert len(set(labels[:20])) == len(set(labels[20:40])) == len(set(labels[40:])) == 1
    assert len({labels[0], labels[20], labels[40]}) == 3
    assert a.inertia < 60 * 2 * 0.5**2 * 2
    with pytest.raises(ValueError, match="k must be between 1 and the number of points"):
        kmeans(points[:2], 3, seed=0)


def test_centroid_file_round_trip_and_refusals(tmp_path):
    path = tmp_path / "c.safetensors"
    cset = centroids.CentroidSet(np.eye(3, 8, dtype=np.float32), "fp-a", seed=3, sizes=[1, 2, 3])
    centroids.save(path, cset)
    back = centroids.load(path, "fp-a", 8)
    assert np.array_equal(back.centroids, cset.centroids)
    assert (back.seed, back.sizes, back.id) == (3, [1, 2, 3], cset.id)
    assert list(back.assign(np.array([[0, 0, 1, 0, 0, 0, 0, 0]], dtype=np.float32))) == [2]
    with pytest.raises(centroids.CentroidsError, match="fitted with a different embedder"):
        centroids.load(path, "fp-b", 8)
    with pytest.raises(centroids.CentroidsError, match="8-dimensional centroids, this embedder's"):
        centroids.load(path, "fp-a", 768)
    path.write_bytes(b"not a centroid file")
    with pytest.raises(centroids.CentroidsError, match="cannot read centroid file"):
        centroids.load(path, "fp-a", 8)


def _scores(**values):
    base = dict(task_type_1="Chatbot", task_type_2="NA", task_type_prob=0.9,
                creativity_scope=0.0, reasoning=0.0, contextual_knowledge=0.0,
                number_of_few_shots=0.0, domain_knowledge=0.0, no_label_reason=0.0,
                constraint_ct=0.0, prompt_complexity_score=0.0)  # fmt: skip
    return Scores(**{**base, **values})


def test_tiers_from_thresholds_and_the_compass_formula():
    policy = TierPolicy((0.3, 0.5), (0.35, 0.65), {"simple": "s", "medium": "m", "complex": "c"})
    assert policy.decide(_scores(prompt_complexity_score=0.29999), "complexity") == (
        "simple", 0.29999, "s",
    )  # fmt: skip
    assert policy.decide(_scores(prompt_complexity_score=0.3), "complexity")[0] == "medium"
    assert policy.decide(_scores(prompt_complexity_score=0.5), "complexity")[0] == "complex"
    code = _scores(task_type_1="Code Generation", domain_knowledge=0.9, reasoning=0.5,
                   creativity_scope=0.2)  # fmt: skip
    tier, value, model = policy.decide(code, "compass")
    assert value == pytest.approx(0.4 * 0.9 + 0.3 * 0.5 + 0.2 * 0.2 + 0.1 * 0.8)
    assert (tier, model) == ("medium", "m")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FREESCALING_CLASSIFIER_DEVICE": "tpu"}, "must be auto, cpu, cuda, cuda:N or mps"),
        ({"FREESCALING_CLASSIFIER_TIER_THRESHOLDS": "0.6,0.2"}, "low,high with low <= high"),
        ({"FREESCALING_CLASSIFIER_TIER_MODELS": "easy=x"}, "unknown tiers ['easy']"),
        ({"FREESCALING_CLASSIFIER_SCORING": "vibes"}, "must be one of complexity, compass"),
    ],
)
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(SettingsError) as err:
        load(ClassifierSettings, [], env)
    assert next(iter(env)) in str(err.value) and message in str(err.value)
