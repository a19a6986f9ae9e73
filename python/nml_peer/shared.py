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
import builtins
import fcntl
import os
import stat
import struct
import weakref
from typing import Any, Optional

import msgpack

from . import _atomic, _mapping

__all__ = ["SharedBuffer", "SharedPool", "SharedView", "SharedBufferError", "open",
           "open_buffers", "peer_pid", "EXT_TYPE"]

EXT_TYPE = 78
"""The MessagePack ext type of a reference."""

MAX_PER_MESSAGE = 256
"""The most references `open_buffers` opens in one message, as nml's receiver."""

NAME = "nml-shared-buffer"
DATA_AT = 4096
MAX_LEN = 1 << 46
MAGIC = int.from_bytes(b"nml.shm2", "big")
_REFERENCE = struct.Struct(">IIQQ")  # pid, fd, token, length

# The control block: magic, token, length (u64), references on their way, views open (u32),
# then 16 holder slots (u64: pid << 32 | views), all in this host's byte order.
_TOKEN, _LEN, _IN_FLIGHT, _VIEWS, _HOLDERS, _SLOTS = 8, 16, 24, 28, 32, 16

_REFUSED = ("a shared buffer could not be opened: its sender freed it or exited, or the "
            "reference names no nml buffer of this user")


class SharedBufferError(Exception):
    """A reference that could not be opened; the message is the same whatever was wrong, so
    that a peer learns nothing of this host's processes and files."""


def _is_gone(pid: int) -> bool:
    """Whether process `pid` no longer exists (a zombie counts as gone: its mappings are)."""
    try:
        with builtins.open(f"/proc/{pid}/stat", "rb") as f:  # this module's open is nml's
            stat_line = f.read()
    except OSError:
        return True
    return stat_line.rpartition(b") ")[2][:1] == b"Z"


class _Control:
    """A buffer's control page, mapped read-write on its own, so that its counts can change
    for as long as someone holds it."""

    def __init__(self, fd: int):
        self.address = _mapping.map_shared(fd, DATA_AT, writable=True)

    def close(self) -> None:
        _mapping.unmap(self.address, DATA_AT)

    def field(self, offset: int, bits: int) -> int:
        load = _atomic.load64 if bits == 64 else _atomic.load32
        return load(self.address + offset)

    def write_header(self, token: int, length: int) -> None:
        struct.pack_into("=QQQII", _bytes_at(self.address, 32), 0, MAGIC, token, length, 0, 0)

    def is_held(self) -> bool:
        """Whether anyone may still read the buffer: a reference on its way, or a view open by
        a process that still exists."""
        if self.field(_IN_FLIGHT, 32) > 0:
            return True
        if self.field(_VIEWS, 32) == 0:
            return False
        self._release_gone_holders()
        return self.field(_VIEWS, 32) > 0

    def add_in_flight(self, n: int) -> None:
        _atomic.add32(self.address + _IN_FLIGHT, n)

    def drop_in_flight(self, n: int) -> None:
        _atomic.update32(self.address + _IN_FLIGHT, lambda v: max(v - n, 0))

    def open_view(self, token: int) -> bool:
        """Counts this process's view, if the buffer is still the one `token` names: the view
        is counted before the token is read, as nml's receiver does (a lender writes the token
        before it reads the count, so one of them sees the other)."""
        views = self.address + _VIEWS
        _atomic.add32(views, 1)
        if self.field(_TOKEN, 64) != token:
            _atomic.update32(views, lambda v: max(v - 1, 0))
            return False
        self.drop_in_flight(1)
        self._note_holder(opened=True)
        return True

    def close_view(self) -> None:
        self._note_holder(opened=False)
        _atomic.update32(self.address + _VIEWS, lambda v: max(v - 1, 0))

    def _slots(self):
        return [self.address + _HOLDERS + 8 * i for i in range(_SLOTS)]

    def _note_holder(self, opened: bool) -> None:
        """One view more (or fewer) in this process's slot, else (opening) in a free one."""
        me = os.getpid()

        def mine(v):
            if v >> 32 == me and v & 0xFFFFFFFF > 0:
                return v + 1 if opened else v - 1
            return None
        for slot in self._slots():
            if _atomic.update64(slot, mine):
                return
        if opened:
            for slot in self._slots():
                if _atomic.update64(slot, lambda v: (me << 32 | 1) if v & 0xFFFFFFFF == 0 else None):
                    return

    def holders(self) -> list:
        """(pid, views) of each process holding views now."""
        held = [(v >> 32, v & 0xFFFFFFFF) for v in map(lambda s: _atomic.load64(s), self._slots())]
        return [h for h in held if h[1] > 0]

    def _release_gone_holders(self) -> None:
        """Gives back the views of holders that no longer exist (killed while reading)."""
        for slot in self._slots():
            v = _atomic.load64(slot)
            pid, views = v >> 32, v & 0xFFFFFFFF
            if views == 0 or pid == os.getpid() or not _is_gone(pid):
                continue
            if _atomic.swap64(slot, v, 0):
                _atomic.update32(self.address + _VIEWS, lambda n: max(n - views, 0))

    def renew(self, token: int) -> bool:
        """For a lender: a new token, so a reference to the old contents no longer opens;
        False if someone may still read it."""
        if self.is_held():
            return False
        _atomic.store64(self.address + _TOKEN, token)
        return self.field(_VIEWS, 32) == 0


def _bytes_at(address: int, length: int) -> memoryview:
    return memoryview(_mapping.exporter(address, length)).cast("B")


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

def _close_view(control: _Control, address: Optional[int], length: int) -> None:
    """A view's end, once nothing reads it: unmapped first, then its hold given back."""
    if address is not None:
        _mapping.unmap(address, length)
    control.close_view()
    control.close()


class SharedView:
    """A read-only view of a shared buffer another process made: its memory, mapped here.

    `data` is a memoryview, `array(dtype, shape)` a numpy array, neither a copy. The sender's
    buffer stays held (a pool does not lend it again) until the view is released (`release`,
    or the end of a `with` block) and every memoryview and array taken from it is collected;
    one left to the collector gives its hold back when it is collected."""

    def __init__(self, control: _Control, address: Optional[int], length: int):
        self._exporter = _mapping.exporter(address or 0, length)
        self._length = length
        weakref.finalize(self._exporter, _close_view, control, address, length)

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
        if not _is_sealed(fd):
            raise SharedBufferError(_REFUSED)
        control = _Control(fd)
    except OSError:
        raise SharedBufferError(_REFUSED) from None
    address = None
    try:
        if control.field(0, 64) != MAGIC or control.field(_LEN, 64) != length:
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
    nml's receiver does; references anywhere else stay what they are. At most 256 in one
    message. On any failure the views opened so far are released and SharedBufferError
    raised."""
    opened = []
    pending = [value]
    try:
        while pending:  # iterative: a value may be nested as deep as msgpack allows
            item = pending.pop()
            if isinstance(item, list):
                pending.extend(reversed(item))  # in the order sent
            elif isinstance(item, dict):
                if "buffer_ud_type" in item and _is_reference(item.get("buffer")):
                    if len(opened) == MAX_PER_MESSAGE:
                        raise SharedBufferError(f"more than {MAX_PER_MESSAGE} shared buffers in one message")
                    item["buffer"] = open(item["buffer"], sender)
                    opened.append(item["buffer"])
                pending.extend(reversed(item.values()))
    except BaseException:
        for view in opened:
            view.release()
        raise
    return value


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

def _close_buffer(control: _Control, address: int, total: int, fd: int) -> None:
    _mapping.unmap(address, total)
    control.close()
    os.close(fd)


class SharedBuffer:
    """A shared buffer made here, that nml (and nml_peer) can open: `data` is a writable
    memoryview, `array(dtype, shape)` a numpy array over it. Put it in a descriptor
    (`nml_peer.descriptor(buf, "rgb24", ...)`) and send that to an nml socket with
    `share = true`, over ipc. It must stay open until its receivers have opened it (a receiver
    then keeps its view even after `close`); a SharedPool's buffers may be given back right
    after sending."""

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
        self._fd, self._size, self._token = fd, size, _random_token()
        self._control = _Control(fd)
        self._control.write_header(self._token, size)
        self._exporter = _mapping.exporter(address + DATA_AT, size) if size else _mapping.exporter(0, 0)
        self._finalizer = weakref.finalize(self._exporter, _close_buffer, self._control, address,
                                           DATA_AT + size, fd)
        self._pool = None

    @property
    def data(self) -> memoryview:
        if self._exporter is None:
            raise ValueError("this buffer was closed")
        return memoryview(self._exporter).cast("B")

    def array(self, dtype="uint8", shape=None):
        """The data as a writable numpy array of `dtype`, reshaped to `shape`, without a copy."""
        return _as_array(self.data, dtype, shape)

    def __len__(self) -> int:
        return self._size

    def ref(self, receivers: int = 1) -> msgpack.ExtType:
        """The reference to send (ext 78), counting `receivers` references on their way: one
        per process that will receive the message (a pub socket's subscribers). If the send
        fails, `unsend(receivers)` takes them back."""
        if self._exporter is None:
            raise ValueError("this buffer was closed")
        self._control.add_in_flight(receivers)
        return msgpack.ExtType(EXT_TYPE, _REFERENCE.pack(os.getpid(), self._fd, self._token, self._size))

    def unsend(self, receivers: int = 1) -> None:
        """Takes back references counted by `ref` that were not sent after all."""
        self._control.drop_in_flight(receivers)

    def is_held(self) -> bool:
        """Whether a reference is on its way or a receiver (still alive) has a view open."""
        return self._control.is_held()

    def holders(self) -> list:
        """(pid, views) of each process holding views now."""
        return self._control.holders()

    def close(self) -> None:
        """Done with it here: a pool's buffer goes back to its pool (lent again once no one
        holds it); any other is unmapped and its descriptor closed once the last memoryview or
        array taken from it is collected. Receivers keep views they opened."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool._give_back(self)
            return
        self._exporter = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _renew(self) -> bool:
        token = _random_token()
        if not self._control.renew(token):
            return False
        self._token = token
        return True


class SharedPool:
    """`count` shared buffers of `size` bytes, made now, lent again only once no one holds
    them: `take()` gives one no reference and no view holds (None while each is held), and its
    `close` (or the end of a `with` block) gives it back, which may follow its send at once."""

    def __init__(self, size: int, count: int):
        if count < 1:
            raise ValueError("a pool holds at least one buffer")
        self._free = [SharedBuffer(size) for _ in range(count)]

    def take(self) -> Optional[SharedBuffer]:
        for i, buf in enumerate(self._free):
            if buf._renew():
                buf._pool = self
                return self._free.pop(i)
        return None

    def available(self) -> int:
        """How many `take` could lend now."""
        return sum(1 for buf in self._free if not buf.is_held())

    def holders(self) -> list:
        """(pid, views) of the processes holding this pool's buffers now."""
        return [h for buf in self._free for h in buf.holders()]

    def _give_back(self, buf: SharedBuffer) -> None:
        self._free.append(buf)
