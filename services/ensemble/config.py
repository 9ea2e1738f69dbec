"""Settings of the ensemble service."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.server_settings import ServerSettings
from services.common.settings import port_number, setting


@dataclass(frozen=True)
class EnsembleSettings(ServerSettings):
    """Settings of the ensemble service."""

    port: int = setting(
        50053, "FREESCALING_ENSEMBLE_PORT", "Port the ensemble listens on", check=port_number
    )
