"""Typed frames from Python, as the design's peers write them: struct.pack('>IB', len, type)
then the payload (0 JSON, 1 MessagePack, 2 and up what the two sides agreed).

    typed_frames.py write   writes four typed frames to stdout
    typed_frames.py read    reads typed frames from stdin, prints one line per frame
"""
import json
import struct
import sys

import msgpack


def write():
    out = sys.stdout.buffer
    frames = [
        (0, json.dumps({"from": "python", "list": [1, 2]}).encode()),
        (1, msgpack.packb({"id": 7, "blob": b"\x00\xff"}, use_bin_type=True)),
        (2, b"ARROW1\x00\x00"),
        (3, b"\x93NUMPY\x01\x00"),
    ]
    for frame_type, payload in frames:
        out.write(struct.pack(">IB", len(payload), frame_type) + payload)
    out.flush()


def read():
    data = sys.stdin.buffer.read()
    at = 0
    while at < len(data):
        length, frame_type = struct.unpack_from(">IB", data, at)
        payload = data[at + 5:at + 5 + length]
        at += 5 + length
        if frame_type == 0:
            print(frame_type, json.dumps(json.loads(payload), sort_keys=True))
        elif frame_type == 1:
            print(frame_type, json.dumps(msgpack.unpackb(payload, raw=False), sort_keys=True))
        else:
            print(frame_type, payload.hex())


if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]]()
