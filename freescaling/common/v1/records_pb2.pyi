import datetime

from freescaling.common.v1 import routing_pb2 as _routing_pb2
from freescaling.common.v1 import voting_pb2 as _voting_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CallKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CALL_KIND_UNSPECIFIED: _ClassVar[CallKind]
    CALL_KIND_SCALE: _ClassVar[CallKind]
    CALL_KIND_GENERATE: _ClassVar[CallKind]
    CALL_KIND_CHAT: _ClassVar[CallKind]
CALL_KIND_UNSPECIFIED: CallKind
CALL_KIND_SCALE: CallKind
CALL_KIND_GENERATE: CallKind
CALL_KIND_CHAT: CallKind

class CallRecord(_message.Message):
    __slots__ = ("call_id", "kind", "created_at", "request_id", "message_id", "question", "answer_patterns", "answer", "confidence", "outcome", "votes", "shadow", "model", "routing", "usage", "latency_s", "k", "cascade_path", "error", "outputs", "judge_votes", "pending_shadow", "cascade_steps")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    ANSWER_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    SHADOW_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    CASCADE_PATH_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    JUDGE_VOTES_FIELD_NUMBER: _ClassVar[int]
    PENDING_SHADOW_FIELD_NUMBER: _ClassVar[int]
    CASCADE_STEPS_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    kind: CallKind
    created_at: _timestamp_pb2.Timestamp
    request_id: str
    message_id: str
    question: str
    answer_patterns: _containers.RepeatedScalarFieldContainer[str]
    answer: str
    confidence: float
    outcome: _voting_pb2.ScaleOutcome
    votes: _containers.RepeatedCompositeFieldContainer[_voting_pb2.Vote]
    shadow: _voting_pb2.Vote
    model: str
    routing: _routing_pb2.RoutingInfo
    usage: _voting_pb2.Usage
    latency_s: float
    k: int
    cascade_path: str
    error: str
    outputs: _containers.RepeatedCompositeFieldContainer[_voting_pb2.GeneratedOutput]
    judge_votes: _containers.RepeatedScalarFieldContainer[int]
    pending_shadow: str
    cascade_steps: _containers.RepeatedCompositeFieldContainer[CascadeStepRecord]
    def __init__(self, call_id: _Optional[str] = ..., kind: _Optional[_Union[CallKind, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., message_id: _Optional[str] = ..., question: _Optional[str] = ..., answer_patterns: _Optional[_Iterable[str]] = ..., answer: _Optional[str] = ..., confidence: _Optional[float] = ..., outcome: _Optional[_Union[_voting_pb2.ScaleOutcome, str]] = ..., votes: _Optional[_Iterable[_Union[_voting_pb2.Vote, _Mapping]]] = ..., shadow: _Optional[_Union[_voting_pb2.Vote, _Mapping]] = ..., model: _Optional[str] = ..., routing: _Optional[_Union[_routing_pb2.RoutingInfo, _Mapping]] = ..., usage: _Optional[_Union[_voting_pb2.Usage, _Mapping]] = ..., latency_s: _Optional[float] = ..., k: _Optional[int] = ..., cascade_path: _Optional[str] = ..., error: _Optional[str] = ..., outputs: _Optional[_Iterable[_Union[_voting_pb2.GeneratedOutput, _Mapping]]] = ..., judge_votes: _Optional[_Iterable[int]] = ..., pending_shadow: _Optional[str] = ..., cascade_steps: _Optional[_Iterable[_Union[CascadeStepRecord, _Mapping]]] = ...) -> None: ...

class CascadeStepRecord(_message.Message):
    __slots__ = ("k", "models", "answer", "outcome", "reason", "added", "confidence")
    K_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    k: int
    models: _containers.RepeatedScalarFieldContainer[str]
    answer: str
    outcome: _voting_pb2.ScaleOutcome
    reason: str
    added: _containers.RepeatedCompositeFieldContainer[CascadeChoiceRecord]
    confidence: float
    def __init__(self, k: _Optional[int] = ..., models: _Optional[_Iterable[str]] = ..., answer: _Optional[str] = ..., outcome: _Optional[_Union[_voting_pb2.ScaleOutcome, str]] = ..., reason: _Optional[str] = ..., added: _Optional[_Iterable[_Union[CascadeChoiceRecord, _Mapping]]] = ..., confidence: _Optional[float] = ...) -> None: ...

class CascadeChoiceRecord(_message.Message):
    __slots__ = ("model", "evidence", "expected_accuracy", "error_correlation", "cost")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    ERROR_CORRELATION_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    model: str
    evidence: str
    expected_accuracy: float
    error_correlation: float
    cost: float
    def __init__(self, model: _Optional[str] = ..., evidence: _Optional[str] = ..., expected_accuracy: _Optional[float] = ..., error_correlation: _Optional[float] = ..., cost: _Optional[float] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ("since", "until", "kind")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    kind: CallKind
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[CallKind, str]] = ...) -> None: ...

class StatsBucket(_message.Message):
    __slots__ = ("key", "calls", "share", "cost_usd", "tokens", "mean_latency_s", "errors")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    MEAN_LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    key: str
    calls: int
    share: float
    cost_usd: float
    tokens: int
    mean_latency_s: float
    errors: int
    def __init__(self, key: _Optional[str] = ..., calls: _Optional[int] = ..., share: _Optional[float] = ..., cost_usd: _Optional[float] = ..., tokens: _Optional[int] = ..., mean_latency_s: _Optional[float] = ..., errors: _Optional[int] = ...) -> None: ...

class Stats(_message.Message):
    __slots__ = ("total_calls", "total_cost_usd", "total_tokens", "mean_latency_s", "p50_latency_s", "p95_latency_s", "by_model", "by_tier", "by_task_type", "by_kind", "mean_routing_latency_ms", "routed_calls", "cache", "by_confidence")
    TOTAL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_USD_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MEAN_LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    P50_LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    P95_LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    BY_MODEL_FIELD_NUMBER: _ClassVar[int]
    BY_TIER_FIELD_NUMBER: _ClassVar[int]
    BY_TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    BY_KIND_FIELD_NUMBER: _ClassVar[int]
    MEAN_ROUTING_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ROUTED_CALLS_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    BY_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    total_calls: int
    total_cost_usd: float
    total_tokens: int
    mean_latency_s: float
    p50_latency_s: float
    p95_latency_s: float
    by_model: _containers.RepeatedCompositeFieldContainer[StatsBucket]
    by_tier: _containers.RepeatedCompositeFieldContainer[StatsBucket]
    by_task_type: _containers.RepeatedCompositeFieldContainer[StatsBucket]
    by_kind: _containers.RepeatedCompositeFieldContainer[StatsBucket]
    mean_routing_latency_ms: float
    routed_calls: int
    cache: CacheStats
    by_confidence: _containers.RepeatedCompositeFieldContainer[ConfidenceLevel]
    def __init__(self, total_calls: _Optional[int] = ..., total_cost_usd: _Optional[float] = ..., total_tokens: _Optional[int] = ..., mean_latency_s: _Optional[float] = ..., p50_latency_s: _Optional[float] = ..., p95_latency_s: _Optional[float] = ..., by_model: _Optional[_Iterable[_Union[StatsBucket, _Mapping]]] = ..., by_tier: _Optional[_Iterable[_Union[StatsBucket, _Mapping]]] = ..., by_task_type: _Optional[_Iterable[_Union[StatsBucket, _Mapping]]] = ..., by_kind: _Optional[_Iterable[_Union[StatsBucket, _Mapping]]] = ..., mean_routing_latency_ms: _Optional[float] = ..., routed_calls: _Optional[int] = ..., cache: _Optional[_Union[CacheStats, _Mapping]] = ..., by_confidence: _Optional[_Iterable[_Union[ConfidenceLevel, _Mapping]]] = ...) -> None: ...

class ConfidenceLevel(_message.Message):
    __slots__ = ("min_confidence", "calls", "accuracy")
    MIN_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    min_confidence: float
    calls: int
    accuracy: float
    def __init__(self, min_confidence: _Optional[float] = ..., calls: _Optional[int] = ..., accuracy: _Optional[float] = ...) -> None: ...

class CacheStats(_message.Message):
    __slots__ = ("hits", "misses", "semantic_hits", "saved_cost_usd", "hit_rate")
    HITS_FIELD_NUMBER: _ClassVar[int]
    MISSES_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_HITS_FIELD_NUMBER: _ClassVar[int]
    SAVED_COST_USD_FIELD_NUMBER: _ClassVar[int]
    HIT_RATE_FIELD_NUMBER: _ClassVar[int]
    hits: int
    misses: int
    semantic_hits: int
    saved_cost_usd: float
    hit_rate: float
    def __init__(self, hits: _Optional[int] = ..., misses: _Optional[int] = ..., semantic_hits: _Optional[int] = ..., saved_cost_usd: _Optional[float] = ..., hit_rate: _Optional[float] = ...) -> None: ...

class ListCallsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "model", "kind", "since", "until")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    model: str
    kind: CallKind
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., model: _Optional[str] = ..., kind: _Optional[_Union[CallKind, str]] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CallPage(_message.Message):
    __slots__ = ("calls", "next_page_token")
    CALLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    calls: _containers.RepeatedCompositeFieldContainer[CallRecord]
    next_page_token: str
    def __init__(self, calls: _Optional[_Iterable[_Union[CallRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
