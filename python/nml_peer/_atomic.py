"""Atomic operations on shared memory, which Python has no words for: GCC's libatomic
(Debian's libatomic1, there wherever gcc is) called through ctypes. A shared buffer's control
page is changed by several processes at once (docs/wire-format.md, "Shared buffers"), so its
counts must change in one atomic step each, as nml's Rust side changes them."""
import ctypes
import ctypes.util

_SEQ_CST = 5  # __ATOMIC_SEQ_CST: every count of the control page is sequentially consistent


def _load_libatomic():
    for name in ("libatomic.so.1", ctypes.util.find_library("atomic")):
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise OSError("nml_peer's shared buffers need libatomic (Debian: apt install libatomic1)")


_lib = None


def _libatomic():
    """libatomic, loaded on first use: the rest of nml_peer works without it."""
    global _lib
    if _lib is None:
        lib = _load_libatomic()
        lib.__atomic_load_4.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.__atomic_load_4.restype = ctypes.c_uint32
        lib.__atomic_load_8.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.__atomic_load_8.restype = ctypes.c_uint64
        lib.__atomic_store_8.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int]
        lib.__atomic_store_8.restype = None
        lib.__atomic_fetch_add_4.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int]
        lib.__atomic_fetch_add_4.restype = ctypes.c_uint32
        for bits, kind in ((4, ctypes.c_uint32), (8, ctypes.c_uint64)):
            cas = getattr(lib, f"__atomic_compare_exchange_{bits}")
            cas.argtypes = [ctypes.c_void_p, ctypes.c_void_p, kind, ctypes.c_int, ctypes.c_int]
            cas.restype = ctypes.c_bool
        _lib = lib
    return _lib


def load32(address: int) -> int:
    return _libatomic().__atomic_load_4(address, _SEQ_CST)


def load64(address: int) -> int:
    return _libatomic().__atomic_load_8(address, _SEQ_CST)


def store64(address: int, value: int) -> None:
    _libatomic().__atomic_store_8(address, value, _SEQ_CST)


def add32(address: int, n: int) -> int:
    """Adds `n` (mod 2^32); the value before."""
    return _libatomic().__atomic_fetch_add_4(address, n & 0xFFFFFFFF, _SEQ_CST)


def swap32(address: int, expected: int, desired: int) -> bool:
    """Writes `desired` if the u32 at `address` is `expected`, in one step."""
    seen = ctypes.c_uint32(expected)
    return _libatomic().__atomic_compare_exchange_4(address, ctypes.byref(seen), desired,
                                                     _SEQ_CST, _SEQ_CST)


def swap64(address: int, expected: int, desired: int) -> bool:
    """Writes `desired` if the u64 at `address` is `expected`, in one step."""
    seen = ctypes.c_uint64(expected)
    return _libatomic().__atomic_compare_exchange_8(address, ctypes.byref(seen), desired,
                                                     _SEQ_CST, _SEQ_CST)


def _update(load, swap, address: int, change) -> bool:
    """Replaces the value at `address` by change(value) in one step, retrying when another
    process changed it meanwhile; False (and nothing written) when change gives None."""
    while True:
        value = load(address)
        new = change(value)
        if new is None:
            return False
        if swap(address, value, new):
            return True


def update32(address: int, change) -> bool:
    return _update(load32, swap32, address, change)


def update64(address: int, change) -> bool:
    return _update(load64, swap64, address, change)
