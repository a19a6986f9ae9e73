"""A worker behind nginx, in Python: answers the gateway's requests on a unix socket, one
nml.stream frame each way, many connections at once (asyncio; nginx keeps its connections open).

    python3 worker.py /path/to/worker.sock [--faults]

Needs nml's companion package (`pip install ./python` from nml's checkout, and msgpack). It
answers as worker.lua does: each frame is {"id": n, "request": {...}} and gets
{"id": n, "answer": {...}}; {"op": "sum", "values": [...]} gets {"worker": "python", "sum": n};
with --faults, "sleep", "crash", "garbage", "twice" and "nan" too.
"""
import asyncio
import os
import signal
import sys

import nml_peer

connections = 0


def answer(request):
    if not isinstance(request, dict):
        return {"worker": "python", "error": "a JSON object expected"}
    values = request.get("values")
    if request.get("op") == "sum" and isinstance(values, list):
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return {"worker": "python", "error": "values must be numbers"}
        return {"worker": "python", "sum": sum(values), "connections": connections}
    return {"worker": "python", "error": f"unknown op {request.get('op')}"}


async def serve(reader, writer, faults):
    global connections
    connections += 1
    framer = nml_peer.Framer(max_size=1024 * 1024)
    stale = None  # with --faults, an answer to write again before the next one
    try:
        while chunk := await reader.read(65536):
            for body in framer.feed(chunk):
                message = nml_peer.unwrap(body).value
                message = message if isinstance(message, dict) else {}
                request, ident = message.get("request"), message.get("id")
                op = request.get("op") if isinstance(request, dict) else None
                if faults and op == "crash":
                    os._exit(3)  # dies with the request unanswered
                elif faults and op == "garbage":
                    writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                elif faults and op == "twice":
                    reply = {"id": ident, "answer": answer(request)}
                    writer.write(nml_peer.frame(nml_peer.wrap(reply)))
                    stale = {"id": ident, "answer": {"worker": "python", "stale": True}}
                    continue
                elif faults and op == "nan":
                    reply = {"id": ident, "answer": {"worker": "python", "sum": float("nan")}}
                    writer.write(nml_peer.frame(nml_peer.wrap(reply)))
                elif faults and op == "sleep":
                    await asyncio.sleep(float(request.get("seconds", 1)))
                    slept = {"worker": "python", "slept": request.get("seconds")}
                    writer.write(nml_peer.frame(nml_peer.wrap({"id": ident, "answer": slept})))
                else:
                    reply = {"id": ident, "answer": answer(request)}
                    if stale:
                        writer.write(nml_peer.frame(nml_peer.wrap(stale)))
                        stale = None
                    writer.write(nml_peer.frame(nml_peer.wrap(reply)))
                await writer.drain()
    except (ValueError, ConnectionError):
        pass  # a frame over max_size or a broken envelope: this peer is out of step
    finally:
        writer.close()


async def main(path, faults):
    if os.path.exists(path):
        os.remove(path)
    server = await asyncio.start_unix_server(lambda r, w: serve(r, w, faults), path)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print("ready", path, flush=True)
    async with server:
        await stop.wait()
    os.remove(path)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: worker.py SOCKET_PATH [--faults]")
    asyncio.run(main(sys.argv[1], "--faults" in sys.argv[2:]))
