"""Clients that leave a TLS listener abruptly, for spec/tls_spec.lua: each completes the TLS
handshake, then by MODE sends the SP header and nothing more (header), or also reads the
server's header and sends 5 bytes of a 1,000-byte message (partial), or upgrades to a
websocket at /sp and sends the first fragment of a message (ws); then it closes the TCP
connection without a TLS close_notify.

    tls_abrupt.py HOST PORT N MODE     MODE: header | partial | ws
"""
import socket
import ssl
import sys

host, port, count, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
for _ in range(count):
    raw = socket.create_connection((host, port))
    conn = context.wrap_socket(raw)
    if mode == "ws":
        conn.sendall(b"GET /sp HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     b"Sec-WebSocket-Protocol: pull.sp.nanomsg.org\r\n\r\n")
        conn.recv(4096)
        conn.sendall(b"\x02\x85\x00\x00\x00\x00hello")  # binary, not final, masked (key 0)
        raw.close()
        conn.close()
        continue
    conn.sendall(b"\x00SP\x00\x00\x50\x00\x00")  # the SP header of a push (80)
    if mode == "partial":
        conn.recv(8)
        conn.sendall((1000).to_bytes(8, "big") + b"\xc1\x01abc")  # 5 of 1,000 bytes
    raw.close()  # the TCP connection only: no close_notify
    conn.close()
print("done")
