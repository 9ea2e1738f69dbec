"""Settings of the learning service."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.server_settings import ServerSettings
from services.common.settings import port_number, setting


@dataclass(frozen=True)
class LearningSettings(ServerSettings):
    """Settings of the learning service."""

    port: int = setting(
        50054,
        "FREESCALING_LEARNING_PORT",
        "Port the learning service listens on",
        check=port_number,
    )
