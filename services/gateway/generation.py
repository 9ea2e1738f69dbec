"""Generate as the public API offers it: best-of-k on the champion (or default) panel, judged by
k other models in the ensemble, recorded through the outbox (classified after the answer, so
that statistics by tier and task type count it)."""

from __future__ import annotations

import time

from freescaling.common.v1 import records_pb2
from freescaling.ensemble.v1 import ensemble_pb2
from freescaling.gateway.v1 import gateway_pb2
from services.gateway.answer_cache import NO_CACHE, AnswerCache
from services.gateway.deadline import Deadline
from services.gateway.downstream import Downstreams
from services.gateway.outbox import Outbox
from services.gateway.panels import Panels
from services.gateway.records import generate_record
from services.gateway.routing import Router


class Generation:
    def __init__(
        self, downstreams: Downstreams, panels: Panels, outbox: Outbox, router: Router
    ) -> None:
        self.downstreams, self.panels, self.outbox, self.router = (
            downstreams,
            panels,
            outbox,
            router,
        )
        self.cache: AnswerCache | None = None

    def _record(self, record: records_pb2.CallRecord, question: str) -> None:
        """Record the call, classified for the statistics after the answer, not before."""
        self.outbox.put_later(record, self.router.classify_into(record, question))

    async def generators(self, k: int, models, deadline: Deadline) -> list[str]:
        return list(models) if models else await self.panels.for_k(k, deadline)

    async def generate(
        self, request: gateway_pb2.GenerateRequest, deadline: Deadline, scope: str | None = None
    ) -> gateway_pb2.GenerateResponse:
        """Best-of-k, recorded; answered from the answer cache when `scope` (the caller's)
        and the request allow it and it holds the answer."""
        started = time.time()
        k = request.k or 3
        found = NO_CACHE
        if self.cache is not None:
            settings = [request.context, k, list(request.models), list(request.judges)]
            found = await self.cache.find(
                "generate", request.question, settings, request.options, scope, deadline
            )
            if found.hit is not None:
                response = gateway_pb2.GenerateResponse.FromString(found.hit.answer)
                response.result.total_calls = 0
                response.result.ClearField("usage")
                response.result.elapsed_s = time.time() - started
                response.cache.CopyFrom(found.hit.info)
                return response
        result = await self.downstreams.call(
            "ensemble",
            "Generate",
            ensemble_pb2.GenerateRequest(
                question=request.question,
                context=request.context,
                k=k,
                models=await self.generators(k, request.models, deadline),
                judges=list(request.judges),
                options=request.options,
            ),
            deadline,
        )
        self._record(
            generate_record(
                result, question=request.question, message_id=request.message_id, started_at=started
            ),
            request.question,
        )
        response = gateway_pb2.GenerateResponse(result=result)
        if self.cache is not None and result.output:
            self.cache.keep(found, response.SerializeToString(), result.call_id,
                            result.usage.cost_usd)  # fmt: skip
        return response

    async def generate_batch(self, request: gateway_pb2.GenerateBatchRequest, deadline: Deadline):
        k = request.k or 3
        started = time.time()
        downstream = ensemble_pb2.GenerateBatchRequest(
            items=[
                ensemble_pb2.GenerateItem(question=i.question, context=i.context)
                for i in request.items
            ],
            k=k,
            models=await self.generators(k, request.models, deadline),
            judges=list(request.judges),
            max_concurrency=request.max_concurrency,
            options=request.options,
        )
        async for item in self.downstreams.stream(
            "ensemble", "GenerateBatch", downstream, deadline
        ):
            if item.HasField("error"):
                yield gateway_pb2.GenerateBatchResult(index=item.index, error=item.error)
                continue
            source = request.items[item.index]
            self._record(
                generate_record(
                    item.result,
                    question=source.question,
                    message_id=source.message_id,
                    started_at=started,
                ),
                source.question,
            )
            yield gateway_pb2.GenerateBatchResult(
                index=item.index, response=gateway_pb2.GenerateResponse(result=item.result)
            )
