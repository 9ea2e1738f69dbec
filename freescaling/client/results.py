"""Plain result objects with the field names of the API (and of SPEC.md), built from the
protobuf messages by one converter: enums become short lowercase names ("majority", "simple"),
timestamps become datetimes, nested messages become these objects."""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from typing import Any, TypeVar

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0


@dataclasses.dataclass(frozen=True)
class Vote:
    model: str = ""
    raw_output: str = ""
    reasoning: str = ""
    parsed_answer: str = ""
    latency_s: float = 0.0
    error: str = ""
    abstained: bool = False
    cancelled: bool = False
    substituted_for: str = ""
    usage: Usage | None = None
    # How much the vote counted, the voter's expected accuracy where the prompt falls, and why.
    weight: float = 0.0
    accuracy: float = 0.0
    weight_reason: str = ""


@dataclasses.dataclass(frozen=True)
class Classification:
    task_type_1: str = ""
    task_type_2: str = ""
    task_type_prob: float = 0.0
    creativity_scope: float = 0.0
    reasoning: float = 0.0
    contextual_knowledge: float = 0.0
    number_of_few_shots: float = 0.0
    domain_knowledge: float = 0.0
    no_label_reason: float = 0.0
    constraint_ct: float = 0.0
    prompt_complexity_score: float = 0.0
    tier: str = ""
    tier_score: float = 0.0
    scoring: str = ""
    tier_model: str = ""
    cluster_id: int | None = None
    truncated: bool = False
    token_count: int = 0


@dataclasses.dataclass(frozen=True)
class RouteCandidate:
    model: str = ""
    psi: float = 0.0
    cost: float = 0.0
    score: float = 0.0
    n: int = 0
    rank: int = 0


@dataclasses.dataclass(frozen=True)
class Routing:
    method: str = ""
    model: str = ""
    reason: str = ""
    classification: Classification | None = None
    candidates: list[RouteCandidate] = dataclasses.field(default_factory=list)
    lambda_: float = 0.0
    routing_latency_ms: float = 0.0


@dataclasses.dataclass(frozen=True)
class CascadeChoice:
    model: str = ""
    evidence: str = ""
    expected_accuracy: float = 0.0
    error_correlation: float = 0.0
    cost: float = 0.0


@dataclasses.dataclass(frozen=True)
class CascadeStep:
    k: int = 0
    models: list[str] = dataclasses.field(default_factory=list)
    answer: str = ""
    outcome: str = ""
    reason: str = ""
    # The models this step added, with the evidence that chose each.
    added: list[CascadeChoice] = dataclasses.field(default_factory=list)
    confidence: float = 0.0


@dataclasses.dataclass(frozen=True)
class Cascade:
    path: str = ""
    steps: list[CascadeStep] = dataclasses.field(default_factory=list)
    routing: Routing | None = None
    min_confidence: float = 0.0


@dataclasses.dataclass(frozen=True)
class ScaleResult:
    call_id: str = ""
    answer: str = ""
    confidence: float = 0.0
    outcome: str = ""
    votes: list[Vote] = dataclasses.field(default_factory=list)
    calls_made: int = 0
    elapsed_s: float = 0.0
    short_circuited: bool = False
    shadow: Vote | None = None
    shadow_agrees: bool = False
    usage: Usage | None = None
    k: int = 0
    answer_patterns: list[str] = dataclasses.field(default_factory=list)
    # The shadow challenger still answering when the vote was decided (its vote is recorded
    # with the call when it arrives), and the provider calls the shadow started.
    pending_shadow: str = ""
    shadow_calls_made: int = 0
    # What `confidence` is ("calibrated" or "vote_share"), whether it reaches the request's
    # min_confidence, each voted answer's probability, and the rule that chose the answer.
    confidence_source: str = ""
    confident: bool = True
    answer_probability: dict[str, float] = dataclasses.field(default_factory=dict)
    vote_rule: str = ""
    cascade: Cascade | None = None


@dataclasses.dataclass(frozen=True)
class GeneratedOutput:
    index: int = 0
    model: str = ""
    output: str = ""
    latency_s: float = 0.0
    error: str = ""
    usage: Usage | None = None


@dataclasses.dataclass(frozen=True)
class JudgeVote:
    judge: str = ""
    choice: int = 0
    raw_output: str = ""
    latency_s: float = 0.0
    error: str = ""


@dataclasses.dataclass(frozen=True)
class GenerateResult:
    call_id: str = ""
    output: str = ""
    all_outputs: list[GeneratedOutput] = dataclasses.field(default_factory=list)
    winner_model: str = ""
    judge_votes: list[int] = dataclasses.field(default_factory=list)
    judges: list[JudgeVote] = dataclasses.field(default_factory=list)
    total_calls: int = 0
    elapsed_s: float = 0.0
    tie_broken: bool = False
    usage: Usage | None = None


@dataclasses.dataclass(frozen=True)
class BatchItem:
    """One finished item of a batch: its index and either a result or an error."""

    index: int
    result: Any = None
    error: Exception | None = None


@dataclasses.dataclass(frozen=True)
class ModelHealth:
    model: str = ""
    status: str = ""
    latency_ms: float = 0.0
    error: str = ""
    checked_at: dt.datetime | None = None
    dead_until: dt.datetime | None = None
    # Seconds a call starting now would wait for the ensemble's client-side rate limit.
    rate_limit_wait_s: float = 0.0

    # The seed project's names: `h.alias`, `h.latency_s`.
    @property
    def alias(self) -> str:
        return self.model

    @property
    def latency_s(self) -> float:
        return self.latency_ms / 1000


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    alias: str = ""
    litellm_model: str = ""
    tier: str = ""
    input_cost_per_mtok: float = 0.0
    output_cost_per_mtok: float = 0.0
    routing_cost: float = 0.0
    thinking: bool = False
    api_base: str = ""
    api_key_env: str = ""
    provider: str = ""
    dead: bool = False
    dead_until: dt.datetime | None = None
    # No credentials in the ensemble's environment: never called; the reason says what to set.
    unavailable: bool = False
    unavailable_reason: str = ""


@dataclasses.dataclass(frozen=True)
class Panel:
    name: str = ""
    models: list[str] = dataclasses.field(default_factory=list)
    source: str = ""
    updated_at: dt.datetime | None = None
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class ModelRating:
    model: str = ""
    rating: float = 0.0
    calls: int = 0
    wins: int = 0
    losses: int = 0
    agreement_rate: float = 0.0
    feedback_count: int = 0
    updated_at: dt.datetime | None = None
    # `calls` split by how the panel vote ended; evolution counts `answered` only.
    answered: int = 0
    abstained: int = 0
    failed: int = 0
    cancelled: int = 0


@dataclasses.dataclass(frozen=True)
class RatingChange:
    model: str = ""
    before: float = 0.0
    after: float = 0.0


@dataclasses.dataclass(frozen=True)
class FeedbackResult:
    call_id: str = ""
    verdict: str = ""
    label: str = ""
    duplicate: bool = False
    changes: list[RatingChange] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class PanelChange:
    panel: str = ""
    previous: list[str] = dataclasses.field(default_factory=list)
    current: list[str] = dataclasses.field(default_factory=list)
    reason: str = ""
    changed_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class SuggestedPanel:
    """A panel of high-accuracy, low-correlation models from the validation results: the
    members whose majority vote is right most often, with the figures."""

    models: list[str] = dataclasses.field(default_factory=list)
    panel_accuracy: float = 0.0
    best_single_model: str = ""
    best_single_accuracy: float = 0.0
    mean_error_correlation: float = 0.0
    items: int = 0
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class EvolveResult:
    changed: bool = False
    applied: bool = False
    previous: list[str] = dataclasses.field(default_factory=list)
    proposed: list[str] = dataclasses.field(default_factory=list)
    reason: str = ""
    candidates: list[ModelRating] = dataclasses.field(default_factory=list)
    change: PanelChange | None = None
    # "elo" or "profiles": the rule that chose; with "profiles", the suggestion and its figures.
    source: str = ""
    suggestion: SuggestedPanel | None = None


@dataclasses.dataclass(frozen=True)
class ModelPairCorrelation:
    """How often two models err on the same validation items (phi, -1..1); `correlation` is
    None where it is undefined: one of the two right on every shared item, or wrong on every
    one (or none shared)."""

    model_a: str = ""
    model_b: str = ""
    correlation: float | None = None
    shared_items: int = 0
    both_wrong: int = 0


@dataclasses.dataclass(frozen=True)
class StatsBucket:
    key: str = ""
    calls: int = 0
    share: float = 0.0
    cost_usd: float = 0.0
    tokens: int = 0
    mean_latency_s: float = 0.0
    errors: int = 0


@dataclasses.dataclass(frozen=True)
class CacheStats:
    """The answer cache's lookups over the range, and what its hits saved."""

    hits: int = 0
    misses: int = 0
    semantic_hits: int = 0
    saved_cost_usd: float = 0.0
    hit_rate: float = 0.0


@dataclasses.dataclass(frozen=True)
class Stats:
    total_calls: int = 0
    total_cost_usd: float = 0.0
    total_tokens: int = 0
    mean_latency_s: float = 0.0
    p50_latency_s: float = 0.0
    p95_latency_s: float = 0.0
    by_model: list[StatsBucket] = dataclasses.field(default_factory=list)
    by_tier: list[StatsBucket] = dataclasses.field(default_factory=list)
    by_task_type: list[StatsBucket] = dataclasses.field(default_factory=list)
    by_kind: list[StatsBucket] = dataclasses.field(default_factory=list)
    cache: CacheStats | None = None


@dataclasses.dataclass(frozen=True)
class ClusterProfile:
    cluster_id: int = 0
    n: int = 0
    errors: int = 0
    psi: float = 0.0


@dataclasses.dataclass(frozen=True)
class TaskTypeAccuracy:
    task_type: str = ""
    n: int = 0
    correct: int = 0
    accuracy: float = 0.0


@dataclasses.dataclass(frozen=True)
class ModelProfile:
    model: str = ""
    cluster_set_id: str = ""
    clusters: list[ClusterProfile] = dataclasses.field(default_factory=list)
    task_types: list[TaskTypeAccuracy] = dataclasses.field(default_factory=list)
    n: int = 0
    accuracy: float = 0.0
    updated_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class ProfileEstimator:
    """How learning estimates each model's error rate on a prompt (chosen by cross-validation)."""

    method: str = ""
    neighbours: int = 0
    shrinkage: float = 0.0
    cv_log_loss: float = 0.0
    cv_accuracy: float = 0.0
    items: int = 0
    description: str = ""
    penalty: float = 0.0
    logistic_weight: float = 0.0
    clusters: int = 0


@dataclasses.dataclass(frozen=True)
class ModelCapability:
    """One model in the capability map: accuracy overall, by task type and by cluster, and
    consistency across trials (the share of items asked twice or more always answered alike)."""

    model: str = ""
    items: int = 0
    trials: int = 0
    accuracy: float = 0.0
    task_types: list[TaskTypeAccuracy] = dataclasses.field(default_factory=list)
    clusters: list[ClusterProfile] = dataclasses.field(default_factory=list)
    consistency: float = 0.0
    consistency_items: int = 0
    routing_cost: float = 0.0


@dataclasses.dataclass(frozen=True)
class CapabilityMap:
    """The capability map (the seed's capability_map.json), as learning computes it from the
    stored validation results."""

    cluster_set_id: str = ""
    models: list[ModelCapability] = dataclasses.field(default_factory=list)
    correlations: list[ModelPairCorrelation] = dataclasses.field(default_factory=list)
    estimator: ProfileEstimator | None = None
    compared: list[ProfileEstimator] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class ModelProgress:
    model: str = ""
    done: int = 0
    correct: int = 0
    errors: int = 0


@dataclasses.dataclass(frozen=True)
class ProfileProgress:
    """Profiling progress over every model; the last one carries the `capability_map`."""

    done: int = 0
    total: int = 0
    models: list[ModelProgress] = dataclasses.field(default_factory=list)
    capability_map: CapabilityMap | None = None


@dataclasses.dataclass(frozen=True)
class OnboardProgress:
    """Onboarding progress; the last one carries the stored `profile`."""

    done: int = 0
    total: int = 0
    correct: int = 0
    errors: int = 0
    profile: ModelProfile | None = None


@dataclasses.dataclass(frozen=True)
class CallRecord:
    """One recorded call, as learning keeps it."""

    call_id: str = ""
    kind: str = ""
    created_at: dt.datetime | None = None
    request_id: str = ""
    message_id: str = ""
    question: str = ""
    answer_patterns: list[str] = dataclasses.field(default_factory=list)
    answer: str = ""
    confidence: float = 0.0
    outcome: str = ""
    votes: list[Vote] = dataclasses.field(default_factory=list)
    shadow: Vote | None = None
    model: str = ""
    routing: Routing | None = None
    usage: Usage | None = None
    latency_s: float = 0.0
    k: int = 0
    cascade_path: str = ""
    error: str = ""
    pending_shadow: str = ""


@dataclasses.dataclass(frozen=True)
class ChatEvent:
    """One piece of a chat stream: `routing` first, then `delta` texts, then `done`."""

    kind: str
    delta: str = ""
    routing: Routing | None = None
    call_id: str = ""
    model: str = ""
    finish_reason: str = ""
    usage: Usage | None = None
    elapsed_s: float = 0.0
    first_token_s: float = 0.0


@dataclasses.dataclass(frozen=True)
class ChatResult:
    """A whole chat answer (`chat(..., stream=False)`)."""

    text: str = ""
    reasoning: str = ""
    routing: Routing | None = None
    call_id: str = ""
    model: str = ""
    finish_reason: str = ""
    usage: Usage | None = None
    elapsed_s: float = 0.0
    first_token_s: float = 0.0


def _enum_name(field, number: int) -> str:
    """'SCALE_OUTCOME_MAJORITY' in enum ScaleOutcome -> 'majority'."""
    value = field.enum_type.values_by_number.get(number)
    if value is None:
        return str(number)
    name = value.name
    values = [v.name for v in field.enum_type.values]
    prefix = ""
    for chars in zip(*values, strict=False):
        if len(set(chars)) != 1:
            break
        prefix += chars[0]
    prefix = prefix[: prefix.rfind("_") + 1] if "_" in prefix else ""
    return "" if name.endswith("_UNSPECIFIED") else name[len(prefix) :].lower()


def _convert(value: Any, field, hint: Any) -> Any:
    if isinstance(value, Timestamp):
        return value.ToDatetime(tzinfo=dt.UTC) if value.seconds or value.nanos else None
    if isinstance(value, Message):
        target = next(
            (a for a in typing.get_args(hint) if dataclasses.is_dataclass(a)),
            hint if dataclasses.is_dataclass(hint) else None,
        )
        return from_proto(target, value) if target else value
    if field is not None and field.enum_type is not None:
        return _enum_name(field, value)
    return value


def from_proto(cls: type[T], message: Message) -> T:
    """Build dataclass `cls` from `message`, field by field (a trailing `_` in a dataclass
    field name stands for a Python keyword, e.g. `lambda_`)."""
    hints = typing.get_type_hints(cls)
    descriptor = message.DESCRIPTOR
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        name = f.name.rstrip("_")
        field = descriptor.fields_by_name.get(name)
        if field is None:
            continue
        raw = getattr(message, name)
        hint = hints[f.name]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            values[f.name] = dict(raw)
        elif field.is_repeated:
            (item_hint,) = typing.get_args(hint) or (Any,)
            values[f.name] = [_convert(v, field, item_hint) for v in raw]
        elif field.has_presence and not message.HasField(name):
            values[f.name] = None  # an unset message, or an unset `optional` scalar
        else:
            values[f.name] = _convert(raw, field, hint)
    return cls(**values)
