"""A shared buffer's control page (docs/wire-format.md, "Shared buffers"): its layout, and
the counts that keep a buffer out of a pool while anyone may read it, changed in one atomic
step each as nml's Rust side changes them (src/shm.rs)."""
import os
import struct

from . import _atomic, _mapping

NAME = "nml-shared-buffer"
DATA_AT = 4096
MAX_LEN = 1 << 46
MAGIC = int.from_bytes(b"nml.shm2", "big")

# The control block: magic, token, length (u64), references on their way, views open (u32),
# then 16 holder slots (u64: pid << 32 | views), all in this host's byte order.
MAGIC_AT, TOKEN_AT, LEN_AT, IN_FLIGHT_AT, VIEWS_AT, HOLDERS_AT, SLOTS = 0, 8, 16, 24, 28, 32, 16


def is_gone(pid: int) -> bool:
    """Whether process `pid` no longer exists, or is a zombie (exited, not yet reaped) of one
    thread: a zombie of more threads is a process whose first thread alone exited, and the
    others still read. Anything else that keeps /proc from saying (this process out of
    descriptors) counts as alive, as on nml's side."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat_line = f.read()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    fields = stat_line.rpartition(b") ")[2].split(b" ")
    return len(fields) > 17 and fields[0] == b"Z" and fields[17] == b"1"


class Control:
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
        if self.field(IN_FLIGHT_AT, 32) > 0:
            return True
        if self.field(VIEWS_AT, 32) == 0:
            return False
        self._release_gone_holders()
        return self.field(VIEWS_AT, 32) > 0

    def has_in_flight(self) -> bool:
        """Whether a reference sent is not yet opened."""
        return self.field(IN_FLIGHT_AT, 32) > 0

    def add_in_flight(self, n: int) -> None:
        _atomic.add32(self.address + IN_FLIGHT_AT, n)

    def drop_in_flight(self, n: int) -> None:
        _atomic.update32(self.address + IN_FLIGHT_AT, lambda v: max(v - n, 0))

    def open_view(self, token: int) -> bool:
        """Counts this process's view, if the buffer is still the one `token` names: the view
        is counted before the token is read, as nml's receiver does (a lender writes the token
        before it reads the count, so one of them sees the other)."""
        views = self.address + VIEWS_AT
        _atomic.add32(views, 1)
        if self.field(TOKEN_AT, 64) != token:
            _atomic.update32(views, lambda v: max(v - 1, 0))
            return False
        self.drop_in_flight(1)
        self._change_holder(os.getpid(), opened=True)
        return True

    def count_for_fork(self, parent: int) -> None:
        """Before a fork, in the parent: the view counted once more, under the parent's pid,
        for the child about to inherit it (counted in the child alone, a parent letting go at
        once could bring the count to 0 before the child ran)."""
        _atomic.add32(self.address + VIEWS_AT, 1)
        self._change_holder(parent, opened=True)

    def take_from_parent(self, parent: int) -> None:
        """In the child just forked: the count taken for it becomes its own."""
        self._change_holder(parent, opened=False)
        self._change_holder(os.getpid(), opened=True)

    def close_view(self) -> None:
        self._change_holder(os.getpid(), opened=False)
        _atomic.update32(self.address + VIEWS_AT, lambda v: max(v - 1, 0))

    def _slots(self):
        return [self.address + HOLDERS_AT + 8 * i for i in range(SLOTS)]

    def _change_holder(self, pid: int, opened: bool) -> None:
        """One view more (or fewer) in process `pid`'s slot, else (opening) in a free one."""
        def its(v):
            if v >> 32 == pid and v & 0xFFFFFFFF > 0:
                return v + 1 if opened else v - 1
            return None
        for slot in self._slots():
            if _atomic.update64(slot, its):
                return
        if opened:
            for slot in self._slots():
                if _atomic.update64(slot, lambda v: (pid << 32 | 1) if v & 0xFFFFFFFF == 0 else None):
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
            if views == 0 or pid == os.getpid() or not is_gone(pid):
                continue
            if _atomic.swap64(slot, v, 0):
                _atomic.update32(self.address + VIEWS_AT, lambda n: max(n - views, 0))

    def renew(self, token: int) -> bool:
        """For a lender: a new token, so a reference to the old contents no longer opens;
        False if someone may still read it."""
        if self.is_held():
            return False
        _atomic.store64(self.address + TOKEN_AT, token)
        return self.field(VIEWS_AT, 32) == 0


def _bytes_at(address: int, length: int) -> memoryview:
    return memoryview(_mapping.exporter(address, length)).cast("B")
