"""Connection settings shared by both clients: address, TLS, API key, default deadline."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc

# Answers up to 16 MiB, as the services send by default (gRPC's client default would refuse
# large batch results at 4 MiB); FREESCALING_MAX_MESSAGE_MB, the services' own setting, moves
# both together.
DEFAULT_MAX_MESSAGE_MB = 16.0


def max_message_bytes() -> int:
    raw = os.environ.get("FREESCALING_MAX_MESSAGE_MB", "")
    try:
        mb = float(raw) if raw.strip() else DEFAULT_MAX_MESSAGE_MB
    except ValueError:
        mb = -1.0
    if not mb > 0:
        raise ValueError(f"FREESCALING_MAX_MESSAGE_MB={raw!r} is not a positive number of MiB")
    return int(mb * 1024 * 1024)


def _options() -> list[tuple[str, int]]:
    return [("grpc.max_receive_message_length", max_message_bytes())]


@dataclass(frozen=True)
class Connection:
    target: str = "localhost:50051"
    api_key: str = ""
    # True for TLS with the system's roots, or a path to a PEM bundle of roots to trust.
    tls: bool | str = False
    # Default deadline per call in seconds; a call can pass its own.
    timeout_s: float = 120.0

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.api_key}"),) if self.api_key else ()

    def _credentials(self) -> grpc.ChannelCredentials:
        roots = Path(self.tls).read_bytes() if isinstance(self.tls, str) else None
        return grpc.ssl_channel_credentials(root_certificates=roots)

    def sync_channel(self) -> grpc.Channel:
        if self.tls:
            return grpc.secure_channel(self.target, self._credentials(), options=_options())
        return grpc.insecure_channel(self.target, options=_options())

    def aio_channel(self) -> grpc.aio.Channel:
        if self.tls:
            return grpc.aio.secure_channel(self.target, self._credentials(), options=_options())
        return grpc.aio.insecure_channel(self.target, options=_options())
