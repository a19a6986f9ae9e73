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
import struct
from typing import Any, NamedTuple, Optional

import msgpack

__all__ = [
    "Message", "wrap", "unwrap", "header", "parse", "frame", "Framer", "descriptor",
    "is_descriptor", "TAG", "MAX_FRAME", "stream_parts", "read_chunks", "StreamError",
]

TAG = 0xC1
"""The byte that starts the envelope: MessagePack never uses it and UTF-8 never contains it."""

MAX_FRAME = 64 * 1024 * 1024
"""nml's default limit for a frame."""

_IDS = {"MessagePack": 1, "JSON": 2, "string": 3}
_NAMES = {v: k for k, v in _IDS.items()}


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
    """The bytes that go before a payload: the topic (UTF-8), then the tag."""
    front = b""
    if topic:
        front = topic.encode("utf-8")
        if TAG in front:
            raise ValueError("a topic cannot contain the byte 0xC1")
    if protocol in _IDS:
        return front + bytes([TAG, _IDS[protocol]])
    name = protocol.encode("utf-8")
    if not 1 <= len(name) <= 255:
        raise ValueError("a protocol name takes 1 to 255 bytes")
    if not _printable(name):
        raise ValueError(f"protocol name {protocol!r} is not printable ASCII (0x21 to 0x7E)")
    return front + bytes([TAG, 0, len(name)]) + name


def _encode(value: Any, protocol: str) -> bytes:
    if protocol == "MessagePack":
        return msgpack.packb(value, use_bin_type=True)
    if protocol == "JSON":
        return json.dumps(value, separators=(",", ":")).encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"protocol {protocol!r} carries bytes; encode the value first")


def wrap(value: Any, protocol: str = "MessagePack", topic: Optional[str] = None) -> bytes:
    """The body of an nml message holding `value`, encoded by `protocol` ("MessagePack",
    "JSON", "string", or a registered name, whose payload must then be bytes)."""
    return header(protocol, topic) + _encode(value, protocol)


def parse(body: bytes, topics: bool = False):
    """The envelope of `body`: (protocol name or None, topic or None, where the payload
    starts). `topics`: the body came from a sub socket, where a topic may come first.
    Raises ValueError for a body that ends inside its envelope."""
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
    return name.decode("ascii"), topic or None, at + 3 + n


def unwrap(body: bytes, topics: bool = False) -> Message:
    """Decodes a message body as nml's recv does: the built-in protocols are decoded; any
    other tag gives the payload's bytes and the tag's name; no envelope gives the bytes and
    None."""
    protocol, topic, at = parse(body, topics)
    payload = body[at:]
    if protocol == "MessagePack":
        return Message(msgpack.unpackb(payload, raw=False), protocol, topic)
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


def descriptor(buffer: bytes, ud_type: str, **fields) -> dict:
    """A buffer descriptor as nml sends one: nml's receiver gets `buffer` as an nml message
    (a view into the received message) with the other fields beside it."""
    d = dict(fields)
    d.update(buffer=bytes(buffer), buffer_ud_type=ud_type, buffer_ud_size=len(buffer))
    return d


def is_descriptor(value: Any) -> bool:
    """True for a dict that nml reads as a buffer descriptor."""
    return isinstance(value, dict) and isinstance(value.get("buffer"), bytes) and "buffer_ud_type" in value


# --- streamed replies: start, chunks, then end or error (nml.send_chunks / nml.chunks) -------

class StreamError(Exception):
    """The sender of a streamed reply sent an error part (or the parts came out of step)."""


def stream_parts(chunks, stream_id: Any = 1, meta: Any = None):
    """The messages of a streamed reply, as nml.send_chunks sends them: a start, a chunk per
    item of `chunks`, then an end; if iterating `chunks` raises, an error part instead (and
    nothing is raised here). Send each one (wrap it first on an nml socket)."""
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


def read_chunks(messages):
    """The data of each chunk of one streamed reply, from an iterator of decoded messages;
    raises StreamError for an error part or parts out of step."""
    messages = iter(messages)
    start = next(messages)
    if not isinstance(start, dict) or start.get("part") != "start":
        raise StreamError(f"a stream begins with its start part, not {start!r:.60}")
    stream_id, count = start["stream"], 0
    for part in messages:
        if not isinstance(part, dict) or part.get("stream") != stream_id:
            raise StreamError(f"not a part of stream {stream_id!r}: {part!r:.60}")
        kind = part.get("part")
        if kind == "chunk" and part.get("seq") == count + 1:
            count += 1
            yield part.get("data")
        elif kind == "end" and part.get("count") == count:
            return
        elif kind == "error":
            raise StreamError(f"stream {stream_id!r} failed after {count} chunks: {part.get('error')}")
        else:
            raise StreamError(f"stream {stream_id!r} out of step at {part!r:.60}")
    raise StreamError(f"stream {stream_id!r} ended without its end part")

