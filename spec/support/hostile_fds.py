"""The other process of spec/shm_trust_spec.lua: a hostile peer on this host. It holds
descriptors that are not nml's shared buffers (a FIFO, a regular file, a directory, /dev/ptmx,
a memfd of another name) and sends, over ipc, descriptors whose buffer is a reference to each
of them (its own pid, so that the receiver's check of the sender passes), then references with
a wrong pid, a missing fd and a huge length. A thread meanwhile opens the FIFO for reading,
which blocks until some process opens it for writing: if the receiver opens the reference to it,
this prints "fifo: opened", else "fifo: not opened".

    python3 hostile_fds.py DIR URL OTHER_PID
"""
import os
import struct
import sys
import threading
import time

import pynng

folder, url, other_pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
fifo = os.path.join(folder, "fifo")
os.mkfifo(fifo)
plain = os.path.join(folder, "plain")
with open(plain, "wb") as f:
    f.write(b"\0" * 8192)

held = {
    "fifo": os.open(fifo, os.O_RDONLY | os.O_NONBLOCK),  # not a writer: a reader still waits
    "plain": os.open(plain, os.O_RDWR),
    "dir": os.open(folder, os.O_RDONLY),
    "ptmx": os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY),
    "memfd": os.memfd_create("not-nml", os.MFD_ALLOW_SEALING),
}
os.ftruncate(held["memfd"], 8192)

opened = threading.Event()


def wait_for_a_writer():
    fd = os.open(fifo, os.O_RDONLY)  # blocks until a writer opens the FIFO
    opened.set()
    os.close(fd)


def forged(pid, fd, length):
    ref = b"\xc7\x18\x4e" + struct.pack(">IIQQ", pid, fd, 0, length)
    return b"\xc1\x01\x82\xa6buffer" + ref + b"\xaebuffer_ud_type\xa2u8"


me = os.getpid()
cases = [forged(me, fd, 4096) for fd in held.values()]
cases += [
    forged(me, 999, 4096),  # no such descriptor
    forged(me, held["memfd"], 2**63),  # a length beyond any
    forged(other_pid, 3, 4096),  # another process than the sender
]

threading.Thread(target=wait_for_a_writer, daemon=True).start()
with pynng.Push0(dial=url, send_timeout=5000) as push:
    for body in cases:
        push.send(body)
    print("sent", len(cases), flush=True)
    opened.wait(2)
    print("fifo: opened" if opened.is_set() else "fifo: not opened", flush=True)
    time.sleep(0.2)
if not opened.is_set():
    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # lets the waiting thread go
