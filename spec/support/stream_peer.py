"""A peer of nml.stream in plain Python (socket, and nml's companion package python/nml_peer):
listens on 127.0.0.1, prints its port, takes one connection, and answers each framed, tagged
message with a tagged MessagePack map saying what it got."""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import nml_peer  # noqa: E402  (the companion package, from this checkout)


def messages(conn):
    """The messages arriving on conn, as (decoded message, payload size)."""
    framer = nml_peer.Framer()
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return
        for body in framer.feed(chunk):
            protocol, _, at = nml_peer.parse(body)
            yield nml_peer.unwrap(body), len(body) - at


def write_message(conn, value):
    conn.sendall(nml_peer.frame(nml_peer.wrap(value)))


def main():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    print(server.getsockname()[1], flush=True)
    conn, _ = server.accept()
    for (value, protocol, _), size in messages(conn):
        if value == b"bye":
            write_message(conn, "bye")
            return
        if isinstance(value, dict) and value.get("cmd") == "oversize":
            conn.sendall(struct.pack(">I", 100 * 1024 * 1024) + b"\xc1\x01")
            return
        if nml_peer.is_descriptor(value):
            value = {"buffer_bytes": len(value["buffer"]), "sum": sum(value["buffer"]) % 65536}
        write_message(conn, {"echo": value, "protocol": protocol, "payload_bytes": size})


if __name__ == "__main__":
    sys.exit(main())
