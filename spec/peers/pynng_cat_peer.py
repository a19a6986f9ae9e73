"""A pynng peer for the nml-cat spec: what nml-cat shows and sends must make sense to it.

    pynng_cat_peer.py send URL      push to URL: an nml-tagged message with a descriptor
                                    (through python/nml_peer), then a bare MessagePack map
    pynng_cat_peer.py receive URL   pull one bare message from URL and print it as JSON
"""
import json
import os
import sys
import time

import msgpack
import pynng

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import nml_peer  # noqa: E402  (the companion package, from this checkout)


def send(url):
    with pynng.Push0(dial=url, send_timeout=10000) as sock:
        frame = nml_peer.descriptor(bytes(range(16)) * 4, "gray8", width=8)
        sock.send(nml_peer.wrap({"from": "pynng", "frame": frame}))
        sock.send(msgpack.packb({"bare": True, "n": [1, 2, 3]}))
        # NNG drops what a closing socket still holds: wait until the reader hung up.
        deadline = time.monotonic() + 10
        while sock.pipes and time.monotonic() < deadline:
            time.sleep(0.02)


def receive(url):
    with pynng.Pull0(listen=url, recv_timeout=10000) as sock:
        value = msgpack.unpackb(sock.recv(), raw=False)
        print(json.dumps(value, sort_keys=True))


if __name__ == "__main__":
    {"send": send, "receive": receive}[sys.argv[1]](sys.argv[2])
