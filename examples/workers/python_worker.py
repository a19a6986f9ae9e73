"""The Python side of examples/python_peer.lua: a rep worker that sums numbers."""
import sys
import threading

import msgpack
import pynng

with pynng.Rep0(dial=sys.argv[1], recv_timeout=10000) as sock:
    # NNG drops what is still queued when a socket closes, so the last answer is only safe
    # once the Lua side has read it and hung up.
    hung_up = threading.Event()
    sock.add_post_pipe_remove_cb(lambda pipe: hung_up.set())
    while True:
        body = sock.recv()
        assert body[:2] == b"\xc1\x01", "expected a MessagePack-tagged message"
        request = msgpack.unpackb(body[2:])
        if request["op"] == "stop":
            sock.send(b"\xc1\x01" + msgpack.packb("bye"))
            hung_up.wait(10)
            break
        total = sum(request["numbers"])
        sock.send(b"\xc1\x01" + msgpack.packb({"result": total, "worker": "python"}))
print("python worker: done")
