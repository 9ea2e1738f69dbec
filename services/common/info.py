"""The GetInfo answer every service gives: version, start time, readiness, capabilities and
settings."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping
from importlib import metadata

from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.timestamp_pb2 import Timestamp

from freescaling.common.v1 import info_pb2
from services.common.capabilities import capability_list
from services.common.health import Health
from services.common.settings import public_values

STARTED_AT = time.time()


@functools.cache  # reading package metadata parses files: once per process is enough
def package_version() -> str:
    try:
        return metadata.version("freescaling")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def service_info(
    name: str,
    service: ServiceDescriptor,
    not_built: Mapping[str, str],
    health: Health,
    settings: object,
    downstreams: Iterable[info_pb2.Downstream] = (),
) -> info_pb2.ServiceInfo:
    started = Timestamp()
    started.FromNanoseconds(int(STARTED_AT * 1e9))
    return info_pb2.ServiceInfo(
        service=name,
        version=package_version(),
        started_at=started,
        grpc_service=service.full_name,
        ready=health.ready,
        not_ready_reason="" if health.ready else health.reason,
        capabilities=capability_list(service, not_built),
        downstreams=list(downstreams),
        settings=public_values(settings),
    )
