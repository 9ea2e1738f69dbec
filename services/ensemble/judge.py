"""Best-of-k generation (generate): k models write an answer; k *different* models judge them.

Each judge sees every successful output, anonymised (numbered, no model names) and in its own
random order, and names the best by number; its answer is read with the same parser as votes
(patterns "1".."n"), then mapped back to the output's real index.

Tie rule: the output with the most judge votes wins; when several share the most (or no judge
voted), the earliest successful output in generation order wins and `tie_broken` is set. With a
single successful output there is nothing to judge: it wins and no judge is called.

Who judges: the caller's `judges` (none of them a generator), else as many live models as there
are generators from outside them and from their providers, the registry's "judges" panel first.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.ensemble.parser import parse_answer, strip_reasoning
from services.ensemble.pool import BadRequest, NoModel, Pool
from services.ensemble.registry import Model

# Judges chosen for the caller, after the "judges" panel: stronger tiers before faster ones (a
# judge must tell the best of several outputs apart), medium ahead of the slower thinking tier.
_JUDGE_TIER_RANK = {"medium": 0, "thinking": 1, "fast": 2}


class AllGeneratorsFailed(RuntimeError):
    """No generator produced an output; the message lists why."""


@dataclass
class Output:
    index: int
    model: str
    output: str = ""
    latency_s: float = 0.0
    error: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class Verdict:
    judge: str
    choice: int = -1
    raw_output: str = ""
    latency_s: float = 0.0
    error: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class Generation:
    call_id: str
    output: str
    all_outputs: list[Output]
    winner_model: str
    judge_votes: list[int]
    judges: list[Verdict]
    total_calls: int
    elapsed_s: float
    tie_broken: bool
    usage: dict[str, float] = field(default_factory=dict)


def generate_messages(question: str, context: str) -> list[dict]:
    messages = [{"role": "system", "content": context}] if context.strip() else []
    return [*messages, {"role": "user", "content": question}]


def judge_messages(question: str, context: str, outputs: Sequence[str]) -> list[dict]:
    numbered = "\n\n".join(f"### Output {i}\n{text}" for i, text in enumerate(outputs, start=1))
    system = (
        "You judge answers written by others. Read the task and the numbered outputs, decide "
        "which output answers the task best (correct, complete, clear), and end your reply with "
        f"a line 'Answer: <number>' naming one of 1 to {len(outputs)}."
    )
    task = f"Context:\n{context}\n\nTask:\n{question}" if context.strip() else f"Task:\n{question}"
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"{task}\n\n{numbered}"},
    ]


def pick_winner(votes: Sequence[int], usable: Sequence[int]) -> tuple[int, bool]:
    """(winning index, whether the tie rule decided) given votes per index and the indices of
    successful outputs in generation order."""
    best = max(votes[i] for i in usable)
    leaders = [i for i in usable if votes[i] == best]
    return leaders[0], len(leaders) > 1


def generators_and_judges(
    pool: Pool, k: int, models: Sequence[str], judges: Sequence[str]
) -> tuple[list[Model], list[Model]]:
    """The models that write (`models`, else the default panel for k) and those that judge
    them (module docstring); BadRequest when a named judge also generates, NoModel when no
    live model outside the generators can judge. One generator needs no judge."""
    generators = pool.panel(k, models, "")
    if judges:
        chosen = pool.require_available(pool.lookup(judges, "judges"), "judges")
        clash = [m.alias for m in chosen if m in generators]
        if clash:
            raise BadRequest(f"judges must differ from the generators; {', '.join(clash)} is both")
        return generators, chosen
    if len(generators) < 2:
        return generators, []
    inside = [m.alias for m in generators]
    outsiders = pool.outsiders(inside, {m.provider for m in generators})
    # The "judges" panel first, in its order; then by tier.
    preferred = pool.registry.panels.get("judges", [])
    outsiders.sort(
        key=lambda m: (
            preferred.index(m.alias) if m.alias in preferred else len(preferred),
            _JUDGE_TIER_RANK[m.tier],
        )
    )
    if not outsiders:
        raise NoModel("no live model outside the generators can judge their outputs")
    return generators, outsiders[: len(generators)]


async def generate(
    pool: Pool,
    question: str,
    context: str,
    generators: Sequence[Model],
    judges: Sequence[Model],
    deadline: float,
    call_id: str = "",
    rng: random.Random | None = None,
    **options,
) -> Generation:
    rng = rng or random.Random()
    wall_start = time.perf_counter()
    started = pool.clock()
    taken = {m.alias for m in (*generators, *judges)}
    messages = generate_messages(question, context)
    asked = await asyncio.gather(
        *(pool.ask(m, messages, deadline, taken, **options) for m in generators)
    )
    calls = sum(a.calls for a in asked)
    outputs = []
    for i, a in enumerate(asked):
        out = Output(index=i, model=a.model.alias, latency_s=pool.clock() - started)
        if a.error is not None:
            out.error = a.error.message
        else:
            assert a.reply is not None
            out.output = strip_reasoning(a.reply.text).strip()
            out.prompt_tokens, out.completion_tokens = (
                a.reply.prompt_tokens,
                a.reply.completion_tokens,
            )
            out.cost_usd = a.model.usd(out.prompt_tokens, out.completion_tokens)
            if not out.output:
                out.error = f"{a.model.alias}: empty output"
        outputs.append(out)
    usable = [o.index for o in outputs if not o.error]
    if not usable:
        raise AllGeneratorsFailed("every generator failed: " + "; ".join(o.error for o in outputs))

    verdicts: list[Verdict] = []
    if len(usable) > 1:
        # Judges are told apart from generators: a judge standing in for a dead judge must not
        # be a generator either, which `taken` ensures.
        async def judge(model: Model) -> tuple[Verdict, int]:
            order = list(usable)
            rng.shuffle(order)
            shown = [outputs[i].output for i in order]
            labels = [str(n) for n in range(1, len(order) + 1)]
            begun = pool.clock()
            a = await pool.ask(
                model, judge_messages(question, context, shown), deadline, taken, **options
            )
            verdict = Verdict(judge=a.model.alias, latency_s=pool.clock() - begun)
            if a.error is not None:
                verdict.error = a.error.message
            else:
                assert a.reply is not None
                verdict.raw_output = a.reply.text
                verdict.prompt_tokens = a.reply.prompt_tokens
                verdict.completion_tokens = a.reply.completion_tokens
                verdict.cost_usd = a.model.usd(verdict.prompt_tokens, verdict.completion_tokens)
                label = parse_answer(a.reply.text, labels)
                if label is not None:
                    verdict.choice = order[int(label) - 1]
            return verdict, a.calls

        judged = await asyncio.gather(*(judge(m) for m in judges))
        verdicts = [v for v, _ in judged]
        calls += sum(c for _, c in judged)

    votes = [0] * len(outputs)
    for v in verdicts:
        if v.choice >= 0:
            votes[v.choice] += 1
    winner, tie_broken = pick_winner(votes, usable)
    spent = [*outputs, *verdicts]
    return Generation(
        call_id=call_id or uuid.uuid4().hex,
        output=outputs[winner].output,
        all_outputs=outputs,
        winner_model=outputs[winner].model,
        judge_votes=votes,
        judges=verdicts,
        total_calls=calls,
        elapsed_s=time.perf_counter() - wall_start,
        tie_broken=tie_broken and len(usable) > 1,
        usage={
            "prompt_tokens": sum(s.prompt_tokens for s in spent),
            "completion_tokens": sum(s.completion_tokens for s in spent),
            "cost_usd": sum(s.cost_usd for s in spent),
        },
    )
