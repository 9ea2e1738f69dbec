import datetime

from freescaling.common.v1 import classification_pb2 as _classification_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RoutingMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROUTING_METHOD_UNSPECIFIED: _ClassVar[RoutingMethod]
    ROUTING_METHOD_NAMED: _ClassVar[RoutingMethod]
    ROUTING_METHOD_TIER: _ClassVar[RoutingMethod]
    ROUTING_METHOD_PROFILE: _ClassVar[RoutingMethod]
    ROUTING_METHOD_FALLBACK: _ClassVar[RoutingMethod]
    ROUTING_METHOD_ELO: _ClassVar[RoutingMethod]
    ROUTING_METHOD_EXPERT: _ClassVar[RoutingMethod]
ROUTING_METHOD_UNSPECIFIED: RoutingMethod
ROUTING_METHOD_NAMED: RoutingMethod
ROUTING_METHOD_TIER: RoutingMethod
ROUTING_METHOD_PROFILE: RoutingMethod
ROUTING_METHOD_FALLBACK: RoutingMethod
ROUTING_METHOD_ELO: RoutingMethod
ROUTING_METHOD_EXPERT: RoutingMethod

class RouteCandidate(_message.Message):
    __slots__ = ("model", "psi", "cost", "score", "n", "rank")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PSI_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    model: str
    psi: float
    cost: float
    score: float
    n: int
    rank: int
    def __init__(self, model: _Optional[str] = ..., psi: _Optional[float] = ..., cost: _Optional[float] = ..., score: _Optional[float] = ..., n: _Optional[int] = ..., rank: _Optional[int] = ...) -> None: ...

class RoutingInfo(_message.Message):
    __slots__ = ("method", "model", "reason", "classification", "candidates", "routing_latency_ms")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    LAMBDA_FIELD_NUMBER: _ClassVar[int]
    ROUTING_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    method: RoutingMethod
    model: str
    reason: str
    classification: _classification_pb2.Classification
    candidates: _containers.RepeatedCompositeFieldContainer[RouteCandidate]
    routing_latency_ms: float
    def __init__(self, method: _Optional[_Union[RoutingMethod, str]] = ..., model: _Optional[str] = ..., reason: _Optional[str] = ..., classification: _Optional[_Union[_classification_pb2.Classification, _Mapping]] = ..., candidates: _Optional[_Iterable[_Union[RouteCandidate, _Mapping]]] = ..., routing_latency_ms: _Optional[float] = ..., **kwargs) -> None: ...

class ClusterProfile(_message.Message):
    __slots__ = ("cluster_id", "n", "errors", "psi")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    PSI_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    n: int
    errors: int
    psi: float
    def __init__(self, cluster_id: _Optional[int] = ..., n: _Optional[int] = ..., errors: _Optional[int] = ..., psi: _Optional[float] = ...) -> None: ...

class TaskTypeAccuracy(_message.Message):
    __slots__ = ("task_type", "n", "correct", "accuracy")
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    task_type: str
    n: int
    correct: int
    accuracy: float
    def __init__(self, task_type: _Optional[str] = ..., n: _Optional[int] = ..., correct: _Optional[int] = ..., accuracy: _Optional[float] = ...) -> None: ...

class ModelProfile(_message.Message):
    __slots__ = ("model", "cluster_set_id", "clusters", "task_types", "n", "accuracy", "updated_at")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPES_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    model: str
    cluster_set_id: str
    clusters: _containers.RepeatedCompositeFieldContainer[ClusterProfile]
    task_types: _containers.RepeatedCompositeFieldContainer[TaskTypeAccuracy]
    n: int
    accuracy: float
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, model: _Optional[str] = ..., cluster_set_id: _Optional[str] = ..., clusters: _Optional[_Iterable[_Union[ClusterProfile, _Mapping]]] = ..., task_types: _Optional[_Iterable[_Union[TaskTypeAccuracy, _Mapping]]] = ..., n: _Optional[int] = ..., accuracy: _Optional[float] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ClusterSet(_message.Message):
    __slots__ = ("id", "k", "dim", "model_fingerprint", "seed", "sizes", "fitted_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    MODEL_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SIZES_FIELD_NUMBER: _ClassVar[int]
    FITTED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    k: int
    dim: int
    model_fingerprint: str
    seed: int
    sizes: _containers.RepeatedScalarFieldContainer[int]
    fitted_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., k: _Optional[int] = ..., dim: _Optional[int] = ..., model_fingerprint: _Optional[str] = ..., seed: _Optional[int] = ..., sizes: _Optional[_Iterable[int]] = ..., fitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ProfileEstimator(_message.Message):
    __slots__ = ("method", "neighbours", "shrinkage", "cv_log_loss", "cv_accuracy", "items", "description", "penalty", "logistic_weight", "clusters")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    NEIGHBOURS_FIELD_NUMBER: _ClassVar[int]
    SHRINKAGE_FIELD_NUMBER: _ClassVar[int]
    CV_LOG_LOSS_FIELD_NUMBER: _ClassVar[int]
    CV_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PENALTY_FIELD_NUMBER: _ClassVar[int]
    LOGISTIC_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    method: str
    neighbours: int
    shrinkage: float
    cv_log_loss: float
    cv_accuracy: float
    items: int
    description: str
    penalty: float
    logistic_weight: float
    clusters: int
    def __init__(self, method: _Optional[str] = ..., neighbours: _Optional[int] = ..., shrinkage: _Optional[float] = ..., cv_log_loss: _Optional[float] = ..., cv_accuracy: _Optional[float] = ..., items: _Optional[int] = ..., description: _Optional[str] = ..., penalty: _Optional[float] = ..., logistic_weight: _Optional[float] = ..., clusters: _Optional[int] = ...) -> None: ...

class GetCapabilityMapRequest(_message.Message):
    __slots__ = ("cluster_set_id",)
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    cluster_set_id: str
    def __init__(self, cluster_set_id: _Optional[str] = ...) -> None: ...

class ModelCapability(_message.Message):
    __slots__ = ("model", "items", "trials", "accuracy", "task_types", "clusters", "consistency", "consistency_items", "routing_cost")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPES_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_ITEMS_FIELD_NUMBER: _ClassVar[int]
    ROUTING_COST_FIELD_NUMBER: _ClassVar[int]
    model: str
    items: int
    trials: int
    accuracy: float
    task_types: _containers.RepeatedCompositeFieldContainer[TaskTypeAccuracy]
    clusters: _containers.RepeatedCompositeFieldContainer[ClusterProfile]
    consistency: float
    consistency_items: int
    routing_cost: float
    def __init__(self, model: _Optional[str] = ..., items: _Optional[int] = ..., trials: _Optional[int] = ..., accuracy: _Optional[float] = ..., task_types: _Optional[_Iterable[_Union[TaskTypeAccuracy, _Mapping]]] = ..., clusters: _Optional[_Iterable[_Union[ClusterProfile, _Mapping]]] = ..., consistency: _Optional[float] = ..., consistency_items: _Optional[int] = ..., routing_cost: _Optional[float] = ...) -> None: ...

class CapabilityMap(_message.Message):
    __slots__ = ("cluster_set_id", "models", "correlations", "estimator", "compared")
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    CORRELATIONS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATOR_FIELD_NUMBER: _ClassVar[int]
    COMPARED_FIELD_NUMBER: _ClassVar[int]
    cluster_set_id: str
    models: _containers.RepeatedCompositeFieldContainer[ModelCapability]
    correlations: _containers.RepeatedCompositeFieldContainer[ModelPairCorrelation]
    estimator: ProfileEstimator
    compared: _containers.RepeatedCompositeFieldContainer[ProfileEstimator]
    def __init__(self, cluster_set_id: _Optional[str] = ..., models: _Optional[_Iterable[_Union[ModelCapability, _Mapping]]] = ..., correlations: _Optional[_Iterable[_Union[ModelPairCorrelation, _Mapping]]] = ..., estimator: _Optional[_Union[ProfileEstimator, _Mapping]] = ..., compared: _Optional[_Iterable[_Union[ProfileEstimator, _Mapping]]] = ...) -> None: ...

class SuggestPanelRequest(_message.Message):
    __slots__ = ("size", "candidates", "cluster_set_id")
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    size: int
    candidates: _containers.RepeatedScalarFieldContainer[str]
    cluster_set_id: str
    def __init__(self, size: _Optional[int] = ..., candidates: _Optional[_Iterable[str]] = ..., cluster_set_id: _Optional[str] = ...) -> None: ...

class SuggestedPanel(_message.Message):
    __slots__ = ("models", "panel_accuracy", "best_single_model", "best_single_accuracy", "mean_error_correlation", "items", "reason")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    PANEL_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    BEST_SINGLE_MODEL_FIELD_NUMBER: _ClassVar[int]
    BEST_SINGLE_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    MEAN_ERROR_CORRELATION_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedScalarFieldContainer[str]
    panel_accuracy: float
    best_single_model: str
    best_single_accuracy: float
    mean_error_correlation: float
    items: int
    reason: str
    def __init__(self, models: _Optional[_Iterable[str]] = ..., panel_accuracy: _Optional[float] = ..., best_single_model: _Optional[str] = ..., best_single_accuracy: _Optional[float] = ..., mean_error_correlation: _Optional[float] = ..., items: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class ErrorCorrelationsRequest(_message.Message):
    __slots__ = ("models", "cluster_set_id")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedScalarFieldContainer[str]
    cluster_set_id: str
    def __init__(self, models: _Optional[_Iterable[str]] = ..., cluster_set_id: _Optional[str] = ...) -> None: ...

class ModelPairCorrelation(_message.Message):
    __slots__ = ("model_a", "model_b", "correlation", "shared_items", "both_wrong")
    MODEL_A_FIELD_NUMBER: _ClassVar[int]
    MODEL_B_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_FIELD_NUMBER: _ClassVar[int]
    SHARED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    BOTH_WRONG_FIELD_NUMBER: _ClassVar[int]
    model_a: str
    model_b: str
    correlation: float
    shared_items: int
    both_wrong: int
    def __init__(self, model_a: _Optional[str] = ..., model_b: _Optional[str] = ..., correlation: _Optional[float] = ..., shared_items: _Optional[int] = ..., both_wrong: _Optional[int] = ...) -> None: ...

class ErrorCorrelations(_message.Message):
    __slots__ = ("cluster_set_id", "pairs")
    CLUSTER_SET_ID_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    cluster_set_id: str
    pairs: _containers.RepeatedCompositeFieldContainer[ModelPairCorrelation]
    def __init__(self, cluster_set_id: _Optional[str] = ..., pairs: _Optional[_Iterable[_Union[ModelPairCorrelation, _Mapping]]] = ...) -> None: ...
