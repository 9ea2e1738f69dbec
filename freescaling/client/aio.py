"""The asyncio client: the same calls as `Client`, awaited; batches and chat are async iterators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Sequence

import grpc

from freescaling.client import calls
from freescaling.client import results as r
from freescaling.client.channel import Connection
from freescaling.client.errors import from_rpc_error
from freescaling.gateway.v1 import gateway_pb2_grpc


class AsyncClient:
    """`async with AsyncClient("localhost:50051") as fs: await fs.scale(...)`."""

    def __init__(
        self,
        target: str = "localhost:50051",
        *,
        api_key: str = "",
        tls: bool | str = False,
        timeout_s: float = 120.0,
    ) -> None:
        self.connection = Connection(target, api_key, tls, timeout_s)
        self._channel = self.connection.aio_channel()
        self._stub = gateway_pb2_grpc.GatewayStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def _unary(self, method: str, request, timeout_s: float | None):
        try:
            return await getattr(self._stub, method)(
                request,
                timeout=timeout_s or self.connection.timeout_s,
                metadata=self.connection.metadata(),
            )
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    async def _stream(self, method: str, request, timeout_s: float | None) -> AsyncIterator:
        call = getattr(self._stub, method)(
            request,
            timeout=timeout_s or self.connection.timeout_s,
            metadata=self.connection.metadata(),
        )
        try:
            async for item in call:
                yield item
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        finally:
            call.cancel()

    async def scale(
        self, question: str, *, timeout_s: float | None = None, **kwargs
    ) -> r.ScaleResult:
        response = await self._unary("Scale", calls.scale_request(question, **kwargs), timeout_s)
        return calls.scale_result(response)

    async def generate(
        self, question: str, *, timeout_s: float | None = None, **kwargs
    ) -> r.GenerateResult:
        response = await self._unary(
            "Generate", calls.generate_request(question, **kwargs), timeout_s
        )
        return calls.generate_result(response)

    async def scale_batch(
        self, items: Sequence[str | dict], *, timeout_s: float | None = None, **kwargs
    ) -> AsyncIterator[r.BatchItem]:
        request = calls.scale_batch_request(items, **kwargs)
        async for item in self._stream("ScaleBatch", request, timeout_s):
            yield calls.scale_batch_item(item)

    async def generate_batch(
        self, items: Sequence[str | dict], *, timeout_s: float | None = None, **kwargs
    ) -> AsyncIterator[r.BatchItem]:
        request = calls.generate_batch_request(items, **kwargs)
        async for item in self._stream("GenerateBatch", request, timeout_s):
            yield calls.generate_batch_item(item)

    def chat(
        self, messages, *, stream: bool = True, timeout_s: float | None = None, **kwargs
    ) -> AsyncIterator[r.ChatEvent] | Awaitable[r.ChatResult]:
        """`async for event in fs.chat(...)`, or `await fs.chat(..., stream=False)` for the
        whole answer as one ChatResult."""
        request = calls.chat_request(messages, stream=stream, **kwargs)
        if not stream:
            return self._chat_whole(request, timeout_s)
        return self._chat_events(request, timeout_s)

    async def _chat_events(self, request, timeout_s: float | None) -> AsyncIterator[r.ChatEvent]:
        async for chunk in self._stream("Chat", request, timeout_s):
            yield calls.chat_event(chunk)

    async def _chat_whole(self, request, timeout_s: float | None) -> r.ChatResult:
        chunks = [chunk async for chunk in self._stream("Chat", request, timeout_s)]
        (chunk,) = chunks
        return calls.chat_result(chunk)

    async def onboard(
        self, alias: str, items, *, timeout_s: float | None = None, **kwargs
    ) -> AsyncIterator[r.OnboardProgress]:
        """Onboard a model from labelled items (UniRoute); progress, then the profile."""
        request = calls.onboard_request(alias, items, **kwargs)
        async for step in self._stream("OnboardModel", request, timeout_s):
            yield calls.onboard_progress(step)

    async def profile_models(
        self, models: Sequence[str], items, *, timeout_s: float | None = None, **kwargs
    ) -> AsyncIterator[r.ProfileProgress]:
        """Profile several models on one labelled validation set (the capability map):
        progress over every model, then (last) the capability map; see calls.profile_request."""
        request = calls.profile_request(models, items, **kwargs)
        async for step in self._stream("ProfileModels", request, timeout_s):
            yield calls.profile_progress(step)

    async def capability_map(self, cluster_set_id: str = "") -> r.CapabilityMap:
        request = calls.capability_map_request(cluster_set_id)
        return calls.capability_map_result(await self._unary("GetCapabilityMap", request, None))

    async def suggest_panel(
        self, size: int = 3, candidates: Sequence[str] = (), cluster_set_id: str = ""
    ) -> r.SuggestedPanel:
        request = calls.suggest_panel_request(size, candidates, cluster_set_id)
        return calls.suggest_panel_result(await self._unary("SuggestPanel", request, None))

    async def route(self, text: str, *, timeout_s: float | None = None, **kwargs) -> r.Routing:
        response = await self._unary("Route", calls.route_request(text, **kwargs), timeout_s)
        return calls.route_result(response)

    async def health(
        self, models: Sequence[str] = (), *, timeout_s: float | None = None
    ) -> list[r.ModelHealth]:
        return calls.health_result(
            await self._unary("Health", calls.health_request(models), timeout_s)
        )

    async def feedback(self, call_id: str = "", reaction: str = "", **kwargs) -> r.FeedbackResult:
        request = calls.feedback_request(call_id, reaction, **kwargs)
        return calls.feedback_result(await self._unary("Feedback", request, None))

    async def elo_summary(self, sort_by: str = "rating", **kwargs) -> list[r.ModelRating]:
        request = calls.rankings_request(sort_by, **kwargs)
        return calls.rankings_result(await self._unary("Rankings", request, None))

    async def evolve(self, dry_run: bool = True, **kwargs) -> r.EvolveResult:
        return calls.evolve_result(
            await self._unary("Evolve", calls.evolve_request(dry_run, **kwargs), None)
        )

    async def evolution_history(self, panel: str = "", limit: int = 0) -> list[r.PanelChange]:
        """Every change evolution applied to a panel (the champion by default), newest first,
        each with its reason and time."""
        request = calls.history_request(panel, limit)
        return calls.history_result(await self._unary("EvolutionHistory", request, None))

    async def error_correlations(
        self, models: Sequence[str] = (), cluster_set_id: str = ""
    ) -> list[r.ModelPairCorrelation]:
        """How often each pair of models errs on the same validation items (every profiled
        model when `models` is empty)."""
        request = calls.correlations_request(models, cluster_set_id)
        return calls.correlations_result(await self._unary("ErrorCorrelations", request, None))

    async def models(self) -> list[r.ModelInfo]:
        return calls.models_result(await self._unary("ListModels", calls.LIST_MODELS(), None))

    async def panels(self) -> list[r.Panel]:
        return calls.panels_result(await self._unary("ListPanels", calls.LIST_PANELS(), None))

    async def stats(self) -> r.Stats:
        return calls.stats_result(await self._unary("Stats", calls.STATS(), None))

    async def calls(self, **kwargs) -> tuple[list[r.CallRecord], str]:
        """A page of call records, newest first, and the next page's token ("" on the last)."""
        return calls.calls_result(
            await self._unary("ListCalls", calls.calls_request(**kwargs), None)
        )

    async def info(self, probe_downstreams: bool = False):
        return await self._unary("GetInfo", calls.INFO(probe_downstreams=probe_downstreams), None)
