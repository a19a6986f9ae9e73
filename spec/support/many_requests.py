"""A req client and a rep worker speaking SP over TCP by hand (NNG's wire format), for
deliver_spec: the client sends COUNT requests through a forwarder (FRONT) to the worker (dialing
the forwarder's BACK), which reads them all and then answers the first and the last. Prints the
request ids the client got answers for, one line, in order.

    many_requests.py HOST FRONT_PORT BACK_PORT COUNT
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


def main():
    host, front, back, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    worker = connect(host, back, REP0)
    client = connect(host, front, REQ0)
    for i in range(1, count + 1):
        send(client, struct.pack(">I", i | 0x80000000) + b"job")
    requests = [receive(worker) for _ in range(count)]
    for request in (requests[0], requests[-1]):
        send(worker, request)  # the backtrace and the body, back as the reply
    client.settimeout(1)
    answered = []
    try:
        while True:
            (word,) = struct.unpack(">I", receive(client)[:4])
            answered.append(word & 0x7FFFFFFF)
    except (socket.timeout, SystemExit):
        pass
    print(" ".join(map(str, answered)))


if __name__ == "__main__":
    main()
