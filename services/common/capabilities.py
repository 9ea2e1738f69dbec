"""Which RPCs of a service are built. An RPC not built yet answers UNIMPLEMENTED with a message
saying what it will do and which part of the work builds it; GetInfo lists them all."""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from freescaling.common.v1 import info_pb2


def _unbuilt(full_method: str, note: str):
    async def answer(self, request, context: grpc.aio.ServicerContext):
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            f"{full_method} is not built yet: {note}. See the README's status table.",
        )

    answer.__name__ = full_method.rsplit("/", 1)[-1]
    return answer


def with_capabilities(service: ServiceDescriptor, not_built: Mapping[str, str]):
    """Class decorator for a servicer: installs UNIMPLEMENTED answers for `not_built` RPCs
    (name -> what it will do) and checks every other RPC of `service` is implemented."""

    def decorate(cls):
        methods = {m.name for m in service.methods}
        unknown = set(not_built) - methods
        if unknown:
            raise TypeError(f"{cls.__name__}: not_built names unknown RPCs {sorted(unknown)}")
        for name, note in not_built.items():
            setattr(cls, name, _unbuilt(f"{service.full_name}/{name}", note))
        missing = [
            name
            for name in methods - set(not_built)
            if all(name not in vars(klass) for klass in cls.__mro__[:-1] if not _generated(klass))
        ]
        if missing:
            raise TypeError(
                f"{cls.__name__} neither implements nor declares unbuilt: {sorted(missing)}"
            )
        cls.NOT_BUILT = dict(not_built)
        cls.SERVICE = service
        return cls

    return decorate


def _generated(klass: type) -> bool:
    return klass.__module__.endswith("_pb2_grpc")


def capability_list(
    service: ServiceDescriptor, not_built: Mapping[str, str]
) -> list[info_pb2.Capability]:
    return [
        info_pb2.Capability(
            method=f"{service.full_name}/{m.name}",
            built=m.name not in not_built,
            note=not_built.get(m.name, ""),
        )
        for m in service.methods
    ]
