"""The requests and response conversions both clients share, so the sync and asyncio clients
differ only in how they wait."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf import json_format

from freescaling.client import results as r
from freescaling.client.errors import from_item_error
from freescaling.common.v1 import (
    calls_pb2,
    info_pb2,
    models_pb2,
    ratings_pb2,
    records_pb2,
    routing_pb2,
)
from freescaling.gateway.v1 import gateway_pb2

Message = dict[str, str] | tuple[str, str]
REACTIONS = ("👍", "🅰️", "🅱️", "🔴", "🟡", "⚪")
VERDICTS = {
    "confirm": ratings_pb2.VERDICT_CONFIRM,
    "override": ratings_pb2.VERDICT_OVERRIDE,
    "panel_right": ratings_pb2.VERDICT_PANEL_RIGHT,
    "shadow_right": ratings_pb2.VERDICT_SHADOW_RIGHT,
}
SORTS = {
    "rating": ratings_pb2.RANKING_SORT_RATING,
    "calls": ratings_pb2.RANKING_SORT_CALLS,
    "agreement": ratings_pb2.RANKING_SORT_AGREEMENT,
    "wins": ratings_pb2.RANKING_SORT_WINS,
    "model": ratings_pb2.RANKING_SORT_MODEL,
    "answered": ratings_pb2.RANKING_SORT_ANSWERED,
}


def k_value(k: int | str) -> int:
    if k == "auto":
        return 0
    if k not in (1, 3, 5):
        raise ValueError(f"k must be 1, 3, 5 or 'auto', not {k!r}")
    return int(k)


def options(timeout_s: float | None, max_tokens: int | None, temperature: float | None):
    o = calls_pb2.CallOptions(timeout_s=timeout_s or 0, max_tokens=max_tokens or 0)
    if temperature is not None:
        o.temperature = temperature
    return o


def scale_request(
    question: str,
    *,
    k: int | str = 3,
    answers: Sequence[str] = ("YES", "NO"),
    context: str = "",
    models: Sequence[str] = (),
    panel: str = "",
    shadow: bool = True,
    message_id: str = "",
    model_timeout_s: float | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    min_confidence: float = 0.0,
    abstain_when_unsure: bool = False,
    vote_rule: str = "",
) -> gateway_pb2.ScaleRequest:
    """`min_confidence`: the calibrated confidence k="auto" aims at (and below which a result
    is marked not confident, or with `abstain_when_unsure` has no answer); `vote_rule`:
    "weighted", "majority" or "" (weighted where the models are profiled)."""
    rules = {"": 0, "weighted": 1, "majority": 2}
    if vote_rule not in rules:
        raise ValueError(f"vote_rule must be 'weighted', 'majority' or '', not {vote_rule!r}")
    return gateway_pb2.ScaleRequest(
        question=question,
        context=context,
        k=k_value(k),
        answer_patterns=list(answers),
        models=list(models),
        panel=panel,
        no_shadow=not shadow,
        message_id=message_id,
        options=options(model_timeout_s, max_tokens, temperature),
        min_confidence=min_confidence,
        abstain_when_unsure=abstain_when_unsure,
        vote_rule=rules[vote_rule],
    )


def scale_result(response: gateway_pb2.ScaleResponse) -> r.ScaleResult:
    result = r.from_proto(r.ScaleResult, response.result)
    cascade = r.from_proto(r.Cascade, response.cascade) if response.HasField("cascade") else None
    return r.ScaleResult(**{**result.__dict__, "cascade": cascade})


def generate_request(
    question: str,
    *,
    k: int = 3,
    context: str = "",
    models: Sequence[str] = (),
    judges: Sequence[str] = (),
    message_id: str = "",
    max_tokens: int | None = None,
    model_timeout_s: float | None = None,
    temperature: float | None = None,
) -> gateway_pb2.GenerateRequest:
    return gateway_pb2.GenerateRequest(
        question=question,
        context=context,
        k=k_value(k),
        models=list(models),
        judges=list(judges),
        message_id=message_id,
        options=options(model_timeout_s, max_tokens, temperature),
    )


def generate_result(response: gateway_pb2.GenerateResponse) -> r.GenerateResult:
    return r.from_proto(r.GenerateResult, response.result)


def _item(question: str | dict) -> dict:
    return {"question": question} if isinstance(question, str) else dict(question)


def scale_batch_request(
    items: Sequence[str | dict],
    *,
    k: int | str = 3,
    answers: Sequence[str] = ("YES", "NO"),
    models: Sequence[str] = (),
    panel: str = "",
    max_concurrency: int = 0,
    shadow: bool = True,
) -> gateway_pb2.ScaleBatchRequest:
    return gateway_pb2.ScaleBatchRequest(
        items=[gateway_pb2.ScaleItem(**_item(i)) for i in items],
        k=k_value(k),
        answer_patterns=list(answers),
        models=list(models),
        panel=panel,
        max_concurrency=max_concurrency,
        no_shadow=not shadow,
    )


def scale_batch_item(item: gateway_pb2.ScaleBatchResult) -> r.BatchItem:
    if item.HasField("error"):
        return r.BatchItem(item.index, error=from_item_error(item.error.code, item.error.message))
    return r.BatchItem(item.index, result=scale_result(item.response))


def generate_batch_request(
    items: Sequence[str | dict],
    *,
    k: int = 3,
    models: Sequence[str] = (),
    judges: Sequence[str] = (),
    max_concurrency: int = 0,
) -> gateway_pb2.GenerateBatchRequest:
    return gateway_pb2.GenerateBatchRequest(
        items=[gateway_pb2.GenerateItem(**_item(i)) for i in items],
        k=k_value(k),
        models=list(models),
        judges=list(judges),
        max_concurrency=max_concurrency,
    )


def generate_batch_item(item: gateway_pb2.GenerateBatchResult) -> r.BatchItem:
    if item.HasField("error"):
        return r.BatchItem(item.index, error=from_item_error(item.error.code, item.error.message))
    return r.BatchItem(item.index, result=generate_result(item.response))


def chat_request(
    messages: str | Sequence[Message],
    *,
    model: str = "",
    lambda_: float | None = None,
    candidates: Sequence[str] = (),
    message_id: str = "",
    max_tokens: int | None = None,
    temperature: float | None = None,
    stream: bool = True,
) -> gateway_pb2.ChatRequest:
    if isinstance(messages, str):
        messages = [("user", messages)]
    turns = [
        calls_pb2.ChatMessage(role=m["role"], content=m["content"])
        if isinstance(m, dict)
        else calls_pb2.ChatMessage(role=m[0], content=m[1])
        for m in messages
    ]
    request = gateway_pb2.ChatRequest(
        messages=turns,
        model=model,
        candidates=list(candidates),
        message_id=message_id,
        options=options(None, max_tokens, temperature),
    )
    if lambda_ is not None:
        setattr(request, "lambda", lambda_)
    if not stream:
        request.stream = False
    return request


def _finished(done) -> dict:
    """What a chat's last chunk says of the call: the fields ChatResult and ChatEvent share."""
    return dict(
        call_id=done.call_id,
        model=done.model,
        finish_reason=done.finish_reason,
        usage=r.from_proto(r.Usage, done.usage),
        elapsed_s=done.elapsed_s,
        first_token_s=done.first_token_s,
    )


def chat_result(chunk: gateway_pb2.ChatChunk) -> r.ChatResult:
    whole = chunk.response
    return r.ChatResult(
        text=whole.text,
        reasoning=whole.reasoning,
        routing=r.from_proto(r.Routing, whole.routing),
        **_finished(whole.done),
    )


def chat_event(chunk: gateway_pb2.ChatChunk) -> r.ChatEvent:
    kind = chunk.WhichOneof("chunk") or ""
    if kind == "routing":
        return r.ChatEvent("routing", routing=r.from_proto(r.Routing, chunk.routing))
    if kind in ("delta", "reasoning_delta"):
        return r.ChatEvent(kind, delta=getattr(chunk, kind))
    return r.ChatEvent("done", **_finished(chunk.done))


def route_request(text: str, *, candidates: Sequence[str] = (), lambda_: float | None = None):
    request = gateway_pb2.RouteRequest(text=text, candidates=list(candidates))
    if lambda_ is not None:
        setattr(request, "lambda", lambda_)
    return request


def route_result(response: gateway_pb2.RouteResponse) -> r.Routing:
    return r.from_proto(r.Routing, response.routing)


def health_request(
    models: Sequence[str] = (), timeout_s: float = 0
) -> models_pb2.ModelHealthRequest:
    return models_pb2.ModelHealthRequest(models=list(models), timeout_s=timeout_s)


def health_result(report: models_pb2.ModelHealthReport) -> list[r.ModelHealth]:
    return [r.from_proto(r.ModelHealth, m) for m in report.models]


def feedback_request(
    call_id: str = "",
    reaction: str = "",
    *,
    verdict: str = "",
    label: str = "",
    message_id: str = "",
    feedback_id: str = "",
    source: str = "",
) -> ratings_pb2.FeedbackRequest:
    if bool(call_id) == bool(message_id):
        raise ValueError("give exactly one of call_id and message_id")
    if bool(reaction) == bool(verdict):
        raise ValueError(
            f"give a reaction ({' '.join(REACTIONS)}) or a verdict ({', '.join(VERDICTS)})"
        )
    if verdict and verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}; use one of {', '.join(VERDICTS)}")
    request = ratings_pb2.FeedbackRequest(
        reaction=reaction,
        verdict=VERDICTS.get(verdict, ratings_pb2.VERDICT_UNSPECIFIED),
        label=label,
        feedback_id=feedback_id,
        source=source,
    )
    if call_id:
        request.call_id = call_id
    else:
        request.message_id = message_id
    return request


def feedback_result(response: ratings_pb2.FeedbackResult) -> r.FeedbackResult:
    return r.from_proto(r.FeedbackResult, response)


def rankings_request(
    sort_by: str = "rating", *, ascending: bool = False, min_calls: int = 0, limit: int = 0
):
    if sort_by not in SORTS:
        raise ValueError(f"sort_by must be one of {', '.join(SORTS)}")
    return ratings_pb2.RankingsRequest(
        sort_by=SORTS[sort_by], ascending=ascending, min_calls=min_calls, limit=limit
    )


def rankings_result(response: ratings_pb2.Rankings) -> list[r.ModelRating]:
    return [r.from_proto(r.ModelRating, m) for m in response.ratings]


SOURCES = {"elo": ratings_pb2.EVOLVE_SOURCE_ELO, "profiles": ratings_pb2.EVOLVE_SOURCE_PROFILES}


def evolve_request(
    dry_run: bool = True,
    *,
    min_calls: int = 0,
    panel_size: int = 0,
    source: str = "elo",
    candidates: Sequence[str] = (),
) -> ratings_pb2.EvolveRequest:
    """`source`: "elo" (the top models by rating) or "profiles" (the suggested panel from the
    validation results); `candidates`: the models to choose from (all by default)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}; got {source!r}")
    return ratings_pb2.EvolveRequest(
        dry_run=dry_run,
        min_calls=min_calls,
        panel_size=panel_size,
        source=SOURCES[source],
        candidates=list(candidates),
    )


def evolve_result(response: ratings_pb2.EvolveResult) -> r.EvolveResult:
    return r.from_proto(r.EvolveResult, response)


def history_request(panel: str = "", limit: int = 0) -> gateway_pb2.EvolutionHistoryRequest:
    return gateway_pb2.EvolutionHistoryRequest(panel=panel, limit=limit)


def history_result(response: gateway_pb2.EvolutionHistoryResponse) -> list[r.PanelChange]:
    return [r.from_proto(r.PanelChange, c) for c in response.changes]


def correlations_request(
    models: Sequence[str] = (), cluster_set_id: str = ""
) -> routing_pb2.ErrorCorrelationsRequest:
    return routing_pb2.ErrorCorrelationsRequest(models=list(models), cluster_set_id=cluster_set_id)


def correlations_result(response: routing_pb2.ErrorCorrelations) -> list[r.ModelPairCorrelation]:
    return [r.from_proto(r.ModelPairCorrelation, p) for p in response.pairs]


def models_result(response: models_pb2.ModelList) -> list[r.ModelInfo]:
    return [r.from_proto(r.ModelInfo, m) for m in response.models]


def panels_result(response: models_pb2.PanelList) -> list[r.Panel]:
    return [r.from_proto(r.Panel, p) for p in response.panels]


def stats_result(response: records_pb2.Stats) -> r.Stats:
    return r.from_proto(r.Stats, response)


KINDS = {
    "": records_pb2.CALL_KIND_UNSPECIFIED,
    "scale": records_pb2.CALL_KIND_SCALE,
    "generate": records_pb2.CALL_KIND_GENERATE,
    "chat": records_pb2.CALL_KIND_CHAT,
}


def calls_request(page_size: int = 50, page_token: str = "", model: str = "", kind: str = ""):
    if kind not in KINDS:
        raise ValueError(f"kind must be one of scale, generate, chat; got {kind!r}")
    return records_pb2.ListCallsRequest(
        page_size=page_size, page_token=page_token, model=model, kind=KINDS[kind]
    )


def calls_result(page: records_pb2.CallPage) -> tuple[list[r.CallRecord], str]:
    return [r.from_proto(r.CallRecord, c) for c in page.calls], page.next_page_token


LABELLED_FIELDS = {"item_id", "question", "context", "answer_patterns", "label"}


def labelled_items(items: Sequence[dict]) -> list[gateway_pb2.LabelledItem]:
    """Dicts with `question` and `label` (and optionally `item_id`, `context`,
    `answer_patterns`), as the validation set's JSON lines hold them."""
    labelled = []
    for i, item in enumerate(items):
        unknown = set(item) - LABELLED_FIELDS
        if unknown:
            raise ValueError(
                f"item {i} has unknown fields {sorted(unknown)}; use {sorted(LABELLED_FIELDS)}"
            )
        labelled.append(gateway_pb2.LabelledItem(**item))
    return labelled


def onboard_request(
    alias: str,
    items: Sequence[dict],
    *,
    answers: Sequence[str] = ("YES", "NO"),
    trials: int = 1,
    max_concurrency: int = 0,
    replace: bool = False,
    model: dict | None = None,
) -> gateway_pb2.OnboardModelRequest:
    """`items`: see labelled_items; `model`: a registry entry (`litellm_model`, `tier`...) for
    a new model."""
    request = gateway_pb2.OnboardModelRequest(
        alias=alias,
        items=labelled_items(items),
        answer_patterns=list(answers),
        trials=trials,
        max_concurrency=max_concurrency,
        replace=replace,
    )
    if model:
        request.model.CopyFrom(json_format.ParseDict(model, models_pb2.ModelInfo()))
    return request


def onboard_progress(message: gateway_pb2.OnboardProgress) -> r.OnboardProgress:
    return r.from_proto(r.OnboardProgress, message)


def profile_request(
    models: Sequence[str],
    items: Sequence[dict],
    *,
    answers: Sequence[str] = ("YES", "NO"),
    trials: int = 1,
    max_concurrency: int = 0,
    replace: bool = False,
) -> gateway_pb2.ProfileModelsRequest:
    """Every model in `models` (registry aliases) answers every item `trials` times; `items`:
    see labelled_items; `answers`: the patterns of items that name none."""
    if isinstance(models, str):
        raise ValueError("models must be a list of aliases, not one string")
    return gateway_pb2.ProfileModelsRequest(
        models=list(models),
        items=labelled_items(items),
        answer_patterns=list(answers),
        trials=trials,
        max_concurrency=max_concurrency,
        replace=replace,
    )


def profile_progress(message: gateway_pb2.ProfileProgress) -> r.ProfileProgress:
    return r.from_proto(r.ProfileProgress, message)


def capability_map_request(cluster_set_id: str = "") -> routing_pb2.GetCapabilityMapRequest:
    return routing_pb2.GetCapabilityMapRequest(cluster_set_id=cluster_set_id)


def capability_map_result(response: routing_pb2.CapabilityMap) -> r.CapabilityMap:
    return r.from_proto(r.CapabilityMap, response)


def suggest_panel_request(
    size: int = 3, candidates: Sequence[str] = (), cluster_set_id: str = ""
) -> routing_pb2.SuggestPanelRequest:
    return routing_pb2.SuggestPanelRequest(
        size=size, candidates=list(candidates), cluster_set_id=cluster_set_id
    )


def suggest_panel_result(response: routing_pb2.SuggestedPanel) -> r.SuggestedPanel:
    return r.from_proto(r.SuggestedPanel, response)


# Requests with no parameters worth a builder.
LIST_MODELS = models_pb2.ListModelsRequest
LIST_PANELS = models_pb2.ListPanelsRequest
STATS = records_pb2.StatsRequest
INFO = info_pb2.GetInfoRequest
