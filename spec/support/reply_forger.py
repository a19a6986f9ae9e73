"""A hostile rep peer for deliver_spec, speaking SP over TCP by hand (NNG's wire format): for
every request it receives it answers the request ids around it (the ids of requests that went
to other workers) and never its own, reusing the request's body as the reply. Behind a
forwarder the request's backtrace has more words (the forwarder's pipe to the client first):
those are kept, and only the request id, the last, is changed.

    reply_forger.py HOST PORT
"""
import socket
import struct
import sys

REP0 = 0x31
SPREAD = 8


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def main():
    sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))
    sock.sendall(b"\x00SP\x00" + struct.pack(">H", REP0) + b"\x00\x00")
    read_exactly(sock, 8)
    while True:
        (length,) = struct.unpack(">Q", read_exactly(sock, 8))
        payload = read_exactly(sock, length)
        hops, at = b"", 0
        while True:  # the backtrace: words up to the one with the top bit set
            (word,) = struct.unpack(">I", payload[at:at + 4])
            at += 4
            if word & 0x80000000:
                break
            hops += payload[at - 4:at]
        body = payload[at:]
        for k in range(-SPREAD, SPREAD + 1):
            if k == 0:
                continue
            forged = hops + struct.pack(">I", ((word + k) & 0x7FFFFFFF) | 0x80000000) + body
            sock.sendall(struct.pack(">Q", len(forged)) + forged)


if __name__ == "__main__":
    main()
