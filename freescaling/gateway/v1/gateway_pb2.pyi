from freescaling.common.v1 import calls_pb2 as _calls_pb2
from freescaling.common.v1 import classification_pb2 as _classification_pb2
from freescaling.common.v1 import info_pb2 as _info_pb2
from freescaling.common.v1 import models_pb2 as _models_pb2
from freescaling.common.v1 import ratings_pb2 as _ratings_pb2
from freescaling.common.v1 import records_pb2 as _records_pb2
from freescaling.common.v1 import routing_pb2 as _routing_pb2
from freescaling.common.v1 import voting_pb2 as _voting_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScaleRequest(_message.Message):
    __slots__ = ("question", "context", "k", "answer_patterns", "models", "panel", "no_shadow", "message_id", "options", "min_confidence", "abstain_when_unsure", "vote_rule")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    ANSWER_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    PANEL_FIELD_NUMBER: _ClassVar[int]
    NO_SHADOW_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    MIN_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    ABSTAIN_WHEN_UNSURE_FIELD_NUMBER: _ClassVar[int]
    VOTE_RULE_FIELD_NUMBER: _ClassVar[int]
    question: str
    context: str
    k: int
    answer_patterns: _containers.RepeatedScalarFieldContainer[str]
    models: _containers.RepeatedScalarFieldContainer[str]
    panel: str
    no_shadow: bool
    message_id: str
    options: _calls_pb2.CallOptions
    min_confidence: float
    abstain_when_unsure: bool
    vote_rule: _voting_pb2.VoteRule
    def __init__(self, question: _Optional[str] = ..., context: _Optional[str] = ..., k: _Optional[int] = ..., answer_patterns: _Optional[_Iterable[str]] = ..., models: _Optional[_Iterable[str]] = ..., panel: _Optional[str] = ..., no_shadow: _Optional[bool] = ..., message_id: _Optional[str] = ..., options: _Optional[_Union[_calls_pb2.CallOptions, _Mapping]] = ..., min_confidence: _Optional[float] = ..., abstain_when_unsure: _Optional[bool] = ..., vote_rule: _Optional[_Union[_voting_pb2.VoteRule, str]] = ...) -> None: ...

class CascadeStep(_message.Message):
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
    added: _containers.RepeatedCompositeFieldContainer[CascadeChoice]
    confidence: float
    def __init__(self, k: _Optional[int] = ..., models: _Optional[_Iterable[str]] = ..., answer: _Optional[str] = ..., outcome: _Optional[_Union[_voting_pb2.ScaleOutcome, str]] = ..., reason: _Optional[str] = ..., added: _Optional[_Iterable[_Union[CascadeChoice, _Mapping]]] = ..., confidence: _Optional[float] = ...) -> None: ...

class CascadeChoice(_message.Message):
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

class Cascade(_message.Message):
    __slots__ = ("path", "steps", "routing", "min_confidence")
    PATH_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    MIN_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    path: str
    steps: _containers.RepeatedCompositeFieldContainer[CascadeStep]
    routing: _routing_pb2.RoutingInfo
    min_confidence: float
    def __init__(self, path: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[CascadeStep, _Mapping]]] = ..., routing: _Optional[_Union[_routing_pb2.RoutingInfo, _Mapping]] = ..., min_confidence: _Optional[float] = ...) -> None: ...

class ScaleResponse(_message.Message):
    __slots__ = ("result", "cascade", "cache")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CASCADE_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    result: _voting_pb2.ScaleResult
    cascade: Cascade
    cache: _calls_pb2.CacheHit
    def __init__(self, result: _Optional[_Union[_voting_pb2.ScaleResult, _Mapping]] = ..., cascade: _Optional[_Union[Cascade, _Mapping]] = ..., cache: _Optional[_Union[_calls_pb2.CacheHit, _Mapping]] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("question", "context", "k", "models", "judges", "message_id", "options")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    JUDGES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    question: str
    context: str
    k: int
    models: _containers.RepeatedScalarFieldContainer[str]
    judges: _containers.RepeatedScalarFieldContainer[str]
    message_id: str
    options: _calls_pb2.CallOptions
    def __init__(self, question: _Optional[str] = ..., context: _Optional[str] = ..., k: _Optional[int] = ..., models: _Optional[_Iterable[str]] = ..., judges: _Optional[_Iterable[str]] = ..., message_id: _Optional[str] = ..., options: _Optional[_Union[_calls_pb2.CallOptions, _Mapping]] = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("result", "cache")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    result: _voting_pb2.GenerateResult
    cache: _calls_pb2.CacheHit
    def __init__(self, result: _Optional[_Union[_voting_pb2.GenerateResult, _Mapping]] = ..., cache: _Optional[_Union[_calls_pb2.CacheHit, _Mapping]] = ...) -> None: ...

class ScaleItem(_message.Message):
    __slots__ = ("question", "context", "answer_patterns", "message_id")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    ANSWER_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    question: str
    context: str
    answer_patterns: _containers.RepeatedScalarFieldContainer[str]
    message_id: str
    def __init__(self, question: _Optional[str] = ..., context: _Optional[str] = ..., answer_patterns: _Optional[_Iterable[str]] = ..., message_id: _Optional[str] = ...) -> None: ...

class ScaleBatchRequest(_message.Message):
    __slots__ = ("items", "k", "answer_patterns", "models", "panel", "max_concurrency", "no_shadow", "options")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    ANSWER_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    PANEL_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    NO_SHADOW_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ScaleItem]
    k: int
    answer_patterns: _containers.RepeatedScalarFieldContainer[str]
    models: _containers.RepeatedScalarFieldContainer[str]
    panel: str
    max_concurrency: int
    no_shadow: bool
    options: _calls_pb2.CallOptions
    def __init__(self, items: _Optional[_Iterable[_Union[ScaleItem, _Mapping]]] = ..., k: _Optional[int] = ..., answer_patterns: _Optional[_Iterable[str]] = ..., models: _Optional[_Iterable[str]] = ..., panel: _Optional[str] = ..., max_concurrency: _Optional[int] = ..., no_shadow: _Optional[bool] = ..., options: _Optional[_Union[_calls_pb2.CallOptions, _Mapping]] = ...) -> None: ...

class ScaleBatchResult(_message.Message):
    __slots__ = ("index", "response", "error")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    index: int
    response: ScaleResponse
    error: _voting_pb2.ItemError
    def __init__(self, index: _Optional[int] = ..., response: _Optional[_Union[ScaleResponse, _Mapping]] = ..., error: _Optional[_Union[_voting_pb2.ItemError, _Mapping]] = ...) -> None: ...

class GenerateItem(_message.Message):
    __slots__ = ("question", "context", "message_id")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    question: str
    context: str
    message_id: str
    def __init__(self, question: _Optional[str] = ..., context: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("index", "response", "error")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    index: int
    response: GenerateResponse
    error: _voting_pb2.ItemError
    def __init__(self, index: _Optional[int] = ..., response: _Optional[_Union[GenerateResponse, _Mapping]] = ..., error: _Optional[_Union[_voting_pb2.ItemError, _Mapping]] = ...) -> None: ...

class ChatRequest(_message.Message):
    __slots__ = ("messages", "model", "candidates", "message_id", "options", "stream")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    LAMBDA_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[_calls_pb2.ChatMessage]
    model: str
    candidates: _containers.RepeatedScalarFieldContainer[str]
    message_id: str
    options: _calls_pb2.CallOptions
    stream: bool
    def __init__(self, messages: _Optional[_Iterable[_Union[_calls_pb2.ChatMessage, _Mapping]]] = ..., model: _Optional[str] = ..., candidates: _Optional[_Iterable[str]] = ..., message_id: _Optional[str] = ..., options: _Optional[_Union[_calls_pb2.CallOptions, _Mapping]] = ..., stream: _Optional[bool] = ..., **kwargs) -> None: ...

class ChatResponse(_message.Message):
    __slots__ = ("routing", "text", "reasoning", "done")
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    routing: _routing_pb2.RoutingInfo
    text: str
    reasoning: str
    done: ChatDone
    def __init__(self, routing: _Optional[_Union[_routing_pb2.RoutingInfo, _Mapping]] = ..., text: _Optional[str] = ..., reasoning: _Optional[str] = ..., done: _Optional[_Union[ChatDone, _Mapping]] = ...) -> None: ...

class ChatDone(_message.Message):
    __slots__ = ("call_id", "model", "finish_reason", "usage", "elapsed_s", "first_token_s", "cache")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_S_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOKEN_S_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    model: str
    finish_reason: str
    usage: _voting_pb2.Usage
    elapsed_s: float
    first_token_s: float
    cache: _calls_pb2.CacheHit
    def __init__(self, call_id: _Optional[str] = ..., model: _Optional[str] = ..., finish_reason: _Optional[str] = ..., usage: _Optional[_Union[_voting_pb2.Usage, _Mapping]] = ..., elapsed_s: _Optional[float] = ..., first_token_s: _Optional[float] = ..., cache: _Optional[_Union[_calls_pb2.CacheHit, _Mapping]] = ...) -> None: ...

class ChatChunk(_message.Message):
    __slots__ = ("routing", "delta", "reasoning_delta", "done", "response")
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    REASONING_DELTA_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    routing: _routing_pb2.RoutingInfo
    delta: str
    reasoning_delta: str
    done: ChatDone
    response: ChatResponse
    def __init__(self, routing: _Optional[_Union[_routing_pb2.RoutingInfo, _Mapping]] = ..., delta: _Optional[str] = ..., reasoning_delta: _Optional[str] = ..., done: _Optional[_Union[ChatDone, _Mapping]] = ..., response: _Optional[_Union[ChatResponse, _Mapping]] = ...) -> None: ...

class RouteRequest(_message.Message):
    __slots__ = ("text", "candidates", "scoring")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    LAMBDA_FIELD_NUMBER: _ClassVar[int]
    SCORING_FIELD_NUMBER: _ClassVar[int]
    text: str
    candidates: _containers.RepeatedScalarFieldContainer[str]
    scoring: _classification_pb2.TierScoring
    def __init__(self, text: _Optional[str] = ..., candidates: _Optional[_Iterable[str]] = ..., scoring: _Optional[_Union[_classification_pb2.TierScoring, str]] = ..., **kwargs) -> None: ...

class RouteResponse(_message.Message):
    __slots__ = ("routing",)
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    routing: _routing_pb2.RoutingInfo
    def __init__(self, routing: _Optional[_Union[_routing_pb2.RoutingInfo, _Mapping]] = ...) -> None: ...

class LabelledItem(_message.Message):
    __slots__ = ("item_id", "question", "context", "answer_patterns", "label")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    ANSWER_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    question: str
    context: str
    answer_patterns: _containers.RepeatedScalarFieldContainer[str]
    label: str
    def __init__(self, item_id: _Optional[str] = ..., question: _Optional[str] = ..., context: _Optional[str] = ..., answer_patterns: _Optional[_Iterable[str]] = ..., label: _Optional[str] = ...) -> None: ...

class OnboardModelRequest(_message.Message):
    __slots__ = ("alias", "model", "items", "answer_patterns", "trials", "max_concurrency", "replace")
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    alias: str
    model: _models_pb2.ModelInfo
    items: _containers.RepeatedCompositeFieldContainer[LabelledItem]
    answer_patterns: _containers.RepeatedScalarFieldContainer[str]
    trials: int
    max_concurrency: int
    replace: bool
    def __init__(self, alias: _Optional[str] = ..., model: _Optional[_Union[_models_pb2.ModelInfo, _Mapping]] = ..., items: _Optional[_Iterable[_Union[LabelledItem, _Mapping]]] = ..., answer_patterns: _Optional[_Iterable[str]] = ..., trials: _Optional[int] = ..., max_concurrency: _Optional[int] = ..., replace: _Optional[bool] = ...) -> None: ...

class OnboardProgress(_message.Message):
    __slots__ = ("done", "total", "correct", "errors", "profile")
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    done: int
    total: int
    correct: int
    errors: int
    profile: _routing_pb2.ModelProfile
    def __init__(self, done: _Optional[int] = ..., total: _Optional[int] = ..., correct: _Optional[int] = ..., errors: _Optional[int] = ..., profile: _Optional[_Union[_routing_pb2.ModelProfile, _Mapping]] = ...) -> None: ...

class ProfileModelsRequest(_message.Message):
    __slots__ = ("models", "items", "answer_patterns", "trials", "max_concurrency", "replace")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedScalarFieldContainer[str]
    items: _containers.RepeatedCompositeFieldContainer[LabelledItem]
    answer_patterns: _containers.RepeatedScalarFieldContainer[str]
    trials: int
    max_concurrency: int
    replace: bool
    def __init__(self, models: _Optional[_Iterable[str]] = ..., items: _Optional[_Iterable[_Union[LabelledItem, _Mapping]]] = ..., answer_patterns: _Optional[_Iterable[str]] = ..., trials: _Optional[int] = ..., max_concurrency: _Optional[int] = ..., replace: _Optional[bool] = ...) -> None: ...

class ModelProgress(_message.Message):
    __slots__ = ("model", "done", "correct", "errors")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    model: str
    done: int
    correct: int
    errors: int
    def __init__(self, model: _Optional[str] = ..., done: _Optional[int] = ..., correct: _Optional[int] = ..., errors: _Optional[int] = ...) -> None: ...

class ProfileProgress(_message.Message):
    __slots__ = ("done", "total", "models", "capability_map")
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_MAP_FIELD_NUMBER: _ClassVar[int]
    done: int
    total: int
    models: _containers.RepeatedCompositeFieldContainer[ModelProgress]
    capability_map: _routing_pb2.CapabilityMap
    def __init__(self, done: _Optional[int] = ..., total: _Optional[int] = ..., models: _Optional[_Iterable[_Union[ModelProgress, _Mapping]]] = ..., capability_map: _Optional[_Union[_routing_pb2.CapabilityMap, _Mapping]] = ...) -> None: ...

class EvolutionHistoryRequest(_message.Message):
    __slots__ = ("panel", "limit")
    PANEL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    panel: str
    limit: int
    def __init__(self, panel: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class EvolutionHistoryResponse(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[_ratings_pb2.PanelChange]
    def __init__(self, changes: _Optional[_Iterable[_Union[_ratings_pb2.PanelChange, _Mapping]]] = ...) -> None: ...
