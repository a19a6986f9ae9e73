"""A peer of nml.stream in plain Python (socket, msgpack): listens on 127.0.0.1, prints its
port, takes one connection, and answers each framed, tagged message with a tagged MessagePack
map saying what it got. Frames: a 4-byte big-endian length, then an nml message body
(docs/wire-format.md)."""
import json
import socket
import struct
import sys

import msgpack

PROTOCOLS = {1: "MessagePack", 2: "JSON", 3: "string"}


def read_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_message(conn):
    (length,) = struct.unpack(">I", read_exactly(conn, 4))
    body = read_exactly(conn, length)
    assert body[0] == 0xC1, "untagged body"
    if body[1] != 0:
        name, payload = PROTOCOLS[body[1]], body[2:]
    else:
        n = body[2]
        name, payload = body[3:3 + n].decode(), body[3 + n:]
    if name == "MessagePack":
        return msgpack.unpackb(payload, raw=False), name, len(payload)
    if name == "JSON":
        return json.loads(payload), name, len(payload)
    return payload, name, len(payload)


def write_message(conn, value):
    body = b"\xc1\x01" + msgpack.packb(value, use_bin_type=True)
    conn.sendall(struct.pack(">I", len(body)) + body)


def main():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    print(server.getsockname()[1], flush=True)
    conn, _ = server.accept()
    while True:
        try:
            value, protocol, size = read_message(conn)
        except EOFError:
            return
        if value == b"bye":
            write_message(conn, "bye")
            return
        if isinstance(value, dict) and value.get("cmd") == "oversize":
            conn.sendall(struct.pack(">I", 100 * 1024 * 1024) + b"\xc1\x01")
            return
        if isinstance(value, dict) and isinstance(value.get("buffer"), bytes):
            value = {"buffer_bytes": len(value["buffer"]), "sum": sum(value["buffer"]) % 65536}
        write_message(conn, {"echo": value, "protocol": protocol, "payload_bytes": size})


if __name__ == "__main__":
    sys.exit(main())
