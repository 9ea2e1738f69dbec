"""Servers end each client connection after FREESCALING_MAX_CONNECTION_AGE_S (so a client that
balances over a headless Service resolves its name again and finds new pods), without cutting
the calls in flight on it."""

from __future__ import annotations

import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.processes import ServiceProcess, wait_for


def test_connections_are_ended_after_their_age_and_calls_in_flight_finish(tmp_path):
    service = ServiceProcess("learning", tmp_path, env={"FREESCALING_MAX_CONNECTION_AGE_S": "0.5"})
    service.start().wait_serving().wait_ready()
    states: list[grpc.ChannelConnectivity] = []
    lock = threading.Lock()

    def record(state):
        with lock:
            states.append(state)

    channel = grpc.insecure_channel(service.address)
    try:
        channel.subscribe(record, try_to_connect=False)
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service=service.grpc_name)
        # A stream opened now outlives the connection's age.
        watch = stub.Watch(request, timeout=30)
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        time.sleep(2.0)  # four ages (with gRPC's +-10% jitter) later
        assert watch.running() and not watch.done(), "the call in flight was cut"
        watch.cancel()

        # The server asked the client to go (GOAWAY): the channel left READY on its own.
        def ended() -> bool:
            with lock:
                seen = list(states)
            ready = grpc.ChannelConnectivity.READY
            return ready in seen and grpc.ChannelConnectivity.IDLE in seen[seen.index(ready) :]

        wait_for(ended, timeout=10, what="the connection to be ended by the server")
        # And the next call simply connects again.
        reply = stub.Check(request, timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        channel.close()
        assert service.stop() == 0
