"""Connects again and again to the address written in FILE (ipc://PATH, or tcp://, ws://,
wss:// or tls+tcp://HOST:PORT[/PATH], as the spec rewrites it), sends a pair's SP handshake and
hangs up, for SECONDS: `connect_storm.py FILE SECONDS`. Over ws and TLS the handshake is no
valid first message, which is the point: the listener's accept is what is stormed. Connections
that fail (nothing listening at that moment) are retried at once."""
import socket
import sys
import time

path, seconds = sys.argv[1], float(sys.argv[2])
HANDSHAKE = b"\x00SP\x00\x00\x10\x00\x00"
end = time.time() + seconds
while time.time() < end:
    try:
        with open(path) as f:
            url = f.read().strip()
        if not url.startswith("ipc://"):
            host, port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
            conn = socket.create_connection((host, int(port)), timeout=0.5)
        else:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(0.5)
            conn.connect(url[len("ipc://"):])
        conn.sendall(HANDSHAKE)
        conn.close()
    except (OSError, ValueError):
        time.sleep(0.001)
