"""The answer cache, gateway side: which calls may be answered from it, their keys, and the two
trips to learning (which keeps the entries, so every replica shares them).

A call's key has two digests: `settings_key` over everything that shapes the answer except the
question's wording (kind, context, earlier messages, answer patterns, panel or model, k, sampling
settings) and `text_key` over the normalised question (Unicode NFKC, whitespace collapsed).
Exact lookups match both; semantic ones match `settings_key` and then the question's embedding
(the classifier's embedder) at or above a cosine threshold, with the same numbers in the
question, so that "Is 91 prime?" never answers "Is 97 prime?". Entries are scoped by a digest of
the caller's API key and never cross it. The cache never fails a call: a lookup or store that
cannot reach learning or the classifier is logged and the call runs as if there were no cache.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import Counter

from freescaling.classifier.v1 import classifier_pb2
from freescaling.common.v1 import calls_pb2
from freescaling.learning.v1 import learning_pb2
from services.gateway.deadline import Deadline
from services.gateway.downstream import DownstreamError, Downstreams

logger = logging.getLogger(__name__)

LOOKUPS = Counter(
    "freescaling_cache_lookups_total",
    "Answer-cache lookups by kind of call and outcome (hit_exact, hit_semantic, miss, error)",
    ["kind", "outcome"],
)
SAVED = Counter(
    "freescaling_cache_saved_usd_total", "What the cached answers' original calls cost (USD)"
)

OFF, EXACT, SEMANTIC = "off", "exact", "semantic"
MODES = (OFF, EXACT, SEMANTIC)
# A lookup or store waits at most this long for learning (or the classifier's embedding): the
# cache is there to save time and money, never to add a stall to a call.
TRIP_TIMEOUT_S = 2.0
# Numbers as they are written: 97, 3.14, 1,000, -2 (a semantic match must have the same ones).
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)*")


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def numbers(text: str) -> str:
    """The numbers in `text`, in order, as one string."""
    return " ".join(_NUMBER.findall(unicodedata.normalize("NFKC", text)))


def digest(*parts) -> str:
    encoded = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(encoded.encode()).hexdigest()


def sampling(options: calls_pb2.CallOptions) -> dict:
    """The options that shape an answer (not the timeout, the end user or the cache's own)."""
    shaped: dict = {"max_tokens": options.max_tokens, "stop": list(options.stop)}
    for name in ("temperature", "top_p", "seed"):
        if options.HasField(name):
            shaped[name] = getattr(options, name)
    return shaped


def options_problem(options: calls_pb2.CallOptions) -> str | None:
    """What is wrong with a request's cache settings, for its INVALID_ARGUMENT."""
    if options.cache not in calls_pb2.CacheMode.values():
        return f"options.cache {options.cache} is not a CacheMode (skip, fresh, exact, semantic)"
    if options.HasField("cache_threshold") and not 0 < options.cache_threshold <= 1:
        return (
            f"options.cache_threshold must be above 0 and at most 1 (a cosine similarity); got "
            f"{options.cache_threshold}"
        )
    return None


def deterministic(options: calls_pb2.CallOptions) -> bool:
    return options.HasField("temperature") and options.temperature == 0


@dataclass(frozen=True)
class Plan:
    """What the cache does for one call."""

    kind: str
    scope: str
    settings_key: str
    text_key: str
    question: str
    numbers: str
    read: bool
    semantic: bool
    threshold: float

    def keys(self) -> dict:
        """The fields a lookup and a store of this call share."""
        return {
            "scope": self.scope,
            "kind": self.kind,
            "settings_key": self.settings_key,
            "text_key": self.text_key,
            "numbers": self.numbers,
        }


@dataclass(frozen=True)
class Hit:
    answer: bytes
    info: calls_pb2.CacheHit


@dataclass(frozen=True)
class Lookup:
    """A call's plan and what its lookup found: the hit, or after a miss the question's
    embedding (semantic plans) for the store to reuse."""

    plan: Plan | None = None
    hit: Hit | None = None
    embedding: tuple[float, ...] = ()
    embedder: str = ""


NO_CACHE = Lookup()


class AnswerCache:
    def __init__(
        self,
        downstreams: Downstreams,
        mode: str,
        threshold: float,
        ttl_s: float,
        keys_configured: bool,
    ) -> None:
        self.downstreams, self.mode, self.threshold = downstreams, mode, threshold
        self.ttl_s, self.keys_configured = ttl_s, keys_configured
        self._stores: set[asyncio.Task] = set()

    def scope(self, token: str | None) -> str:
        """The caller's scope: a digest of its API key; "open" on a gateway without keys (every
        caller is the same anonymous one there)."""
        if not self.keys_configured:
            return "open"
        return hashlib.sha256(f"freescaling-cache\0{token or ''}".encode()).hexdigest()[:32]

    def plan(
        self,
        kind: str,
        question: str,
        settings: Iterable,
        options: calls_pb2.CallOptions,
        scope: str | None,
    ) -> Plan | None:
        """None when the call neither reads nor writes the cache: a caller's `skip`, a call
        the compositions make for themselves (no scope), or a request the configuration leaves
        out (by default, one that is not deterministic)."""
        requested = options.cache
        if scope is None or requested == calls_pb2.CACHE_MODE_SKIP:
            return None
        if requested == calls_pb2.CACHE_MODE_UNSPECIFIED:
            if self.mode == OFF or not deterministic(options):
                return None
            read, semantic = True, self.mode == SEMANTIC
        else:
            read = requested != calls_pb2.CACHE_MODE_FRESH
            semantic = requested == calls_pb2.CACHE_MODE_SEMANTIC
        threshold = (
            options.cache_threshold if options.HasField("cache_threshold") else self.threshold
        )
        normalised = normalise(question)
        return Plan(
            kind=kind,
            scope=scope,
            settings_key=digest(kind, list(settings), sampling(options)),
            text_key=digest(normalised),
            question=normalised,
            numbers=numbers(question),
            read=read,
            semantic=semantic,
            threshold=threshold,
        )

    async def _embedding(self, plan: Plan, deadline: Deadline) -> tuple[list[float], str]:
        try:
            reply = await self.downstreams.call(
                "classifier",
                "Embed",
                classifier_pb2.EmbedRequest(texts=[plan.question]),
                deadline,
                timeout=TRIP_TIMEOUT_S,
            )
        except DownstreamError as exc:
            logger.info("answer cache: no embedding, exact only (%s)", exc.message)
            return [], ""
        return list(reply.embeddings[0].values), reply.model_fingerprint

    async def find(
        self,
        kind: str,
        question: str,
        settings: Iterable,
        options: calls_pb2.CallOptions,
        scope: str | None,
        deadline: Deadline,
    ) -> Lookup:
        """The call's plan and, when it reads the cache, what the cache holds for it; after a
        miss, the question's embedding (semantic plans), which the store reuses."""
        plan = self.plan(kind, question, settings, options, scope)
        if plan is None:
            return NO_CACHE
        if not plan.read:
            return Lookup(plan)
        embedding, embedder = [], ""
        if plan.semantic:
            embedding, embedder = await self._embedding(plan, deadline)
        missed = Lookup(plan, None, tuple(embedding), embedder)
        request = learning_pb2.LookupAnswerRequest(
            **plan.keys(),
            embedding=embedding,
            embedder=embedder,
            threshold=plan.threshold if embedding else 0.0,
        )
        try:
            reply = await self.downstreams.call(
                "learning", "LookupAnswer", request, deadline, timeout=TRIP_TIMEOUT_S
            )
        except DownstreamError as exc:
            LOOKUPS.labels(plan.kind, "error").inc()
            logger.warning("answer cache lookup failed, answering afresh: %s", exc.message)
            return missed
        if not reply.found:
            LOOKUPS.labels(plan.kind, "miss").inc()
            return missed
        LOOKUPS.labels(plan.kind, f"hit_{reply.hit.match or EXACT}").inc()
        SAVED.inc(max(reply.hit.saved_cost_usd, 0.0))
        return Lookup(plan, Hit(reply.answer, reply.hit))

    def keep(self, found: Lookup, answer: bytes, call_id: str, cost_usd: float) -> None:
        """Keep a call's answer as its plan says (nothing for a hit or without a plan), in the
        background: the caller has its answer already."""
        if found.plan is None or found.hit is not None:
            return
        request = learning_pb2.StoreAnswerRequest(
            **found.plan.keys(),
            embedding=found.embedding,
            embedder=found.embedder,
            answer=answer,
            call_id=call_id,
            cost_usd=cost_usd,
            ttl_s=self.ttl_s,
        )
        task = asyncio.get_running_loop().create_task(self._store(request), name="cache-store")
        self._stores.add(task)
        task.add_done_callback(self._stores.discard)

    async def _store(self, request: learning_pb2.StoreAnswerRequest) -> None:
        try:
            await self.downstreams.send("learning", "StoreAnswer", request, TRIP_TIMEOUT_S)
        except DownstreamError as exc:
            logger.warning("answer cache: answer of call %s not kept: %s", request.call_id,
                           exc.message)  # fmt: skip

    async def drain(self) -> None:
        """Let stores in flight finish (at shutdown)."""
        if self._stores:
            await asyncio.gather(*list(self._stores), return_exceptions=True)
