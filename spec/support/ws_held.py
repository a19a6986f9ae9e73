"""Upgrades N WebSocket connections to ws://127.0.0.1:PORT/nml as a req peer (the listener is a
rep), says "ready" once all are upgraded, then waits for the server to end each one: MODE
"leave" closes the TCP connection as soon as the server's close frame comes, without the close
frame of its own that RFC 6455 asks for; "broken" first sends a frame that breaks the protocol
(unmasked, as a client's never is); "silent" never answers and holds every connection
until the server closes it (or 20 s). Says "ended N" when the server has ended all of them.

    ws_held.py PORT N MODE
"""
import base64
import os
import select
import socket
import sys
import time

port, count, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conns = []
for _ in range(count):
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    conn.sendall(("GET /nml HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: rep.sp.nanomsg.org\r\n\r\n" % (port, key)).encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 101"), answer[:40]
    conns.append(conn)
print("ready", flush=True)
ended, deadline = 0, time.time() + 20
while conns and time.time() < deadline:
    readable, _, _ = select.select(conns, [], [], 0.1)
    for conn in readable:
        data = conn.recv(4096)
        # The server's close frame (0x88), or the end of the connection.
        if mode == "broken" and data:
            try:
                conn.sendall(b"\x82\x05hello")  # binary, final, unmasked
            except OSError:
                pass
        if mode in ("leave", "broken") or not data:
            conn.close()
            conns.remove(conn)
            ended += 1
print("ended", ended, flush=True)
for conn in conns:
    conn.close()
