"""A TCP proxy that makes a link slow, late or unreliable, as netem would (this kernel has no
netem): `proxy.py LISTEN TARGET [--delay MS] [--rate BYTES_PER_S] [--drop P] [--seed N]`.

Each connection accepted on LISTEN gets its own connection to TARGET; bytes go both ways
through a queue per direction:
- `--delay`: each chunk leaves `MS` milliseconds after it came, in order;
- `--rate`: each direction is limited to that many bytes a second; the queue is bounded, so a
  slow link pushes back on the sender's TCP as a slow network would;
- `--drop`: each chunk read ends the connection, with probability P, by a reset at both ends
  (what a NAT or firewall that forgets a connection does); the next connection gets a fresh
  chance.

Every connection, reset and close is a line on standard output, with the wall clock, for the
harness's log.
"""

import argparse
import asyncio
import random
import socket
import struct
import sys
import time

CHUNK = 16384
QUEUE_CHUNKS = 64


def log(*fields):
    print(f"{time.time():.6f}", *fields, flush=True)


def address(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def reset(writer):
    """Closes the connection with a reset (SO_LINGER 0), not a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


class Link:
    """One accepted connection and the one it made to the target."""

    def __init__(self, settings, rng, number):
        self.settings = settings
        self.rng = rng
        self.number = number
        self.ended = asyncio.Event()
        self.writers = []

    def end(self, why):
        if self.ended.is_set():
            return
        self.ended.set()
        for w in self.writers:
            if why.startswith("reset"):
                reset(w)
            else:
                w.close()
        log("end", self.number, why)

    async def read(self, reader, queue):
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    await queue.put(None)
                    return
                if self.settings.drop and self.rng.random() < self.settings.drop:
                    self.end("reset")
                    return
                await queue.put((time.monotonic() + self.settings.delay / 1000.0, data))
        except (ConnectionError, OSError):
            self.end("reset-by-peer")

    async def write(self, queue, writer):
        try:
            while True:
                item = await queue.get()
                if item is None:  # the other side closed: close this one once all is written
                    self.end("closed")
                    return
                due, data = item
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
                if self.settings.rate:
                    await asyncio.sleep(len(data) / self.settings.rate)
        except (ConnectionError, OSError):
            self.end("reset-by-peer")

    async def run(self, client_reader, client_writer):
        try:
            target_reader, target_writer = await asyncio.open_connection(*self.settings.target)
        except OSError as e:
            log("refused", self.number, e.errno)
            reset(client_writer)
            return
        self.writers = [client_writer, target_writer]
        log("connect", self.number)
        up = asyncio.Queue(QUEUE_CHUNKS)
        down = asyncio.Queue(QUEUE_CHUNKS)
        tasks = [
            asyncio.create_task(self.read(client_reader, up)),
            asyncio.create_task(self.write(up, target_writer)),
            asyncio.create_task(self.read(target_reader, down)),
            asyncio.create_task(self.write(down, client_writer)),
        ]
        # Either side closing ends the pair (after what it sent is written): a half-open proxy
        # would hide a close from the other side.
        await self.ended.wait()
        for t in tasks:
            t.cancel()


async def serve(settings):
    rng = random.Random(settings.seed)
    count = 0

    async def accepted(reader, writer):
        nonlocal count
        count += 1
        await Link(settings, rng, count).run(reader, writer)

    server = await asyncio.start_server(accepted, *settings.listen, reuse_address=True)
    log("listening", f"{settings.listen[0]}:{settings.listen[1]}")
    async with server:
        await server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("listen", type=address)
    p.add_argument("target", type=address)
    p.add_argument("--delay", type=float, default=0.0, help="milliseconds, each way")
    p.add_argument("--rate", type=float, default=0.0, help="bytes a second, each way (0: no limit)")
    p.add_argument("--drop", type=float, default=0.0, help="chance that a chunk read resets the connection")
    p.add_argument("--seed", type=int, default=1)
    settings = p.parse_args()
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
