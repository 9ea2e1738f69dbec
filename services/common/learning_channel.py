"""A channel from a service other than the gateway to learning (the classifier's shared
centroids, the ensemble's registered models): balanced over every address the target resolves
to, retrying UNAVAILABLE for the idempotent methods it names, reconnecting soon after learning
restarts."""

from __future__ import annotations

import json
from collections.abc import Sequence

import grpc

from freescaling.learning.v1 import learning_pb2

_SERVICE = learning_pb2.DESCRIPTOR.services_by_name["Learning"].full_name


def learning_channel(
    target: str, idempotent: Sequence[str], max_message_bytes: int = 0
) -> grpc.aio.Channel:
    """`idempotent`: the Learning methods this caller makes that may be retried."""
    service_config = json.dumps(
        {
            # Learning may run several replicas (on PostgreSQL): a connection to each address.
            "loadBalancingConfig": [{"round_robin": {}}],
            "methodConfig": [
                {
                    "name": [{"service": _SERVICE, "method": m} for m in idempotent],
                    "retryPolicy": {
                        "maxAttempts": 3,
                        "initialBackoff": "0.2s",
                        "maxBackoff": "1s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ],
        }
    )
    options = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", service_config),
        # Reconnect quickly after learning restarts (the default backoff caps at 120 s).
        ("grpc.max_reconnect_backoff_ms", 2_000),
    ]
    if max_message_bytes:
        options += [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ]
    return grpc.aio.insecure_channel(target, options=options)
