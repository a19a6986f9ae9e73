"""Opens N TCP connections to HOST:PORT, sends nothing on them, waits SECONDS, then prints how
many the server has closed meanwhile: `idle_clients.py HOST PORT N SECONDS`."""
import socket
import sys
import time

host, port, n, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
conns = [socket.create_connection((host, port), timeout=5) for _ in range(n)]
time.sleep(seconds)
closed = 0
for c in conns:
    c.setblocking(False)
    try:
        while True:
            data = c.recv(65536)
            if not data:
                closed += 1
                break
    except BlockingIOError:
        pass  # still open, nothing to read
    except ConnectionError:
        closed += 1
print(closed)
