from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Tier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIER_UNSPECIFIED: _ClassVar[Tier]
    TIER_SIMPLE: _ClassVar[Tier]
    TIER_MEDIUM: _ClassVar[Tier]
    TIER_COMPLEX: _ClassVar[Tier]

class TierScoring(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIER_SCORING_UNSPECIFIED: _ClassVar[TierScoring]
    TIER_SCORING_COMPLEXITY: _ClassVar[TierScoring]
    TIER_SCORING_COMPASS: _ClassVar[TierScoring]
TIER_UNSPECIFIED: Tier
TIER_SIMPLE: Tier
TIER_MEDIUM: Tier
TIER_COMPLEX: Tier
TIER_SCORING_UNSPECIFIED: TierScoring
TIER_SCORING_COMPLEXITY: TierScoring
TIER_SCORING_COMPASS: TierScoring

class Classification(_message.Message):
    __slots__ = ("task_type_1", "task_type_2", "task_type_prob", "creativity_scope", "reasoning", "contextual_knowledge", "number_of_few_shots", "domain_knowledge", "no_label_reason", "constraint_ct", "prompt_complexity_score", "tier", "tier_score", "scoring", "tier_model", "cluster_id", "embedding", "truncated", "token_count", "unscored_reason")
    TASK_TYPE_1_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_2_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_PROB_FIELD_NUMBER: _ClassVar[int]
    CREATIVITY_SCOPE_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    CONTEXTUAL_KNOWLEDGE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_OF_FEW_SHOTS_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_KNOWLEDGE_FIELD_NUMBER: _ClassVar[int]
    NO_LABEL_REASON_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINT_CT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_COMPLEXITY_SCORE_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    TIER_SCORE_FIELD_NUMBER: _ClassVar[int]
    SCORING_FIELD_NUMBER: _ClassVar[int]
    TIER_MODEL_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNSCORED_REASON_FIELD_NUMBER: _ClassVar[int]
    task_type_1: str
    task_type_2: str
    task_type_prob: float
    creativity_scope: float
    reasoning: float
    contextual_knowledge: float
    number_of_few_shots: float
    domain_knowledge: float
    no_label_reason: float
    constraint_ct: float
    prompt_complexity_score: float
    tier: Tier
    tier_score: float
    scoring: TierScoring
    tier_model: str
    cluster_id: int
    embedding: _containers.RepeatedScalarFieldContainer[float]
    truncated: bool
    token_count: int
    unscored_reason: str
    def __init__(self, task_type_1: _Optional[str] = ..., task_type_2: _Optional[str] = ..., task_type_prob: _Optional[float] = ..., creativity_scope: _Optional[float] = ..., reasoning: _Optional[float] = ..., contextual_knowledge: _Optional[float] = ..., number_of_few_shots: _Optional[float] = ..., domain_knowledge: _Optional[float] = ..., no_label_reason: _Optional[float] = ..., constraint_ct: _Optional[float] = ..., prompt_complexity_score: _Optional[float] = ..., tier: _Optional[_Union[Tier, str]] = ..., tier_score: _Optional[float] = ..., scoring: _Optional[_Union[TierScoring, str]] = ..., tier_model: _Optional[str] = ..., cluster_id: _Optional[int] = ..., embedding: _Optional[_Iterable[float]] = ..., truncated: _Optional[bool] = ..., token_count: _Optional[int] = ..., unscored_reason: _Optional[str] = ...) -> None: ...
