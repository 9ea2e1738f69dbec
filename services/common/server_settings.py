"""Settings every service process has: where it listens, how it logs, how it shuts down."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.settings import SettingsError, non_negative, one_of, positive, setting


@dataclass(frozen=True)
class ServerSettings:
    """Settings shared by every service; each service's own settings extend these."""

    # Bind all interfaces: in a pod the kubelet's probes and other pods reach the container's IP.
    host: str = setting("0.0.0.0", "FREESCALING_HOST", "Address to listen on")
    grace_s: float = setting(
        10.0,
        "FREESCALING_GRACE_S",
        "Seconds in-flight RPCs get to finish after SIGTERM/SIGINT (keep below the pod's "
        "terminationGracePeriodSeconds)",
        check=non_negative,
    )
    max_message_mb: float = setting(
        16.0,
        "FREESCALING_MAX_MESSAGE_MB",
        "Largest request or response in MiB; larger ones get RESOURCE_EXHAUSTED",
        check=positive,
    )
    max_concurrent_rpcs: int = setting(
        1000,
        "FREESCALING_MAX_CONCURRENT_RPCS",
        "RPCs served at once by this process; more get RESOURCE_EXHAUSTED",
        check=positive,
    )
    max_connection_age_s: float = setting(
        300.0,
        "FREESCALING_MAX_CONNECTION_AGE_S",
        "Seconds a client connection lives before the server asks the client to reconnect "
        "(GOAWAY; calls in flight finish), so clients resolve the service's name again and "
        "find new replicas; 0 keeps connections for ever",
        check=non_negative,
    )
    log_level: str = setting(
        "INFO",
        "FREESCALING_LOG_LEVEL",
        "Log level",
        check=one_of("DEBUG", "INFO", "WARNING", "ERROR"),
    )
    log_format: str = setting(
        "json",
        "FREESCALING_LOG_FORMAT",
        "json (one object per line) or text",
        check=one_of("json", "text"),
    )
    metrics: bool = setting(
        True, "FREESCALING_METRICS", "Serve Prometheus metrics over HTTP at /metrics"
    )
    metrics_port: int = setting(
        -1,
        "FREESCALING_METRICS_PORT",
        "Port of /metrics; -1 means the gRPC port + 1000 (51051 for the gateway ... 51054 for "
        "learning), 0 any free port",
        check=lambda p: None if -1 <= p <= 65535 else "must be -1, 0 or a port number",
    )
    tls_cert: str = setting(
        "",
        "FREESCALING_TLS_CERT",
        "PEM certificate chain; with FREESCALING_TLS_KEY the port serves TLS",
    )
    tls_key: str = setting("", "FREESCALING_TLS_KEY", "PEM private key for FREESCALING_TLS_CERT")
    port_file: str = setting(
        "",
        "FREESCALING_PORT_FILE",
        "Write the bound port to this file once serving (for port 0, used by tests)",
    )

    def __post_init__(self) -> None:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise SettingsError(
                "FREESCALING_TLS_CERT and FREESCALING_TLS_KEY go together: set both for TLS, "
                "or neither for plaintext"
            )
