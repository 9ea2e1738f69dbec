from freescaling.common.v1 import calls_pb2 as _calls_pb2
from freescaling.common.v1 import info_pb2 as _info_pb2
from freescaling.common.v1 import models_pb2 as _models_pb2
from freescaling.common.v1 import voting_pb2 as _voting_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScaleRequest(_message.Message):
    __slots__ = ("question", "context", "k", "answer_patterns", "models", "panel", "no_shadow", "call_id", "options", "answer_within_s", "carried_votes", "weighing", "vote_rule", "min_confidence", "abstain_when_unsure")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    ANSWER_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    PANEL_FIELD_NUMBER: _ClassVar[int]
    NO_SHADOW_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_WITHIN_S_FIELD_NUMBER: _ClassVar[int]
    CARRIED_VOTES_FIELD_NUMBER: _ClassVar[int]
    WEIGHING_FIELD_NUMBER: _ClassVar[int]
    VOTE_RULE_FIELD_NUMBER: _ClassVar[int]
    MIN_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    ABSTAIN_WHEN_UNSURE_FIELD_NUMBER: _ClassVar[int]
    question: str
    context: str
    k: int
    answer_patterns: _containers.RepeatedScalarFieldContainer[str]
    models: _containers.RepeatedScalarFieldContainer[str]
    panel: str
    no_shadow: bool
    call_id: str
    options: _calls_pb2.CallOptions
    answer_within_s: float
    carried_votes: _containers.RepeatedCompositeFieldContainer[_voting_pb2.Vote]
    weighing: _voting_pb2.Weighing
    vote_rule: _voting_pb2.VoteRule
    min_confidence: float
    abstain_when_unsure: bool
    def __init__(self, question: _Optional[str] = ..., context: _Optional[str] = ..., k: _Optional[int] = ..., answer_patterns: _Optional[_Iterable[str]] = ..., models: _Optional[_Iterable[str]] = ..., panel: _Optional[str] = ..., no_shadow: _Optional[bool] = ..., call_id: _Optional[str] = ..., options: _Optional[_Union[_calls_pb2.CallOptions, _Mapping]] = ..., answer_within_s: _Optional[float] = ..., carried_votes: _Optional[_Iterable[_Union[_voting_pb2.Vote, _Mapping]]] = ..., weighing: _Optional[_Union[_voting_pb2.Weighing, _Mapping]] = ..., vote_rule: _Optional[_Union[_voting_pb2.VoteRule, str]] = ..., min_confidence: _Optional[float] = ..., abstain_when_unsure: _Optional[bool] = ...) -> None: ...

class ScaleEvent(_message.Message):
    __slots__ = ("result", "shadow")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SHADOW_FIELD_NUMBER: _ClassVar[int]
    result: _voting_pb2.ScaleResult
    shadow: _voting_pb2.ShadowVote
    def __init__(self, result: _Optional[_Union[_voting_pb2.ScaleResult, _Mapping]] = ..., shadow: _Optional[_Union[_voting_pb2.ShadowVote, _Mapping]] = ...) -> None: ...

class ScaleItem(_message.Message):
    __slots__ = ("question", "context", "answer_patterns", "call_id")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    ANSWER_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    question: str
    context: str
    answer_patterns: _containers.RepeatedScalarFieldContainer[str]
    call_id: str
    def __init__(self, question: _Optional[str] = ..., context: _Optional[str] = ..., answer_patterns: _Optional[_Iterable[str]] = ..., call_id: _Optional[str] = ...) -> None: ...

class ScaleBatchRequest(_message.Message):
    __slots__ = ("items", "k", "answer_patterns", "models", "panel", "max_concurrency", "no_shadow", "options", "late_shadows", "answer_within_s")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    ANSWER_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    PANEL_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    NO_SHADOW_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    LATE_SHADOWS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_WITHIN_S_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ScaleItem]
    k: int
    answer_patterns: _containers.RepeatedScalarFieldContainer[str]
    models: _containers.RepeatedScalarFieldContainer[str]
    panel: str
    max_concurrency: int
    no_shadow: bool
    options: _calls_pb2.CallOptions
    late_shadows: bool
    answer_within_s: float
    def __init__(self, items: _Optional[_Iterable[_Union[ScaleItem, _Mapping]]] = ..., k: _Optional[int] = ..., answer_patterns: _Optional[_Iterable[str]] = ..., models: _Optional[_Iterable[str]] = ..., panel: _Optional[str] = ..., max_concurrency: _Optional[int] = ..., no_shadow: _Optional[bool] = ..., options: _Optional[_Union[_calls_pb2.CallOptions, _Mapping]] = ..., late_shadows: _Optional[bool] = ..., answer_within_s: _Optional[float] = ...) -> None: ...

class ScaleBatchResult(_message.Message):
    __slots__ = ("index", "result", "error", "shadow")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SHADOW_FIELD_NUMBER: _ClassVar[int]
    index: int
    result: _voting_pb2.ScaleResult
    error: _voting_pb2.ItemError
    shadow: _voting_pb2.ShadowVote
    def __init__(self, index: _Optional[int] = ..., result: _Optional[_Union[_voting_pb2.ScaleResult, _Mapping]] = ..., error: _Optional[_Union[_voting_pb2.ItemError, _Mapping]] = ..., shadow: _Optional[_Union[_voting_pb2.ShadowVote, _Mapping]] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("question", "context", "k", "models", "judges", "call_id", "options")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    JUDGES_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    question: str
    context: str
    k: int
    models: _containers.RepeatedScalarFieldContainer[str]
    judges: _containers.RepeatedScalarFieldContainer[str]
    call_id: str
    options: _calls_pb2.CallOptions
    def __init__(self, question: _Optional[str] = ..., context: _Optional[str] = ..., k: _Optional[int] = ..., models: _Optional[_Iterable[str]] = ..., judges: _Optional[_Iterable[str]] = ..., call_id: _Optional[str] = ..., options: _Optional[_Union[_calls_pb2.CallOptions, _Mapping]] = ...) -> None: ...

class GenerateItem(_message.Message):
    __slots__ = ("question", "context", "call_id")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    question: str
    context: str
    call_id: str
    def __init__(self, question: _Optional[str] = ..., context: _Optional[str] = ..., call_id: _Optional[str] = ...) -> None: ...

class GenerateBatchRequest(_message.Message):
    __slots__ = ("items", "k", "models", "judges", "max_concurrency", "options")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    JUDGES_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[GenerateItem]
    k: int
    models: _containers.RepeatedScalarFieldContainer[str]
    judges: _containers.RepeatedScalarFieldContainer[str]
    max_concurrency: int
    options: _calls_pb2.CallOptions
    def __init__(self, items: _Optional[_Iterable[_Union[GenerateItem, _Mapping]]] = ..., k: _Optional[int] = ..., models: _Optional[_Iterable[str]] = ..., judges: _Optional[_Iterable[str]] = ..., max_concurrency: _Optional[int] = ..., options: _Optional[_Union[_calls_pb2.CallOptions, _Mapping]] = ...) -> None: ...

class GenerateBatchResult(_message.Message):
    __slots__ = ("index", "result", "error")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    index: int
    result: _voting_pb2.GenerateResult
    error: _voting_pb2.ItemError
    def __init__(self, index: _Optional[int] = ..., result: _Optional[_Union[_voting_pb2.GenerateResult, _Mapping]] = ..., error: _Optional[_Union[_voting_pb2.ItemError, _Mapping]] = ...) -> None: ...

class RegisterModelRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _models_pb2.ModelInfo
    def __init__(self, model: _Optional[_Union[_models_pb2.ModelInfo, _Mapping]] = ...) -> None: ...

class CompleteRequest(_message.Message):
    __slots__ = ("model", "messages", "options", "call_id")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    model: str
    messages: _containers.RepeatedCompositeFieldContainer[_calls_pb2.ChatMessage]
    options: _calls_pb2.CallOptions
    call_id: str
    def __init__(self, model: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[_calls_pb2.ChatMessage, _Mapping]]] = ..., options: _Optional[_Union[_calls_pb2.CallOptions, _Mapping]] = ..., call_id: _Optional[str] = ...) -> None: ...

class CompleteDone(_message.Message):
    __slots__ = ("model", "finish_reason", "usage", "elapsed_s", "first_token_s", "call_id")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_S_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOKEN_S_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    model: str
    finish_reason: str
    usage: _voting_pb2.Usage
    elapsed_s: float
    first_token_s: float
    call_id: str
    def __init__(self, model: _Optional[str] = ..., finish_reason: _Optional[str] = ..., usage: _Optional[_Union[_voting_pb2.Usage, _Mapping]] = ..., elapsed_s: _Optional[float] = ..., first_token_s: _Optional[float] = ..., call_id: _Optional[str] = ...) -> None: ...

class CompleteChunk(_message.Message):
    __slots__ = ("delta", "reasoning_delta", "done")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    REASONING_DELTA_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    delta: str
    reasoning_delta: str
    done: CompleteDone
    def __init__(self, delta: _Optional[str] = ..., reasoning_delta: _Optional[str] = ..., done: _Optional[_Union[CompleteDone, _Mapping]] = ...) -> None: ...
