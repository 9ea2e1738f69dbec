"""A `Weighing` read as the weighing rule's `Standing` (services/common/standing.py): what it
carries comes through, and what no vote could use is refused with a message naming the field."""

from __future__ import annotations

import pytest

from freescaling.common.v1 import voting_pb2 as V
from services.common.standing import standing


def _weighing(**changes) -> V.Weighing:
    weighing = V.Weighing(
        voters=[
            V.Voter(model="a", accuracy=0.8, evidence="knn"),
            V.Voter(model="b", accuracy=0.6),
        ],
        correlations=[V.VoterCorrelation(model_a="a", model_b="b", correlation=0.3)],
        calibrations=[V.Calibration(votes=1, raw=[0.2, 0.9], calibrated=[0.3, 0.8])],
        wrong_coincidence=0.25,
    )
    for field, value in changes.items():
        target, name = field.split(".") if "." in field else (None, field)
        setattr(weighing.voters[0] if target == "voter" else weighing, name, value)
    return weighing


def test_a_weighing_becomes_a_standing():
    found = standing(_weighing())
    assert found.accuracy == {"a": 0.8, "b": 0.6} and found.evidence == {"a": "knn"}
    assert found.correlation == {frozenset(("a", "b")): 0.3}
    assert found.calibrate(0.9, 1) == pytest.approx(0.8) and found.coincidence == 0.25
    assert standing(V.Weighing()) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"voter.accuracy": 1.5}, "accuracy 1.5"),
        ({"voter.accuracy": float("nan")}, "accuracy nan"),
        ({"wrong_coincidence": 2.0}, "wrong_coincidence is 2.0"),
    ],
)
def test_what_no_vote_could_use_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        standing(_weighing(**change))


def test_bad_correlations_and_calibrations_are_refused():
    bad = _weighing()
    bad.correlations[0].correlation = 1.5
    with pytest.raises(ValueError, match="correlation of 'a' and 'b'"):
        standing(bad)
    bad = _weighing()
    bad.calibrations[0].raw[:] = [0.9, 0.2]
    with pytest.raises(ValueError, match="raw must be ascending"):
        standing(bad)
