import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelTier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_TIER_UNSPECIFIED: _ClassVar[ModelTier]
    MODEL_TIER_FAST: _ClassVar[ModelTier]
    MODEL_TIER_MEDIUM: _ClassVar[ModelTier]
    MODEL_TIER_THINKING: _ClassVar[ModelTier]

class HealthStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEALTH_STATUS_UNSPECIFIED: _ClassVar[HealthStatus]
    HEALTH_STATUS_OK: _ClassVar[HealthStatus]
    HEALTH_STATUS_SLOW: _ClassVar[HealthStatus]
    HEALTH_STATUS_DEAD: _ClassVar[HealthStatus]
    HEALTH_STATUS_ERROR: _ClassVar[HealthStatus]
MODEL_TIER_UNSPECIFIED: ModelTier
MODEL_TIER_FAST: ModelTier
MODEL_TIER_MEDIUM: ModelTier
MODEL_TIER_THINKING: ModelTier
HEALTH_STATUS_UNSPECIFIED: HealthStatus
HEALTH_STATUS_OK: HealthStatus
HEALTH_STATUS_SLOW: HealthStatus
HEALTH_STATUS_DEAD: HealthStatus
HEALTH_STATUS_ERROR: HealthStatus

class ModelInfo(_message.Message):
    __slots__ = ("alias", "litellm_model", "tier", "input_cost_per_mtok", "output_cost_per_mtok", "routing_cost", "thinking", "api_base", "api_key_env", "provider", "dead", "dead_until", "unavailable", "unavailable_reason")
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    LITELLM_MODEL_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    INPUT_COST_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_COST_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    ROUTING_COST_FIELD_NUMBER: _ClassVar[int]
    THINKING_FIELD_NUMBER: _ClassVar[int]
    API_BASE_FIELD_NUMBER: _ClassVar[int]
    API_KEY_ENV_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    DEAD_FIELD_NUMBER: _ClassVar[int]
    DEAD_UNTIL_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_REASON_FIELD_NUMBER: _ClassVar[int]
    alias: str
    litellm_model: str
    tier: ModelTier
    input_cost_per_mtok: float
    output_cost_per_mtok: float
    routing_cost: float
    thinking: bool
    api_base: str
    api_key_env: str
    provider: str
    dead: bool
    dead_until: _timestamp_pb2.Timestamp
    unavailable: bool
    unavailable_reason: str
    def __init__(self, alias: _Optional[str] = ..., litellm_model: _Optional[str] = ..., tier: _Optional[_Union[ModelTier, str]] = ..., input_cost_per_mtok: _Optional[float] = ..., output_cost_per_mtok: _Optional[float] = ..., routing_cost: _Optional[float] = ..., thinking: _Optional[bool] = ..., api_base: _Optional[str] = ..., api_key_env: _Optional[str] = ..., provider: _Optional[str] = ..., dead: _Optional[bool] = ..., dead_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unavailable: _Optional[bool] = ..., unavailable_reason: _Optional[str] = ...) -> None: ...

class Panel(_message.Message):
    __slots__ = ("name", "models", "source", "updated_at", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    models: _containers.RepeatedScalarFieldContainer[str]
    source: str
    updated_at: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, name: _Optional[str] = ..., models: _Optional[_Iterable[str]] = ..., source: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class ModelHealth(_message.Message):
    __slots__ = ("model", "status", "latency_ms", "error", "checked_at", "dead_until", "rate_limit_wait_s")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    DEAD_UNTIL_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_WAIT_S_FIELD_NUMBER: _ClassVar[int]
    model: str
    status: HealthStatus
    latency_ms: float
    error: str
    checked_at: _timestamp_pb2.Timestamp
    dead_until: _timestamp_pb2.Timestamp
    rate_limit_wait_s: float
    def __init__(self, model: _Optional[str] = ..., status: _Optional[_Union[HealthStatus, str]] = ..., latency_ms: _Optional[float] = ..., error: _Optional[str] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dead_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rate_limit_wait_s: _Optional[float] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("tier", "live_only")
    TIER_FIELD_NUMBER: _ClassVar[int]
    LIVE_ONLY_FIELD_NUMBER: _ClassVar[int]
    tier: ModelTier
    live_only: bool
    def __init__(self, tier: _Optional[_Union[ModelTier, str]] = ..., live_only: _Optional[bool] = ...) -> None: ...

class ModelList(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class ListPanelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PanelList(_message.Message):
    __slots__ = ("panels",)
    PANELS_FIELD_NUMBER: _ClassVar[int]
    panels: _containers.RepeatedCompositeFieldContainer[Panel]
    def __init__(self, panels: _Optional[_Iterable[_Union[Panel, _Mapping]]] = ...) -> None: ...

class ModelHealthRequest(_message.Message):
    __slots__ = ("models", "timeout_s")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedScalarFieldContainer[str]
    timeout_s: float
    def __init__(self, models: _Optional[_Iterable[str]] = ..., timeout_s: _Optional[float] = ...) -> None: ...

class ModelHealthReport(_message.Message):
    __slots__ = ("models", "live", "dead")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    DEAD_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelHealth]
    live: int
    dead: int
    def __init__(self, models: _Optional[_Iterable[_Union[ModelHealth, _Mapping]]] = ..., live: _Optional[int] = ..., dead: _Optional[int] = ...) -> None: ...
