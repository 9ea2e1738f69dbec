"""The blocking client: `Client("localhost:50051").scale("Is 17 prime?", answers=["YES", "NO"])`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import grpc

from freescaling.client import calls
from freescaling.client import results as r
from freescaling.client.channel import Connection
from freescaling.client.errors import from_rpc_error
from freescaling.gateway.v1 import gateway_pb2_grpc


class Client:
    """Every public call of the gateway, returning plain result objects and raising typed errors."""

    def __init__(
        self,
        target: str = "localhost:50051",
        *,
        api_key: str = "",
        tls: bool | str = False,
        timeout_s: float = 120.0,
    ) -> None:
        self.connection = Connection(target, api_key, tls, timeout_s)
        self._channel = self.connection.sync_channel()
        self._stub = gateway_pb2_grpc.GatewayStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _unary(self, method: str, request, timeout_s: float | None):
        try:
            return getattr(self._stub, method)(
                request,
                timeout=timeout_s or self.connection.timeout_s,
                metadata=self.connection.metadata(),
            )
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    def _stream(self, method: str, request, timeout_s: float | None) -> Iterator:
        call = getattr(self._stub, method)(
            request,
            timeout=timeout_s or self.connection.timeout_s,
            metadata=self.connection.metadata(),
        )
        try:
            yield from call
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        finally:
            call.cancel()

    def scale(self, question: str, *, timeout_s: float | None = None, **kwargs) -> r.ScaleResult:
        """Ask k models (1, 3, 5 or "auto") and return the majority; see calls.scale_request."""
        response = self._unary("Scale", calls.scale_request(question, **kwargs), timeout_s)
        return calls.scale_result(response)

    def generate(
        self, question: str, *, timeout_s: float | None = None, **kwargs
    ) -> r.GenerateResult:
        response = self._unary("Generate", calls.generate_request(question, **kwargs), timeout_s)
        return calls.generate_result(response)

    def scale_batch(
        self, items: Sequence[str | dict], *, timeout_s: float | None = None, **kwargs
    ) -> Iterator[r.BatchItem]:
        request = calls.scale_batch_request(items, **kwargs)
        for item in self._stream("ScaleBatch", request, timeout_s):
            yield calls.scale_batch_item(item)

    def generate_batch(
        self, items: Sequence[str | dict], *, timeout_s: float | None = None, **kwargs
    ) -> Iterator[r.BatchItem]:
        request = calls.generate_batch_request(items, **kwargs)
        for item in self._stream("GenerateBatch", request, timeout_s):
            yield calls.generate_batch_item(item)

    def chat(
        self, messages, *, stream: bool = True, timeout_s: float | None = None, **kwargs
    ) -> Iterator[r.ChatEvent] | r.ChatResult:
        """A routed answer: events as they stream (routing, deltas, done), or with
        `stream=False` the whole answer as one ChatResult once it is complete."""
        request = calls.chat_request(messages, stream=stream, **kwargs)
        if not stream:
            (chunk,) = list(self._stream("Chat", request, timeout_s))
            return calls.chat_result(chunk)
        return (calls.chat_event(chunk) for chunk in self._stream("Chat", request, timeout_s))

    def onboard(
        self, alias: str, items, *, timeout_s: float | None = None, **kwargs
    ) -> Iterator[r.OnboardProgress]:
        """Onboard a model from labelled items (UniRoute); progress, then the profile."""
        request = calls.onboard_request(alias, items, **kwargs)
        for step in self._stream("OnboardModel", request, timeout_s):
            yield calls.onboard_progress(step)

    def profile_models(
        self, models: Sequence[str], items, *, timeout_s: float | None = None, **kwargs
    ) -> Iterator[r.ProfileProgress]:
        """Profile several models on one labelled validation set (the capability map):
        progress over every model, then (last) the capability map; see calls.profile_request.
        Thousands of provider calls may take long: give a `timeout_s` that covers them."""
        request = calls.profile_request(models, items, **kwargs)
        for step in self._stream("ProfileModels", request, timeout_s):
            yield calls.profile_progress(step)

    def capability_map(self, cluster_set_id: str = "") -> r.CapabilityMap:
        """The capability map of the profiled models (the newest centroid set by default)."""
        request = calls.capability_map_request(cluster_set_id)
        return calls.capability_map_result(self._unary("GetCapabilityMap", request, None))

    def suggest_panel(
        self, size: int = 3, candidates: Sequence[str] = (), cluster_set_id: str = ""
    ) -> r.SuggestedPanel:
        """A panel of 3 or 5 high-accuracy, low-correlation models from the validation results
        (every profiled model is a candidate by default), with the figures."""
        request = calls.suggest_panel_request(size, candidates, cluster_set_id)
        return calls.suggest_panel_result(self._unary("SuggestPanel", request, None))

    def route(self, text: str, *, timeout_s: float | None = None, **kwargs) -> r.Routing:
        return calls.route_result(
            self._unary("Route", calls.route_request(text, **kwargs), timeout_s)
        )

    def health(
        self, models: Sequence[str] = (), *, timeout_s: float | None = None
    ) -> list[r.ModelHealth]:
        return calls.health_result(self._unary("Health", calls.health_request(models), timeout_s))

    def feedback(self, call_id: str = "", reaction: str = "", **kwargs) -> r.FeedbackResult:
        request = calls.feedback_request(call_id, reaction, **kwargs)
        return calls.feedback_result(self._unary("Feedback", request, None))

    def elo_summary(self, sort_by: str = "rating", **kwargs) -> list[r.ModelRating]:
        request = calls.rankings_request(sort_by, **kwargs)
        return calls.rankings_result(self._unary("Rankings", request, None))

    def evolve(self, dry_run: bool = True, **kwargs) -> r.EvolveResult:
        """Evolve the champion panel: `source="elo"` (the top models by rating, the default) or
        `"profiles"` (the suggested panel from the validation results); see
        calls.evolve_request."""
        return calls.evolve_result(
            self._unary("Evolve", calls.evolve_request(dry_run, **kwargs), None)
        )

    def evolution_history(self, panel: str = "", limit: int = 0) -> list[r.PanelChange]:
        """Every change evolution applied to a panel (the champion by default), newest first,
        each with its reason and time."""
        request = calls.history_request(panel, limit)
        return calls.history_result(self._unary("EvolutionHistory", request, None))

    def error_correlations(
        self, models: Sequence[str] = (), cluster_set_id: str = ""
    ) -> list[r.ModelPairCorrelation]:
        """How often each pair of models errs on the same validation items (every profiled
        model when `models` is empty)."""
        request = calls.correlations_request(models, cluster_set_id)
        return calls.correlations_result(self._unary("ErrorCorrelations", request, None))

    def models(self) -> list[r.ModelInfo]:
        return calls.models_result(self._unary("ListModels", calls.LIST_MODELS(), None))

    def panels(self) -> list[r.Panel]:
        return calls.panels_result(self._unary("ListPanels", calls.LIST_PANELS(), None))

    def stats(self) -> r.Stats:
        return calls.stats_result(self._unary("Stats", calls.STATS(), None))

    def calls(self, **kwargs) -> tuple[list[r.CallRecord], str]:
        """A page of call records, newest first, and the next page's token ("" on the last)."""
        return calls.calls_result(self._unary("ListCalls", calls.calls_request(**kwargs), None))

    def info(self, probe_downstreams: bool = False):
        """The gateway's GetInfo (version, capabilities, downstreams), as the protobuf message."""
        return self._unary("GetInfo", calls.INFO(probe_downstreams=probe_downstreams), None)
