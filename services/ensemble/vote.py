"""Voting (scale): ask the panel in parallel, parse each answer, and stop as soon as one answer
has a guaranteed majority: the unfinished calls are cancelled, which aborts their HTTP requests.

The shadow challenger answers alongside, off the latency path: when it has not answered by the
time the vote is decided, it is either cancelled with the rest or (`late_shadow`) left to finish
within its own deadline, its ballot delivered later through `Tally.late`.

Without a `Standing` (no voter profiled, or the majority rule asked), the answer with the most
votes wins; it is certain when it has more votes than the runner-up could reach if every
unfinished model voted for it, and the confidence is agreeing votes divided by votes cast
(abstentions and errors are not votes). With one, the answer most likely right wins
(services/common/weighing.py): it is certain when no way the unfinished models could vote
changes it, and (when the request sets `min_confidence`) its calibrated confidence already
reaches that. The outcome is honest: a tie, all abstentions, no answer at all, or (when asked)
an answer under `min_confidence`, are reported as such with an empty answer.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.common.weighing import Standing, Verdict, certain, judge, posterior, weights
from services.ensemble.parser import parse_answer
from services.ensemble.pool import Asked, Pool
from services.ensemble.registry import Model
from services.ensemble.shadow import ShadowPicker

MAJORITY, TIE, ALL_ABSTAIN, NO_ANSWER = "majority", "tie", "all_abstain", "no_answer"
UNSURE = "unsure"
# What the confidence is, and which rule chose the answer.
VOTE_SHARE, CALIBRATED = "vote_share", "calibrated"
WEIGHTED, BY_MAJORITY = "weighted", "majority"


@dataclass
class Ballot:
    """One model's part in a vote."""

    model: str
    raw_output: str = ""
    reasoning: str = ""
    parsed_answer: str = ""
    latency_s: float = 0.0
    error: str = ""
    abstained: bool = False
    cancelled: bool = False
    substituted_for: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    # How much the vote counted (weighing.py's log-odds weight; 1 under majority; 0 when no
    # vote was cast), the voter's expected accuracy, and why.
    weight: float = 0.0
    accuracy: float = 0.0
    weight_reason: str = ""


@dataclass(frozen=True)
class Rule:
    """How a vote decides: `standing` (None: majority), the confidence it should reach, and
    whether to abstain under it."""

    standing: Standing | None = None
    min_confidence: float = 0.0
    abstain: bool = False


MAJORITY_RULE = Rule()


@dataclass(frozen=True)
class Decision:
    answer: str
    confidence: float
    outcome: str
    source: str
    probability: dict[str, float]
    rule: str
    confident: bool


@dataclass
class Tally:
    call_id: str
    answer: str
    confidence: float
    outcome: str
    votes: list[Ballot]
    calls_made: int
    elapsed_s: float
    short_circuited: bool
    k: int
    answer_patterns: list[str]
    shadow: Ballot | None = None
    shadow_agrees: bool = False
    usage: dict[str, float] = field(default_factory=dict)
    # Provider calls started for the shadow (counted apart from the panel's `calls_made`).
    shadow_calls: int = 0
    # The shadow still answering when the vote was decided (late_shadow): its alias, and the
    # task that yields its ballot and provider calls. Cancel it to give up on the shadow.
    pending_shadow: str = ""
    late: asyncio.Task[tuple[Ballot, int]] | None = field(default=None, repr=False)
    confidence_source: str = ""
    confident: bool = True
    answer_probability: dict[str, float] = field(default_factory=dict)
    rule: str = BY_MAJORITY


def vote_messages(question: str, context: str, patterns: Sequence[str]) -> list[dict]:
    """Context in the system message (with the allowed answers), the question in the user's."""
    allowed = ", ".join(patterns)
    instruction = (
        f"Answer with exactly one of: {allowed}. End your reply with a line 'Answer: <answer>'."
    )
    system = f"{context.strip()}\n\n{instruction}" if context.strip() else instruction
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def _ballot(asked: Asked, patterns: Sequence[str], started: float, now: float) -> Ballot:
    ballot = Ballot(model=asked.model.alias, substituted_for=asked.substituted_for)
    ballot.latency_s = now - started
    if asked.error is not None:
        ballot.error = asked.error.message
        return ballot
    reply = asked.reply
    assert reply is not None
    ballot.raw_output, ballot.reasoning = reply.text, reply.reasoning
    ballot.prompt_tokens, ballot.completion_tokens = reply.prompt_tokens, reply.completion_tokens
    ballot.cost_usd = asked.model.usd(reply.prompt_tokens, reply.completion_tokens)
    parsed = parse_answer(reply.text, patterns)
    if parsed is None:
        ballot.abstained = True
    else:
        ballot.parsed_answer = parsed
    return ballot


def majority_certain(counts: Counter[str], unfinished: int) -> bool:
    """True when the leader cannot be caught even if every unfinished model votes otherwise."""
    if not counts:
        return False
    ranked = counts.most_common(2)
    leader = ranked[0][1]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    return leader > runner_up + unfinished


def decide(votes: Sequence[Ballot], rule: Rule = MAJORITY_RULE, patterns: int = 2) -> Decision:
    """The vote's answer from the finished ballots (each cast vote's `weight` and `accuracy`
    filled in), by `rule`."""
    cast = [b for b in votes if b.parsed_answer]
    if not cast:
        answered = any(b.abstained for b in votes)
        outcome = ALL_ABSTAIN if answered else NO_ANSWER
        return Decision("", 0.0, outcome, "", {}, _rule_name(rule), False)
    if rule.standing is None or not _profiled(cast, rule):
        if rule.standing is not None:
            rule = Rule(None, rule.min_confidence, rule.abstain)
        for b in cast:
            b.weight, b.weight_reason = 1.0, "one vote (majority rule)"
        counts = Counter(b.parsed_answer for b in cast)
        ranked = counts.most_common()
        share = {a: n / len(cast) for a, n in ranked}
        tied = len(ranked) > 1 and ranked[0][1] == ranked[1][1]
        answer = "" if tied else ranked[0][0]
        return _decided(answer, ranked[0][1] / len(cast), VOTE_SHARE, share, rule, tied)
    verdict = judge(rule.standing, [(b.model, b.parsed_answer) for b in cast], patterns)
    _explain(votes, verdict, rule.standing, patterns)
    found, confidence = verdict.posterior, verdict.confidence
    probability = dict(found.probability)
    if found.winner:
        probability[found.winner] = confidence
    return _decided(found.winner, confidence, CALIBRATED, probability, rule, not found.winner)


def _profiled(cast: Sequence[Ballot], rule: Rule) -> bool:
    """Whether a voter who cast a vote is profiled: where none is, the weighted rule has nothing
    to weigh by, and the majority (with its vote share) decides."""
    assert rule.standing is not None
    return any(b.model in rule.standing.accuracy for b in cast)


def _rule_name(rule: Rule) -> str:
    return BY_MAJORITY if rule.standing is None else WEIGHTED


def _decided(
    answer: str, confidence: float, source: str, probability, rule: Rule, tied: bool
) -> Decision:
    confident = bool(answer) and confidence >= rule.min_confidence
    if tied:
        return Decision("", confidence, TIE, source, probability, _rule_name(rule), False)
    if not confident and rule.abstain:
        return Decision("", confidence, UNSURE, source, probability, _rule_name(rule), False)
    return Decision(answer, confidence, MAJORITY, source, probability, _rule_name(rule), confident)


def _explain(votes: Sequence[Ballot], verdict: Verdict, standing: Standing, patterns: int) -> None:
    """Every ballot's weight, accuracy and why (an abstention or a failure cast no vote)."""
    m = standing.options(patterns)
    for b in votes:
        if b.parsed_answer:
            w = verdict.weight[b.model]
            b.accuracy, b.weight_reason, b.weight = w.accuracy, w.reason, w.log_odds
        else:
            b.accuracy, b.weight = standing.accuracy_of(b.model, m), 0.0
            b.weight_reason = "no vote cast"


def settled(ballots: Sequence[Ballot], pending: Sequence[str], rule: Rule, patterns: int) -> bool:
    """Whether the unfinished models can be cancelled: the winner cannot change whatever they
    answer, and (weighted, with a target) the confidence already reaches the target."""
    if not pending:
        return False
    cast = [b for b in ballots if b.parsed_answer]
    everyone = [*(b.model for b in ballots), *pending]
    if rule.standing is None or not any(m in rule.standing.accuracy for m in everyone):
        counts = Counter(b.parsed_answer for b in cast)
        return majority_certain(counts, len(pending))
    weight = weights(rule.standing, [*(b.model for b in cast), *pending], patterns)
    votes = [(b.model, b.parsed_answer) for b in cast]
    if not certain(votes, weight, pending, patterns):
        return False
    if rule.min_confidence <= 0:
        return True
    found = posterior(votes, weight, rule.standing.options(patterns))
    return rule.standing.calibrate(found.raw, len(cast)) >= rule.min_confidence


async def scale(
    pool: Pool,
    shadows: ShadowPicker | None,
    question: str,
    context: str,
    patterns: Sequence[str],
    panel: Sequence[Model],
    deadline: float,
    call_id: str = "",
    *,
    late_shadow: bool = False,
    shadow_deadline: float | None = None,
    carried: Sequence[Ballot] = (),
    rule: Rule = MAJORITY_RULE,
    **options,
) -> Tally:
    """One vote. `deadline` bounds the panel and `shadow_deadline` (default: `deadline`) the
    shadow, both on the pool's clock; `options` go to every model call. With `late_shadow`, a
    shadow that has not answered when the vote is decided keeps going (`Tally.late`).
    `carried` ballots were cast earlier by other models: they count as votes (and toward the
    short-circuit) but cost no call. `rule` decides the winner (majority by default)."""
    started = pool.clock()
    wall_start = time.perf_counter()
    messages = vote_messages(question, context, patterns)
    taken = {m.alias for m in panel} | {b.model for b in carried}
    voted = [b.model for b in carried]
    shadow_model = shadows.pick(pool, panel, voted) if shadows is not None else None
    if shadow_model is not None:
        taken.add(shadow_model.alias)

    tasks = {
        asyncio.create_task(pool.ask(model, messages, deadline, taken, **options)): i
        for i, model in enumerate(panel)
    }
    shadow_task = (
        asyncio.create_task(
            pool.ask(shadow_model, messages, shadow_deadline or deadline, taken, **options)
        )
        if shadow_model is not None
        else None
    )
    ballots: list[Ballot | None] = [None] * len(panel)
    asked_calls = 0
    pending = set(tasks)
    short_circuited = False
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            now = pool.clock()
            for task in done:
                asked = task.result()
                asked_calls += asked.calls
                ballots[tasks[task]] = _ballot(asked, patterns, started, now)
            finished = [*carried, *(b for b in ballots if b is not None)]
            unfinished = [panel[tasks[t]].alias for t in pending]
            if settled(finished, unfinished, rule, len(patterns)):
                short_circuited = True
                break
    except BaseException:
        # The vote itself failed or was cancelled: nothing keeps running, the shadow included.
        await _cancel([*pending, *([shadow_task] if shadow_task else [])])
        raise
    # Cancelling aborts the HTTP requests; wait so that they are closed before we answer.
    await _cancel(pending)
    for task in pending:
        i = tasks[task]
        asked_calls += 1
        ballots[i] = Ballot(model=panel[i].alias, cancelled=True)

    shadow_ballot, shadow_calls, late = None, 0, None
    if shadow_task is not None:
        if shadow_task.done():
            asked = shadow_task.result()
            shadow_calls = asked.calls
            shadow_ballot = _ballot(asked, patterns, started, pool.clock())
        elif late_shadow:
            late = asyncio.create_task(_late_ballot(pool, shadow_task, patterns, started))
            shadow_calls = 1
        else:
            await _cancel([shadow_task])
            shadow_calls = 1

    fresh = [b for b in ballots if b is not None]
    votes = [*carried, *fresh]
    decision = decide(votes, rule, len(patterns))
    answer = decision.answer
    return Tally(
        call_id=call_id or uuid.uuid4().hex,
        answer=answer,
        confidence=decision.confidence,
        outcome=decision.outcome,
        votes=votes,
        calls_made=asked_calls,
        elapsed_s=time.perf_counter() - wall_start,
        short_circuited=short_circuited,
        k=len(votes),
        answer_patterns=list(patterns),
        shadow=shadow_ballot,
        shadow_agrees=bool(shadow_ballot and answer and shadow_ballot.parsed_answer == answer),
        usage={
            "prompt_tokens": sum(b.prompt_tokens for b in fresh),
            "completion_tokens": sum(b.completion_tokens for b in fresh),
            "cost_usd": sum(b.cost_usd for b in fresh),
        },
        shadow_calls=shadow_calls,
        pending_shadow=shadow_model.alias if late is not None and shadow_model else "",
        late=late,
        confidence_source=decision.source,
        confident=decision.confident,
        answer_probability=decision.probability,
        rule=decision.rule,
    )


async def _cancel(tasks) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


async def _late_ballot(
    pool: Pool, shadow_task: asyncio.Task, patterns: Sequence[str], started: float
) -> tuple[Ballot, int]:
    """The shadow's ballot once it answers (its deadline bounds the wait); cancelling this
    cancels the shadow's call."""
    try:
        asked = await shadow_task
    except asyncio.CancelledError:
        shadow_task.cancel()
        raise
    return _ballot(asked, patterns, started, pool.clock()), asked.calls
