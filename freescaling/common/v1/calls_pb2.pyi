from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CacheMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CACHE_MODE_UNSPECIFIED: _ClassVar[CacheMode]
    CACHE_MODE_SKIP: _ClassVar[CacheMode]
    CACHE_MODE_FRESH: _ClassVar[CacheMode]
    CACHE_MODE_EXACT: _ClassVar[CacheMode]
    CACHE_MODE_SEMANTIC: _ClassVar[CacheMode]
CACHE_MODE_UNSPECIFIED: CacheMode
CACHE_MODE_SKIP: CacheMode
CACHE_MODE_FRESH: CacheMode
CACHE_MODE_EXACT: CacheMode
CACHE_MODE_SEMANTIC: CacheMode

class CallOptions(_message.Message):
    __slots__ = ("timeout_s", "max_tokens", "temperature", "top_p", "stop", "seed", "user", "cache", "cache_threshold")
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    CACHE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    timeout_s: float
    max_tokens: int
    temperature: float
    top_p: float
    stop: _containers.RepeatedScalarFieldContainer[str]
    seed: int
    user: str
    cache: CacheMode
    cache_threshold: float
    def __init__(self, timeout_s: _Optional[float] = ..., max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., stop: _Optional[_Iterable[str]] = ..., seed: _Optional[int] = ..., user: _Optional[str] = ..., cache: _Optional[_Union[CacheMode, str]] = ..., cache_threshold: _Optional[float] = ...) -> None: ...

class CacheHit(_message.Message):
    __slots__ = ("original_call_id", "match", "similarity", "saved_cost_usd", "stored_at_us")
    ORIGINAL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    SAVED_COST_USD_FIELD_NUMBER: _ClassVar[int]
    STORED_AT_US_FIELD_NUMBER: _ClassVar[int]
    original_call_id: str
    match: str
    similarity: float
    saved_cost_usd: float
    stored_at_us: int
    def __init__(self, original_call_id: _Optional[str] = ..., match: _Optional[str] = ..., similarity: _Optional[float] = ..., saved_cost_usd: _Optional[float] = ..., stored_at_us: _Optional[int] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ("role", "content")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: str
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...
