"""The learning service as the keeper of the models registered at run time, so that every
ensemble replica knows them: RegisterModel stores the entry there first, and each replica lists
the entries at start and then every FREESCALING_ENSEMBLE_REGISTRY_POLL_S (the list travels only
when its etag changed). The ensemble never touches the database: it only calls learning's
StoreRegisteredModel and ListRegisteredModels."""

from __future__ import annotations

import logging

import grpc

from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from services.common.learning_channel import learning_channel
from services.ensemble import entries
from services.ensemble.registry import AlreadyRegistered, Model, RegistryError

logger = logging.getLogger(__name__)

# Both calls are idempotent (an entry is stored by its alias), so UNAVAILABLE is retried;
# learning may run several replicas (on PostgreSQL), hence round_robin over its addresses.
_IDEMPOTENT = ("StoreRegisteredModel", "ListRegisteredModels")


class StoreUnavailable(RuntimeError):
    """Learning could not be reached or could not do it; the message names it."""


class SharedRegistry:
    def __init__(self, target: str, timeout_s: float = 10.0) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self._channel = learning_channel(target, _IDEMPOTENT)
        self._stub = learning_pb2_grpc.LearningStub(self._channel)

    def _unavailable(self, what: str, exc: grpc.aio.AioRpcError) -> StoreUnavailable:
        return StoreUnavailable(
            f"the learning service ({self.target}, FREESCALING_ENSEMBLE_LEARNING_ADDR) could "
            f"not {what}: {exc.code().name}: {exc.details()}"
        )

    async def store(self, model: Model) -> Model:
        """Keep `model` for every replica; the entry learning holds (the same). AlreadyRegistered
        when learning holds another entry of that alias, RegistryError when it refuses the
        entry, StoreUnavailable when it cannot say."""
        request = learning_pb2.StoreRegisteredModelRequest(model=entries.to_info(model))
        try:
            reply = await self._stub.StoreRegisteredModel(request, timeout=self.timeout_s)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.ALREADY_EXISTS:
                raise AlreadyRegistered(exc.details()) from None
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise RegistryError(exc.details()) from None
            raise self._unavailable("store the model", exc) from None
        return entries.from_info(reply.registered.model)

    async def fetch(self, known_etag: str, timeout_s: float | None = None):
        """(etag, the registered models in registration order), with None for the models when
        `known_etag` is still current. StoreUnavailable when learning cannot say. An entry that
        cannot be an entry here (edited in the database by hand) is left out, with a warning."""
        request = learning_pb2.ListRegisteredModelsRequest(known_etag=known_etag)
        try:
            reply = await self._stub.ListRegisteredModels(
                request, timeout=timeout_s or self.timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            raise self._unavailable("list the registered models", exc) from None
        if reply.unchanged:
            return reply.etag, None
        models = []
        for registered in reply.models:
            try:
                models.append(entries.from_info(registered.model))
            except RegistryError as exc:
                logger.warning(
                    "learning's registered model %r is not used: %s", registered.model.alias, exc
                )
        return reply.etag, models

    async def close(self) -> None:
        await self._channel.close()
