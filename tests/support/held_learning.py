"""A real gRPC server standing in for the learning service, whose GetRankings (and GetStats)
answer only when the test releases it. It lets tests hold an RPC (or an HTTP request) in flight
through the gateway (drain, deadlines, concurrency caps) and see what the gateway sent
downstream (deadline, request id)."""

from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass, field

import grpc

from freescaling.common.v1 import ratings_pb2, records_pb2
from freescaling.learning.v1 import learning_pb2_grpc


@dataclass
class SeenCall:
    time_remaining: float | None
    metadata: dict[str, str]


@dataclass
class HeldLearning(learning_pb2_grpc.LearningServicer):
    hold_s: float = 30.0
    arrived: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    release: threading.Event = field(default_factory=threading.Event)
    seen: list[SeenCall] = field(default_factory=list)
    port: int = 0
    server: grpc.Server | None = None

    def _hold(self, context) -> None:
        self.seen.append(
            SeenCall(context.time_remaining(), {k: v for k, v in context.invocation_metadata()})
        )
        self.arrived.release()
        waited = 0.0
        while not self.release.is_set() and context.is_active() and waited < self.hold_s:
            self.release.wait(0.05)
            waited += 0.05

    def GetRankings(self, request, context):
        self._hold(context)
        return ratings_pb2.Rankings(ratings=[ratings_pb2.ModelRating(model="held", rating=1500)])

    def GetStats(self, request, context):
        """Held too: the gateway's HTTP /stats reaches learning through it."""
        self._hold(context)
        return records_pb2.Stats(total_calls=7)

    def wait_arrivals(self, count: int, timeout: float = 10.0) -> None:
        for _ in range(count):
            if not self.arrived.acquire(timeout=timeout):
                raise AssertionError("the gateway never forwarded the call downstream")

    def start(self) -> HeldLearning:
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        learning_pb2_grpc.add_LearningServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.release.set()
        if self.server:
            self.server.stop(grace=1).wait()
