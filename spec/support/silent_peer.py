"""A TCP listener that accepts connections and never writes to them (a peer that is not a TLS
server, or a stalled one): prints its port, then holds what it accepts until stdin closes, or
for 20 s at most (so that a dialer waiting for it cannot wait for good)."""
import socket
import sys
import threading

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)
held = []


def accept():
    while True:
        held.append(listener.accept()[0])


threading.Thread(target=accept, daemon=True).start()
reader = threading.Thread(target=sys.stdin.read, daemon=True)
reader.start()
reader.join(20)
