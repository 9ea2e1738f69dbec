"""What grpcurl does, purely through server reflection: list services, resolve a method's
descriptors, build a request from JSON, call it, print the response as JSON. Uses no generated
code, so it proves the reflection service is enough for a client that has no .proto files."""

from __future__ import annotations

import json

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


class Grpcurl:
    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))

    def list(self) -> list[str]:
        """`grpcurl -plaintext host:port list`"""
        stub = reflection_pb2_grpc.ServerReflectionStub(self.channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        (reply,) = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
        return sorted(s.name for s in reply.list_services_response.service)

    def describe(self, method: str):
        """The method descriptor for "pkg.Service/Method" (or "pkg.Service.Method")."""
        service_name, _, method_name = method.replace("/", ".").rpartition(".")
        service = self.pool.FindServiceByName(service_name)
        return service.methods_by_name[method_name]

    def invoke(self, method: str, request_json: str, timeout: float = 10.0) -> str | list[str]:
        """`grpcurl -plaintext -d JSON host:port pkg.Service/Method`: the response as JSON
        (a list of JSON documents for a server-streaming method)."""
        desc = self.describe(method)
        request_cls = message_factory.GetMessageClass(desc.input_type)
        response_cls = message_factory.GetMessageClass(desc.output_type)
        request = json_format.Parse(request_json, request_cls(), descriptor_pool=self.pool)
        path = f"/{desc.containing_service.full_name}/{desc.name}"
        kwargs = {
            "request_serializer": lambda m: m.SerializeToString(),
            "response_deserializer": response_cls.FromString,
        }

        def to_json(message) -> str:
            return json_format.MessageToJson(message, descriptor_pool=self.pool)

        if desc.server_streaming:
            call = self.channel.unary_stream(path, **kwargs)
            return [to_json(m) for m in call(request, timeout=timeout)]
        return to_json(self.channel.unary_unary(path, **kwargs)(request, timeout=timeout))


def loads(document: str) -> dict:
    return json.loads(document)
