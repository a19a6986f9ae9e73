"""nml's wire format for Python peers: the envelope that tags each message with its protocol
(and topic), the 4-byte frames of byte streams, and buffer descriptors as dicts of bytes.

Depends only on msgpack. Works with any transport: pynng sockets, plain sockets, pipes.
The format is docs/wire-format.md in the nml repository.

    >>> import nml_peer
    >>> body = nml_peer.wrap({"op": "add", "args": [2, 3]})        # tagged MessagePack
    >>> nml_peer.unwrap(body)
    Message(value={'op': 'add', 'args': [2, 3]}, protocol='MessagePack', topic=None)
"""
import json
import reprlib
import struct
from typing import Any, NamedTuple, Optional

import msgpack

from . import shared

__all__ = [
    "Message", "wrap", "unwrap", "header", "parse", "frame", "Framer", "descriptor",
    "is_descriptor", "TAG", "MAX_FRAME", "stream_parts", "read_chunks", "StreamError", "canonical",
    "shared",
]

TAG = 0xC1
"""The byte that starts the envelope: MessagePack never uses it and UTF-8 never contains it."""

MAX_FRAME = 64 * 1024 * 1024
"""nml's default limit for a frame."""

_IDS = {"MessagePack": 1, "JSON": 2, "string": 3}
_NAMES = {v: k for k, v in _IDS.items()}
_BUILTIN = {
    "messagepack": "MessagePack", "msgpack": "MessagePack", "mpack": "MessagePack",
    "json": "JSON", "dkjson": "JSON",
    "string": "string", "raw": "string", "bytes": "string", "binary": "string", "text": "string",
}


def _normalize(name: str) -> str:
    """nml's key for a name: lower case, ASCII letters and digits only, no leading "lua"."""
    folded = "".join(c.lower() for c in name if c.isascii() and c.isalnum())
    if folded.startswith("lua") and len(folded) > 3:
        folded = folded[3:]
    return folded


def canonical(name: str) -> str:
    """The built-in protocol `name` means, matched as nml matches names (case and punctuation
    do not count, nor a leading "lua", nor the "c" of C bindings: "lua-cjson" is "JSON"), or
    `name` itself when it means none."""
    key = _normalize(name)
    found = _BUILTIN.get(key)
    if found is None and key.startswith("c"):
        found = _BUILTIN.get(key[1:])
    return found or name


# MessagePack as nml writes it: map keys of any type (integers for {1, 2, nil, 4}, floats,
# booleans), and str that is not UTF-8 (a Lua string holds any bytes), read as surrogate
# escapes, which pack back to the same bytes.
_UNPACK = {"raw": False, "strict_map_key": False, "unicode_errors": "surrogateescape"}


def _hashable(key: Any) -> Any:
    """A map key Python can hold: a list as a tuple, a dict as a tuple of (key, value) pairs."""
    if isinstance(key, list):
        return tuple(_hashable(k) for k in key)
    if isinstance(key, dict):
        return tuple((_hashable(k), _hashable(v)) for k, v in key.items())
    return key


def _unpack(payload: bytes) -> Any:
    try:
        return msgpack.unpackb(payload, **_UNPACK)
    except TypeError:  # a table as a map key (unhashable in Python): read again, converting
        return msgpack.unpackb(payload, object_pairs_hook=lambda pairs: {_hashable(k): v for k, v in pairs},
                               **_UNPACK)


def _printable(name: bytes) -> bool:
    """Whether `name` is made of the bytes a protocol name may hold: printable ASCII without
    the space, 0x21 to 0x7E."""
    return all(0x21 <= b <= 0x7E for b in name)


class Message(NamedTuple):
    """A decoded message: the value, the protocol's name (None without an envelope) and the
    topic (None when there is none)."""
    value: Any
    protocol: Optional[str]
    topic: Optional[str]


def header(protocol: str = "MessagePack", topic: Optional[str] = None) -> bytes:
    """The bytes that go before a payload: the topic (UTF-8), then the tag. A name that means
    a built-in protocol (as `canonical` matches it) gives its one-byte id."""
    front = b""
    if topic:
        front = topic.encode("utf-8")
        if TAG in front:
            raise ValueError("a topic cannot contain the byte 0xC1")
    protocol = canonical(protocol)
    if protocol in _IDS:
        return front + bytes([TAG, _IDS[protocol]])
    name = protocol.encode("utf-8")
    if not 1 <= len(name) <= 255:
        raise ValueError("a protocol name takes 1 to 255 bytes")
    if not _printable(name):
        raise ValueError(f"protocol name {protocol!r} is not printable ASCII (0x21 to 0x7E)")
    return front + bytes([TAG, 0, len(name)]) + name


def _not_packable(obj: Any):
    if isinstance(obj, shared.SharedBuffer):
        raise TypeError("a SharedBuffer is sent with nml_peer.shared.send(sock, value), which "
                        "counts its receivers")
    raise TypeError(f"cannot serialize {type(obj).__name__!r}")


def _encode(value: Any, protocol: str) -> bytes:
    protocol = canonical(protocol)
    if protocol == "MessagePack":
        return msgpack.packb(value, use_bin_type=True, unicode_errors="surrogateescape",
                             default=_not_packable)
    if protocol == "JSON":
        return json.dumps(value, separators=(",", ":")).encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"protocol {protocol!r} carries bytes; encode the value first")


def wrap(value: Any, protocol: str = "MessagePack", topic: Optional[str] = None) -> bytes:
    """The body of an nml message holding `value`, encoded by `protocol` ("MessagePack",
    "JSON", "string", any name nml takes for them, or a registered name, whose payload must
    then be bytes)."""
    return header(protocol, topic) + _encode(value, protocol)


def parse(body: bytes, topics: bool = False):
    """The envelope of `body`: (protocol name or None, topic or None, where the payload
    starts). `topics`: the body came from a sub socket, where a topic may come first. A name
    that means a built-in protocol as nml matches names ("json", "lua-cjson") gives the
    protocol's own name ("JSON"), as nml's recv does. Raises ValueError for a body that ends
    inside its envelope or names a protocol with 0 bytes or bytes that are not printable."""
    if topics:
        at = body.find(bytes([TAG]))
        if at < 0:
            return None, None, 0
        try:
            topic = body[:at].decode("utf-8")
        except UnicodeDecodeError:
            return None, None, 0
    elif body[:1] == bytes([TAG]):
        at, topic = 0, ""
    else:
        return None, None, 0
    if len(body) < at + 2:
        raise ValueError(f"the envelope ends after its 0xC1 tag byte (byte {at})")
    ident = body[at + 1]
    if ident != 0:
        return _NAMES.get(ident, f"#{ident}"), topic or None, at + 2
    if len(body) < at + 3:
        raise ValueError("the envelope names a protocol but has no name length")
    n = body[at + 2]
    name = body[at + 3:at + 3 + n]
    if len(name) < n:
        raise ValueError(f"the envelope's protocol name claims {n} bytes but only {len(name)} are left")
    if n == 0:
        raise ValueError("the envelope names a protocol of 0 bytes (names take 1 to 255)")
    if not _printable(name):
        raise ValueError(f"the envelope's protocol name {bytes(name)!r} is not printable ASCII (0x21 to 0x7E)")
    return canonical(name.decode("ascii")), topic or None, at + 3 + n


def unwrap(body: bytes, topics: bool = False) -> Message:
    """Decodes a message body as nml's recv does: the built-in protocols and "nml.error" (the
    error replies of nml.serve, a message as a str) are decoded; any other tag gives the
    payload's bytes and the tag's name; no envelope gives the bytes and
    None. MessagePack maps may have keys of any type, as nml's do: a key that is an array or
    a map comes as a tuple (of (key, value) pairs for a map); a str that is not UTF-8 comes
    with surrogate escapes (errors="surrogateescape"), which `wrap` packs back as they were
    (nml sends such strings as bin by default, strings = "auto", which come as bytes).
    Note that Python's dicts hold True, 1 and 1.0 as one key, where Lua's tables hold three."""
    protocol, topic, at = parse(body, topics)
    payload = body[at:]
    if protocol in ("MessagePack", "nml.error"):  # nml.error: nml.serve's error replies
        return Message(_unpack(payload), protocol, topic)
    if protocol == "JSON":
        return Message(json.loads(payload), protocol, topic)
    return Message(bytes(payload), protocol, topic)


def frame(payload: bytes) -> bytes:
    """`payload` with its length in front (4 bytes, big-endian), as nml.frame makes it."""
    if len(payload) > 0xFFFFFFFF:
        raise ValueError("a frame holds at most 2^32 - 1 bytes")
    return struct.pack(">I", len(payload)) + payload


class Framer:
    """Splits a byte stream into the payloads of its frames, fed in any pieces."""

    def __init__(self, max_size: int = MAX_FRAME):
        self.max_size = max_size
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list:
        """Takes a piece of the stream; returns the payloads it completed. A frame longer than
        max_size raises ValueError before it is read (the stream has then lost its framing)."""
        self._buffer += data
        out = []
        while len(self._buffer) >= 4:
            (length,) = struct.unpack(">I", self._buffer[:4])
            if length > self.max_size:
                raise ValueError(f"a frame of {length} bytes is larger than max_size ({self.max_size})")
            if len(self._buffer) < 4 + length:
                break
            out.append(bytes(self._buffer[4:4 + length]))
            del self._buffer[:4 + length]
        return out

    def pending(self) -> int:
        """Bytes held for a frame not yet complete."""
        return len(self._buffer)


def descriptor(buffer: Any, ud_type: str, **fields) -> dict:
    """A buffer descriptor as nml sends one: nml's receiver gets `buffer` as an nml message
    (a view into the received message) with the other fields beside it. A
    `shared.SharedBuffer` stays itself: `shared.send` sends it as its reference, which a
    receiving nml socket with `share = true` maps instead of copying."""
    d = dict(fields)
    if isinstance(buffer, shared.SharedBuffer):
        d.update(buffer=buffer, buffer_ud_type=ud_type, buffer_ud_size=len(buffer))
        return d
    d.update(buffer=bytes(buffer), buffer_ud_type=ud_type, buffer_ud_size=len(buffer))
    return d


def is_descriptor(value: Any) -> bool:
    """True for a dict that nml reads as a buffer descriptor (its buffer bytes, a shared
    buffer's reference, or a view `shared.open_buffers` opened)."""
    buffer = value.get("buffer") if isinstance(value, dict) else None
    kinds = (bytes, msgpack.ExtType, shared.SharedView, shared.SharedBuffer)
    return isinstance(buffer, kinds) and "buffer_ud_type" in value


# --- streamed replies: start, chunks, then end or error (nml.send_chunks / nml.chunks) -------

class StreamError(Exception):
    """The sender of a streamed reply sent an error part (or the parts came out of step)."""


def stream_parts(chunks, stream_id: Any = 1, meta: Any = None):
    """The messages of a streamed reply, as nml.send_chunks sends them: a start, a chunk per
    item of `chunks`, then an end; if iterating `chunks` raises, an error part instead (and
    nothing is raised here). Send each one (wrap it first on an nml socket). `stream_id` is a
    string (str or bytes) or an integer of the int64 range (ids compare by value); anything else
    raises TypeError here."""
    if not _is_stream_id(stream_id):
        raise TypeError(f"stream_id must be a string or an int64 integer, not {_show(stream_id)}")
    return _stream_parts(chunks, stream_id, meta)


def _stream_parts(chunks, stream_id, meta):
    start = {"stream": stream_id, "part": "start"}
    if meta is not None:
        start["meta"] = meta
    yield start
    count = 0
    try:
        for data in chunks:
            count += 1
            yield {"stream": stream_id, "part": "chunk", "seq": count, "data": data}
    except Exception as e:  # the consumer learns of it from the error part
        yield {"stream": stream_id, "part": "error", "error": f"{type(e).__name__}: {e}", "count": count}
        return
    yield {"stream": stream_id, "part": "end", "count": count}


_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxstring, _SHOW.maxother = 3, 40, 40


def _show(value: Any) -> str:
    """A short repr of a received value, however deep it is nested."""
    try:
        return _SHOW.repr(value)
    except Exception:  # a repr that fails: the type at least
        return f"<{type(value).__name__}>"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _id_key(value: Any):
    """What a stream id is compared by, as nml.chunks in Lua compares it: a string's bytes (a str
    and a bytes with the same bytes are the same id: MessagePack's str and bin both decode to
    Lua strings), or an integer of the int64 range (Lua's integers; not booleans, not floats).
    None for anything else."""
    if isinstance(value, str):
        return ("s", value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bytes):
        return ("s", value)
    if _is_int(value) and -2**63 <= value < 2**63:
        return ("i", value)
    return None


def _is_stream_id(value: Any) -> bool:
    """Stream ids compare by value: strings (str or bytes) and integers of the int64 range."""
    return _id_key(value) is not None


def _same_id(value: Any, stream_id: Any) -> bool:
    key = _id_key(value)
    return key is not None and key == _id_key(stream_id)


def _next_part(part: Any, stream_id: Any, count: int):
    """What `part` does to the stream (("chunk", data) or ("end", None)); raises StreamError
    for an error part or a part out of step."""
    if not isinstance(part, dict) or not _same_id(part.get("stream"), stream_id):
        raise StreamError(f"not a part of stream {stream_id!r}: {_show(part)}")
    kind, seq = part.get("part"), part.get("seq")
    if kind == "chunk" and _is_int(seq) and seq == count + 1:
        return "chunk", part.get("data")
    if kind == "end" and _is_int(part.get("count")) and part["count"] == count:
        return "end", None
    if kind == "error":
        raise StreamError(f"stream {stream_id!r} failed after {count} chunks: {part.get('error')}")
    raise StreamError(f"stream {stream_id!r} out of step at {_show(part)}")


def read_chunks(messages):
    """The data of each chunk of one streamed reply, from an iterator of decoded messages.
    Raises StreamError for an error part, parts out of step or anything else that is not a
    well-formed stream (with what failed as its __cause__); what iterating `messages` raises
    goes through as it is."""
    messages = iter(messages)
    try:
        start = next(messages)
    except StopIteration as e:
        raise StreamError("the messages ended before the stream's start part") from e
    if not isinstance(start, dict) or start.get("part") != "start":
        raise StreamError(f"a stream begins with its start part, not {_show(start)}")
    stream_id, count = start.get("stream"), 0
    if not _is_stream_id(stream_id):
        raise StreamError(f"a stream id is a string or an integer, not {_show(stream_id)}")
    while True:
        try:
            part = next(messages)
        except StopIteration as e:
            raise StreamError(f"stream {stream_id!r} ended without its end part") from e
        try:
            kind, data = _next_part(part, stream_id, count)
        except StreamError:
            raise
        except Exception as e:  # whatever else a malformed part makes fail
            raise StreamError(f"stream {stream_id!r}: a malformed part {_show(part)}") from e
        if kind == "end":
            return
        count += 1
        yield data
