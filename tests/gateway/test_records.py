"""The call record the gateway builds keeps the cascade's steps as the answer had them: the
record's step messages are the gateway's, field for field, so a step carries over whole."""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor

from freescaling.common.v1 import records_pb2, voting_pb2
from freescaling.gateway.v1 import gateway_pb2
from services.gateway.records import scale_record


def _shape(descriptor) -> list[tuple]:
    """(name, number, type, repeated, nested shape or enum) of each field, recursively."""
    out = []
    for f in descriptor.fields:
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            inner = _shape(f.message_type)
        elif f.type == FieldDescriptor.TYPE_ENUM:
            inner = f.enum_type.full_name
        else:
            inner = None
        out.append((f.name, f.number, f.type, f.is_repeated, inner))
    return out


def test_the_record_steps_are_the_gateway_steps_field_for_field():
    assert _shape(records_pb2.CascadeStepRecord.DESCRIPTOR) == _shape(
        gateway_pb2.CascadeStep.DESCRIPTOR
    )
    assert _shape(records_pb2.CascadeChoiceRecord.DESCRIPTOR) == _shape(
        gateway_pb2.CascadeChoice.DESCRIPTOR
    )


def test_a_scale_record_keeps_each_step_with_its_evidence():
    steps = [
        gateway_pb2.CascadeStep(
            k=1,
            models=["a"],
            answer="YES",
            outcome=voting_pb2.SCALE_OUTCOME_MAJORITY,
            reason="confidence 0.71 under the target 0.8: one more model",
            added=[
                gateway_pb2.CascadeChoice(
                    model="a", evidence="profile: 92% on QA", expected_accuracy=0.92, cost=0.4
                )
            ],
            confidence=0.71,
        ),
        gateway_pb2.CascadeStep(
            k=2,
            models=["a", "b"],
            answer="YES",
            outcome=voting_pb2.SCALE_OUTCOME_MAJORITY,
            reason="confidence 0.93 reaches the target 0.8: stop",
            added=[
                gateway_pb2.CascadeChoice(
                    model="b",
                    evidence="profile: 88% on QA; mean error correlation 0.10",
                    expected_accuracy=0.88,
                    error_correlation=0.1,
                    cost=0.2,
                )
            ],
            confidence=0.93,
        ),
    ]
    result = voting_pb2.ScaleResult(call_id="c1", answer="YES", k=2)
    record = scale_record(
        result,
        question="Is it?",
        message_id="",
        started_at=1.0,
        cascade_path="k1>k2",
        steps=steps,
    )
    assert len(record.cascade_steps) == 2
    for kept, step in zip(record.cascade_steps, steps, strict=True):
        assert kept.SerializeToString() == step.SerializeToString()
    second = record.cascade_steps[1]
    assert (second.k, list(second.models), second.outcome) == (
        2,
        ["a", "b"],
        voting_pb2.SCALE_OUTCOME_MAJORITY,
    )
    assert second.added[0].evidence == "profile: 88% on QA; mean error correlation 0.10"
    assert second.added[0].error_correlation == 0.1
    # A batch item (no steps given) keeps none.
    bare = scale_record(result, question="q", message_id="", started_at=1.0, cascade_path="fixed")
    assert not bare.cascade_steps
