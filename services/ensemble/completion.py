"""A single model's completion, streamed: text and reasoning pieces as they come, then the end
with usage and cost from the registry's prices. A dead model is replaced by a live model of the
same tier before the call, or when it answers 404/410 before its first token (the end names
the model that answered)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from services.ensemble.pool import Pool
from services.ensemble.provider import ProviderError
from services.ensemble.registry import Model


@dataclass
class Done:
    model: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    elapsed_s: float
    first_token_s: float


@dataclass
class Piece:
    delta: str = ""
    reasoning: str = ""


async def complete(
    pool: Pool, model: Model, messages: list[dict], deadline: float, **options
) -> AsyncIterator[Piece | Done]:
    started = time.perf_counter()
    chosen, tried = model, {model.alias}
    while True:
        if pool.dead.is_dead(chosen.alias):
            stand_in = pool.substitute(chosen, tried)
            if stand_in is None:
                raise ProviderError(
                    "dead",
                    f"{chosen.alias} is dead ({pool.dead.why(chosen.alias)}) and no live "
                    f"{chosen.tier} model can stand in",
                )
            chosen = stand_in
            tried.add(chosen.alias)
        first_token_s = 0.0
        try:
            async for event in pool.provider.stream(chosen, messages, deadline, **options):
                if event.done:
                    yield Done(
                        model=chosen.alias,
                        finish_reason=event.finish_reason,
                        prompt_tokens=event.prompt_tokens,
                        completion_tokens=event.completion_tokens,
                        cost_usd=chosen.usd(event.prompt_tokens, event.completion_tokens),
                        elapsed_s=time.perf_counter() - started,
                        first_token_s=first_token_s,
                    )
                    return
                if not first_token_s:
                    first_token_s = time.perf_counter() - started
                yield Piece(delta=event.delta, reasoning=event.reasoning)
        except ProviderError as exc:
            if exc.kind != "dead":
                raise
            pool.mark_dead(chosen, exc.message)
            if first_token_s:
                raise  # text already went out: a stand-in cannot continue it
            # Nothing was sent yet: the loop asks a stand-in of the same tier.
