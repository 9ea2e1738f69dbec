"""Feedback as the public API offers it (gRPC `Feedback`, HTTP `POST /v1/feedback`): a call whose
record is still in the outbox is waited for (a user may react the instant the answer arrives),
within the caller's deadline, then learning applies the feedback."""

from __future__ import annotations

import grpc

from freescaling.common.v1 import ratings_pb2
from services.gateway.deadline import Deadline
from services.gateway.downstream import DownstreamError, Downstreams
from services.gateway.outbox import Outbox

# How long feedback waits for its call's record to leave the outbox.
FEEDBACK_WAIT_S = 5.0


class Feedback:
    def __init__(self, downstreams: Downstreams, outbox: Outbox) -> None:
        self.downstreams, self.outbox = downstreams, outbox

    async def submit(
        self, request: ratings_pb2.FeedbackRequest, deadline: Deadline
    ) -> ratings_pb2.FeedbackResult:
        target = request.call_id or request.message_id
        if target:
            remaining = deadline.remaining()
            wait = FEEDBACK_WAIT_S if remaining is None else min(FEEDBACK_WAIT_S, remaining)
            if not await self.outbox.settled(target, wait):
                raise DownstreamError(
                    grpc.StatusCode.UNAVAILABLE,
                    f"the record of {target!r} has not reached the learning service yet "
                    "(it is slow or down; the gateway keeps retrying): try the feedback again "
                    "later",
                )
        return await self.downstreams.call("learning", "SubmitFeedback", request, deadline)
