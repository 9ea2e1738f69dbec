"""The module-level API of the project Free Scaling replaces, for its users' code to run
unchanged against the service: `from freescaling import scale, generate, health, scale_batch,
generate_batch, evolve` (and the `freescaling.elo` and `freescaling.feedback` modules), plus
`capability_map()`, which the seed read from its capability_map.json.

Every function uses one default client, made on first use from FREESCALING_TARGET (default
localhost:50051) and FREESCALING_API_KEY; `configure()` replaces it. The keywords are the
seed's (`context=`, `k=`, `answer_patterns=`, `models=`, `system_prompt=`, `max_tokens=`);
`answers=` works too. Results are the client's result objects: `answer`, `confidence`,
`calls_made` (the panel's provider calls; the shadow challenger's are `shadow_calls_made`),
`elapsed_s`, `output`, `winner_model`, `total_calls`... Batches return their results in input
order, a failed item's slot holding its error; `Client.scale_batch` still streams them as they
finish.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

from freescaling.client import results as r
from freescaling.client.errors import FreeScalingError
from freescaling.client.sync import Client

_lock = threading.Lock()
_client: Client | None = None


def configure(
    target: str | None = None,
    api_key: str | None = None,
    *,
    tls: bool | str = False,
    timeout_s: float = 120.0,
) -> Client:
    """Replace the default client (None: from FREESCALING_TARGET / FREESCALING_API_KEY)."""
    global _client
    made = Client(
        target or os.environ.get("FREESCALING_TARGET", "localhost:50051"),
        api_key=os.environ.get("FREESCALING_API_KEY", "") if api_key is None else api_key,
        tls=tls,
        timeout_s=timeout_s,
    )
    with _lock:
        old, _client = _client, made
    if old is not None:
        old.close()
    return made


def client() -> Client:
    """The default client, made from the environment on first use."""
    with _lock:
        current = _client
    return current if current is not None else configure()


def _context(context: str | None, system_prompt: str | None) -> str:
    """The seed's system prompt and context both go to the system message."""
    return "\n\n".join(part for part in (system_prompt, context) if part)


def scale(
    question: str,
    k: int | str = "auto",
    context: str | None = None,
    answer_patterns: Sequence[str] | None = None,
    system_prompt: str | None = None,
    max_tokens: int | None = None,
    models: Sequence[str] | None = None,
    *,
    answers: Sequence[str] | None = None,
    **kwargs,
) -> r.ScaleResult:
    """Ask k models (1, 3, 5 or "auto", the seed's default: the smart cascade) and vote.
    Without answer patterns the allowed answers are YES and NO."""
    return client().scale(
        question,
        k=k,
        context=_context(context, system_prompt),
        answers=list(answer_patterns or answers or ("YES", "NO")),
        models=list(models or ()),
        max_tokens=max_tokens,
        **kwargs,
    )


def generate(
    question: str,
    context: str | None = None,
    k: int = 3,
    system_prompt: str | None = None,
    max_tokens: int | None = None,
    models: Sequence[str] | None = None,
    judge_models: Sequence[str] | None = None,
    **kwargs,
) -> r.GenerateResult:
    """Best-of-k: k models generate, k others judge."""
    return client().generate(
        question,
        k=k,
        context=_context(context, system_prompt),
        max_tokens=max_tokens,
        models=list(models or ()),
        judges=list(judge_models or ()),
        **kwargs,
    )


_SCALE_ITEM = {"question", "text", "context", "answer_patterns", "system_prompt"}


def _scale_item(i: int, item: str | dict) -> dict:
    if isinstance(item, str):
        return {"question": item}
    unknown = set(item) - _SCALE_ITEM
    if unknown:
        raise ValueError(
            f"item {i} has {sorted(unknown)}, which a batch cannot set per item; use "
            f"{sorted(_SCALE_ITEM)} (and the batch's own k=, models=)"
        )
    out = {"question": item.get("question") or item.get("text", "")}
    context = _context(item.get("context"), item.get("system_prompt"))
    if context:
        out["context"] = context
    if item.get("answer_patterns"):
        out["answer_patterns"] = list(item["answer_patterns"])
    return out


def _in_order(stream, count: int) -> list:
    ordered: list = [None] * count
    for item in stream:
        ordered[item.index] = item.result if item.error is None else item.error
    return ordered


def scale_batch(
    items: Sequence[str | dict],
    k: int | str = 3,
    max_parallel: int = 0,
    *,
    answer_patterns: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    **kwargs,
) -> list[r.ScaleResult | FreeScalingError]:
    """Many questions, in parallel; the results in the items' order (a failed item's slot holds
    its error). Each item: a question, or {"question", "context", "answer_patterns"}."""
    prepared = [_scale_item(i, item) for i, item in enumerate(items)]
    stream = client().scale_batch(
        prepared,
        k=k,
        answers=list(answer_patterns or ("YES", "NO")),
        models=list(models or ()),
        max_concurrency=max_parallel,
        **kwargs,
    )
    return _in_order(stream, len(prepared))


def generate_batch(
    items: Sequence[str | dict],
    k: int = 3,
    max_parallel: int = 0,
    *,
    models: Sequence[str] | None = None,
    judge_models: Sequence[str] | None = None,
) -> list[r.GenerateResult | FreeScalingError]:
    """Many generations; the results in the items' order (a failed item's slot holds its
    error). Each item: a task, or {"question", "context"}."""
    prepared = []
    for i, item in enumerate(items):
        one = _scale_item(i, item)
        if "answer_patterns" in one:
            raise ValueError(f"item {i}: generate takes no answer_patterns")
        prepared.append(one)
    stream = client().generate_batch(
        prepared,
        k=k,
        models=list(models or ()),
        judges=list(judge_models or ()),
        max_concurrency=max_parallel,
    )
    return _in_order(stream, len(prepared))


def health(models: Sequence[str] | None = None) -> dict[str, r.ModelHealth]:
    """Probe models now (all by default): alias -> status (ok, slow, dead, error), latency."""
    return {h.model: h for h in client().health(list(models or ()))}


def evolve(dry_run: bool = True, **kwargs) -> r.EvolveResult:
    """Make the top models by ELO the champion panel (`source="profiles"`: the suggested panel
    from the validation results); a dry run only reports the change."""
    return client().evolve(dry_run=dry_run, **kwargs)


def capability_map(cluster_set_id: str = "") -> r.CapabilityMap:
    """The capability map the seed kept in capability_map.json, from learning (so that every
    replica shares it): per model accuracy by task type and cluster, consistency across trials,
    the pairwise error correlation, and the estimator routing uses. `freescaling profile`
    builds it."""
    return client().capability_map(cluster_set_id)
