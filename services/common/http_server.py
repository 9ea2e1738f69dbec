"""An ASGI application served by uvicorn on the service's own event loop, beside its gRPC
server: bound when the gRPC port is, drained with it on SIGTERM (no new connections; requests
and streams in flight get the grace period, then are cancelled).

uvicorn's `Server.serve()` would install its own SIGTERM/SIGINT handlers over the bootstrap's,
so the listener drives the server's own steps instead: `startup` on a socket bound here (a taken
port is then an OSError, not uvicorn's `sys.exit`), `main_loop` (which refreshes the Date
header) and `shutdown`."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn

logger = logging.getLogger(__name__)

# Connections waiting to be accepted, as uvicorn's default.
BACKLOG = 2048


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; raises OSError when the address cannot be had. SO_REUSEADDR (so
    a restart does not wait for TIME_WAIT), never SO_REUSEPORT (a second process could then
    share the port silently)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly (socket.create_server leaves the protocol 0): accepted sockets
    # inherit it, and asyncio turns Nagle off (TCP_NODELAY) only on sockets that say TCP.
    # With Nagle on, a response written as headers then body waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


class HttpServer:
    """One ASGI app on one port. `start` returns the bound port; `stop` drains within `grace_s`."""

    def __init__(self, app, port: int, port_setting: str) -> None:
        # `port_setting` names the setting to change in the message when the port is taken.
        self.app, self.port, self.port_setting = app, port, port_setting
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._ticks: asyncio.Task | None = None

    async def start(self, host: str, grace_s: float, tls_cert: str = "", tls_key: str = "") -> int:
        import uvicorn  # the gateway's dependency only: imported when a service serves HTTP

        self._socket = bind(host, self.port)
        config = uvicorn.Config(
            self.app,
            # The service's own bootstrap starts and stops everything the app needs.
            lifespan="off",
            # Keep the service's logging (JSON lines, request ids); its middleware writes one
            # access line per request, as the gRPC interceptor does.
            log_config=None,
            access_log=False,
            server_header=False,
            # Forwarded headers are for a proxy in front, which the gateway does not assume.
            proxy_headers=False,
            timeout_graceful_shutdown=grace_s,
            ssl_certfile=tls_cert or None,
            ssl_keyfile=tls_key or None,
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[self._socket])
        self._server = server
        self._ticks = asyncio.create_task(server.main_loop(), name="http-ticks")
        return self._socket.getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, close idle keep-alive connections, let requests in flight finish
        (streams included) within the grace period, then cancel what is left."""
        if self._server is None:
            return
        self._server.should_exit = True
        if self._ticks is not None:
            await self._ticks
        await self._server.shutdown(sockets=[self._socket] if self._socket else None)
        self._server = None
