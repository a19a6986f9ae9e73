"""Shared buffers between Python and nml, both ways (nml_peer.shared): forged references
first, then frames from nml to Python and from Python to nml over ipc, with receivers killed
and senders gone early. The nml side is tests/nml_shared.lua, run with NML_LUA and NML_CPATH."""
import gc
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import msgpack
import pytest

import nml_peer
from nml_peer import shared

pynng = pytest.importorskip("pynng")
HERE = os.path.dirname(__file__)
PACKAGE = os.path.join(HERE, "..")
REFUSED = shared._REFUSED


def open_fds():
    return sorted(os.listdir("/proc/self/fd"))


def reference(pid, fd, token, length):
    return msgpack.ExtType(78, shared._REFERENCE.pack(pid, fd, token, length))


class Lines:
    """A child's stdout, a line at a time, with a time limit."""

    def __init__(self, proc):
        self.proc, self.lines = proc, queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next(self, timeout=10.0):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line from the child in {timeout} s") from None
        assert line is not None, "the child ended"
        return line

    def silent_for(self, seconds):
        try:
            line = self.lines.get(timeout=seconds)
        except queue.Empty:
            return True
        raise AssertionError(f"the child said {line!r}")

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()


@pytest.fixture
def nml():
    lua, cpath = os.environ.get("NML_LUA"), os.environ.get("NML_CPATH")
    if not lua or not cpath:
        pytest.skip("NML_LUA and NML_CPATH name the interpreter and nml.so (make test sets them)")
    procs = []

    def start(*args):
        env = dict(os.environ, LUA_CPATH=cpath + ";;")
        proc = subprocess.Popen([lua, os.path.join(HERE, "nml_shared.lua"), *map(str, args)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        procs.append(proc)
        return Lines(proc)
    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.fixture
def url(tmp_path):
    return f"ipc://{tmp_path}/frames.ipc"


def python_child(code, *args):
    """Another Python process running `code` with nml_peer importable, its stdout as Lines."""
    env = dict(os.environ, PYTHONPATH=PACKAGE)
    proc = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    return Lines(proc)


# --- forged references: refused alike, nothing opened, nothing kept --------------------------

def test_forged_references_are_refused_alike_and_open_nothing(tmp_path):
    me = os.getpid()
    real = shared.SharedBuffer(100)
    good = shared._REFERENCE.unpack(real.ref().data)
    real.unsend()
    _, fd, token, length = good

    plain = os.open(tmp_path / "file", os.O_RDWR | os.O_CREAT)
    os.ftruncate(plain, 4096 + 100)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fifo_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    zero = os.open("/dev/zero", os.O_RDONLY)
    other_name = os.memfd_create("not-nml", os.MFD_CLOEXEC)
    os.ftruncate(other_name, 4096 + 100)
    # Named as nml's and holding a valid control page, but not sealed: it could shrink.
    unsealed = os.memfd_create(shared.NAME, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(unsealed, 4096 + 100)
    os.pwrite(unsealed, control_header(token, 100), 0)
    closed = shared.SharedBuffer(100)
    closed_ref = closed.ref()
    closed.close()
    gc.collect()

    forged = {
        "another pid than the sender's": reference(1, fd, token, length),
        "pid 0": reference(0, fd, token, length),
        "a descriptor number out of range": reference(me, 2**31, token, length),
        "a length past 2^46": reference(me, fd, token, 2**46 + 1),
        "the largest length": reference(me, fd, token, 2**64 - 1),
        "a length one short": reference(me, fd, token, length - 1),
        "another token": reference(me, fd, token ^ 1, length),
        "a plain file of the right size": reference(me, plain, token, 100),
        "a FIFO": reference(me, fifo_fd, token, 100),
        "a device": reference(me, zero, token, 100),
        "another memfd": reference(me, other_name, token, 100),
        "an unsealed memfd named as nml's": reference(me, unsealed, token, 100),
        "a closed buffer": closed_ref,
        "no such descriptor": reference(me, 999_999, token, length),
        "another ext type": msgpack.ExtType(77, shared._REFERENCE.pack(*good)),
        "23 bytes": msgpack.ExtType(78, shared._REFERENCE.pack(*good)[:23]),
        "not a reference at all": "text",
    }
    before = open_fds()
    for why, ref in forged.items():
        started = time.monotonic()
        with pytest.raises(shared.SharedBufferError) as refused:
            shared.open(ref, me)
        assert str(refused.value) == REFUSED, why
        assert time.monotonic() - started < 1, f"{why}: refused at once, nothing waited on"
    assert open_fds() == before, "no descriptor kept"
    assert not real.is_held() and real.holders() == [], "no view counted"
    with pytest.raises(OSError):  # nobody opened the FIFO for reading but us: ENXIO for a writer
        os.close(fifo_fd)
        os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    for fd_ in (plain, zero, other_name, unsealed):
        os.close(fd_)
    with shared.open(real.ref(), me) as view:  # the true one still opens
        assert len(view) == 100


def control_header(token, length):
    import struct
    return struct.pack("=QQQII", shared.MAGIC, token, length, 0, 0)


SHRUNK_UNDER_THE_CHECKS = """
import fcntl, os, struct
from nml_peer import shared
# A same-user sender's memfd, unsealed, of the size it claims, with nml's magic and token: it
# shrinks the file and seals it once the receiver has checked the size and opened it (what a
# racing thread does), so that the receiver's seal check passes on a file shorter than claimed.
fd = os.memfd_create(shared.NAME, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
os.ftruncate(fd, 4096 + 65536)
os.pwrite(fd, struct.pack("=QQQII", shared.MAGIC, 7, 65536, 0, 0), 0)
real_is_sealed = shared._is_sealed
def shrink_then_check(opened):
    os.ftruncate(fd, 4096)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
    return real_is_sealed(opened)
shared._is_sealed = shrink_then_check
ref = shared._REFERENCE.pack(os.getpid(), fd, 7, 65536)
try:
    view = shared.open(ref, os.getpid())
except shared.SharedBufferError:
    print("refused")
else:
    print("opened", view.data[-1])  # past the file's end: SIGBUS
"""


def test_a_buffer_shrunk_between_the_checks_is_refused():
    env = dict(os.environ, PYTHONPATH=PACKAGE)
    run = subprocess.run([sys.executable, "-c", SHRUNK_UNDER_THE_CHECKS], env=env, capture_output=True,
                         text=True, timeout=30)
    assert (run.returncode, run.stdout.strip()) == (0, "refused"), run.stderr


EXIT_WHILE_READ = """
import os, sys, threading, time
from nml_peer import shared
buf = shared.SharedBuffer(256 << 20)
view = shared.open(buf.ref(), os.getpid())
array = view.array()
def read():
    while True:
        array.sum()  # numpy lets go of the GIL while it reads
threading.Thread(target=read, daemon=True).start()
time.sleep(0.3)
print("exiting", flush=True)
"""


def test_exiting_while_a_thread_reads_a_view_is_clean():
    env = dict(os.environ, PYTHONPATH=PACKAGE)
    for _ in range(3):
        run = subprocess.run([sys.executable, "-c", EXIT_WHILE_READ], env=env, capture_output=True,
                             text=True, timeout=60)
        assert (run.returncode, run.stdout.strip()) == (0, "exiting"), run.stderr


def test_a_view_held_across_a_fork_keeps_its_buffer_until_both_let_go():
    pool = shared.SharedPool(16, 1)

    def lend_and_view():
        buf = pool.take(timeout=5)
        buf.data[:4] = b"data"
        view = shared.open(buf.ref(), os.getpid())
        buf.close()
        return view
    view = lend_and_view()
    child = os.fork()
    if child == 0:  # lets go of its copy, and ends
        view.release()
        gc.collect()
        os._exit(0)
    os.waitpid(child, 0)
    assert pool.available() == 0, "the parent still reads it"
    view.release()
    for _ in range(10):  # the parent lets go at once, before the child may have run at all
        view = lend_and_view()
        child = os.fork()
        if child == 0:  # keeps its copy while the parent lets go of its own
            time.sleep(0.2)
            os._exit(0 if bytes(view.data[:4]) == b"data" else 1)
        view.release()
        lent = pool.take()
        assert lent is None, "the child still reads it"
        assert os.waitpid(child, 0)[1] == 0, "the child read what it was sent"
        assert pool.available() == 1


def test_a_holder_is_gone_only_when_proc_says_so(monkeypatch):
    from nml_peer import _control
    child = os.fork()
    if child == 0:
        os._exit(0)
    time.sleep(0.2)  # a zombie now: exited, not yet reaped
    assert _control.is_gone(child)
    os.waitpid(child, 0)
    assert _control.is_gone(child)
    assert not _control.is_gone(os.getpid())

    def out_of_descriptors(*args, **kwargs):
        raise OSError(24, "Too many open files")
    monkeypatch.setattr(_control, "open", out_of_descriptors, raising=False)
    assert not _control.is_gone(child), "unknown is alive: the buffer stays held"


def test_one_message_opens_at_most_256_and_gives_back_what_it_opened():
    buf = shared.SharedBuffer(10)
    value = [{"buffer": buf.ref(), "buffer_ud_type": "u8"} for _ in range(257)]
    with pytest.raises(shared.SharedBufferError, match="more than 256"):
        shared.open_buffers(value, os.getpid())
    buf.unsend(1)  # the 257th was never opened
    assert not buf.is_held(), "the 256 views opened were given back"
    other = shared.SharedBuffer(10)
    bad = [{"buffer": buf.ref(), "buffer_ud_type": "u8"},
           {"buffer": reference(os.getpid(), 999_999, 1, 10), "buffer_ud_type": "u8"},
           {"buffer": other.ref(), "buffer_ud_type": "u8"}]
    with pytest.raises(shared.SharedBufferError):
        shared.open_buffers(bad, os.getpid())
    assert not buf.is_held(), "a failure releases the views opened before it"
    assert not other.is_held(), "and those after it are opened and given back, not left on their way"
    with pytest.raises(ValueError, match="at most 256"):
        shared.send(pynng.Push0(), [nml_peer.descriptor(buf, "u8")] * 257)
    assert not buf.is_held()


def test_references_outside_a_descriptor_or_deeply_nested_are_left_as_they_are():
    buf = shared.SharedBuffer(10)
    loose = {"buffer": buf.ref()}  # no buffer_ud_type: not a descriptor
    assert shared.open_buffers(loose, os.getpid())["buffer"].code == 78
    buf.unsend()
    deep = nml_peer.unwrap(nml_peer.wrap([[[[[[[]]]]]]] * 1)).value
    for _ in range(900):
        deep = [deep]
    assert shared.open_buffers(deep, os.getpid()) is deep  # no recursion limit reached


def test_a_view_is_read_only_and_a_buffer_takes_a_sane_size():
    buf = shared.SharedBuffer(16)
    buf.data[:] = bytes(range(16))
    view = shared.open(buf.ref(), os.getpid())
    assert bytes(view.data) == bytes(range(16))
    with pytest.raises(TypeError):
        view.data[0] = 1
    assert not view.array().flags.writeable
    with pytest.raises(ValueError):
        shared.SharedBuffer(-1)
    with pytest.raises(ValueError):
        shared.SharedBuffer(2**46 + 1)
    empty = shared.SharedBuffer(0)
    with shared.open(empty.ref(), os.getpid()) as nothing:
        assert bytes(nothing.data) == b""


# --- sending from Python: counted per receiver, taken back on failure, kept on the host -----

def test_a_pool_buffer_is_dead_once_given_back():
    pool = shared.SharedPool(16, 1)
    buf = pool.take()
    buf.data[:2] = b"ok"
    buf.close()
    buf.close()  # twice: nothing more (it once unmapped the buffer under the pool)
    assert pool.available() == 1
    for use in (lambda: buf.data, lambda: buf.ref(), lambda: nml_peer.descriptor(buf, "u8"), buf.is_held):
        with pytest.raises(ValueError, match="closed"):
            use()
    again = pool.take()
    assert again is not buf and bytes(again.data[:2]) == b"ok", "the same memory, a new handle"
    assert pool.take() is None and pool.take(timeout=0.05) is None


def test_a_failed_send_takes_its_references_back(tmp_path):
    pool = shared.SharedPool(16, 1)
    buf = pool.take()
    with pynng.Push0(listen=f"ipc://{tmp_path}/nobody.ipc", send_timeout=100) as push:
        with pytest.raises(pynng.Timeout):
            shared.send(push, {"frame": nml_peer.descriptor(buf, "u8")})
    buf.close()
    assert pool.available() == 1 and pool.take() is not None


def test_each_subscriber_of_a_pub_socket_is_counted(tmp_path):
    url = f"ipc://{tmp_path}/pub.ipc"
    buf = shared.SharedBuffer(16)
    with pynng.Pub0(listen=url) as pub, pynng.Sub0(dial=url, topics=b"", recv_timeout=5000) as a, \
            pynng.Sub0(dial=url, topics=b"", recv_timeout=5000) as b:
        while len(pub.pipes) < 2:
            time.sleep(0.01)
        shared.send(pub, {"frame": nml_peer.descriptor(buf, "u8")})
        views = []
        for sub in (a, b):
            msg = sub.recv_msg()
            views.append(shared.open_buffers(nml_peer.unwrap(msg.bytes, topics=True).value, shared.peer_pid(msg)))
            assert buf.is_held()
        views.clear()
        assert not buf.is_held(), "both counted, both opened, both given back"


def test_references_stay_on_this_host():
    buf = shared.SharedBuffer(16)
    with pynng.Push0(listen="tcp://127.0.0.1:0") as push:
        with pytest.raises(ValueError, match="stay on this host"):
            shared.send(push, {"frame": nml_peer.descriptor(buf, "u8")})
    with pynng.Rep0(listen="tcp://127.0.0.1:0") as rep:  # through a context of such a socket too
        with pytest.raises(ValueError, match="stay on this host"):
            shared.send(rep.new_context(), {"frame": nml_peer.descriptor(buf, "u8")})
    with pytest.raises(ValueError):
        shared.SharedPool(16, 1).take(timeout=float("nan"))
    assert not buf.is_held()
    with pytest.raises(TypeError, match="shared.send"):
        nml_peer.wrap({"frame": nml_peer.descriptor(buf, "u8")})


def test_a_message_of_no_known_sender_says_so():
    buf = shared.SharedBuffer(16)
    value = {"frame": {"buffer": buf.ref(), "buffer_ud_type": "u8"}}
    with pytest.raises(shared.SharedBufferError, match="sender is not known"):
        shared.open_buffers(value, None)


# --- nml to Python ---------------------------------------------------------------------------

def receive(sock):
    msg = sock.recv_msg()
    return shared.open_buffers(nml_peer.unwrap(msg.bytes).value, shared.peer_pid(msg))


def test_python_reads_nml_frames_without_a_copy_and_holds_them_from_reuse(nml, url):
    with pynng.Pull0(listen=url, recv_timeout=10000) as pull:
        lend = nml("lend", url, 6, 65536, 2)
        held = []
        for seq in (1, 2):
            assert lend.next() == f"took {seq}"
            held.append(receive(pull))
        assert lend.silent_for(0.5), "both buffers are held: the pool lends no third"
        for t in held:
            frame = t["frame"]["buffer"].array()
            assert frame.size == 65536 and (frame == t["seq"]).all(), "the bytes sent, unchanged"
        held[0]["frame"]["buffer"].release()
        assert lend.next() == "took 3"
        held[1]["frame"]["buffer"].release()
        assert lend.silent_for(0.3), "an array taken from a released view still holds it"
        del frame, held
        for seq in range(3, 7):
            t = receive(pull)
            assert t["seq"] == seq and bytes(t["frame"]["buffer"].data) == bytes([seq]) * 65536
            if seq < 6:
                assert lend.next() == f"took {seq + 1}"
            t["frame"]["buffer"].release()
        assert lend.next() == "back"


def test_a_view_left_to_the_collector_gives_its_hold_back(nml, url):
    with pynng.Pull0(listen=url, recv_timeout=10000) as pull:
        lend = nml("lend", url, 2, 4096, 1)
        assert lend.next() == "took 1"
        t = receive(pull)
        cycle = [t]
        cycle.append(cycle)  # only the collector frees it
        del t, cycle
        assert lend.silent_for(0.3)
        gc.collect()
        assert lend.next() == "took 2"


def test_a_view_outlives_its_sender(nml, url):
    with pynng.Pull0(listen=url, recv_timeout=10000) as pull:
        lend = nml("lend", url, 1, 65536, 1, "exit")
        assert lend.next() == "took 1"
        view = receive(pull)["frame"]["buffer"]
        assert lend.next() == "sent"
        lend.proc.wait(timeout=10)
        assert bytes(view.data) == bytes([1]) * 65536, "mapped here, whatever the sender did"


def test_a_reference_another_process_passes_on_is_refused(nml, url, tmp_path):
    relay_url = f"ipc://{tmp_path}/relay.ipc"
    with pynng.Pull0(listen=url, recv_timeout=10000) as pull, \
            pynng.Pull0(listen=relay_url, recv_timeout=10000) as relayed:
        lend = nml("lend", url, 1, 4096, 1)
        assert lend.next() == "took 1"
        body = pull.recv_msg().bytes  # not opened here: passed on as it came
        relay = python_child(
            "import sys, pynng\n"
            "with pynng.Push0(dial=sys.argv[1]) as push:\n"
            "    push.send(sys.stdin.buffer.read())\n"
            "    print('sent', flush=True)\n"
            "    import time; time.sleep(0.5)\n", relay_url)
        relay.proc.stdin.buffer.write(body)
        relay.proc.stdin.close()
        msg = relayed.recv_msg()
        assert shared.peer_pid(msg) == relay.proc.pid
        value = nml_peer.unwrap(msg.bytes).value
        assert value["frame"]["buffer"] == nml_peer.unwrap(body).value["frame"]["buffer"]
        with pytest.raises(shared.SharedBufferError, match="could not be opened"):
            shared.open_buffers(value, shared.peer_pid(msg))
        assert shared.open_buffers(nml_peer.unwrap(body).value, lend.proc.pid)  # from its sender
        relay.proc.wait(timeout=10)


RECEIVER = """
import sys, pynng, nml_peer
from nml_peer import shared
with pynng.Pull0(listen=sys.argv[1], recv_timeout=10000) as pull:
    msg = pull.recv_msg()
    t = shared.open_buffers(nml_peer.unwrap(msg.bytes).value, shared.peer_pid(msg))
    print("holding", t["seq"], flush=True)
    sys.stdin.read()
"""


def test_a_python_receiver_killed_while_holding_a_view_gives_it_back(nml, url):
    receiver = python_child(RECEIVER, url)
    lend = nml("lend", url, 2, 65536, 1)
    assert lend.next() == "took 1"
    assert receiver.next() == "holding 1"
    assert lend.silent_for(0.5), "the killed receiver's view holds the only buffer"
    receiver.proc.send_signal(signal.SIGKILL)
    receiver.proc.wait()
    assert lend.next() == "took 2", "a holder that no longer exists gives its views back"


# --- Python to nml ---------------------------------------------------------------------------

def test_nml_reads_python_frames_without_a_copy(nml, url):
    take = nml("take", url)
    assert take.next() == "listening"
    pool = shared.SharedPool(65536, 2)
    with pynng.Push0(dial=url, send_timeout=10000) as push:
        for seq in range(1, 11):
            take.send("recv")  # nml collects the views it dropped before it waits
            buf = pool.take(timeout=10)
            buf.array()[:] = seq
            shared.send(push, {"seq": seq, "frame": nml_peer.descriptor(buf, "u8")})
            buf.close()  # back to the pool: lent again once nml lets go
            assert take.next() == f"ok {seq} 65536"
        take.send("hold")
        buf = pool.take(timeout=10)
        buf.data[:] = bytes([11]) * 65536
        shared.send(push, {"seq": 11, "frame": nml_peer.descriptor(buf, "u8")})
        assert take.next() == "ok 11 65536"
        assert buf.is_held() and buf.holders() == [(take.proc.pid, 1)]
        buf.close()
        take.send("drop")
        assert take.next() == "dropped"
        assert pool.available() == 2


SENDER = """
import sys, time, pynng, nml_peer
from nml_peer import shared
buf = shared.SharedBuffer(4096)
buf.data[:] = bytes([int(sys.argv[2])]) * 4096
with pynng.Push0(dial=sys.argv[1], send_timeout=10000) as push:
    shared.send(push, {"seq": int(sys.argv[2]), "frame": nml_peer.descriptor(buf, "u8")})
    time.sleep(0.3)  # NNG writes what it holds
    print("sent", flush=True)
    sys.stdin.read()
"""


def test_a_python_sender_that_exits_early(nml, url):
    take = nml("take", url)
    assert take.next() == "listening"
    early = python_child(SENDER, url, 1)
    assert early.next() == "sent"
    early.proc.stdin.close()  # exits before nml received: the reference names nothing now
    early.proc.wait(timeout=10)
    take.send("recv")
    assert take.next().startswith("error gone a shared buffer could not be opened")
    later = python_child(SENDER, url, 2)
    assert later.next() == "sent"
    take.send("hold")  # opened while its sender lives, then the sender is killed
    assert take.next() == "ok 2 4096"
    later.proc.send_signal(signal.SIGKILL)
    later.proc.wait()
    take.send("check")
    assert take.next() == "ok", "nml's view keeps the memory after its sender died"
    take.send("quit")
    assert take.proc.wait(timeout=10) == 0
