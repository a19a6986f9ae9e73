"""The Python side of examples/python_peer.lua: a rep worker that sums numbers, speaking nml's
envelope through the companion package python/nml_peer (pip install ./python)."""
import os
import sys
import threading

import pynng

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import nml_peer  # noqa: E402  (from this checkout when not installed)

with pynng.Rep0(dial=sys.argv[1], recv_timeout=10000) as sock:
    # NNG drops what is still queued when a socket closes, so the last answer is only safe
    # once the Lua side has read it and hung up.
    hung_up = threading.Event()
    sock.add_post_pipe_remove_cb(lambda pipe: hung_up.set())
    while True:
        request, protocol, _ = nml_peer.unwrap(sock.recv())
        assert protocol == "MessagePack", "expected a MessagePack-tagged message"
        if request["op"] == "stop":
            sock.send(nml_peer.wrap("bye"))
            hung_up.wait(10)
            break
        sock.send(nml_peer.wrap({"result": sum(request["numbers"]), "worker": "python"}))
print("python worker: done")
