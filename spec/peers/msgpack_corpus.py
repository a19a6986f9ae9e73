"""The cross-check corpus, written independently of nml with Python's msgpack package.

    msgpack_corpus.py pack  FILE NAME...   packs the named values one after another into FILE
    msgpack_corpus.py check FILE NAME...   decodes FILE and compares each object with its value

`--loose-numbers` (for Lua 5.1, 5.2 and LuaJIT, whose integral doubles pack as integers)
accepts an int where an integral float is expected. spec/interop_spec.lua defines the same
names with the same values in Lua.
"""
import math
import sys

import msgpack

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

CORPUS = {
    "nil": None,
    "true": True,
    "false": False,
    "int_0": 0, "int_127": 127, "int_128": 128, "int_255": 255, "int_256": 256,
    "int_65535": 65535, "int_65536": 65536, "int_2p32m1": 2**32 - 1, "int_2p32": 2**32,
    "int_2p53": 2**53, "int_m1": -1, "int_m32": -32, "int_m33": -33, "int_m128": -128,
    "int_m129": -129, "int_m32768": -32768, "int_m32769": -32769, "int_m2p31": -(2**31),
    "int_m2p31m1": -(2**31) - 1, "int_m2p53": -(2**53),
    "int64_max": INT64_MAX, "int64_min": INT64_MIN,
    "uint64_max": 2**64 - 1,
    "float_1_5": 1.5, "float_m0_25": -0.25, "float_0_1": 0.1, "float_pi": math.pi,
    "float_1e300": 1e300, "float_m1em300": -1e-300, "float_inf": math.inf, "float_minf": -math.inf,
    "str_empty": "", "str_ascii": "ascii", "str_unicode": "héllo wörld 日本語 🎉",
    "str_1000": "x" * 1000, "str_70000": "y" * 70000,
    "bin": b"\x00\x01\xfe\xff",
    "bin_300": bytes(range(256)) + bytes(44),
    "array_empty": [], "map_empty": {},
    "array_nil": [1, None, 3], "map_nil": {"a": None, "b": 2},
    "map_int_keys": {1: "a", 10: "b"},
    "array_1000": list(range(1000)),
    "map_100": {f"k{i}": i for i in range(100)},
    "map_70000": {f"k{i}": i for i in range(70000)},
    "request": {
        "id": 12345, "command": "predict",
        "args": {"signature": "question -> answer", "inputs": {"question": "What is DSPy?"}},
        "timestamp": "2024-01-15T10:30:00Z",
    },
    "records": [
        {"id": i, "name": f"user{i}", "score": i * 1.5, "tags": ["a", "b"], "active": i % 2 == 0}
        for i in range(1, 101)
    ],
    "nested": [[[[{"deep": [1, [2, [3, {"x": []}]]]}]]]],
    "ext_5": msgpack.ExtType(5, b"abc"),
    "ext_99_16": msgpack.ExtType(99, b"0123456789abcdef"),
}


def same(expected, actual, loose, path="value"):
    """Strict equality: int, float, str and bytes are not interchangeable."""
    if loose and isinstance(expected, float) and expected.is_integer() and abs(expected) <= 2**53 \
            and type(actual) is int:
        return None if actual == expected else f"{path}: {expected!r} != {actual!r}"
    if type(expected) is not type(actual):
        return f"{path}: expected {type(expected).__name__} {expected!r:.60}, got {type(actual).__name__} {actual!r:.60}"
    if isinstance(expected, dict):
        if expected.keys() != actual.keys():
            return f"{path}: keys differ"
        for k in expected:
            why = same(expected[k], actual[k], loose, f"{path}[{k!r}]")
            if why:
                return why
        return None
    if isinstance(expected, (list, tuple)):
        if len(expected) != len(actual):
            return f"{path}: length {len(expected)} != {len(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            why = same(e, a, loose, f"{path}[{i}]")
            if why:
                return why
        return None
    return None if expected == actual else f"{path}: {expected!r:.60} != {actual!r:.60}"


def main(argv):
    loose = "--loose-numbers" in argv
    args = [a for a in argv if a != "--loose-numbers"]
    mode, path, names = args[0], args[1], args[2:]
    if mode == "pack":
        with open(path, "wb") as f:
            for name in names:
                f.write(msgpack.packb(CORPUS[name], use_bin_type=True))
        print(f"packed {len(names)} values")
        return 0
    with open(path, "rb") as f:
        unpacker = msgpack.Unpacker(f, raw=False, strict_map_key=False, max_buffer_size=0)
        decoded = list(unpacker)
    if len(decoded) != len(names):
        print(f"expected {len(names)} objects, decoded {len(decoded)}")
        return 1
    failures = [f"{n}: {why}" for n, v in zip(names, decoded) if (why := same(CORPUS[n], v, loose))]
    for f in failures:
        print("MISMATCH", f)
    print(f"checked {len(names)} values, {len(failures)} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
