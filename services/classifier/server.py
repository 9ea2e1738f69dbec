"""The classifier process: settings, servicer, and the shared bootstrap. The port is bound at
once; the model loads in the background and readiness turns SERVING only once it has loaded
and warmed up (until then RPCs answer UNAVAILABLE saying why)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from freescaling.classifier.v1 import classifier_pb2_grpc
from services.classifier.config import ClassifierSettings
from services.classifier.runtime import ClassifierRuntime
from services.classifier.servicer import SERVICE, ClassifierServicer
from services.common import server
from services.common.health import Health


def build(settings: ClassifierSettings, health: Health) -> server.Service:
    runtime = ClassifierRuntime(settings)
    servicer = ClassifierServicer(settings, health, runtime)
    tasks: list[asyncio.Task] = []

    async def on_start(state: Health) -> None:
        async def ready() -> None:
            await state.set_ready(True)

        tasks.append(asyncio.create_task(runtime.load_until_ready(ready), name="model-loader"))

    async def on_stop() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runtime.close()

    return server.Service(
        name="classifier",
        grpc_service=SERVICE.full_name,
        port=settings.port,
        add_to_server=lambda srv: classifier_pb2_grpc.add_ClassifierServicer_to_server(
            servicer, srv
        ),
        on_start=on_start,
        on_stop=on_stop,
        ready_on_start=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return server.main("classifier", SERVICE.full_name, ClassifierSettings, build, argv)
