"""What is not built says so: services/common/capabilities.py on a real gRPC server. Every RPC
of the four services is built today, so the servicer here declares all but one of the
Classifier's RPCs unbuilt."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from freescaling.classifier.v1 import classifier_pb2, classifier_pb2_grpc
from freescaling.common.v1 import info_pb2
from services.classifier.servicer import NOT_BUILT as CLASSIFIER_NOT_BUILT
from services.common.capabilities import capability_list, with_capabilities
from services.ensemble.servicer import NOT_BUILT as ENSEMBLE_NOT_BUILT
from services.gateway.servicer import NOT_BUILT as GATEWAY_NOT_BUILT
from services.learning.servicer import NOT_BUILT as LEARNING_NOT_BUILT

SERVICE = classifier_pb2.DESCRIPTOR.services_by_name["Classifier"]
UNBUILT = {m.name: f"{m.name.lower()} will come" for m in SERVICE.methods if m.name != "GetInfo"}


@with_capabilities(SERVICE, UNBUILT)
class HalfBuilt(classifier_pb2_grpc.ClassifierServicer):
    async def GetInfo(self, request, context):
        return info_pb2.ServiceInfo(service="classifier")


def test_every_rpc_of_the_four_services_is_built():
    assert GATEWAY_NOT_BUILT == CLASSIFIER_NOT_BUILT == ENSEMBLE_NOT_BUILT == {}
    assert LEARNING_NOT_BUILT == {}


def test_an_unbuilt_rpc_answers_unimplemented_with_what_it_will_do():
    async def scenario():
        server = grpc.aio.server()
        classifier_pb2_grpc.add_ClassifierServicer_to_server(HalfBuilt(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = classifier_pb2_grpc.ClassifierStub(channel)
                info = await stub.GetInfo(info_pb2.GetInfoRequest(), timeout=5)
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await stub.Classify(classifier_pb2.ClassifyRequest(text="hi"), timeout=5)
                return info, err.value
        finally:
            await server.stop(None)

    info, error = asyncio.run(scenario())
    assert info.service == "classifier"
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    assert error.details() == (
        "freescaling.classifier.v1.Classifier/Classify is not built yet: classify will come. "
        "See the README's status table."
    )
    listed = {c.method.rsplit("/", 1)[1]: c for c in capability_list(SERVICE, UNBUILT)}
    assert listed["GetInfo"].built and not listed["Classify"].built
    assert listed["Classify"].note == "classify will come"


def test_an_rpc_neither_built_nor_declared_unbuilt_is_refused_at_import():
    with pytest.raises(TypeError, match=r"neither implements nor declares unbuilt: \['GetInfo'\]"):

        @with_capabilities(SERVICE, dict(UNBUILT))
        class Forgetful(classifier_pb2_grpc.ClassifierServicer):
            pass

    with pytest.raises(TypeError, match=r"names unknown RPCs \['Telepathy'\]"):
        with_capabilities(SERVICE, {"Telepathy": "no"})(HalfBuilt)
