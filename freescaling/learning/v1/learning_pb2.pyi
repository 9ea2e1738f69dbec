import datetime

from freescaling.common.v1 import calls_pb2 as _calls_pb2
from freescaling.common.v1 import info_pb2 as _info_pb2
from freescaling.common.v1 import models_pb2 as _models_pb2
from freescaling.common.v1 import ratings_pb2 as _ratings_pb2
from freescaling.common.v1 import records_pb2 as _records_pb2
from freescaling.common.v1 import routing_pb2 as _routing_pb2
from freescaling.common.v1 import voting_pb2 as _voting_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LookupAnswerRequest(_message.Message):
    __slots__ = ("scope", "kind", "settings_key", "text_key", "embedding", "embedder", "threshold", "numbers")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_KEY_FIELD_NUMBER: _ClassVar[int]
    TEXT_KEY_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    EMBEDDER_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    NUMBERS_FIELD_NUMBER: _ClassVar[int]
    scope: str
    kind: str
    settings_key: str
    text_key: str
    embedding: _containers.RepeatedScalarFieldContainer[float]
    embedder: str
    threshold: float
    numbers: str
    def __init__(self, scope: _Optional[str] = ..., kind: _Optional[str] = ..., settings_key: _Optional[str] = ..., text_key: _Optional[str] = ..., embedding: _Optional[_Iterable[float]] = ..., embedder: _Optional[str] = ..., threshold: _Optional[float] = ..., numbers: _Optional[str] = ...) -> None: ...

class LookupAnswerResponse(_message.Message):
    __slots__ = ("found", "answer", "hit")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    HIT_FIELD_NUMBER: _ClassVar[int]
    found: bool
    answer: bytes
    hit: _calls_pb2.CacheHit
    def __init__(self, found: _Optional[bool] = ..., answer: _Optional[bytes] = ..., hit: _Optional[_Union[_calls_pb2.CacheHit, _Mapping]] = ...) -> None: ...

class StoreAnswerRequest(_message.Message):
    __slots__ = ("scope", "kind", "settings_key", "text_key", "embedding", "embedder", "numbers", "answer", "call_id", "cost_usd", "ttl_s")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_KEY_FIELD_NUMBER: _ClassVar[int]
    TEXT_KEY_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    EMBEDDER_FIELD_NUMBER: _ClassVar[int]
    NUMBERS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    TTL_S_FIELD_NUMBER: _ClassVar[int]
    scope: str
    kind: str
    settings_key: str
    text_key: str
    embedding: _containers.RepeatedScalarFieldContainer[float]
    embedder: str
    numbers: str
    answer: bytes
    call_id: str
    cost_usd: float
    ttl_s: float
    def __init__(self, scope: _Optional[str] = ..., kind: _Optional[str] = ..., settings_key: _Optional[str] = ..., text_key: _Optional[str] = ..., embedding: _Optional[_Iterable[float]] = ..., embedder: _Optional[str] = ..., numbers: _Optional[str] = ..., answer: _Optional[bytes] = ..., call_id: _Optional[str] = ..., cost_usd: _Optional[float] = ..., ttl_s: _Optional[float] = ...) -> None: ...

class StoreAnswerResponse(_message.Message):
    __slots__ = ("expires_at_us",)
    EXPIRES_AT_US_FIELD_NUMBER: _ClassVar[int]
    expires_at_us: int
    def __init__(self, expires_at_us: _Optional[int] = ...) -> None: ...

class RecordCallRequest(_message.Message):
    __slots__ = ("record", "register_models")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    REGISTER_MODELS_FIELD_NUMBER: _ClassVar[int]
    record: _records_pb2.CallRecord
    register_models: bool
    def __init__(self, record: _Optional[_Union[_records_pb2.CallRecord, _Mapping]] = ..., register_models: _Optional[bool] = ...) -> None: ...

class RecordCallResponse(_message.Message):
    __slots__ = ("call_id", "duplicate", "changes")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    duplicate: bool
    changes: _containers.RepeatedCompositeFieldContainer[_ratings_pb2.RatingChange]
    def __init__(self, call_id: _Optional[str] = ..., duplicate: _Optional[bool] = ..., changes: _Optional[_Iterable[_Union[_ratings_pb2.RatingChange, _Mapping]]] = ...) -> None: ...

class RecordCallsRequest(_message.Message):
    __slots__ = ("records", "register_models")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    REGISTER_MODELS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[_records_pb2.CallRecord]
    register_models: bool
    def __init__(self, records: _Optional[_Iterable[_Union[_records_pb2.CallRecord, _Mapping]]] = ..., register_models: _Optional[bool] = ...) -> None: ...

class RecordCallsResponse(_message.Message):
    __slots__ = ("outcomes",)
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[RecordCallOutcome]
    def __init__(self, outcomes: _Optional[_Iterable[_Union[RecordCallOutcome, _Mapping]]] = ...) -> None: ...

class RecordCallOutcome(_message.Message):
    __slots__ = ("recorded", "error")
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    recorded: RecordCallResponse
    error: _voting_pb2.ItemError
    def __init__(self, recorded: _Optional[_Union[RecordCallResponse, _Mapping]] = ..., error: _Optional[_Union[_voting_pb2.ItemError, _Mapping]] = ...) -> None: ...

class AttachShadowsRequest(_message.Message):
    __slots__ = ("shadows", "register_models")
    SHADOWS_FIELD_NUMBER: _ClassVar[int]
    REGISTER_MODELS_FIELD_NUMBER: _ClassVar[int]
    shadows: _containers.RepeatedCompositeFieldContainer[_voting_pb2.ShadowVote]
    register_models: bool
    def __init__(self, shadows: _Optional[_Iterable[_Union[_voting_pb2.ShadowVote, _Mapping]]] = ..., register_models: _Optional[bool] = ...) -> None: ...

class AttachShadowsResponse(_message.Message):
    __slots__ = ("outcomes",)
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[AttachShadowOutcome]
    def __init__(self, outcomes: _Optional[_Iterable[_Union[AttachShadowOutcome, _Mapping]]] = ...) -> None: ...

class AttachShadowOutcome(_message.Message):
    __slots__ = ("attached", "error")
    ATTACHED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    attached: AttachedShadow
    error: _voting_pb2.ItemError
    def __init__(self, attached: _Optional[_Union[AttachedShadow, _Mapping]] = ..., error: _Optional[_Union[_voting_pb2.ItemError, _Mapping]] = ...) -> None: ...

class AttachedShadow(_message.Message):
    __slots__ = ("call_id", "duplicate")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    duplicate: bool
    def __init__(self, call_id: _Optional[str] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class GetPanelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListPanelChangesRequest(_message.Message):
    __slots__ = ("panel", "limit")
    PANEL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    panel: str
    limit: int
    def __init__(self, panel: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListPanelChangesResponse(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[_ratings_pb2.PanelChange]
    def __init__(self, changes: _Optional[_Iterable[_Union[_ratings_pb2.PanelChange, _Mapping]]] = ...) -> None: ...

class GradedItem(_message.Message):
    __slots__ = ("item_id", "cluster_id", "task_type", "correct", "trial", "answer")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    cluster_id: int
    task_type: str
    correct: bool
    trial: int
    answer: str
    def __init__(self, item_id: _Optional[str] = ..., cluster_id: _Optional[int] = ..., task_type: _Optional[str] = ..., correct: _Optional[bool] = ..., trial: _Optional[int] = ..., answer: _Optional[str] = ...) -> None: ...

class ItemEmbedding(_message.Message):
    __slots__ = ("item_id", "embedding")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    embedding: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, item_id: _Optional[str] = ..., embedding: _Optional[_Iterable[float]] = ...) -> None: ...

class RecordValidationRequest(_message.Message):
    __slots__ = ("model", "cluster_set_id", "items", "routing_cost", "replace", "embeddings")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    ROUTING_COST_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    model: str
    cluster_set_id: str
    items: _containers.RepeatedCompositeFieldContainer[GradedItem]
    routing_cost: float
    replace: bool
    embeddings: _containers.RepeatedCompositeFieldContainer[ItemEmbedding]
    def __init__(self, model: _Optional[str] = ..., cluster_set_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[GradedItem, _Mapping]]] = ..., routing_cost: _Optional[float] = ..., replace: _Optional[bool] = ..., embeddings: _Optional[_Iterable[_Union[ItemEmbedding, _Mapping]]] = ...) -> None: ...

class GetProfileRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    def __init__(self, model: _Optional[str] = ...) -> None: ...

class ListProfilesRequest(_message.Message):
    __slots__ = ("cluster_set_id",)
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    cluster_set_id: str
    def __init__(self, cluster_set_id: _Optional[str] = ...) -> None: ...

class ListProfilesResponse(_message.Message):
    __slots__ = ("profiles",)
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[_routing_pb2.ModelProfile]
    def __init__(self, profiles: _Optional[_Iterable[_Union[_routing_pb2.ModelProfile, _Mapping]]] = ...) -> None: ...

class RouteRequest(_message.Message):
    __slots__ = ("cluster_id", "candidates", "cluster_set_id", "costs", "embedding", "task_type")
    class CostsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    LAMBDA_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    COSTS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    candidates: _containers.RepeatedScalarFieldContainer[str]
    cluster_set_id: str
    costs: _containers.ScalarMap[str, float]
    embedding: _containers.RepeatedScalarFieldContainer[float]
    task_type: str
    def __init__(self, cluster_id: _Optional[int] = ..., candidates: _Optional[_Iterable[str]] = ..., cluster_set_id: _Optional[str] = ..., costs: _Optional[_Mapping[str, float]] = ..., embedding: _Optional[_Iterable[float]] = ..., task_type: _Optional[str] = ..., **kwargs) -> None: ...

class RouteResponse(_message.Message):
    __slots__ = ("candidates", "cluster_set_id", "estimator", "unprofiled")
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    ESTIMATOR_FIELD_NUMBER: _ClassVar[int]
    UNPROFILED_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[_routing_pb2.RouteCandidate]
    cluster_set_id: str
    estimator: _routing_pb2.ProfileEstimator
    unprofiled: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, candidates: _Optional[_Iterable[_Union[_routing_pb2.RouteCandidate, _Mapping]]] = ..., cluster_set_id: _Optional[str] = ..., estimator: _Optional[_Union[_routing_pb2.ProfileEstimator, _Mapping]] = ..., unprofiled: _Optional[_Iterable[str]] = ...) -> None: ...

class ErrorCorrelationRequest(_message.Message):
    __slots__ = ("model_a", "model_b", "cluster_set_id")
    MODEL_A_FIELD_NUMBER: _ClassVar[int]
    MODEL_B_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    model_a: str
    model_b: str
    cluster_set_id: str
    def __init__(self, model_a: _Optional[str] = ..., model_b: _Optional[str] = ..., cluster_set_id: _Optional[str] = ...) -> None: ...

class ErrorCorrelationResponse(_message.Message):
    __slots__ = ("correlation", "shared_items", "both_wrong")
    CORRELATION_FIELD_NUMBER: _ClassVar[int]
    SHARED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    BOTH_WRONG_FIELD_NUMBER: _ClassVar[int]
    correlation: float
    shared_items: int
    both_wrong: int
    def __init__(self, correlation: _Optional[float] = ..., shared_items: _Optional[int] = ..., both_wrong: _Optional[int] = ...) -> None: ...

class GetCallRequest(_message.Message):
    __slots__ = ("call_id",)
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    def __init__(self, call_id: _Optional[str] = ...) -> None: ...

class ExpertsRequest(_message.Message):
    __slots__ = ("candidates", "asked", "count", "cluster_id", "cluster_set_id", "embedding", "task_type", "costs", "min_calls")
    class CostsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    ASKED_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    LAMBDA_FIELD_NUMBER: _ClassVar[int]
    COSTS_FIELD_NUMBER: _ClassVar[int]
    MIN_CALLS_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedScalarFieldContainer[str]
    asked: _containers.RepeatedScalarFieldContainer[str]
    count: int
    cluster_id: int
    cluster_set_id: str
    embedding: _containers.RepeatedScalarFieldContainer[float]
    task_type: str
    costs: _containers.ScalarMap[str, float]
    min_calls: int
    def __init__(self, candidates: _Optional[_Iterable[str]] = ..., asked: _Optional[_Iterable[str]] = ..., count: _Optional[int] = ..., cluster_id: _Optional[int] = ..., cluster_set_id: _Optional[str] = ..., embedding: _Optional[_Iterable[float]] = ..., task_type: _Optional[str] = ..., costs: _Optional[_Mapping[str, float]] = ..., min_calls: _Optional[int] = ..., **kwargs) -> None: ...

class Expert(_message.Message):
    __slots__ = ("model", "accuracy", "profile_accuracy", "profile_n", "task_accuracy", "task_n", "agreement", "agreement_n", "rating", "cost", "correlation", "score", "evidence")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    PROFILE_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    PROFILE_N_FIELD_NUMBER: _ClassVar[int]
    TASK_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    TASK_N_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_N_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    model: str
    accuracy: float
    profile_accuracy: float
    profile_n: int
    task_accuracy: float
    task_n: int
    agreement: float
    agreement_n: int
    rating: float
    cost: float
    correlation: float
    score: float
    evidence: str
    def __init__(self, model: _Optional[str] = ..., accuracy: _Optional[float] = ..., profile_accuracy: _Optional[float] = ..., profile_n: _Optional[int] = ..., task_accuracy: _Optional[float] = ..., task_n: _Optional[int] = ..., agreement: _Optional[float] = ..., agreement_n: _Optional[int] = ..., rating: _Optional[float] = ..., cost: _Optional[float] = ..., correlation: _Optional[float] = ..., score: _Optional[float] = ..., evidence: _Optional[str] = ...) -> None: ...

class ExpertsResponse(_message.Message):
    __slots__ = ("chosen", "ranked", "cluster_set_id")
    CHOSEN_FIELD_NUMBER: _ClassVar[int]
    RANKED_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    chosen: _containers.RepeatedCompositeFieldContainer[Expert]
    ranked: _containers.RepeatedCompositeFieldContainer[Expert]
    cluster_set_id: str
    def __init__(self, chosen: _Optional[_Iterable[_Union[Expert, _Mapping]]] = ..., ranked: _Optional[_Iterable[_Union[Expert, _Mapping]]] = ..., cluster_set_id: _Optional[str] = ...) -> None: ...

class WeighVotersRequest(_message.Message):
    __slots__ = ("candidates", "embedding", "task_type", "cluster_id", "cluster_set_id")
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedScalarFieldContainer[str]
    embedding: _containers.RepeatedScalarFieldContainer[float]
    task_type: str
    cluster_id: int
    cluster_set_id: str
    def __init__(self, candidates: _Optional[_Iterable[str]] = ..., embedding: _Optional[_Iterable[float]] = ..., task_type: _Optional[str] = ..., cluster_id: _Optional[int] = ..., cluster_set_id: _Optional[str] = ...) -> None: ...

class StoreCentroidsRequest(_message.Message):
    __slots__ = ("cluster_set", "centroids")
    CLUSTER_SET_FIELD_NUMBER: _ClassVar[int]
    CENTROIDS_FIELD_NUMBER: _ClassVar[int]
    cluster_set: _routing_pb2.ClusterSet
    centroids: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, cluster_set: _Optional[_Union[_routing_pb2.ClusterSet, _Mapping]] = ..., centroids: _Optional[_Iterable[float]] = ...) -> None: ...

class GetCentroidsRequest(_message.Message):
    __slots__ = ("model_fingerprint", "known_id")
    MODEL_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    KNOWN_ID_FIELD_NUMBER: _ClassVar[int]
    model_fingerprint: str
    known_id: str
    def __init__(self, model_fingerprint: _Optional[str] = ..., known_id: _Optional[str] = ...) -> None: ...

class GetCentroidsResponse(_message.Message):
    __slots__ = ("cluster_set", "centroids")
    CLUSTER_SET_FIELD_NUMBER: _ClassVar[int]
    CENTROIDS_FIELD_NUMBER: _ClassVar[int]
    cluster_set: _routing_pb2.ClusterSet
    centroids: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, cluster_set: _Optional[_Union[_routing_pb2.ClusterSet, _Mapping]] = ..., centroids: _Optional[_Iterable[float]] = ...) -> None: ...

class StoreRegisteredModelRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _models_pb2.ModelInfo
    def __init__(self, model: _Optional[_Union[_models_pb2.ModelInfo, _Mapping]] = ...) -> None: ...

class StoreRegisteredModelResponse(_message.Message):
    __slots__ = ("registered", "created", "etag")
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    registered: RegisteredModel
    created: bool
    etag: str
    def __init__(self, registered: _Optional[_Union[RegisteredModel, _Mapping]] = ..., created: _Optional[bool] = ..., etag: _Optional[str] = ...) -> None: ...

class RegisteredModel(_message.Message):
    __slots__ = ("model", "registered_at")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    model: _models_pb2.ModelInfo
    registered_at: _timestamp_pb2.Timestamp
    def __init__(self, model: _Optional[_Union[_models_pb2.ModelInfo, _Mapping]] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListRegisteredModelsRequest(_message.Message):
    __slots__ = ("known_etag",)
    KNOWN_ETAG_FIELD_NUMBER: _ClassVar[int]
    known_etag: str
    def __init__(self, known_etag: _Optional[str] = ...) -> None: ...

class ListRegisteredModelsResponse(_message.Message):
    __slots__ = ("etag", "unchanged", "models")
    ETAG_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    etag: str
    unchanged: bool
    models: _containers.RepeatedCompositeFieldContainer[RegisteredModel]
    def __init__(self, etag: _Optional[str] = ..., unchanged: _Optional[bool] = ..., models: _Optional[_Iterable[_Union[RegisteredModel, _Mapping]]] = ...) -> None: ...

class ModelPrice(_message.Message):
    __slots__ = ("input_cost_per_mtok", "output_cost_per_mtok")
    INPUT_COST_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_COST_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    input_cost_per_mtok: float
    output_cost_per_mtok: float
    def __init__(self, input_cost_per_mtok: _Optional[float] = ..., output_cost_per_mtok: _Optional[float] = ...) -> None: ...

class GetOverviewRequest(_message.Message):
    __slots__ = ("since", "until", "buckets", "prices")
    class PricesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ModelPrice
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ModelPrice, _Mapping]] = ...) -> None: ...
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    buckets: int
    prices: _containers.MessageMap[str, ModelPrice]
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., buckets: _Optional[int] = ..., prices: _Optional[_Mapping[str, ModelPrice]] = ...) -> None: ...

class OverviewBucket(_message.Message):
    __slots__ = ("start", "calls", "tokens", "cost_usd", "baseline_cost_usd", "errors")
    START_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    BASELINE_COST_USD_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    calls: int
    tokens: int
    cost_usd: float
    baseline_cost_usd: float
    errors: int
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., calls: _Optional[int] = ..., tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ..., baseline_cost_usd: _Optional[float] = ..., errors: _Optional[int] = ...) -> None: ...

class ErrorCount(_message.Message):
    __slots__ = ("model", "cause", "count", "last_at")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_AT_FIELD_NUMBER: _ClassVar[int]
    model: str
    cause: str
    count: int
    last_at: _timestamp_pb2.Timestamp
    def __init__(self, model: _Optional[str] = ..., cause: _Optional[str] = ..., count: _Optional[int] = ..., last_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetOverviewResponse(_message.Message):
    __slots__ = ("buckets", "bucket_s", "baseline_model", "baseline_accuracy", "baseline_note", "cost_usd", "baseline_cost_usd", "feedback_calls", "correct_calls", "errors", "calls", "tokens", "routed_calls", "p50_latency_s", "p95_latency_s", "cache", "calls_by_model")
    class CallsByModelEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_S_FIELD_NUMBER: _ClassVar[int]
    BASELINE_MODEL_FIELD_NUMBER: _ClassVar[int]
    BASELINE_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    BASELINE_NOTE_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    BASELINE_COST_USD_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_CALLS_FIELD_NUMBER: _ClassVar[int]
    CORRECT_CALLS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    ROUTED_CALLS_FIELD_NUMBER: _ClassVar[int]
    P50_LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    P95_LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    CALLS_BY_MODEL_FIELD_NUMBER: _ClassVar[int]
    buckets: _containers.RepeatedCompositeFieldContainer[OverviewBucket]
    bucket_s: float
    baseline_model: str
    baseline_accuracy: float
    baseline_note: str
    cost_usd: float
    baseline_cost_usd: float
    feedback_calls: int
    correct_calls: int
    errors: _containers.RepeatedCompositeFieldContainer[ErrorCount]
    calls: int
    tokens: int
    routed_calls: int
    p50_latency_s: float
    p95_latency_s: float
    cache: _records_pb2.CacheStats
    calls_by_model: _containers.ScalarMap[str, int]
    def __init__(self, buckets: _Optional[_Iterable[_Union[OverviewBucket, _Mapping]]] = ..., bucket_s: _Optional[float] = ..., baseline_model: _Optional[str] = ..., baseline_accuracy: _Optional[float] = ..., baseline_note: _Optional[str] = ..., cost_usd: _Optional[float] = ..., baseline_cost_usd: _Optional[float] = ..., feedback_calls: _Optional[int] = ..., correct_calls: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[ErrorCount, _Mapping]]] = ..., calls: _Optional[int] = ..., tokens: _Optional[int] = ..., routed_calls: _Optional[int] = ..., p50_latency_s: _Optional[float] = ..., p95_latency_s: _Optional[float] = ..., cache: _Optional[_Union[_records_pb2.CacheStats, _Mapping]] = ..., calls_by_model: _Optional[_Mapping[str, int]] = ...) -> None: ...

class GetRatingHistoryRequest(_message.Message):
    __slots__ = ("models", "since", "until", "points")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedScalarFieldContainer[str]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    points: int
    def __init__(self, models: _Optional[_Iterable[str]] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., points: _Optional[int] = ...) -> None: ...

class RatingPoint(_message.Message):
    __slots__ = ("at", "rating")
    AT_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    rating: float
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rating: _Optional[float] = ...) -> None: ...

class RatingSeries(_message.Message):
    __slots__ = ("model", "points")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    model: str
    points: _containers.RepeatedCompositeFieldContainer[RatingPoint]
    def __init__(self, model: _Optional[str] = ..., points: _Optional[_Iterable[_Union[RatingPoint, _Mapping]]] = ...) -> None: ...

class GetRatingHistoryResponse(_message.Message):
    __slots__ = ("series",)
    SERIES_FIELD_NUMBER: _ClassVar[int]
    series: _containers.RepeatedCompositeFieldContainer[RatingSeries]
    def __init__(self, series: _Optional[_Iterable[_Union[RatingSeries, _Mapping]]] = ...) -> None: ...

class GetCalibrationRequest(_message.Message):
    __slots__ = ("since", "until", "bins")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    BINS_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    bins: int
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bins: _Optional[int] = ...) -> None: ...

class CalibrationBin(_message.Message):
    __slots__ = ("low", "high", "calls", "mean_confidence", "accuracy")
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    MEAN_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    low: float
    high: float
    calls: int
    mean_confidence: float
    accuracy: float
    def __init__(self, low: _Optional[float] = ..., high: _Optional[float] = ..., calls: _Optional[int] = ..., mean_confidence: _Optional[float] = ..., accuracy: _Optional[float] = ...) -> None: ...

class GetCalibrationResponse(_message.Message):
    __slots__ = ("bins", "calls", "expected_calibration_error")
    BINS_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_CALIBRATION_ERROR_FIELD_NUMBER: _ClassVar[int]
    bins: _containers.RepeatedCompositeFieldContainer[CalibrationBin]
    calls: int
    expected_calibration_error: float
    def __init__(self, bins: _Optional[_Iterable[_Union[CalibrationBin, _Mapping]]] = ..., calls: _Optional[int] = ..., expected_calibration_error: _Optional[float] = ...) -> None: ...
