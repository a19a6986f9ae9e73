"""A hostile rep peer for deliver_spec, speaking SP over TCP by hand (NNG's wire format): for
every request it receives it answers the request ids around it (the ids of requests that went
to other workers) and never its own, reusing the request's body as the reply.

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
        (request_id,) = struct.unpack(">I", payload[:4])
        body = payload[4:]
        for k in range(-SPREAD, SPREAD + 1):
            if k == 0:
                continue
            forged = struct.pack(">I", ((request_id + k) & 0x7FFFFFFF) | 0x80000000) + body
            sock.sendall(struct.pack(">Q", len(forged)) + forged)


if __name__ == "__main__":
    main()
