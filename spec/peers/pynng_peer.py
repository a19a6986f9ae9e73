"""A peer no one here wrote the messaging for: pynng and msgpack, speaking nml's envelope.

    pynng_peer.py URL    dial URL with a pair0 socket, then:
      1. receive one tagged message and send back {"got": value, "protocol": id}
      2. receive a buffer descriptor, check its 'buffer' bytes (i % 251 for byte i) and send
         the check, then the descriptor itself back (buffer as MessagePack bin)
      3. send a JSON-tagged, a custom-tagged and an untagged message
"""
import json
import sys
import threading

import msgpack
import pynng

TAG = 0xC1


def decode(body):
    assert body[0] == TAG, f"not tagged: {body[:8]!r}"
    pid = body[1]
    if pid == 1:
        return msgpack.unpackb(body[2:], raw=False, strict_map_key=False), "msgpack"
    if pid == 2:
        return json.loads(body[2:]), "json"
    if pid == 3:
        return body[2:].decode(), "string"
    raise ValueError(f"protocol id {pid}")


def main(url):
    with pynng.Pair0(dial=url, recv_timeout=10000, send_timeout=10000) as sock:
        # NNG drops what is still queued when a socket closes: exit only once nml hung up.
        hung_up = threading.Event()
        sock.add_post_pipe_remove_cb(lambda pipe: hung_up.set())
        value, protocol = decode(sock.recv())
        sock.send(b"\xc1\x01" + msgpack.packb({"got": value, "protocol": protocol}, use_bin_type=True))

        desc, _ = decode(sock.recv())
        buf = desc["buffer"]
        ok = isinstance(buf, bytes) and len(buf) == desc["buffer_ud_size"] and \
            all(b == i % 251 for i, b in enumerate(buf))
        sock.send(b"\xc1\x01" + msgpack.packb({"buffer_ok": ok, "type": desc["buffer_ud_type"], "size": len(buf)}))
        sock.send(b"\xc1\x01" + msgpack.packb(desc, use_bin_type=True))

        sock.send(b"\xc1\x02" + json.dumps({"from": "python", "n": [1, 2, 3]}).encode())
        sock.send(b"\xc1\x00\x04cbor" + b"\xa1\x61\x61\x01")
        sock.send(b"bare bytes")
        hung_up.wait(10)
    print("pynng peer: ok")


if __name__ == "__main__":
    main(sys.argv[1])
