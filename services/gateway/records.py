"""The call records the gateway hands to learning (through the outbox) for every outcome."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.timestamp_pb2 import Timestamp

from freescaling.common.v1 import records_pb2, routing_pb2, voting_pb2
from freescaling.gateway.v1 import gateway_pb2
from services.common.request_context import current_request_id


def _now(started_at: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(started_at * 1e9))
    return stamp


def cascade_steps(steps: Iterable[gateway_pb2.CascadeStep]) -> list[records_pb2.CascadeStepRecord]:
    """The answer's cascade steps as the record keeps them: CascadeStepRecord is CascadeStep
    field for field (tests/gateway/test_records.py holds them to it), so the bytes carry over."""
    return [records_pb2.CascadeStepRecord.FromString(s.SerializeToString()) for s in steps]


def scale_record(
    result: voting_pb2.ScaleResult,
    *,
    question: str,
    message_id: str,
    started_at: float,
    cascade_path: str,
    routing: routing_pb2.RoutingInfo | None = None,
    steps: Iterable[gateway_pb2.CascadeStep] = (),
) -> records_pb2.CallRecord:
    # The call's usage is the panel's and the shadow's; a pending shadow's is added when its
    # vote is attached.
    usage = voting_pb2.Usage()
    usage.CopyFrom(result.usage)
    if result.HasField("shadow"):
        usage.prompt_tokens += result.shadow.usage.prompt_tokens
        usage.completion_tokens += result.shadow.usage.completion_tokens
        usage.total_tokens += result.shadow.usage.total_tokens
        usage.cost_usd += result.shadow.usage.cost_usd
    return records_pb2.CallRecord(
        call_id=result.call_id,
        kind=records_pb2.CALL_KIND_SCALE,
        created_at=_now(started_at),
        request_id=current_request_id(),
        message_id=message_id,
        question=question,
        answer_patterns=list(result.answer_patterns),
        answer=result.answer,
        confidence=result.confidence,
        outcome=result.outcome,
        votes=list(result.votes),
        shadow=result.shadow if result.HasField("shadow") else None,
        pending_shadow=result.pending_shadow,
        usage=usage,
        latency_s=result.elapsed_s,
        k=result.k,
        cascade_path=cascade_path,
        routing=routing,
        cascade_steps=cascade_steps(steps),
    )


def generate_record(
    result: voting_pb2.GenerateResult, *, question: str, message_id: str, started_at: float
) -> records_pb2.CallRecord:
    return records_pb2.CallRecord(
        call_id=result.call_id,
        kind=records_pb2.CALL_KIND_GENERATE,
        created_at=_now(started_at),
        request_id=current_request_id(),
        message_id=message_id,
        question=question,
        answer=result.output,
        model=result.winner_model,
        usage=result.usage,
        latency_s=result.elapsed_s,
        k=len(result.all_outputs),
        outputs=list(result.all_outputs),
        judge_votes=list(result.judge_votes),
    )


def chat_record(
    *,
    call_id: str,
    question: str,
    answer: str,
    model: str,
    message_id: str,
    started_at: float,
    routing: routing_pb2.RoutingInfo,
    usage: voting_pb2.Usage,
    latency_s: float,
    error: str = "",
) -> records_pb2.CallRecord:
    return records_pb2.CallRecord(
        call_id=call_id,
        kind=records_pb2.CALL_KIND_CHAT,
        created_at=_now(started_at),
        request_id=current_request_id(),
        message_id=message_id,
        question=question,
        answer=answer,
        model=model,
        routing=routing,
        usage=usage,
        latency_s=latency_s,
        error=error,
    )
