"""Votes between protobuf and the vote's own terms: ballots and tallies out, the carried votes
and the weighing (the voters' standing, from learning) in, with the checks a request's votes
must pass."""

from __future__ import annotations

from collections import Counter

from freescaling.common.v1 import voting_pb2
from services.common.standing import standing
from services.ensemble import judge, vote
from services.ensemble.pool import BadRequest

# Earlier votes one vote can take in (the cascade carries at most 4 into a panel of 5).
MAX_CARRIED_VOTES = 4

_OUTCOMES = {
    vote.UNSURE: voting_pb2.SCALE_OUTCOME_UNSURE,
    vote.MAJORITY: voting_pb2.SCALE_OUTCOME_MAJORITY,
    vote.TIE: voting_pb2.SCALE_OUTCOME_TIE,
    vote.ALL_ABSTAIN: voting_pb2.SCALE_OUTCOME_ALL_ABSTAIN,
    vote.NO_ANSWER: voting_pb2.SCALE_OUTCOME_NO_ANSWER,
}


_SOURCES = {
    vote.VOTE_SHARE: voting_pb2.CONFIDENCE_SOURCE_VOTE_SHARE,
    vote.CALIBRATED: voting_pb2.CONFIDENCE_SOURCE_CALIBRATED,
}
_RULES = {
    vote.WEIGHTED: voting_pb2.VOTE_RULE_WEIGHTED,
    vote.BY_MAJORITY: voting_pb2.VOTE_RULE_MAJORITY,
}


def rule(request) -> vote.Rule:
    """The request's rule: weighted when its weighing lists a voter (unless it asks for the
    majority), with its confidence target."""
    target = request.min_confidence
    if not 0.0 <= target <= 1.0:
        raise BadRequest(f"min_confidence is {target}; it must be within 0 to 1")
    try:
        found = standing(request.weighing)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if request.vote_rule == voting_pb2.VOTE_RULE_MAJORITY:
        found = None
    elif request.vote_rule == voting_pb2.VOTE_RULE_WEIGHTED and found is None:
        raise BadRequest(
            "vote_rule is WEIGHTED but the request's weighing lists no voter: profile the "
            "models first (`freescaling profile ...`) and vote through the gateway"
        )
    return vote.Rule(found, target, request.abstain_when_unsure)


def usage(prompt: int, completion: int, cost: float) -> voting_pb2.Usage:
    return voting_pb2.Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cost_usd=cost,
    )


def _vote(b: vote.Ballot) -> voting_pb2.Vote:
    return voting_pb2.Vote(
        model=b.model,
        raw_output=b.raw_output,
        reasoning=b.reasoning,
        parsed_answer=b.parsed_answer,
        latency_s=b.latency_s,
        error=b.error,
        abstained=b.abstained,
        cancelled=b.cancelled,
        substituted_for=b.substituted_for,
        usage=usage(b.prompt_tokens, b.completion_tokens, b.cost_usd),
        weight=b.weight,
        accuracy=b.accuracy,
        weight_reason=b.weight_reason,
    )


def scale_result(t: vote.Tally) -> voting_pb2.ScaleResult:
    result = voting_pb2.ScaleResult(
        call_id=t.call_id,
        answer=t.answer,
        confidence=t.confidence,
        outcome=_OUTCOMES[t.outcome],
        votes=[_vote(b) for b in t.votes],
        calls_made=t.calls_made,
        elapsed_s=t.elapsed_s,
        short_circuited=t.short_circuited,
        shadow_agrees=t.shadow_agrees,
        usage=usage(
            int(t.usage["prompt_tokens"]), int(t.usage["completion_tokens"]), t.usage["cost_usd"]
        ),
        k=t.k,
        answer_patterns=t.answer_patterns,
        pending_shadow=t.pending_shadow,
        shadow_calls_made=t.shadow_calls,
        confidence_source=_SOURCES.get(t.confidence_source, 0),
        confident=t.confident,
        answer_probability=t.answer_probability,
        vote_rule=_RULES[t.rule],
    )
    if t.shadow is not None:
        result.shadow.CopyFrom(_vote(t.shadow))
    return result


async def late_shadow(t: vote.Tally) -> voting_pb2.ShadowVote:
    """The pending shadow's vote, once it answered or failed."""
    assert t.late is not None
    ballot, calls = await t.late
    return voting_pb2.ShadowVote(call_id=t.call_id, vote=_vote(ballot), calls_made=calls)


def generate_result(g: judge.Generation) -> voting_pb2.GenerateResult:
    return voting_pb2.GenerateResult(
        call_id=g.call_id,
        output=g.output,
        all_outputs=[
            voting_pb2.GeneratedOutput(
                index=o.index,
                model=o.model,
                output=o.output,
                latency_s=o.latency_s,
                error=o.error,
                usage=usage(o.prompt_tokens, o.completion_tokens, o.cost_usd),
            )
            for o in g.all_outputs
        ],
        winner_model=g.winner_model,
        judge_votes=g.judge_votes,
        judges=[
            voting_pb2.JudgeVote(
                judge=v.judge,
                choice=v.choice,
                raw_output=v.raw_output,
                latency_s=v.latency_s,
                error=v.error,
            )
            for v in g.judges
        ],
        total_calls=g.total_calls,
        elapsed_s=g.elapsed_s,
        tie_broken=g.tie_broken,
        usage=usage(
            int(g.usage["prompt_tokens"]), int(g.usage["completion_tokens"]), g.usage["cost_usd"]
        ),
    )


def carried(request, panel, rule: vote.Rule) -> list[vote.Ballot]:
    """The votes cast earlier on this question, as ballots; refused when they cannot join
    this vote."""
    given = list(request.carried_votes)
    if not given:
        return []
    if len(given) > MAX_CARRIED_VOTES:
        raise BadRequest(
            f"carried_votes has {len(given)} votes; at most {MAX_CARRIED_VOTES} may join a vote"
        )
    allowed = {p.casefold(): p for p in request.answer_patterns}
    asked = {m.alias for m in panel}
    ballots, seen = [], set()
    for i, v in enumerate(given):
        if v.model in asked or v.model in seen:
            raise BadRequest(
                f"carried_votes[{i}]: {v.model!r} has voted already; it cannot vote twice"
            )
        seen.add(v.model)
        if v.parsed_answer and v.parsed_answer.casefold() not in allowed:
            raise BadRequest(
                f"carried_votes[{i}].parsed_answer {v.parsed_answer!r} is not one of "
                f"answer_patterns {list(request.answer_patterns)}"
            )
        ballots.append(
            vote.Ballot(
                model=v.model,
                raw_output=v.raw_output,
                reasoning=v.reasoning,
                parsed_answer=allowed.get(v.parsed_answer.casefold(), ""),
                latency_s=v.latency_s,
                error=v.error,
                abstained=v.abstained,
                cancelled=v.cancelled,
                substituted_for=v.substituted_for,
                prompt_tokens=v.usage.prompt_tokens,
                completion_tokens=v.usage.completion_tokens,
                cost_usd=v.usage.cost_usd,
            )
        )
    counts = Counter(b.parsed_answer for b in ballots if b.parsed_answer)
    # Under the weighted rule a vote whose winner is known can still gain confidence.
    if rule.standing is None and vote.majority_certain(counts, len(panel)):
        raise BadRequest(
            "carried_votes decide the question already, whatever the panel answers: "
            "nothing is left to ask"
        )
    return ballots
