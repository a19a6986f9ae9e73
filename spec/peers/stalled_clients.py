"""Raw SP-over-TCP clients that each announce a large message and stall (spec/oversize_spec.lua).

    stalled_clients.py HOST PORT COUNT LENGTH

Each connects, sends the SP handshake of a push socket, reads the server's, sends an 8-byte
length of LENGTH and nothing more. Prints "ready" once all have, then waits until the server
closes every connection.
"""
import socket
import struct
import sys

host, port, count, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
PUSH = 0x50
conns = []
for _ in range(count):
    s = socket.create_connection((host, port))
    s.sendall(b"\x00SP\x00" + struct.pack(">H", PUSH) + b"\x00\x00")
    got = b""
    while len(got) < 8:
        part = s.recv(8 - len(got))
        if not part:
            sys.exit("server closed during the handshake")
        got += part
    s.sendall(struct.pack(">Q", length))
    conns.append(s)
print("ready", flush=True)
for s in conns:
    try:
        while s.recv(1):
            pass
    except OSError:
        pass
