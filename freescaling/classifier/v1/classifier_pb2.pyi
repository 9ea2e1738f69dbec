from freescaling.common.v1 import classification_pb2 as _classification_pb2
from freescaling.common.v1 import info_pb2 as _info_pb2
from freescaling.common.v1 import routing_pb2 as _routing_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ClassifyRequest(_message.Message):
    __slots__ = ("text", "include_embedding", "scoring")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    SCORING_FIELD_NUMBER: _ClassVar[int]
    text: str
    include_embedding: bool
    scoring: _classification_pb2.TierScoring
    def __init__(self, text: _Optional[str] = ..., include_embedding: _Optional[bool] = ..., scoring: _Optional[_Union[_classification_pb2.TierScoring, str]] = ...) -> None: ...

class ClassifyResponse(_message.Message):
    __slots__ = ("classification",)
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    classification: _classification_pb2.Classification
    def __init__(self, classification: _Optional[_Union[_classification_pb2.Classification, _Mapping]] = ...) -> None: ...

class ClassifyBatchRequest(_message.Message):
    __slots__ = ("texts", "include_embedding", "scoring")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    SCORING_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    include_embedding: bool
    scoring: _classification_pb2.TierScoring
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., include_embedding: _Optional[bool] = ..., scoring: _Optional[_Union[_classification_pb2.TierScoring, str]] = ...) -> None: ...

class ClassifyBatchResponse(_message.Message):
    __slots__ = ("classifications", "model_fingerprint")
    CLASSIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    classifications: _containers.RepeatedCompositeFieldContainer[_classification_pb2.Classification]
    model_fingerprint: str
    def __init__(self, classifications: _Optional[_Iterable[_Union[_classification_pb2.Classification, _Mapping]]] = ..., model_fingerprint: _Optional[str] = ...) -> None: ...

class EmbedRequest(_message.Message):
    __slots__ = ("texts",)
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, texts: _Optional[_Iterable[str]] = ...) -> None: ...

class Embedding(_message.Message):
    __slots__ = ("values", "truncated")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    truncated: bool
    def __init__(self, values: _Optional[_Iterable[float]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ("embeddings", "dim", "model_fingerprint")
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    MODEL_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[Embedding]
    dim: int
    model_fingerprint: str
    def __init__(self, embeddings: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ..., dim: _Optional[int] = ..., model_fingerprint: _Optional[str] = ...) -> None: ...

class FitClustersRequest(_message.Message):
    __slots__ = ("texts", "k", "seed", "max_iter", "embeddings", "model_fingerprint")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    MAX_ITER_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    k: int
    seed: int
    max_iter: int
    embeddings: _containers.RepeatedCompositeFieldContainer[Embedding]
    model_fingerprint: str
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., k: _Optional[int] = ..., seed: _Optional[int] = ..., max_iter: _Optional[int] = ..., embeddings: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ..., model_fingerprint: _Optional[str] = ...) -> None: ...

class FitClustersResponse(_message.Message):
    __slots__ = ("cluster_set", "assignments", "inertia", "iterations", "path")
    CLUSTER_SET_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    INERTIA_FIELD_NUMBER: _ClassVar[int]
    ITERATIONS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    cluster_set: _routing_pb2.ClusterSet
    assignments: _containers.RepeatedScalarFieldContainer[int]
    inertia: float
    iterations: int
    path: str
    def __init__(self, cluster_set: _Optional[_Union[_routing_pb2.ClusterSet, _Mapping]] = ..., assignments: _Optional[_Iterable[int]] = ..., inertia: _Optional[float] = ..., iterations: _Optional[int] = ..., path: _Optional[str] = ...) -> None: ...

class GetClustersRequest(_message.Message):
    __slots__ = ("include_centroids",)
    INCLUDE_CENTROIDS_FIELD_NUMBER: _ClassVar[int]
    include_centroids: bool
    def __init__(self, include_centroids: _Optional[bool] = ...) -> None: ...

class GetClustersResponse(_message.Message):
    __slots__ = ("cluster_set", "centroids")
    CLUSTER_SET_FIELD_NUMBER: _ClassVar[int]
    CENTROIDS_FIELD_NUMBER: _ClassVar[int]
    cluster_set: _routing_pb2.ClusterSet
    centroids: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, cluster_set: _Optional[_Union[_routing_pb2.ClusterSet, _Mapping]] = ..., centroids: _Optional[_Iterable[float]] = ...) -> None: ...
