"""A req client and a rep worker speaking SP over TCP by hand (NNG's wire format), for
deliver_spec: the client sends COUNT requests through a forwarder (FRONT) to the worker (dialing
the forwarder's BACK), which reads them all and then answers the first and the last. Prints the
request ids the client got answers for, one line, in order.

With --other N, a second client sends N requests (ids 1 to N) before the flood; the worker
answers them after the flood too, and a second line gives the ids that client got answers for.
With --churn C, the flood comes over C connections in turn, each closed once it has sent its
share (a client that opens a connection per burst).

    many_requests.py HOST FRONT_PORT BACK_PORT COUNT [--other N] [--churn C]
"""
import socket
import struct
import sys

REQ0, REP0 = 0x30, 0x31


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise SystemExit("connection closed")
        data += chunk
    return data


def connect(host, port, protocol):
    sock = socket.create_connection((host, port))
    sock.sendall(b"\x00SP\x00" + struct.pack(">H", protocol) + b"\x00\x00")
    read_exactly(sock, 8)
    return sock


def send(sock, payload):
    sock.sendall(struct.pack(">Q", len(payload)) + payload)


def receive(sock):
    (length,) = struct.unpack(">Q", read_exactly(sock, 8))
    return read_exactly(sock, length)


def answers(client):
    """The request ids answered to `client` until it has heard nothing for a second."""
    client.settimeout(1)
    answered = []
    try:
        while True:
            (word,) = struct.unpack(">I", receive(client)[:4])
            answered.append(word & 0x7FFFFFFF)
    except (socket.timeout, SystemExit):
        pass
    return answered


def option(name, default):
    args = sys.argv[5:]
    return int(args[args.index(name) + 1]) if name in args else default


def main():
    host, front, back, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    others, churn = option("--other", 0), option("--churn", 1)
    worker = connect(host, back, REP0)
    if others:
        other = connect(host, front, REQ0)
        for i in range(1, others + 1):
            send(other, struct.pack(">I", i | 0x80000000) + b"other")
        others_requests = [receive(worker) for _ in range(others)]
    share = -(-count // churn)
    clients = []
    for first in range(1, count + 1, share):
        client = connect(host, front, REQ0)
        for i in range(first, min(first + share, count + 1)):
            send(client, struct.pack(">I", i | 0x80000000) + b"job")
        if churn > 1:
            client.close()
        clients.append(client)
    requests = [receive(worker) for _ in range(count)]
    for request in (requests[0], requests[-1]):
        send(worker, request)  # the backtrace and the body, back as the reply
    if others:
        for request in others_requests:
            send(worker, request)
    print(" ".join(map(str, answers(clients[0]))) if churn == 1 else "")
    if others:
        print(" ".join(map(str, answers(other))))


if __name__ == "__main__":
    main()
