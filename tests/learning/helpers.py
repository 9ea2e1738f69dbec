"""Builders for the records the learning tests send."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from freescaling.common.v1 import (
    classification_pb2,
    ratings_pb2,
    records_pb2,
    routing_pb2,
    voting_pb2,
)
from freescaling.learning.v1 import learning_pb2

TIMEOUT = 10


def schema_head() -> str:
    """The newest migration: the one revision in migrations/versions no other revises."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from services.learning.db import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the migrations have {len(heads)} heads: {heads}; chain them"
    return heads[0]


def unique(prefix: str = "m") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def at(year: int, second: int = 0) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime(year, 1, 1, 0, 0, second, tzinfo=UTC))
    return ts


def scale_record(
    votes: dict[str, str],
    answer: str,
    *,
    call_id: str | None = None,
    patterns: tuple[str, ...] = ("YES", "NO"),
    shadow: tuple[str, str] | None = None,
    outcome: int = voting_pb2.SCALE_OUTCOME_MAJORITY,
    **fields,
) -> records_pb2.CallRecord:
    """A scale call: `votes` maps model -> parsed answer ("" abstains)."""
    record = records_pb2.CallRecord(
        call_id=call_id or unique("call"),
        kind=records_pb2.CALL_KIND_SCALE,
        answer_patterns=list(patterns),
        answer=answer,
        outcome=outcome if answer else voting_pb2.SCALE_OUTCOME_TIE,
        votes=[
            voting_pb2.Vote(model=m, parsed_answer=a, abstained=not a) for m, a in votes.items()
        ],
        k=len(votes),
        **fields,
    )
    if shadow:
        record.shadow.CopyFrom(voting_pb2.Vote(model=shadow[0], parsed_answer=shadow[1]))
    return record


def routed(tier: int, task_type: str, cluster: int | None = None) -> routing_pb2.RoutingInfo:
    classification = classification_pb2.Classification(tier=tier, task_type_1=task_type)
    if cluster is not None:
        classification.cluster_id = cluster
    return routing_pb2.RoutingInfo(
        method=routing_pb2.ROUTING_METHOD_TIER, classification=classification
    )


def record(stub, rec: records_pb2.CallRecord, register: bool = True):
    return stub.RecordCall(
        learning_pb2.RecordCallRequest(record=rec, register_models=register), timeout=TIMEOUT
    )


def expect_error(code: grpc.StatusCode, fragment: str, call, *args, **kwargs):
    with pytest.raises(grpc.RpcError) as err:
        call(*args, timeout=TIMEOUT, **kwargs)
    assert err.value.code() == code, err.value.details()
    assert fragment in err.value.details()
    return err.value


def ratings_by_model(stub) -> dict:
    reply = stub.GetRankings(ratings_pb2.RankingsRequest(), timeout=TIMEOUT)
    return {r.model: r for r in reply.ratings}


def milli_sum(ratings) -> int:
    return sum(round(r.rating * 1000) for r in ratings)
