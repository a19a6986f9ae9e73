"""A worker on stdin/stdout: each request is a frame (4-byte big-endian length) holding
{id, command, args}; each answer {id, success, result} or {id, success = false, error}.
    worker.py [msgpack|json]    the encoding of both (MessagePack unless told)"""
import json
import os
import struct
import sys

import msgpack

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from nml_peer import frame  # noqa: E402  (the companion package, from this checkout)

if sys.argv[1:] == ["json"]:
    encode, decode = lambda v: json.dumps(v).encode(), json.loads
else:
    encode, decode = lambda v: msgpack.packb(v, use_bin_type=True), lambda b: msgpack.unpackb(b, raw=False)

COMMANDS = {
    "add": lambda a: a["x"] + a["y"],
    "divide": lambda a: a["x"] / a["y"],
    "checksum": lambda a: {"size": len(a["data"]["buffer"]), "sum": sum(a["data"]["buffer"])},
}

requests, answers = sys.stdin.buffer, sys.stdout.buffer
while (header := requests.read(4)) and len(header) == 4:
    request = decode(requests.read(struct.unpack(">I", header)[0]))
    try:
        answer = {"id": request["id"], "success": True, "result": COMMANDS[request["command"]](request["args"])}
    except Exception as e:  # every failure is an answer, never a dead worker
        answer = {"id": request["id"], "success": False, "error": f"{type(e).__name__}: {e}"}
    answers.write(frame(encode(answer)))
    answers.flush()
