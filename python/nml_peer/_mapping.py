"""Memory mappings through libc, which Python's mmap module cannot make as nml needs them: its
mmap keeps a duplicate of the descriptor for each mapping (two per view of a shared buffer,
and a peer's messages would then spend this process's descriptors), and cannot be unmapped
while anything still reads it without raising. Here a mapping is an address, and what reads it
is a ctypes array over it, which every memoryview and numpy array taken from it keeps alive:
the mapping goes when the last of them is collected (`weakref.finalize`), never before."""
import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                       ctypes.c_long]
_libc.mmap.restype = ctypes.c_void_p
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.munmap.restype = ctypes.c_int

_MAP_FAILED = ctypes.c_void_p(-1).value
PROT_READ, PROT_WRITE, MAP_SHARED = 1, 2, 1


def map_shared(fd: int, length: int, writable: bool, offset: int = 0) -> int:
    """The address of a new shared mapping of `length` bytes of `fd` from `offset`."""
    prot = PROT_READ | (PROT_WRITE if writable else 0)
    address = _libc.mmap(None, length, prot, MAP_SHARED, fd, offset)
    if address is None or address == _MAP_FAILED:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return address


def unmap(address: int, length: int) -> None:
    _libc.munmap(address, length)


def exporter(address: int, length: int):
    """A ctypes array over `length` bytes at `address`, for memoryviews and numpy arrays to
    read through (and keep alive)."""
    if length == 0:
        return (ctypes.c_char * 0)()
    return (ctypes.c_char * length).from_address(address)
