"""GetRankings, Evolve, GetPanel and ListPanelChanges through gRPC on both databases (a fresh
database per module: evolution looks at every model)."""

from __future__ import annotations

import grpc

from freescaling.common.v1 import ratings_pb2, routing_pb2, voting_pb2
from freescaling.learning.v1 import learning_pb2
from tests.learning.helpers import TIMEOUT, expect_error, record, scale_record, unique

R = ratings_pb2
MODELS = ["m1", "m2", "m3", "m4", "m5"]


def test_evolution_rankings_and_panel_history(stub):
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        "panel 'champion' has not been chosen yet",
        stub.GetPanel,
        learning_pb2.GetPanelRequest(),
    )
    # m1 always with the majority, m5 always against it, m2..m4 in between; m5 below 30 calls.
    for i in range(32):
        votes = {"m1": "YES", "m2": "YES", "m3": "YES" if i % 2 else "NO", "m4": "NO"}
        if i < 20:
            votes["m5"] = "NO"
        record(stub, scale_record(votes, "YES"))
    early = stub.Evolve(R.EvolveRequest(dry_run=True, min_calls=40), timeout=TIMEOUT)
    assert (early.changed, early.applied, list(early.proposed)) == (False, False, [])
    assert "only 0 of 5 models have >= 40 answered votes" in early.reason

    dry = stub.Evolve(R.EvolveRequest(dry_run=True), timeout=TIMEOUT)
    assert (dry.changed, dry.applied, list(dry.proposed)) == (True, False, ["m1", "m2", "m3"])
    assert dry.reason == "top 3 by ELO among 4 models with >= 30 answered votes"
    assert [c.model for c in dry.candidates] == ["m1", "m2", "m3", "m4"]
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        "has not been chosen yet",
        stub.GetPanel,
        learning_pb2.GetPanelRequest(),
    )

    applied = stub.Evolve(R.EvolveRequest(), timeout=TIMEOUT)
    assert (applied.changed, applied.applied, list(applied.change.current)) == (
        True,
        True,
        ["m1", "m2", "m3"],
    )
    panel = stub.GetPanel(learning_pb2.GetPanelRequest(), timeout=TIMEOUT)
    assert (list(panel.models), panel.source, panel.reason) == (
        ["m1", "m2", "m3"],
        "evolution",
        applied.reason,
    )
    again = stub.Evolve(R.EvolveRequest(), timeout=TIMEOUT)
    assert (again.changed, again.applied, list(again.previous)) == (
        False,
        False,
        ["m1", "m2", "m3"],
    )
    smaller = stub.Evolve(R.EvolveRequest(panel_size=2), timeout=TIMEOUT)
    assert list(smaller.proposed) == ["m1", "m2"] and smaller.applied
    history = stub.ListPanelChanges(learning_pb2.ListPanelChangesRequest(), timeout=TIMEOUT)
    assert [list(c.current) for c in history.changes] == [["m1", "m2"], ["m1", "m2", "m3"]]
    assert list(history.changes[1].previous) == []
    assert history.changes[0].changed_at.seconds > 0


def test_rankings_sort_filter_and_limit(stub):
    by_rating = stub.GetRankings(R.RankingsRequest(), timeout=TIMEOUT).ratings
    values = [r.rating for r in by_rating]
    assert values == sorted(values, reverse=True) and by_rating[0].model == "m1"
    assert sum(round(v * 1000) for v in values) == 1_500_000 * len(MODELS)
    by_calls = stub.GetRankings(
        R.RankingsRequest(sort_by=R.RANKING_SORT_CALLS, ascending=True), timeout=TIMEOUT
    ).ratings
    assert by_calls[0].model == "m5" and by_calls[0].calls == 20
    alphabetical = stub.GetRankings(
        R.RankingsRequest(sort_by=R.RANKING_SORT_MODEL), timeout=TIMEOUT
    )
    assert [r.model for r in alphabetical.ratings] == MODELS
    top = stub.GetRankings(R.RankingsRequest(min_calls=30, limit=2), timeout=TIMEOUT).ratings
    assert [r.model for r in top] == ["m1", "m2"]
    m1 = top[0]
    assert (m1.calls, m1.answered, m1.losses, m1.agreement_rate) == (32, 32, 0, 1.0)
    by_agreement = stub.GetRankings(
        R.RankingsRequest(sort_by=R.RANKING_SORT_AGREEMENT), timeout=TIMEOUT
    ).ratings
    assert [r.model for r in by_agreement][-2:] == ["m4", "m5"]


def test_only_answered_votes_make_a_model_eligible(stub):
    """A model that sits on every panel but never answers (it fails, is cancelled, or
    abstains) is counted apart and never reaches evolution's minimum."""
    mute = "mute"
    for i in range(40):
        vote = [
            voting_pb2.Vote(model=mute, error="mute: the provider timed out"),
            voting_pb2.Vote(model=mute, cancelled=True),
            voting_pb2.Vote(model=mute, abstained=True, raw_output="I cannot say."),
        ][i % 3]
        rec = scale_record({"m1": "YES", "m2": "YES"}, "YES")
        rec.votes.append(vote)
        record(stub, rec)
    rows = {r.model: r for r in stub.GetRankings(R.RankingsRequest(), timeout=TIMEOUT).ratings}
    row = rows[mute]
    assert (row.calls, row.answered, row.failed, row.cancelled, row.abstained) == (
        40,
        0,
        14,
        13,
        13,
    )
    assert rows["m1"].answered == rows["m1"].calls
    result = stub.Evolve(R.EvolveRequest(dry_run=True, panel_size=1), timeout=TIMEOUT)
    assert mute not in {c.model for c in result.candidates}
    filtered = stub.GetRankings(R.RankingsRequest(min_calls=1), timeout=TIMEOUT).ratings
    assert mute not in {r.model for r in filtered}
    by_answered = stub.GetRankings(
        R.RankingsRequest(sort_by=R.RANKING_SORT_ANSWERED), timeout=TIMEOUT
    ).ratings
    assert by_answered[-1].model == mute


PROFILES = R.EVOLVE_SOURCE_PROFILES


def test_evolve_from_profiles_is_the_suggested_panel_with_its_figures(stub):
    """Source PROFILES puts SuggestPanel's choice on the champion panel and records its figures
    in the reason; ELO stays the default. Four models on 12 items: the twins are the most
    accurate alone but err on the same items; loner and steady err elsewhere."""
    expect_error(
        grpc.StatusCode.FAILED_PRECONDITION,
        "no model is profiled yet: profile models first",
        stub.Evolve,
        R.EvolveRequest(dry_run=True, source=PROFILES),
    )
    expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        "a panel from profiles has 3 or 5 members (an odd panel has a majority); panel_size "
        "(or FREESCALING_LEARNING_PANEL_SIZE) is 2",
        stub.Evolve,
        R.EvolveRequest(dry_run=True, source=PROFILES, panel_size=2),
    )
    set_id = unique("evolveset")
    stub.RecordClusterSet(routing_pb2.ClusterSet(id=set_id, k=1), timeout=TIMEOUT)
    wrong_on = {"twin1": {0, 1, 2}, "twin2": {0, 1, 2}, "loner": {6, 7, 8, 9},
                "steady": {3, 4, 10, 11}}  # fmt: skip
    for model, errs in wrong_on.items():
        items = [
            learning_pb2.GradedItem(item_id=f"e{i}", cluster_id=0, task_type="QA",
                                    correct=i not in errs, answer="B" if i in errs else "A")
            for i in range(12)
        ]  # fmt: skip
        stub.RecordValidation(
            learning_pb2.RecordValidationRequest(model=model, cluster_set_id=set_id, items=items),
            timeout=TIMEOUT,
        )
    before = stub.GetPanel(learning_pb2.GetPanelRequest(), timeout=TIMEOUT)

    dry = stub.Evolve(R.EvolveRequest(dry_run=True, source=PROFILES), timeout=TIMEOUT)
    suggested = stub.SuggestPanel(routing_pb2.SuggestPanelRequest(size=3), timeout=TIMEOUT)
    assert list(dry.proposed) == list(suggested.models) == ["twin1", "loner", "steady"]
    assert dry.suggestion == suggested
    assert (dry.changed, dry.applied, dry.source, len(dry.candidates)) == (True, False, PROFILES, 0)
    assert (dry.suggestion.panel_accuracy, dry.suggestion.best_single_accuracy) == (1.0, 0.75)
    assert dry.reason == (
        f"from the validation results: {suggested.reason}; mean error correlation "
        f"{suggested.mean_error_correlation:+.2f}"
    )
    assert "is right on 100.0% of its 12, against 75.0% for twin1 alone" in dry.reason
    assert stub.GetPanel(learning_pb2.GetPanelRequest(), timeout=TIMEOUT) == before

    applied = stub.Evolve(R.EvolveRequest(source=PROFILES), timeout=TIMEOUT)
    assert applied.applied and list(applied.previous) == list(before.models)
    assert list(applied.change.current) == ["twin1", "loner", "steady"]
    assert applied.change.reason == applied.reason == dry.reason
    panel = stub.GetPanel(learning_pb2.GetPanelRequest(), timeout=TIMEOUT)
    assert (list(panel.models), panel.reason) == (["twin1", "loner", "steady"], applied.reason)
    history = stub.ListPanelChanges(learning_pb2.ListPanelChangesRequest(), timeout=TIMEOUT)
    assert history.changes[0].reason == applied.reason
    again = stub.Evolve(R.EvolveRequest(source=PROFILES), timeout=TIMEOUT)
    assert (again.changed, again.applied) == (False, False)

    # Candidates narrow the choice: the one panel of these three errs where both twins do.
    narrow = stub.Evolve(
        R.EvolveRequest(dry_run=True, source=PROFILES, candidates=["twin1", "twin2", "loner"]),
        timeout=TIMEOUT,
    )
    assert list(narrow.proposed) == ["twin1", "twin2", "loner"]
    assert narrow.suggestion.panel_accuracy == 0.75
    expect_error(
        grpc.StatusCode.FAILED_PRECONDITION,
        "nobody has no profile",
        stub.Evolve,
        R.EvolveRequest(dry_run=True, source=PROFILES, candidates=["twin1", "loner", "nobody"]),
    )
    expect_error(
        grpc.StatusCode.FAILED_PRECONDITION,
        "a panel of 5 needs 5 profiled candidates; there are 4",
        stub.Evolve,
        R.EvolveRequest(dry_run=True, source=PROFILES, panel_size=5),
    )

    # The default is still ELO, and its candidates narrow it too.
    elo = stub.Evolve(R.EvolveRequest(dry_run=True), timeout=TIMEOUT)
    assert (list(elo.proposed), elo.source) == (["m1", "m2", "m3"], R.EVOLVE_SOURCE_ELO)
    assert not elo.HasField("suggestion") and elo.changed
    some = stub.Evolve(
        R.EvolveRequest(dry_run=True, candidates=["m2", "m3", "m4", "twin1"]), timeout=TIMEOUT
    )
    assert list(some.proposed) == ["m2", "m3", "m4"]
    assert some.reason == (
        "top 3 by ELO among 3 models with >= 30 answered votes (of the 4 candidates given)"
    )
