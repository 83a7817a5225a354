"""Faults on loopback, without touching the real servers: a TCP proxy that can drop every
connection and refuse new ones (the broker or the database "goes away"), then let them through again.

    proxy = await TcpProxy.open("127.0.0.1", 5672)
    url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/"   # give the service this URL
    proxy.cut()        # like `rabbitmqctl close_all_connections` plus a stopped listener
    proxy.restore()    # the server is back

Other test runs on the same RabbitMQ and PostgreSQL are unaffected, so these faults are safe in CI.
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self.refusing = False
        self.connections = 0  # accepted and passed through, in all
        self._server: asyncio.Server | None = None
        self._pipes: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()

    @classmethod
    async def open(cls, target_host: str, target_port: int) -> TcpProxy:
        proxy = cls(target_host, target_port)
        proxy._server = await asyncio.start_server(proxy._accept, "127.0.0.1", 0)
        proxy.port = proxy._server.sockets[0].getsockname()[1]
        return proxy

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.connections += 1
        pipe = (writer, up_writer)
        self._pipes.add(pipe)
        try:
            await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))
        finally:
            self._pipes.discard(pipe)
            for w in pipe:
                w.close()

    def cut(self) -> None:
        """Drop every connection now and refuse new ones until :meth:`restore`."""
        self.refusing = True
        for pipe in list(self._pipes):
            for w in pipe:
                transport = w.transport
                if transport is not None:
                    transport.abort()
        self._pipes.clear()

    def restore(self) -> None:
        self.refusing = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
