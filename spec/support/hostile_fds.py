"""The other process of spec/shm_trust_spec.lua: holds descriptors that are not nml's shared
buffers (a FIFO, a regular file, a directory, /dev/ptmx, a memfd of another name) and says where
they are, so that the spec can name them in forged references. A thread meanwhile opens the FIFO
for reading, which blocks until some process opens it for writing: if a receiver opens the
reference to it, this prints "fifo: opened", else "fifo: not opened".

    python3 hostile_fds.py DIR SECONDS
"""
import os
import sys
import threading

folder, seconds = sys.argv[1], float(sys.argv[2])
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


threading.Thread(target=wait_for_a_writer, daemon=True).start()
print(os.getpid(), " ".join(f"{name}={fd}" for name, fd in held.items()), flush=True)
opened.wait(seconds)
print("fifo: opened" if opened.is_set() else "fifo: not opened", flush=True)
if not opened.is_set():
    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # lets the waiting thread go
