from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VoteRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOTE_RULE_UNSPECIFIED: _ClassVar[VoteRule]
    VOTE_RULE_WEIGHTED: _ClassVar[VoteRule]
    VOTE_RULE_MAJORITY: _ClassVar[VoteRule]

class ConfidenceSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONFIDENCE_SOURCE_UNSPECIFIED: _ClassVar[ConfidenceSource]
    CONFIDENCE_SOURCE_VOTE_SHARE: _ClassVar[ConfidenceSource]
    CONFIDENCE_SOURCE_CALIBRATED: _ClassVar[ConfidenceSource]

class ScaleOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCALE_OUTCOME_UNSPECIFIED: _ClassVar[ScaleOutcome]
    SCALE_OUTCOME_MAJORITY: _ClassVar[ScaleOutcome]
    SCALE_OUTCOME_TIE: _ClassVar[ScaleOutcome]
    SCALE_OUTCOME_ALL_ABSTAIN: _ClassVar[ScaleOutcome]
    SCALE_OUTCOME_NO_ANSWER: _ClassVar[ScaleOutcome]
    SCALE_OUTCOME_UNSURE: _ClassVar[ScaleOutcome]
VOTE_RULE_UNSPECIFIED: VoteRule
VOTE_RULE_WEIGHTED: VoteRule
VOTE_RULE_MAJORITY: VoteRule
CONFIDENCE_SOURCE_UNSPECIFIED: ConfidenceSource
CONFIDENCE_SOURCE_VOTE_SHARE: ConfidenceSource
CONFIDENCE_SOURCE_CALIBRATED: ConfidenceSource
SCALE_OUTCOME_UNSPECIFIED: ScaleOutcome
SCALE_OUTCOME_MAJORITY: ScaleOutcome
SCALE_OUTCOME_TIE: ScaleOutcome
SCALE_OUTCOME_ALL_ABSTAIN: ScaleOutcome
SCALE_OUTCOME_NO_ANSWER: ScaleOutcome
SCALE_OUTCOME_UNSURE: ScaleOutcome

class Usage(_message.Message):
    __slots__ = ("prompt_tokens", "completion_tokens", "total_tokens", "cost_usd")
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    def __init__(self, prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ...) -> None: ...

class Vote(_message.Message):
    __slots__ = ("model", "raw_output", "reasoning", "parsed_answer", "latency_s", "error", "abstained", "cancelled", "substituted_for", "usage", "weight", "accuracy", "weight_reason")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RAW_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    PARSED_ANSWER_FIELD_NUMBER: _ClassVar[int]
    LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ABSTAINED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    SUBSTITUTED_FOR_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_REASON_FIELD_NUMBER: _ClassVar[int]
    model: str
    raw_output: str
    reasoning: str
    parsed_answer: str
    latency_s: float
    error: str
    abstained: bool
    cancelled: bool
    substituted_for: str
    usage: Usage
    weight: float
    accuracy: float
    weight_reason: str
    def __init__(self, model: _Optional[str] = ..., raw_output: _Optional[str] = ..., reasoning: _Optional[str] = ..., parsed_answer: _Optional[str] = ..., latency_s: _Optional[float] = ..., error: _Optional[str] = ..., abstained: _Optional[bool] = ..., cancelled: _Optional[bool] = ..., substituted_for: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., weight: _Optional[float] = ..., accuracy: _Optional[float] = ..., weight_reason: _Optional[str] = ...) -> None: ...

class Voter(_message.Message):
    __slots__ = ("model", "accuracy", "evidence_n", "evidence", "cost")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_N_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    model: str
    accuracy: float
    evidence_n: int
    evidence: str
    cost: float
    def __init__(self, model: _Optional[str] = ..., accuracy: _Optional[float] = ..., evidence_n: _Optional[int] = ..., evidence: _Optional[str] = ..., cost: _Optional[float] = ...) -> None: ...

class VoterCorrelation(_message.Message):
    __slots__ = ("model_a", "model_b", "correlation")
    MODEL_A_FIELD_NUMBER: _ClassVar[int]
    MODEL_B_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_FIELD_NUMBER: _ClassVar[int]
    model_a: str
    model_b: str
    correlation: float
    def __init__(self, model_a: _Optional[str] = ..., model_b: _Optional[str] = ..., correlation: _Optional[float] = ...) -> None: ...

class Calibration(_message.Message):
    __slots__ = ("id", "raw", "calibrated", "samples", "method", "votes")
    ID_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    CALIBRATED_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    raw: _containers.RepeatedScalarFieldContainer[float]
    calibrated: _containers.RepeatedScalarFieldContainer[float]
    samples: int
    method: str
    votes: int
    def __init__(self, id: _Optional[str] = ..., raw: _Optional[_Iterable[float]] = ..., calibrated: _Optional[_Iterable[float]] = ..., samples: _Optional[int] = ..., method: _Optional[str] = ..., votes: _Optional[int] = ...) -> None: ...

class Weighing(_message.Message):
    __slots__ = ("voters", "correlations", "calibrations", "wrong_coincidence")
    VOTERS_FIELD_NUMBER: _ClassVar[int]
    CORRELATIONS_FIELD_NUMBER: _ClassVar[int]
    CALIBRATIONS_FIELD_NUMBER: _ClassVar[int]
    WRONG_COINCIDENCE_FIELD_NUMBER: _ClassVar[int]
    voters: _containers.RepeatedCompositeFieldContainer[Voter]
    correlations: _containers.RepeatedCompositeFieldContainer[VoterCorrelation]
    calibrations: _containers.RepeatedCompositeFieldContainer[Calibration]
    wrong_coincidence: float
    def __init__(self, voters: _Optional[_Iterable[_Union[Voter, _Mapping]]] = ..., correlations: _Optional[_Iterable[_Union[VoterCorrelation, _Mapping]]] = ..., calibrations: _Optional[_Iterable[_Union[Calibration, _Mapping]]] = ..., wrong_coincidence: _Optional[float] = ...) -> None: ...

class ScaleResult(_message.Message):
    __slots__ = ("call_id", "answer", "confidence", "outcome", "votes", "calls_made", "elapsed_s", "short_circuited", "shadow", "shadow_agrees", "usage", "k", "answer_patterns", "pending_shadow", "shadow_calls_made", "confidence_source", "confident", "answer_probability", "vote_rule")
    class AnswerProbabilityEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    CALLS_MADE_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_S_FIELD_NUMBER: _ClassVar[int]
    SHORT_CIRCUITED_FIELD_NUMBER: _ClassVar[int]
    SHADOW_FIELD_NUMBER: _ClassVar[int]
    SHADOW_AGREES_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    ANSWER_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    PENDING_SHADOW_FIELD_NUMBER: _ClassVar[int]
    SHADOW_CALLS_MADE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENT_FIELD_NUMBER: _ClassVar[int]
    ANSWER_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    VOTE_RULE_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    answer: str
    confidence: float
    outcome: ScaleOutcome
    votes: _containers.RepeatedCompositeFieldContainer[Vote]
    calls_made: int
    elapsed_s: float
    short_circuited: bool
    shadow: Vote
    shadow_agrees: bool
    usage: Usage
    k: int
    answer_patterns: _containers.RepeatedScalarFieldContainer[str]
    pending_shadow: str
    shadow_calls_made: int
    confidence_source: ConfidenceSource
    confident: bool
    answer_probability: _containers.ScalarMap[str, float]
    vote_rule: VoteRule
    def __init__(self, call_id: _Optional[str] = ..., answer: _Optional[str] = ..., confidence: _Optional[float] = ..., outcome: _Optional[_Union[ScaleOutcome, str]] = ..., votes: _Optional[_Iterable[_Union[Vote, _Mapping]]] = ..., calls_made: _Optional[int] = ..., elapsed_s: _Optional[float] = ..., short_circuited: _Optional[bool] = ..., shadow: _Optional[_Union[Vote, _Mapping]] = ..., shadow_agrees: _Optional[bool] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., k: _Optional[int] = ..., answer_patterns: _Optional[_Iterable[str]] = ..., pending_shadow: _Optional[str] = ..., shadow_calls_made: _Optional[int] = ..., confidence_source: _Optional[_Union[ConfidenceSource, str]] = ..., confident: _Optional[bool] = ..., answer_probability: _Optional[_Mapping[str, float]] = ..., vote_rule: _Optional[_Union[VoteRule, str]] = ...) -> None: ...

class ShadowVote(_message.Message):
    __slots__ = ("call_id", "vote", "calls_made")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    VOTE_FIELD_NUMBER: _ClassVar[int]
    CALLS_MADE_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    vote: Vote
    calls_made: int
    def __init__(self, call_id: _Optional[str] = ..., vote: _Optional[_Union[Vote, _Mapping]] = ..., calls_made: _Optional[int] = ...) -> None: ...

class GeneratedOutput(_message.Message):
    __slots__ = ("index", "model", "output", "latency_s", "error", "usage")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    model: str
    output: str
    latency_s: float
    error: str
    usage: Usage
    def __init__(self, index: _Optional[int] = ..., model: _Optional[str] = ..., output: _Optional[str] = ..., latency_s: _Optional[float] = ..., error: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ...) -> None: ...

class JudgeVote(_message.Message):
    __slots__ = ("judge", "choice", "raw_output", "latency_s", "error")
    JUDGE_FIELD_NUMBER: _ClassVar[int]
    CHOICE_FIELD_NUMBER: _ClassVar[int]
    RAW_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    judge: str
    choice: int
    raw_output: str
    latency_s: float
    error: str
    def __init__(self, judge: _Optional[str] = ..., choice: _Optional[int] = ..., raw_output: _Optional[str] = ..., latency_s: _Optional[float] = ..., error: _Optional[str] = ...) -> None: ...

class GenerateResult(_message.Message):
    __slots__ = ("call_id", "output", "all_outputs", "winner_model", "judge_votes", "judges", "total_calls", "elapsed_s", "tie_broken", "usage")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ALL_OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    WINNER_MODEL_FIELD_NUMBER: _ClassVar[int]
    JUDGE_VOTES_FIELD_NUMBER: _ClassVar[int]
    JUDGES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CALLS_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_S_FIELD_NUMBER: _ClassVar[int]
    TIE_BROKEN_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    output: str
    all_outputs: _containers.RepeatedCompositeFieldContainer[GeneratedOutput]
    winner_model: str
    judge_votes: _containers.RepeatedScalarFieldContainer[int]
    judges: _containers.RepeatedCompositeFieldContainer[JudgeVote]
    total_calls: int
    elapsed_s: float
    tie_broken: bool
    usage: Usage
    def __init__(self, call_id: _Optional[str] = ..., output: _Optional[str] = ..., all_outputs: _Optional[_Iterable[_Union[GeneratedOutput, _Mapping]]] = ..., winner_model: _Optional[str] = ..., judge_votes: _Optional[_Iterable[int]] = ..., judges: _Optional[_Iterable[_Union[JudgeVote, _Mapping]]] = ..., total_calls: _Optional[int] = ..., elapsed_s: _Optional[float] = ..., tie_broken: _Optional[bool] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...
