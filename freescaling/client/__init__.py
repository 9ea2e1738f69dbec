"""The Free Scaling Python client: `Client` (blocking) and `AsyncClient` (asyncio) for the
gateway's public API, plain result objects, and typed errors."""

from freescaling.client.aio import AsyncClient
from freescaling.client.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    FreeScalingError,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from freescaling.client.results import (
    BatchItem,
    ChatEvent,
    ChatResult,
    EvolveResult,
    FeedbackResult,
    GenerateResult,
    ModelHealth,
    ModelInfo,
    ModelPairCorrelation,
    ModelRating,
    Panel,
    PanelChange,
    Routing,
    ScaleResult,
    Stats,
    Vote,
)
from freescaling.client.sync import Client

__all__ = [
    "AsyncClient",
    "BatchItem",
    "ChatEvent",
    "ChatResult",
    "Client",
    "DeadlineExceeded",
    "EvolveResult",
    "FailedPrecondition",
    "FeedbackResult",
    "FreeScalingError",
    "GenerateResult",
    "InvalidArgument",
    "ModelHealth",
    "ModelInfo",
    "ModelPairCorrelation",
    "ModelRating",
    "NotFound",
    "Panel",
    "PanelChange",
    "ResourceExhausted",
    "Routing",
    "ScaleResult",
    "Stats",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Vote",
]
