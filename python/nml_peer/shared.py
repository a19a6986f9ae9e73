"""Shared buffers with nml, both ways, on one host (docs/manual.md, "Shared buffers" and
"From Python"; the format is docs/wire-format.md, "Shared buffers").

A shared buffer is a sealed memfd whose first page is a control block. What crosses a socket is
a 24-byte reference to it (MessagePack ext 78 under a descriptor's "buffer"); the receiver
maps the sender's memory instead of copying it:

    msg = sock.recv_msg()                                    # pynng, over ipc
    value = nml_peer.shared.open_buffers(nml_peer.unwrap(msg.bytes).value,
                                         nml_peer.shared.peer_pid(msg))
    frame = value["frame"]["buffer"].array("uint8", (1080, 1920, 3))   # numpy, no copy

A reference is bytes from a peer: `open` takes only one naming the process the message came
from, pins the descriptor without opening it, opens it only once it is shown to be a memfd of
nml's of this user, of the size sent, sealed, with nml's magic and the token sent, and fails
the same way (SharedBufferError) whatever is wrong, as nml's own receiver does.
"""
import fcntl
import os
import stat
import struct
import time
import weakref
from typing import Any, Optional

import msgpack

from . import _mapping
from ._control import DATA_AT, LEN_AT, MAGIC, MAGIC_AT, MAX_LEN, NAME, Control

__all__ = ["SharedBuffer", "SharedPool", "SharedView", "SharedBufferError", "open",
           "open_buffers", "peer_pid", "send", "EXT_TYPE"]

EXT_TYPE = 78
"""The MessagePack ext type of a reference."""

MAX_PER_MESSAGE = 256
"""The most references `open_buffers` opens in one message, as nml's receiver."""

_REFERENCE = struct.Struct(">IIQQ")  # pid, fd, token, length

_REFUSED = ("a shared buffer could not be opened: its sender freed it or exited, or the "
            "reference names no nml buffer of this user")


_NO_SENDER = ("a shared buffer could not be opened: the message's sender is not known (shared.peer_pid "
              "gives it for a message from recv_msg() over ipc, None otherwise)")


class SharedBufferError(Exception):
    """A reference that could not be opened; the message is the same whatever was wrong, so
    that a peer learns nothing of this host's processes and files."""


def _random_token() -> int:
    return int.from_bytes(os.urandom(8), "little")


def _as_array(data: memoryview, dtype, shape):
    try:
        import numpy
    except ImportError as e:
        raise ImportError("array() needs numpy (pip install numpy); .data is a memoryview") from e
    array = numpy.frombuffer(data, dtype=dtype)
    return array if shape is None else array.reshape(shape)


# --- receiving: views of another process's buffers -----------------------------------------

def _close_view(control: Control, address: Optional[int], length: int, key: int) -> None:
    """A view's end, once nothing reads it: unmapped first, then its hold given back."""
    _LIVE_VIEWS.pop(key, None)
    if address is not None:
        _mapping.unmap(address, length)
    control.close_view()
    control.close()


# The control pages of the views this process holds, by the ctypes array each view's memory
# is read through: a child forked now counts each as its own (an outside attack made a child's
# letting go give back its parent's view, and the pool lent it while the parent read).
# (By id: ctypes arrays are not hashable; a view's end takes its entry out.)
_LIVE_VIEWS: dict = {}


_FORKING = [0]  # the pid that forked, for the child


def _count_for_fork() -> None:
    _FORKING[0] = os.getpid()
    for control in list(_LIVE_VIEWS.values()):
        control.count_for_fork(_FORKING[0])


def _take_from_parent() -> None:
    for control in list(_LIVE_VIEWS.values()):
        control.take_from_parent(_FORKING[0])


# Counted before the fork, in the parent (Python's hooks run with the GIL held, so no view
# opens or closes meanwhile). A fork that fails leaves them counted under this process's pid,
# given back when it ends.
os.register_at_fork(before=_count_for_fork, after_in_child=_take_from_parent)


class SharedView:
    """A read-only view of a shared buffer another process made: its memory, mapped here.

    `data` is a memoryview, `array(dtype, shape)` a numpy array, neither a copy. The sender's
    buffer stays held (a pool does not lend it again) until the view is released (`release`,
    or the end of a `with` block) and every memoryview and array taken from it is collected;
    one left to the collector gives its hold back when it is collected."""

    def __init__(self, control: Control, address: Optional[int], length: int):
        self._exporter = _mapping.exporter(address or 0, length)
        self._length = length
        # Not at exit: a daemon thread may still read it then (numpy lets go of the GIL), and
        # the process's end unmaps it anyway.
        key = id(self._exporter)
        _LIVE_VIEWS[key] = control
        weakref.finalize(self._exporter, _close_view, control, address, length, key).atexit = False

    @property
    def data(self) -> memoryview:
        if self._exporter is None:
            raise ValueError("this view was released")
        return memoryview(self._exporter).cast("B").toreadonly()

    def array(self, dtype="uint8", shape=None):
        """The data as a read-only numpy array of `dtype`, reshaped to `shape`, without a copy."""
        return _as_array(self.data, dtype, shape)

    def __len__(self) -> int:
        return self._length

    def release(self) -> None:
        """Done with this view: its hold goes back now, or once the last memoryview or array
        taken from it is collected."""
        self._exporter = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __repr__(self):
        state = "released" if self._exporter is None else f"{self._length} bytes"
        return f"<nml_peer.SharedView {state}>"


def _reference_fields(reference: Any):
    data = reference.data if isinstance(reference, msgpack.ExtType) else reference
    if isinstance(reference, msgpack.ExtType) and reference.code != EXT_TYPE:
        raise SharedBufferError(_REFUSED)
    if not isinstance(data, (bytes, bytearray)) or len(data) != _REFERENCE.size:
        raise SharedBufferError(_REFUSED)
    return _REFERENCE.unpack(data)


def _names_our_memfd(fd: int) -> bool:
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return False
    return target in (f"/memfd:{NAME}", f"/memfd:{NAME} (deleted)")


def _check_pinned(pinned: int, length: int) -> bool:
    """What is about to be opened: a memfd of nml's, a regular file of this user, of the size
    sent."""
    if not _names_our_memfd(pinned):
        return False
    st = os.fstat(pinned)
    return (stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid()
            and st.st_size == DATA_AT + length)


def _is_sealed(fd: int) -> bool:
    needed = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
    return fcntl.fcntl(fd, fcntl.F_GET_SEALS) & needed == needed


def open(reference: Any, sender: Optional[int]) -> SharedView:  # noqa: A001 (as nml's word)
    """Opens the buffer `reference` names (an ext 78 as unwrap gives it, or its 24 bytes),
    sent by process `sender` (the peer the message came from: `peer_pid`), of this user.
    Raises SharedBufferError, with one message, whatever is wrong."""
    pid, fd, token, length = _reference_fields(reference)
    if sender is None or pid != sender or pid == 0 or fd > 0x7FFFFFFF or length > MAX_LEN:
        raise SharedBufferError(_REFUSED)
    try:
        # O_PATH opens nothing (no FIFO end, no device, no terminal): checked before opening.
        pinned = os.open(f"/proc/{pid}/fd/{fd}", os.O_PATH | os.O_CLOEXEC)
    except OSError:
        raise SharedBufferError(_REFUSED) from None
    try:
        if not _check_pinned(pinned, length):
            raise SharedBufferError(_REFUSED)
        flags = os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC
        opened = os.open(f"/proc/self/fd/{pinned}", flags)
    except OSError:
        raise SharedBufferError(_REFUSED) from None
    finally:
        os.close(pinned)
    try:
        return _map_view(opened, token, length)
    finally:
        os.close(opened)  # the mappings keep the memory: a view costs no descriptor


def _map_view(fd: int, token: int, length: int) -> SharedView:
    try:
        # The size again, now that it cannot shrink: checked before the seals only, a sender
        # could shrink and seal it in between, and reading past its end is SIGBUS.
        if not _is_sealed(fd) or os.fstat(fd).st_size != DATA_AT + length:
            raise SharedBufferError(_REFUSED)
        control = Control(fd)
    except OSError:
        raise SharedBufferError(_REFUSED) from None
    address = None
    try:
        if control.field(MAGIC_AT, 64) != MAGIC or control.field(LEN_AT, 64) != length:
            raise SharedBufferError(_REFUSED)
        if length:
            address = _mapping.map_shared(fd, length, writable=False, offset=DATA_AT)
        if not control.open_view(token):
            raise SharedBufferError(_REFUSED)  # lent again under a new token
    except (OSError, SharedBufferError):
        if address is not None:
            _mapping.unmap(address, length)
        control.close()
        raise SharedBufferError(_REFUSED) from None
    return SharedView(control, address, length)


def _is_reference(value: Any) -> bool:
    return isinstance(value, msgpack.ExtType) and value.code == EXT_TYPE


def open_buffers(value: Any, sender: Optional[int]) -> Any:
    """`value` (as unwrap decoded it) with each descriptor's reference (a dict holding
    "buffer_ud_type" and an ext 78 under "buffer") replaced by a SharedView of its buffer, as
    nml's receiver does; references anywhere else stay what they are. If one cannot be opened
    (or there are more than 256), SharedBufferError is raised once every other one was opened
    and given back, so that their senders' pools get them back now."""
    opened, refused = [], None
    pending = [value]
    try:
        while pending:  # iterative: a value may be nested as deep as msgpack allows
            item = pending.pop()
            if isinstance(item, list):
                pending.extend(reversed(item))  # in the order sent
            elif isinstance(item, dict):
                if "buffer_ud_type" in item and _is_reference(item.get("buffer")):
                    if sender is None:
                        raise SharedBufferError(_NO_SENDER)
                    refused = _open_into(item, sender, opened) or refused
                pending.extend(reversed(item.values()))
        if refused:
            raise refused
    except BaseException:
        for view in opened:
            view.release()
        raise
    return value


def _open_into(descriptor: dict, sender: int, opened: list) -> Optional[SharedBufferError]:
    """Opens a descriptor's reference in place; the refusal, if it was refused."""
    if len(opened) == MAX_PER_MESSAGE:  # no more opened: that bounds a message's work
        return SharedBufferError(f"more than {MAX_PER_MESSAGE} shared buffers in one message")
    try:
        descriptor["buffer"] = open(descriptor["buffer"], sender)
    except SharedBufferError as e:
        return e
    opened.append(descriptor["buffer"])
    return None


def peer_pid(message) -> Optional[int]:
    """The pid of the process a pynng message came from, as the kernel names it, over ipc;
    None over any other transport."""
    import pynng
    pipe = getattr(message, "pipe", None)
    if pipe is None:
        return None
    out = pynng.ffi.new("uint64_t *")  # NNG gives it as a u64
    if pynng.lib.nng_pipe_get_uint64(pipe.pipe, b"ipc:peer-pid", out) != 0:
        return None
    return out[0]


# --- sending: buffers nml can open ----------------------------------------------------------

def _close_segment(control: Control, address: int, total: int, fd: int) -> None:
    _mapping.unmap(address, total)
    control.close()
    os.close(fd)


class _Segment:
    """A sealed memfd made here, mapped read-write: what a SharedBuffer (or a pool's) is. It
    goes (unmapped, its descriptor closed) once nothing refers to its memory."""

    def __init__(self, size: int):
        if not 0 <= size <= MAX_LEN:
            raise ValueError(f"a shared buffer takes 0 to 2^46 bytes, not {size}")
        fd = os.memfd_create(NAME, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(fd, DATA_AT + size)
            seals = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
            address = _mapping.map_shared(fd, DATA_AT + size, writable=True)
        except BaseException:
            os.close(fd)
            raise
        self.fd, self.size, self.token = fd, size, _random_token()
        self.control = Control(fd)
        self.control.write_header(self.token, size)
        self.exporter = _mapping.exporter(address + DATA_AT if size else 0, size)
        closing = weakref.finalize(self.exporter, _close_segment, self.control, address, DATA_AT + size, fd)
        closing.atexit = False  # as a view's

    def reference(self) -> msgpack.ExtType:
        return msgpack.ExtType(EXT_TYPE, _REFERENCE.pack(os.getpid(), self.fd, self.token, self.size))

    def renew(self) -> bool:
        token = _random_token()
        if not self.control.renew(token):
            return False
        self.token = token
        return True


class SharedBuffer:
    """A shared buffer made here, that nml (and nml_peer) can open: `data` is a writable
    memoryview, `array(dtype, shape)` a numpy array over it. Put it in a descriptor
    (`nml_peer.descriptor(buf, "rgb24", ...)`) and send the value with `shared.send` to an nml
    socket with `share = true`, over ipc. It must stay open until its receivers have opened it
    (a receiver then keeps its view even after `close`); a SharedPool's buffers may be given
    back right after sending."""

    def __init__(self, size: int, _segment: Optional[_Segment] = None, _pool=None):
        self._segment = _segment or _Segment(size)
        self._pool = _pool

    def _live(self) -> _Segment:
        if self._segment is None:
            raise ValueError("this buffer was closed (a pool's: take another)")
        return self._segment

    @property
    def data(self) -> memoryview:
        return memoryview(self._live().exporter).cast("B")

    def array(self, dtype="uint8", shape=None):
        """The data as a writable numpy array of `dtype`, reshaped to `shape`, without a copy."""
        return _as_array(self.data, dtype, shape)

    def __len__(self) -> int:
        return self._live().size

    def ref(self, receivers: int = 1) -> msgpack.ExtType:
        """The reference (ext 78), counting `receivers` references on their way. `shared.send`
        does this for each buffer in the value it sends, and takes them back if the send fails;
        call it only to send by other means, then `unsend(receivers)` if that fails."""
        segment = self._live()
        segment.control.add_in_flight(receivers)
        return segment.reference()

    def unsend(self, receivers: int = 1) -> None:
        """Takes back references counted by `ref` that were not sent after all."""
        self._live().control.drop_in_flight(receivers)

    def is_held(self) -> bool:
        """Whether a reference is on its way or a receiver (still alive) has a view open."""
        return self._live().control.is_held()

    def holders(self) -> list:
        """(pid, views) of each process holding views now."""
        return self._live().control.holders()

    def close(self) -> None:
        """Done with it here; this handle raises ValueError from now on. A pool's buffer goes
        back to its pool (lent again once no one holds it); any other is unmapped and its
        descriptor closed once the last memoryview or array taken from it is collected: a
        reference to it not yet opened is then refused. Receivers keep views they opened."""
        segment, self._segment = self._segment, None
        if segment is not None and self._pool is not None:
            self._pool._give_back(segment)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SharedPool:
    """`count` shared buffers of `size` bytes, made now, lent again only once no one holds
    them: `take()` gives one no reference and no view holds, and its `close` (or the end of a
    `with` block) gives it back, which may follow its send at once."""

    def __init__(self, size: int, count: int):
        if count < 1:
            raise ValueError("a pool holds at least one buffer")
        self._free = [_Segment(size) for _ in range(count)]
        self._count = count

    def take(self, timeout: float = 0) -> Optional[SharedBuffer]:
        """A buffer nothing holds, under a new token (a reference to what it held before no
        longer opens); None if none is free within `timeout` seconds (0: now)."""
        if not timeout >= 0:  # NaN too
            raise ValueError(f"timeout is seconds, 0 or more, not {timeout}")
        deadline, pause = time.monotonic() + timeout, 0.0005
        while True:
            for i, segment in enumerate(self._free):
                if segment.renew():
                    return SharedBuffer(0, _segment=self._free.pop(i), _pool=self)
            if time.monotonic() >= deadline:
                return None
            time.sleep(pause)
            pause = min(pause * 2, 0.005)

    def available(self) -> int:
        """How many `take` could lend now."""
        return sum(1 for segment in self._free if not segment.control.is_held())

    def why_none(self) -> str:
        """Why `take` gives nothing now, as nml's pool says it."""
        held = [s for s in self._free if s.control.is_held()]
        unopened = sum(1 for s in held if s.control.has_in_flight())
        views = {}
        for s in held:
            for pid, n in s.control.holders():
                views[pid] = views.get(pid, 0) + n
        who = "; views open by " + ", ".join(f"pid {p}: {n}" for p, n in views.items()) if views else ""
        return (f"{self._count - len(self._free)} lent here, {len(held)} held by receivers, "
                f"{unopened} of them by references sent and not opened{who}")

    def holders(self) -> list:
        """(pid, views) of the processes holding this pool's buffers now."""
        return [h for segment in self._free for h in segment.control.holders()]

    def _give_back(self, segment: _Segment) -> None:
        self._free.append(segment)


# --- sending a value that holds shared buffers ----------------------------------------------

LOCAL = ("ipc://", "inproc://", "unix://", "abstract://")
_FAN_OUT = ("Pub0", "Bus0", "Surveyor0")


def _socket_of(sender):
    """The pynng socket a Socket, Context (its `_socket`) or Pipe (its `socket`) sends
    through. (A Socket's own `socket` is NNG's handle.)"""
    if hasattr(sender, "listeners"):
        return sender
    for name in ("socket", "_socket"):
        sock = getattr(sender, name, None)
        if hasattr(sock, "listeners"):
            return sock
    return sender


def _receivers(sender) -> int:
    """How many processes a send reaches: each connected peer on pub, bus and surveyor
    sockets (and their contexts), one through a pipe or any other socket (as nml counts)."""
    sock = _socket_of(sender)
    if type(sock).__name__ in _FAN_OUT and type(sender).__name__ != "Pipe":
        return len(getattr(sock, "pipes", ()))
    return 1


def _check_local(sender) -> None:
    sock = _socket_of(sender)
    if not hasattr(sock, "listeners"):
        raise TypeError(f"shared.send takes a pynng socket, context or pipe, not {type(sender).__name__}")
    urls = [e.url for e in list(getattr(sock, "listeners", ())) + list(getattr(sock, "dialers", ()))]
    far = [u for u in urls if not u.startswith(LOCAL)]
    if far:
        raise ValueError(f"shared buffers stay on this host (ipc, inproc, unix, abstract): this socket "
                         f"has {far[0]}, where a reference would tell the peer this host's pids")


def send(sock, value: Any, topic: Optional[str] = None, receivers: Optional[int] = None) -> None:
    """Sends `value` (MessagePack) on the pynng socket, context or pipe `sock`, each SharedBuffer in it as its
    reference, counting one reference per receiver (on Pub0, Bus0 and Surveyor0, each
    connected peer, unless `receivers` says otherwise; every one of them must receive it), and
    taking them back if the send fails. A socket with an endpoint that leaves the host is
    refused (ValueError): a reference means nothing there and tells the peer this host's pids."""
    from . import header
    _check_local(sock)
    buffers = []

    def as_reference(obj):
        if isinstance(obj, SharedBuffer):
            if len(buffers) == MAX_PER_MESSAGE:
                raise ValueError(f"a message carries at most {MAX_PER_MESSAGE} shared buffers")
            buffers.append(obj._live())
            return obj._live().reference()
        raise TypeError(f"cannot serialize {type(obj).__name__!r}")
    body = header("MessagePack", topic) + msgpack.packb(
        value, use_bin_type=True, unicode_errors="surrogateescape", default=as_reference)
    n = _receivers(sock) if receivers is None else receivers
    for segment in buffers:
        segment.control.add_in_flight(n)
    try:
        sock.send(body)
    except BaseException:
        for segment in buffers:
            segment.control.drop_in_flight(n)
        raise
