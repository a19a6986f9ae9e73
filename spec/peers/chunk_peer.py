"""A Python peer of nml's streamed replies (the companion's stream_parts and read_chunks),
over a pynng pair socket.

    chunk_peer.py URL    dial URL, then:
      1. stream 100 chunks ("token 1" ...) with meta {"model": "demo"}
      2. stream a reply whose producer fails after 40 chunks
      3. read the stream nml sends back and answer {"sum": ..., "count": ...}
"""
import os
import sys
import threading

import pynng

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import nml_peer  # noqa: E402  (the companion package, from this checkout)


def failing():
    for i in range(1, 41):
        yield i
    raise RuntimeError("the model ran out of memory")


def main(url):
    with pynng.Pair0(dial=url, recv_timeout=10000, send_timeout=10000) as sock:
        hung_up = threading.Event()
        sock.add_post_pipe_remove_cb(lambda pipe: hung_up.set())
        tokens = (f"token {i}" for i in range(1, 101))
        for part in nml_peer.stream_parts(tokens, "reply-1", meta={"model": "demo"}):
            sock.send(nml_peer.wrap(part))
        for part in nml_peer.stream_parts(failing(), "reply-2"):
            sock.send(nml_peer.wrap(part))
        incoming = (nml_peer.unwrap(sock.recv()).value for _ in iter(int, 1))
        numbers = list(nml_peer.read_chunks(incoming))
        sock.send(nml_peer.wrap({"sum": sum(numbers), "count": len(numbers)}))
        hung_up.wait(10)  # NNG drops what a closing socket holds: let nml read first
    print("chunk peer: ok")


if __name__ == "__main__":
    main(sys.argv[1])
