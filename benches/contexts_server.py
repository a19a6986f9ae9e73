"""The pynng side of the contexts bench: a rep server in one asyncio event loop with 64
contexts, each decoding a request (an nml envelope and MessagePack) and sending it back
encoded, as benches/contexts_server.lua does. Runs until killed.
    python3 contexts_server.py <url>"""
import asyncio
import sys

import msgpack
import pynng


async def serve(ctx):
    while True:
        body = await ctx.arecv()
        request = msgpack.unpackb(body[2:], raw=False)
        await ctx.asend(b"\xc1\x01" + msgpack.packb(request, use_bin_type=True))


async def main(url):
    with pynng.Rep0(listen=url) as server:
        tasks = [asyncio.create_task(serve(server.new_context())) for _ in range(64)]
        print("ready", flush=True)
        await asyncio.gather(*tasks)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
