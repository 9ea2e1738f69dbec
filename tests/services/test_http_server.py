"""The HTTP listener's socket: connections accepted from it have Nagle's algorithm off, as
asyncio's own servers do. With it on, a response written as headers then body waits for the
client's delayed ACK (about 40 ms on Linux) on every request."""

from __future__ import annotations

import asyncio
import socket

from services.common.http_server import bind


def test_accepted_connections_have_tcp_nodelay():
    async def main() -> int:
        accepted = asyncio.get_running_loop().create_future()

        class Note(asyncio.Protocol):
            def connection_made(self, transport) -> None:
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        listener = bind("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(Note, sock=listener)
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(accepted, 5)
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    assert asyncio.run(main()) == 1


def test_a_taken_port_is_an_os_error():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        try:
            bind("127.0.0.1", holder.getsockname()[1]).close()
        except OSError as exc:
            assert exc.errno is not None
        else:
            raise AssertionError("a taken port was bound")
