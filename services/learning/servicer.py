"""The learning service's RPC surface, kept thin: the core validates and does the work; this
runs the core's blocking database work on a bounded thread pool (the event loop stays free)
and maps the core's errors to status codes with their messages."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import grpc
import sqlalchemy as sa
from prometheus_client import Counter

from freescaling.common.v1 import info_pb2, voting_pb2
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from services.common.capabilities import with_capabilities
from services.common.health import Health
from services.common.info import service_info
from services.learning import (
    answer_cache,
    capability_map,
    cluster_sets,
    correlations,
    dashboard,
    evolution,
    experts,
    feedback,
    panel_suggestion,
    profile_routing,
    profiles,
    ratings,
    records,
    registered_models,
    shadows,
    stats,
    validation,
    weigh_voters,
)
from services.learning.config import LearningSettings
from services.learning.db import Database
from services.learning.errors import (
    AlreadyExists,
    InvalidInput,
    LearningError,
    NotFound,
    Precondition,
    Unavailable,
)
from services.learning.routers import Routers

logger = logging.getLogger(__name__)
T = TypeVar("T")

SERVICE = learning_pb2.DESCRIPTOR.services_by_name["Learning"]
NOT_BUILT: dict[str, str] = {}
# RecordCalls' and AttachShadows' limit on items per request (the message size limit applies
# as well).
MAX_RECORDS_PER_BATCH = 1000

RATING_UPDATES = Counter(
    "freescaling_rating_updates",
    "Model ratings moved, by what moved them (consensus after a call, or feedback)",
    ["source"],
)

_CODES = {
    InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    Precondition: grpc.StatusCode.FAILED_PRECONDITION,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
}


async def _check_batch(context: grpc.aio.ServicerContext, count: int, what: str, verb: str):
    """A batch request holds one item at least and MAX_RECORDS_PER_BATCH at most."""
    if not count:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"no {what} to {verb}")
    if count > MAX_RECORDS_PER_BATCH:
        await context.abort(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"{count} {what} in one request; at most {MAX_RECORDS_PER_BATCH} are allowed: split it",
        )


def _item_error(error: LearningError) -> voting_pb2.ItemError:
    """One item's error in a batch reply, with the status its own request would have had."""
    code = _CODES.get(type(error), grpc.StatusCode.INTERNAL)
    return voting_pb2.ItemError(code=code.name, message=str(error))


@with_capabilities(SERVICE, NOT_BUILT)
class LearningServicer(learning_pb2_grpc.LearningServicer):
    def __init__(self, settings: LearningSettings, health: Health, db: Database) -> None:
        self.settings, self.health, self.db = settings, health, db
        # One thread per pooled connection: more threads would only wait for a connection.
        self.pool = ThreadPoolExecutor(settings.db_pool_size, thread_name_prefix="learning-db")
        self.recorder = records.Recorder(db, settings.consensus_k, self.pool)
        self.calibrations = weigh_voters.Calibrations()
        self.routers = Routers(settings.profile_estimator)

    async def _run(self, context: grpc.aio.ServicerContext, fn: Callable[..., T], *args) -> T:
        loop = asyncio.get_running_loop()
        return await self._guard(
            context, loop.run_in_executor(self.pool, functools.partial(fn, *args))
        )

    async def _guard(self, context: grpc.aio.ServicerContext, work: Awaitable[T]) -> T:
        try:
            return await work
        except tuple(_CODES) as exc:
            await context.abort(_CODES[type(exc)], str(exc))
        except sa.exc.OperationalError as exc:
            logger.warning("database unavailable: %s", exc.orig)
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, f"the {self.db.kind} database is unavailable"
            )
        raise AssertionError("unreachable")

    async def RecordCall(self, request, context):
        reply = await self._guard(context, self.recorder.record(request))
        RATING_UPDATES.labels("consensus").inc(len(reply.changes))
        return reply

    async def RecordCalls(self, request, context):
        await _check_batch(context, len(request.records), "records", "record")
        results = await self._guard(
            context,
            self.recorder.record_many(
                [
                    learning_pb2.RecordCallRequest(
                        record=record, register_models=request.register_models
                    )
                    for record in request.records
                ]
            ),
        )
        outcomes = []
        for result in results:
            if isinstance(result, LearningError):
                outcomes.append(learning_pb2.RecordCallOutcome(error=_item_error(result)))
            else:
                RATING_UPDATES.labels("consensus").inc(len(result.changes))
                outcomes.append(learning_pb2.RecordCallOutcome(recorded=result))
        return learning_pb2.RecordCallsResponse(outcomes=outcomes)

    async def AttachShadows(self, request, context):
        await _check_batch(context, len(request.shadows), "shadow votes", "attach")
        results = await self._run(
            context, shadows.attach, self.db, list(request.shadows), request.register_models
        )
        outcomes = []
        for result in results:
            if isinstance(result, LearningError):
                outcomes.append(learning_pb2.AttachShadowOutcome(error=_item_error(result)))
            else:
                outcomes.append(learning_pb2.AttachShadowOutcome(attached=result))
        return learning_pb2.AttachShadowsResponse(outcomes=outcomes)

    async def SubmitFeedback(self, request, context):
        reply = await self._run(
            context, feedback.submit, self.db, request, self.settings.feedback_k
        )
        RATING_UPDATES.labels("feedback").inc(len(reply.changes))
        return reply

    async def GetRankings(self, request, context):
        return await self._run(context, self.db.read, lambda c: ratings.rankings(c, request))

    async def Evolve(self, request, context):
        s = self.settings
        return await self._run(
            context, evolution.evolve, self.db, request, s.evolve_min_calls, s.panel_size
        )

    async def GetPanel(self, request, context):
        return await self._run(context, evolution.get_panel, self.db, request.name)

    async def ListPanelChanges(self, request, context):
        return await self._run(context, evolution.list_changes, self.db, request)

    async def RecordClusterSet(self, request, context):
        return await self._run(context, cluster_sets.record_cluster_set, self.db, request)

    async def StoreCentroids(self, request, context):
        return await self._run(context, cluster_sets.store_centroids, self.db, request)

    async def GetCentroids(self, request, context):
        return await self._run(context, cluster_sets.get_centroids, self.db, request)

    async def StoreRegisteredModel(self, request, context):
        return await self._run(context, registered_models.store, self.db, request)

    async def ListRegisteredModels(self, request, context):
        return await self._run(context, registered_models.list_models, self.db, request)

    async def RecordValidation(self, request, context):
        return await self._run(context, validation.record_validation, self.db, request)

    async def GetProfile(self, request, context):
        return await self._run(context, profiles.get_profile, self.db, request.model)

    async def ListProfiles(self, request, context):
        return await self._run(context, profiles.list_profiles, self.db, request.cluster_set_id)

    async def Route(self, request, context):
        return await self._run(context, profile_routing.route, self.db, self.routers, request)

    async def Experts(self, request, context):
        return await self._run(context, experts.choose, self.db, self.routers, request)

    async def WeighVoters(self, request, context):
        return await self._run(
            context, weigh_voters.weigh, self.db, self.routers, self.calibrations, request
        )

    async def SuggestPanel(self, request, context):
        return await self._run(context, panel_suggestion.suggest, self.db, request)

    async def GetCapabilityMap(self, request, context):
        return await self._run(
            context, capability_map.capability_map, self.db, self.routers, request
        )

    async def ErrorCorrelation(self, request, context):
        return await self._run(context, correlations.error_correlation, self.db, request)

    async def ErrorCorrelations(self, request, context):
        return await self._run(context, correlations.error_correlations, self.db, request)

    async def GetStats(self, request, context):
        return await self._run(context, stats.stats, self.db, request)

    async def ListCalls(self, request, context):
        return await self._run(context, records.list_calls, self.db, request)

    async def GetCall(self, request, context):
        return await self._run(context, records.get_call, self.db, request.call_id)

    async def GetOverview(self, request, context):
        return await self._run(context, dashboard.overview, self.db, request)

    async def GetRatingHistory(self, request, context):
        return await self._run(context, dashboard.rating_history_of, self.db, request)

    async def GetCalibration(self, request, context):
        return await self._run(context, dashboard.calibration, self.db, request)

    async def LookupAnswer(self, request, context):
        return await self._run(context, answer_cache.lookup, self.db, request)

    async def StoreAnswer(self, request, context):
        return await self._run(context, answer_cache.store, self.db, request)

    async def GetInfo(self, request, context) -> info_pb2.ServiceInfo:
        info = service_info("learning", SERVICE, NOT_BUILT, self.health, self.settings)
        # The URL with its password masked, never the secret itself.
        info.settings["database_url"] = self.db.shown_url
        info.settings["database_kind"] = self.db.kind
        return info

    def close(self) -> None:
        self.pool.shutdown(wait=True)
