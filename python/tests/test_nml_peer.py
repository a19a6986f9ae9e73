"""nml_peer on its own, and against nml itself (tests/nml_echo.lua, run with the interpreter
and nml.so of NML_LUA and NML_CPATH)."""
import os
import subprocess

import msgpack
import pytest

import nml_peer

HERE = os.path.dirname(__file__)


def test_wrap_and_unwrap_every_builtin_protocol():
    cases = [({"a": [1, 2.5, None]}, "MessagePack"), ({"b": True}, "JSON"), (b"raw", "string")]
    for value, protocol in cases:
        assert nml_peer.unwrap(nml_peer.wrap(value, protocol)) == (value, protocol, None)
    assert nml_peer.wrap({}, "MessagePack")[:2] == b"\xc1\x01"


def test_topics_and_custom_names():
    body = nml_peer.wrap(b"x=1", "kv", topic="weather.lyon")
    assert body == b"weather.lyon\xc1\x00\x02kvx=1"
    assert nml_peer.unwrap(body, topics=True) == (b"x=1", "kv", "weather.lyon")
    assert nml_peer.parse(b"\xc1\x07tail") == ("#7", None, 2)
    assert nml_peer.unwrap(b"bare bytes") == (b"bare bytes", None, None)
    with pytest.raises(ValueError):
        nml_peer.header("x" * 256)


def test_broken_envelopes_raise():
    for body in [b"\xc1", b"\xc1\x00", b"\xc1\x00\x05ab"]:
        with pytest.raises(ValueError):
            nml_peer.parse(body)


def test_frames_in_any_pieces_and_the_size_limit():
    stream = nml_peer.frame(b"one") + nml_peer.frame(b"") + nml_peer.frame(b"three")
    framer, out = nml_peer.Framer(), []
    for i in range(len(stream)):
        out += framer.feed(stream[i:i + 1])
    assert out == [b"one", b"", b"three"] and framer.pending() == 0
    with pytest.raises(ValueError):
        nml_peer.Framer(max_size=10).feed(b"\x00\x00\x01\x00")


def test_descriptors():
    d = nml_peer.descriptor(b"\x00\x01", "gray8", width=2)
    assert d == {"buffer": b"\x00\x01", "buffer_ud_type": "gray8", "buffer_ud_size": 2, "width": 2}
    assert nml_peer.is_descriptor(d) and not nml_peer.is_descriptor({"buffer": b"x"})


@pytest.fixture
def nml_echo():
    lua = os.environ.get("NML_LUA")
    cpath = os.environ.get("NML_CPATH")
    if not lua or not cpath:
        pytest.skip("NML_LUA and NML_CPATH name the interpreter and nml.so (make test sets them)")
    env = dict(os.environ, LUA_CPATH=cpath + ";;")
    proc = subprocess.Popen([lua, os.path.join(HERE, "nml_echo.lua")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env)
    yield proc
    proc.kill()
    proc.wait()


def read_messages(proc, n):
    framer, out = nml_peer.Framer(), []
    while len(out) < n:
        chunk = proc.stdout.read1(65536)
        assert chunk, "nml ended early"
        out += [nml_peer.unwrap(body, topics=True) for body in framer.feed(chunk)]
    return out


def test_nml_reads_what_python_writes_and_python_reads_what_nml_writes(nml_echo):
    sent = [
        (nml_peer.wrap({"n": 1, "list": [1, 2]}), {"n": 1, "list": [1, 2]}, "MessagePack", False),
        (nml_peer.wrap({"ok": True}, "JSON", topic="news"), {"ok": True}, "JSON", "news"),
        (nml_peer.wrap("text", "string"), "text", "string", False),
        (nml_peer.wrap(nml_peer.descriptor(b"\x09\x08", "raw")), None, "MessagePack", False),
    ]
    for body, _, _, _ in sent:
        nml_echo.stdin.write(nml_peer.frame(body))
    nml_echo.stdin.flush()
    replies = read_messages(nml_echo, len(sent))
    for (_, value, protocol, topic), reply in zip(sent, replies):
        assert reply.protocol == "MessagePack"
        assert reply.value["protocol"] == protocol and reply.value["topic"] == topic
        if value is not None:
            assert reply.value["echo"] == value
    # The descriptor reached nml as a buffer (an nml message), and came back as one.
    assert replies[3].value["echo"]["buffer"] == b"\x09\x08"
    assert replies[3].value["echo"]["buffer_ud_type"] == "raw"

    nml_echo.stdin.write(nml_peer.frame(nml_peer.wrap("done", "string")))
    nml_echo.stdin.flush()
    own = read_messages(nml_echo, 4)
    assert nml_peer.is_descriptor(own[0].value["frame"])
    assert own[0].value["frame"]["buffer"] == b"\x01\x02\x03\x04\x05"
    assert own[1] == ({"ok": True, "list": [1, 2, 3]}, "JSON", "news.lua")
    assert own[2] == (b"plain text", "string", None)
    assert own[3] == (b"key=value", "kv", None)


def test_streamed_replies_round_trip_and_carry_errors():
    parts = list(nml_peer.stream_parts(["a", "b"], "r", meta={"n": 2}))
    assert [p["part"] for p in parts] == ["start", "chunk", "chunk", "end"]
    assert parts[0]["meta"] == {"n": 2} and parts[-1]["count"] == 2
    assert list(nml_peer.read_chunks(iter(parts))) == ["a", "b"]

    def failing():
        yield 1
        raise ValueError("boom")

    failed = list(nml_peer.stream_parts(failing(), 7))
    assert failed[-1] == {"stream": 7, "part": "error", "error": "ValueError: boom", "count": 1}
    got = []
    with pytest.raises(nml_peer.StreamError, match="failed after 1 chunks: ValueError: boom"):
        for data in nml_peer.read_chunks(iter(failed)):
            got.append(data)
    assert got == [1]
    with pytest.raises(nml_peer.StreamError, match="out of step"):
        list(nml_peer.read_chunks(iter([parts[0], parts[2]])))


def test_protocol_names_are_printable_ascii_of_1_to_255_bytes():
    for name in ["\x1b]0;OWNED\x07\x1b[2J", "two words", "caf\u00e9", "\u009bx", "tab\t", "x" * 256]:
        with pytest.raises(ValueError):
            nml_peer.header(name)
    assert nml_peer.header("a~!") == b"\xc1\x00\x03a~!"
    for body in [b"\xc1\x00\x00payload", b"\xc1\x00\x05\x1b[2Jpayload", b"\xc1\x00\x03k\xc1vpayload",
                 b"\xc1\x00\x03a bpayload", b"\xc1\x00\x02\xc2\x9bpayload"]:
        with pytest.raises(ValueError, match="protocol"):
            nml_peer.parse(body)
    with pytest.raises(ValueError):
        nml_peer.parse(b"topic\xc1\x00\x00payload", topics=True)


def test_tables_with_keys_other_than_strings():
    # What nml packs for {1, 2, nil, 4}, {[10] = "x"}, float and boolean keys.
    for value in [{1: 1, 2: 2, 4: 4}, {10: "x"}, {1.5: "f", True: "t", -3: "n"}]:
        body = b"\xc1\x01" + msgpack.packb(value, use_bin_type=True)
        assert nml_peer.unwrap(body) == (value, "MessagePack", None)
    # A table as a key: a tuple for an array, a tuple of (key, value) pairs for a map.
    body = b"\xc1\x01" + msgpack.packb({(1, 2): "list key"}, use_bin_type=True)
    assert nml_peer.unwrap(body).value == {(1, 2): "list key"}
    # A str that is not UTF-8 (as nml sends with strings = "str"): surrogate escapes, and back.
    body = b"\xc1\x01\x81\xa5bytes\xa2\xff\xfe"
    assert nml_peer.unwrap(body).value == {"bytes": "\udcff\udcfe"}
    assert nml_peer.wrap(nml_peer.unwrap(body).value) == body


def test_protocol_names_match_loosely_as_in_nml():
    for name in ["json", "lua-cjson", "dkjson", "JSON"]:
        body = nml_peer.header(name) + b'{"a":1}'
        assert body[:2] == b"\xc1\x02"
        assert nml_peer.unwrap(b"\xc1\x00" + bytes([len(name)]) + name.encode() + b'{"a":1}') == (
            {"a": 1}, "JSON", None)
    assert nml_peer.unwrap(b"\xc1\x00\x07msgpack\x92\x01\x02") == ([1, 2], "MessagePack", None)
    assert nml_peer.unwrap(b"\xc1\x00\x03rawxyz") == (b"xyz", "string", None)
    assert nml_peer.unwrap(b"\xc1\x00\x04cborxyz") == (b"xyz", "cbor", None)   # stays cbor
    assert nml_peer.wrap({"a": 1}, "cjson") == nml_peer.wrap({"a": 1}, "JSON")
    assert nml_peer.wrap(b"x", "bytes") == b"\xc1\x03x"


def test_python_reads_every_table_nml_sends_and_names_protocols_as_nml_does(nml_echo):
    nml_echo.stdin.write(nml_peer.frame(nml_peer.wrap("tables", "string")))
    nml_echo.stdin.flush()
    got = read_messages(nml_echo, 6)
    assert got[0].value == {1: 1, 2: 2, 4: 4}
    assert got[1].value == {10: "x"}
    assert got[2].value == {1.5: "f", True: "t", -3: "n"}
    assert got[3].value == {(1, 2): "list key", (("a", 1),): "map key"}
    assert got[4].value == {"bytes": b"\xff\xfe"}  # not UTF-8: bin by default (strings = "auto")
    assert got[5] == ({"n": 1}, "JSON", None)
    # A name nml matches loosely is the same protocol to both.
    nml_echo.stdin.write(nml_peer.frame(b"\xc1\x00\x09lua-cjson" + b'{"b":2}'))
    nml_echo.stdin.flush()
    (reply,) = read_messages(nml_echo, 1)
    assert reply.value == {"echo": {"b": 2}, "protocol": "JSON", "topic": False}


def test_every_malformed_stream_raises_stream_error():
    deep = []
    for _ in range(100000):
        deep = [deep]
    start = {"stream": 1, "part": "start"}
    cases = [
        [],                                           # no start part
        [{"part": "start"}],                          # no stream id
        [{"stream": [1], "part": "start"}],           # an id that is no string or integer
        [{"stream": True, "part": "start"}],
        [deep],                                       # nesting deeper than repr goes
        [start, deep],
        [start, {"stream": 1, "part": "chunk", "seq": True, "data": 1}],
        [start, {"stream": 1, "part": "end", "count": 0.0}],
        [start, {"stream": 1, "part": "chunk", "seq": 1}, {"stream": 1}],
        [start, {"stream": 1.0, "part": "end", "count": 0}],
        [start],                                      # no end part
    ]
    for parts in cases:
        with pytest.raises(nml_peer.StreamError):
            list(nml_peer.read_chunks(iter(parts)))
    with pytest.raises(nml_peer.StreamError) as raised:
        list(nml_peer.read_chunks(iter([])))
    assert isinstance(raised.value.__cause__, StopIteration)


def test_stream_ids_are_strings_or_integers():
    for stream_id in ["r1", 7, 0, -3]:
        assert list(nml_peer.read_chunks(nml_peer.stream_parts(["x"], stream_id))) == ["x"]
    for bad in [{"a": 1}, [1], True, 1.5, None, 2**63, -2**63 - 1]:
        with pytest.raises(TypeError, match="stream_id"):
            nml_peer.stream_parts(["x"], bad)


def test_stream_ids_compare_as_nml_compares_them():
    """As nml.chunks in Lua: an id is a string (str or bin: both are Lua strings, compared by
    their bytes) or an integer of the int64 range; every part must carry the start's id, and
    seq and count are integers (a float is out of step, whatever its value)."""
    for stream_id in [b"r1", b"\xff", 2**63 - 1, -2**63]:
        assert list(nml_peer.read_chunks(nml_peer.stream_parts(["x"], stream_id))) == ["x"]
    mixed = [{"stream": "r1", "part": "start"}, {"stream": b"r1", "part": "chunk", "seq": 1, "data": "x"},
             {"stream": "r1", "part": "end", "count": 1}]
    assert list(nml_peer.read_chunks(iter(mixed))) == ["x"]
    start = {"stream": 1, "part": "start"}
    for parts in [
        [{"stream": 2**63, "part": "start"}, {"stream": 2**63, "part": "end", "count": 0}],
        [{"stream": 1.0, "part": "start"}, {"stream": 1.0, "part": "end", "count": 0}],
        [start, {"stream": 1.0, "part": "chunk", "seq": 1, "data": "x"}],
        [start, {"stream": "1", "part": "end", "count": 0}],
        [start, {"stream": b"1", "part": "end", "count": 0}],
        [{"stream": "a", "part": "start"}, {"stream": b"b", "part": "end", "count": 0}],
        [start, {"stream": 1, "part": "chunk", "seq": 1.0, "data": "x"}],
        [start, {"stream": 1, "part": "end", "count": 0.0}],
    ]:
        with pytest.raises(nml_peer.StreamError):
            list(nml_peer.read_chunks(iter(parts)))


def test_error_replies_of_nml_serve_are_decoded():
    """nml.serve answers a failed request with protocol "nml.error", a MessagePack str."""
    body = nml_peer.TAG.to_bytes(1, "big") + b"\x00\x09nml.error" + msgpack.packb("boom")
    m = nml_peer.unwrap(body)
    assert (m.value, m.protocol) == ("boom", "nml.error")
