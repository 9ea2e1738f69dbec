"""Settings of the classifier service."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.server_settings import ServerSettings
from services.common.settings import port_number, setting


@dataclass(frozen=True)
class ClassifierSettings(ServerSettings):
    """Settings of the classifier service."""

    port: int = setting(
        50052, "FREESCALING_CLASSIFIER_PORT", "Port the classifier listens on", check=port_number
    )
