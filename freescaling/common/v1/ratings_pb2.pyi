import datetime

from freescaling.common.v1 import routing_pb2 as _routing_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RankingSort(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RANKING_SORT_UNSPECIFIED: _ClassVar[RankingSort]
    RANKING_SORT_RATING: _ClassVar[RankingSort]
    RANKING_SORT_CALLS: _ClassVar[RankingSort]
    RANKING_SORT_AGREEMENT: _ClassVar[RankingSort]
    RANKING_SORT_WINS: _ClassVar[RankingSort]
    RANKING_SORT_MODEL: _ClassVar[RankingSort]
    RANKING_SORT_ANSWERED: _ClassVar[RankingSort]

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    VERDICT_CONFIRM: _ClassVar[Verdict]
    VERDICT_OVERRIDE: _ClassVar[Verdict]
    VERDICT_PANEL_RIGHT: _ClassVar[Verdict]
    VERDICT_SHADOW_RIGHT: _ClassVar[Verdict]

class EvolveSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVOLVE_SOURCE_UNSPECIFIED: _ClassVar[EvolveSource]
    EVOLVE_SOURCE_ELO: _ClassVar[EvolveSource]
    EVOLVE_SOURCE_PROFILES: _ClassVar[EvolveSource]
RANKING_SORT_UNSPECIFIED: RankingSort
RANKING_SORT_RATING: RankingSort
RANKING_SORT_CALLS: RankingSort
RANKING_SORT_AGREEMENT: RankingSort
RANKING_SORT_WINS: RankingSort
RANKING_SORT_MODEL: RankingSort
RANKING_SORT_ANSWERED: RankingSort
VERDICT_UNSPECIFIED: Verdict
VERDICT_CONFIRM: Verdict
VERDICT_OVERRIDE: Verdict
VERDICT_PANEL_RIGHT: Verdict
VERDICT_SHADOW_RIGHT: Verdict
EVOLVE_SOURCE_UNSPECIFIED: EvolveSource
EVOLVE_SOURCE_ELO: EvolveSource
EVOLVE_SOURCE_PROFILES: EvolveSource

class ModelRating(_message.Message):
    __slots__ = ("model", "rating", "calls", "wins", "losses", "agreement_rate", "feedback_count", "updated_at", "answered", "abstained", "failed", "cancelled")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    WINS_FIELD_NUMBER: _ClassVar[int]
    LOSSES_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_RATE_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_COUNT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    ABSTAINED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    model: str
    rating: float
    calls: int
    wins: int
    losses: int
    agreement_rate: float
    feedback_count: int
    updated_at: _timestamp_pb2.Timestamp
    answered: int
    abstained: int
    failed: int
    cancelled: int
    def __init__(self, model: _Optional[str] = ..., rating: _Optional[float] = ..., calls: _Optional[int] = ..., wins: _Optional[int] = ..., losses: _Optional[int] = ..., agreement_rate: _Optional[float] = ..., feedback_count: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., answered: _Optional[int] = ..., abstained: _Optional[int] = ..., failed: _Optional[int] = ..., cancelled: _Optional[int] = ...) -> None: ...

class RankingsRequest(_message.Message):
    __slots__ = ("sort_by", "ascending", "min_calls", "limit")
    SORT_BY_FIELD_NUMBER: _ClassVar[int]
    ASCENDING_FIELD_NUMBER: _ClassVar[int]
    MIN_CALLS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    sort_by: RankingSort
    ascending: bool
    min_calls: int
    limit: int
    def __init__(self, sort_by: _Optional[_Union[RankingSort, str]] = ..., ascending: _Optional[bool] = ..., min_calls: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class Rankings(_message.Message):
    __slots__ = ("ratings",)
    RATINGS_FIELD_NUMBER: _ClassVar[int]
    ratings: _containers.RepeatedCompositeFieldContainer[ModelRating]
    def __init__(self, ratings: _Optional[_Iterable[_Union[ModelRating, _Mapping]]] = ...) -> None: ...

class RatingChange(_message.Message):
    __slots__ = ("model", "before", "after")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    model: str
    before: float
    after: float
    def __init__(self, model: _Optional[str] = ..., before: _Optional[float] = ..., after: _Optional[float] = ...) -> None: ...

class FeedbackRequest(_message.Message):
    __slots__ = ("call_id", "message_id", "reaction", "verdict", "label", "feedback_id", "source")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    REACTION_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    message_id: str
    reaction: str
    verdict: Verdict
    label: str
    feedback_id: str
    source: str
    def __init__(self, call_id: _Optional[str] = ..., message_id: _Optional[str] = ..., reaction: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., label: _Optional[str] = ..., feedback_id: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class FeedbackResult(_message.Message):
    __slots__ = ("call_id", "verdict", "label", "duplicate", "changes")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    verdict: Verdict
    label: str
    duplicate: bool
    changes: _containers.RepeatedCompositeFieldContainer[RatingChange]
    def __init__(self, call_id: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., label: _Optional[str] = ..., duplicate: _Optional[bool] = ..., changes: _Optional[_Iterable[_Union[RatingChange, _Mapping]]] = ...) -> None: ...

class EvolveRequest(_message.Message):
    __slots__ = ("dry_run", "min_calls", "panel_size", "source", "candidates")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    MIN_CALLS_FIELD_NUMBER: _ClassVar[int]
    PANEL_SIZE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    min_calls: int
    panel_size: int
    source: EvolveSource
    candidates: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, dry_run: _Optional[bool] = ..., min_calls: _Optional[int] = ..., panel_size: _Optional[int] = ..., source: _Optional[_Union[EvolveSource, str]] = ..., candidates: _Optional[_Iterable[str]] = ...) -> None: ...

class PanelChange(_message.Message):
    __slots__ = ("panel", "previous", "current", "reason", "changed_at")
    PANEL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    panel: str
    previous: _containers.RepeatedScalarFieldContainer[str]
    current: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, panel: _Optional[str] = ..., previous: _Optional[_Iterable[str]] = ..., current: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EvolveResult(_message.Message):
    __slots__ = ("changed", "applied", "previous", "proposed", "reason", "candidates", "change", "source", "suggestion")
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_FIELD_NUMBER: _ClassVar[int]
    changed: bool
    applied: bool
    previous: _containers.RepeatedScalarFieldContainer[str]
    proposed: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    candidates: _containers.RepeatedCompositeFieldContainer[ModelRating]
    change: PanelChange
    source: EvolveSource
    suggestion: _routing_pb2.SuggestedPanel
    def __init__(self, changed: _Optional[bool] = ..., applied: _Optional[bool] = ..., previous: _Optional[_Iterable[str]] = ..., proposed: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[ModelRating, _Mapping]]] = ..., change: _Optional[_Union[PanelChange, _Mapping]] = ..., source: _Optional[_Union[EvolveSource, str]] = ..., suggestion: _Optional[_Union[_routing_pb2.SuggestedPanel, _Mapping]] = ...) -> None: ...
