"""A TCP proxy that can be cut and restored: a database (or any server) going away and coming back.

Runs its own event loop in a thread, so it keeps forwarding while the test's loop waits on the hub.
``cut()`` stops listening and resets every open connection, as a stopped server would;
``restore()`` listens again on the same port. ``lose_reply(*markers)`` cuts at the worst moment
instead: once a client has sent each marker in order, the server acts on it, and the proxy is cut
before that answer reaches the client (a COMMIT that happened, reported as a failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._markers: tuple[bytes, ...] = ()

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: list[int] | None) -> None:
        """Forward one direction; ``seen`` (client to server only) counts the markers this connection sent."""
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                if seen is not None and self._markers and seen[0] < len(self._markers):
                    while seen[0] < len(self._markers) and self._markers[seen[0]] in data:
                        seen[0] += 1
                    if seen[0] == len(self._markers):
                        self._markers = ()  # this connection's next answer is lost; no other's
                        seen.append(-1)
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()

    async def _answers(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: list[int]) -> None:
        """Forward the server's answers, unless the client just sent the last marker: then cut."""
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                if len(seen) > 1:
                    await self._cut()
                    return
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        seen = [0]
        await asyncio.gather(self._pipe(reader, up_writer, seen), self._answers(up_reader, writer, seen))
        self._writers.difference_update((writer, up_writer))

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for w in list(self._writers):
            with contextlib.suppress(Exception):
                w.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self._run(self._listen())

    def cut(self) -> None:
        self._run(self._cut())

    def lose_reply(self, *markers: bytes) -> None:
        """Arm the worst-moment cut: after a client sends ``markers`` (in order), lose the answer."""
        self._loop.call_soon_threadsafe(setattr, self, "_markers", markers)

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
