import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetInfoRequest(_message.Message):
    __slots__ = ("probe_downstreams",)
    PROBE_DOWNSTREAMS_FIELD_NUMBER: _ClassVar[int]
    probe_downstreams: bool
    def __init__(self, probe_downstreams: _Optional[bool] = ...) -> None: ...

class Capability(_message.Message):
    __slots__ = ("method", "built", "note")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    BUILT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    method: str
    built: bool
    note: str
    def __init__(self, method: _Optional[str] = ..., built: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class Downstream(_message.Message):
    __slots__ = ("name", "target", "required", "serving", "detail", "checked_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    SERVING_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    target: str
    required: bool
    serving: bool
    detail: str
    checked_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., target: _Optional[str] = ..., required: _Optional[bool] = ..., serving: _Optional[bool] = ..., detail: _Optional[str] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ServiceInfo(_message.Message):
    __slots__ = ("service", "version", "started_at", "grpc_service", "ready", "capabilities", "downstreams", "settings", "not_ready_reason")
    class SettingsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    GRPC_SERVICE_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    DOWNSTREAMS_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    NOT_READY_REASON_FIELD_NUMBER: _ClassVar[int]
    service: str
    version: str
    started_at: _timestamp_pb2.Timestamp
    grpc_service: str
    ready: bool
    capabilities: _containers.RepeatedCompositeFieldContainer[Capability]
    downstreams: _containers.RepeatedCompositeFieldContainer[Downstream]
    settings: _containers.ScalarMap[str, str]
    not_ready_reason: str
    def __init__(self, service: _Optional[str] = ..., version: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., grpc_service: _Optional[str] = ..., ready: _Optional[bool] = ..., capabilities: _Optional[_Iterable[_Union[Capability, _Mapping]]] = ..., downstreams: _Optional[_Iterable[_Union[Downstream, _Mapping]]] = ..., settings: _Optional[_Mapping[str, str]] = ..., not_ready_reason: _Optional[str] = ...) -> None: ...
