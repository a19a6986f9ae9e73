"""A req client speaking SP over TCP by hand (NNG's wire format), for loss_spec: it sends COUNT
requests, prints "sent", reads nothing until the file GO exists, then reads replies until it
has heard nothing for a second and prints how many it got.

    late_reader.py HOST PORT COUNT GO
"""
import os
import socket
import struct
import sys
import time

from many_requests import REQ0, connect, receive, send


def main():
    host, port, count, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    client = connect(host, port, REQ0)
    for i in range(1, count + 1):
        send(client, struct.pack(">I", i | 0x80000000) + b"job")
    print("sent", flush=True)
    while not os.path.exists(go):
        time.sleep(0.01)
    client.settimeout(1)
    got = 0
    try:
        while True:
            receive(client)
            got += 1
    except (socket.timeout, SystemExit):
        pass
    print(got, flush=True)


if __name__ == "__main__":
    main()
