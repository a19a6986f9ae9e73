//! The codec's Lua functions: argument checks, then a call into `msgpack`, `json` or
//! `protocol`, then the results pushed. Each function here is registered by `lib.rs`.

use std::ffi::c_int;

use crate::codec::{marker, CodecPath, Mark, Settings, Strings, MAX_MAX_DEPTH};
use crate::error::{bad_argument, Error, Result};
use crate::lua::{Kind, LuaFn, Number, Returns, Stack, Table};
use crate::msgpack::{
    self,
    unpack::{Buffers, SharedRefs, Unpacker},
};
use crate::payload::Carried;
use crate::protocol::{self, Protocol};
use crate::state::Module;

crate::lua_functions! {
    wrap => wrap_impl;
    unwrap => unwrap_impl;
    pack => pack_impl;
    unpack => unpack_impl;
    unpack_one => unpack_one_impl;
    packsize => packsize_impl;
    encode => encode_impl;
    decode => decode_impl;
    protocol => protocol_impl;
    register_protocol => register_protocol_impl;
    config => config_impl;
    map => map_impl;
    array => array_impl;
    bin => bin_impl;
    ext => ext_impl;
}

/// The functions of this file, as `nml.<name>`.
pub const FUNCTIONS: &[(&str, LuaFn)] = &[
    ("wrap", wrap),
    ("unwrap", unwrap),
    ("pack", pack),
    ("unpack", unpack),
    ("unpack_one", unpack_one),
    ("packsize", packsize),
    ("encode", encode),
    ("decode", decode),
    ("protocol", protocol),
    ("register_protocol", register_protocol),
    ("config", config),
    ("map", map),
    ("array", array),
    ("bin", bin),
    ("ext", ext),
];

/// `nml.pack(...) -> string`: every argument, one object after the other.
fn pack_impl(s: &Stack) -> Returns {
    let n = s.top();
    if n == 0 {
        return Err(bad_argument("pack", 1, "value expected"));
    }
    if crate::alloc::is_allocator(s, n) {
        return crate::alloc::pack_with_allocator(s, n);
    }
    let module = Module::of(s)?;
    let packed = module.with_scratch(|buf| {
        msgpack::pack_values(s, module.codec(), 1, n, buf).map_err(|e| e.context("nml.pack: "))?;
        s.hand_out(buf)
    })?;
    packed.push(s);
    Ok(1)
}

/// `nml.packsize(...) -> bytes`: the exact size `nml.pack` would produce.
fn packsize_impl(s: &Stack) -> Returns {
    let n = s.top();
    if n == 0 {
        return Err(bad_argument("packsize", 1, "value expected"));
    }
    let size = msgpack::packed_size(s, Module::of(s)?.codec(), 1, n)
        .map_err(|e| e.context("nml.packsize: "))?;
    s.push_int(size as i64);
    Ok(1)
}

/// `nml.unpack(data [, offset [, options]]) -> ...`: every object from `offset` (0-based) on.
fn unpack_impl(s: &Stack) -> Returns {
    with_data(s, "unpack", |mut u| {
        let mut count = 0;
        while !u.at_end() {
            u.value()?;
            count += 1;
        }
        Ok(count)
    })
}

/// `nml.unpack_one(data [, offset [, options]]) -> value, next_offset`.
fn unpack_one_impl(s: &Stack) -> Returns {
    with_data(s, "unpack_one", |mut u| {
        u.value()?;
        s.push_int(u.pos() as i64);
        Ok(2)
    })
}

/// Runs `f` with an unpacker over argument 1 from the offset in argument 2. The data is a Lua
/// string, or an nml message read in place, whose descriptors' buffers become views into it
/// (the manual's "The codec"); option `buffers = "string"` (argument 3) makes them strings.
fn with_data(s: &Stack, func: &str, f: impl FnOnce(Unpacker) -> Result<c_int>) -> Returns {
    let module = Module::of(s)?;
    let as_strings = module.settings().buffers_as_strings;
    let as_strings = match crate::args::options(s, 3, func, &["buffers"])? {
        Some(opts) => crate::args::buffers_field(s, opts, func, as_strings)?,
        None => as_strings,
    };
    s.set_top(2);
    let start = |data: &[u8]| -> Result<usize> {
        let offset = crate::args::offset(s, 2, data.len(), 0, func)?;
        if offset == data.len() {
            return Err(Error::malformed(format!(
                "malformed MessagePack at byte {offset}: no data"
            )));
        }
        Ok(offset)
    };
    if s.kind(1) == Kind::String {
        let data = s.to_bytes(1);
        let u = Unpacker::new(s, module.codec(), data, start(data)?);
        return f(match as_strings {
            true => u.buffers(Buffers::Strings),
            false => u,
        });
    }
    if !crate::message::is_message(s, 1) {
        return Err(bad_argument(
            func,
            1,
            format!("string or nml message expected, got {}", s.kind(1).name()),
        ));
    }
    let mb = crate::message::check(s, 1, func)?;
    let (msg, at, len) = mb.share()?;
    let result = (|| {
        let held = msg.try_borrow().map_err(|_| crate::message::busy())?;
        let data = &held.get().body()[at..at + len];
        let from = start(data)?;
        // Lua values made while the message is borrowed here: protected.
        s.protect(0, 0, |p| {
            let u = Unpacker::new(p, module.codec(), data, from);
            f(match as_strings {
                true => u.buffers(Buffers::Strings),
                false => u.buffers(Buffers::Views(&msg, at)),
            })
        })
    })();
    drop(msg);
    mb.settle(); // no view was made: the message is its own again
    result
}

/// `nml.encode(value [, protocol [, {strings = "auto"}]]) -> string`.
fn encode_impl(s: &Stack) -> Returns {
    let module = Module::of(s)?;
    let protocol = opt_protocol(s, module, 2, "encode")?;
    let codec = codec_with_options(s, module, 3, "encode", &["strings"])?;
    let packed = module.with_scratch(|buf| {
        protocol
            .encode(s, codec, 1, buf)
            .map_err(|e| e.context("nml.encode: "))?;
        s.hand_out(buf)
    })?;
    drop(protocol); // a registered protocol is an Rc: nothing owned while the string is made
    packed.push(s);
    Ok(1)
}

/// `nml.decode(data [, protocol]) -> value | nil, err, code`.
fn decode_impl(s: &Stack) -> Returns {
    let data = check_bytes(s, 1, "decode")?;
    let module = Module::of(s)?;
    let protocol = opt_protocol(s, module, 2, "decode")?;
    // `protocol` may hold a registered protocol (an Rc) while Lua values are made: protected.
    s.protect(0, 0, |p| {
        protocol.decode(p, module.codec(), data).map(|()| 1)
    })
}

/// `nml.protocol(name or frame type) -> canonical, frame type | nil, err, "unknown_protocol"`.
fn protocol_impl(s: &Stack) -> Returns {
    let module = Module::of(s)?;
    let resolved = match s.kind(1) {
        Kind::Number => match s.to_number(1) {
            Number::Int(t) => u8::try_from(t)
                .ok()
                .and_then(|t| module.protocols.borrow().by_frame_type(t))
                .ok_or_else(|| protocol::unknown_frame_type(t)),
            Number::Float(_) => Err(bad_argument("protocol", 1, "a frame type is an integer")),
        },
        _ => {
            let name = check_bytes(s, 1, "protocol")?;
            let resolved = module.protocols.borrow().resolve(name);
            resolved.ok_or_else(|| protocol::unknown(name))
        }
    }?;
    s.push_str(resolved.name());
    match resolved.frame_type() {
        Some(t) => s.push_int(t as i64),
        None => s.push_nil(),
    }
    Ok(2)
}

/// `nml.register_protocol(name, {encode = fn, decode = fn, aliases = {...}}) -> name`.
fn register_protocol_impl(s: &Stack) -> Returns {
    const F: &str = "register_protocol";
    check_bytes(s, 1, F)?;
    let known = &["encode", "decode", "aliases", "frame_type"];
    let Some(opts) = crate::args::options(s, 2, F, known)? else {
        return Err(bad_argument(
            F,
            2,
            "table with encode and decode functions expected",
        ));
    };
    let frame_type = frame_type_option(s, opts)?;
    // The Lua lookups (each may raise) come first, while this frame owns nothing.
    let aliases_at = s.top() + 1;
    if !matches!(s.raw_get_field(opts, "aliases"), Kind::Nil | Kind::Table) {
        return Err(bad_argument(F, 2, "aliases must be a list of strings"));
    }
    for field in ["encode", "decode"] {
        if s.raw_get_field(opts, field) != Kind::Function {
            return Err(bad_argument(
                F,
                2,
                format!("field '{field}' must be a function"),
            ));
        }
    }
    // Stack: ..., aliases, encode, decode. Refs pop from the top.
    let decode = s.make_ref();
    let encode = s.make_ref();
    let registered = aliases_of(s, aliases_at, F).and_then(|aliases| {
        let name = String::from_utf8_lossy(s.to_bytes(1)).into_owned();
        let registered = Module::of(s)?.protocols.borrow_mut().register(
            s,
            &name,
            &aliases,
            (encode, decode),
            frame_type,
        );
        registered.map_err(|e| e.context("nml.register_protocol: "))
    });
    if let Err(e) = registered {
        s.drop_ref(encode);
        s.drop_ref(decode);
        return Err(e);
    }
    s.push_value(1);
    Ok(1)
}

/// The `frame_type` of a protocol being registered: an integer from 2 to 255, or none.
fn frame_type_option(s: &Stack, opts: Table) -> Result<Option<u8>> {
    const F: &str = "register_protocol";
    let frame_type = match s.raw_get_field(opts, "frame_type") {
        Kind::Nil => None,
        Kind::Number => match s.to_number(-1) {
            Number::Int(t @ 2..=255) => Some(t as u8),
            _ => return Err(bad_argument(
                F,
                2,
                "frame_type must be an integer from 2 to 255 (0 and 1 are JSON and MessagePack)",
            )),
        },
        _ => return Err(bad_argument(F, 2, "frame_type must be an integer")),
    };
    s.pop(1);
    Ok(frame_type)
}

/// The strings of the aliases list at `idx` (nil: none). Reads only: never raises.
fn aliases_of(s: &Stack, idx: c_int, func: &str) -> Result<Vec<String>> {
    let Some(list) = s.table(idx) else {
        return Ok(Vec::new());
    };
    let mut aliases = Vec::new();
    for i in 1..=s.raw_len(idx) {
        let alias = match s.raw_get_index(list, i as i64) {
            Kind::String => String::from_utf8_lossy(s.to_bytes(-1)).into_owned(),
            _ => return Err(bad_argument(func, 2, "aliases must be a list of strings")),
        };
        s.pop(1);
        aliases.push(alias);
    }
    Ok(aliases)
}

/// `nml.config([settings]) -> settings`: `max_depth` (nesting limit for every codec),
/// `float32` (pack non-integral numbers as float 32), `strings` (how strings pack) and
/// `buffers` (what descriptors' buffers unpack as), `codec` and `int64` (LuaJIT). Returns the
/// settings now in force.
fn config_impl(s: &Stack) -> Returns {
    const F: &str = "config";
    let module = Module::of(s)?;
    let mut settings = module.settings();
    let known = &[
        "max_depth",
        "float32",
        "strings",
        "buffers",
        "codec",
        "int64",
    ];
    if let Some(opts) = crate::args::options(s, 1, F, known)? {
        settings = read_config(s, opts, settings)?;
        module.update_settings(|now| *now = settings);
    }
    push_config(s, settings);
    Ok(1)
}

/// `settings` with what the `nml.config` table `opts` changes.
fn read_config(s: &Stack, opts: Table, mut settings: Settings) -> Result<Settings> {
    const F: &str = "config";
    match s.raw_get_field(opts, "max_depth") {
        Kind::Nil => {}
        Kind::Number => match s.to_number(-1) {
            Number::Int(d) if (1..=MAX_MAX_DEPTH as i64).contains(&d) => {
                settings.max_depth = d as usize
            }
            _ => {
                return Err(bad_argument(
                    F,
                    1,
                    format!("max_depth must be an integer from 1 to {MAX_MAX_DEPTH}"),
                ))
            }
        },
        _ => return Err(bad_argument(F, 1, "max_depth must be a number")),
    }
    match s.raw_get_field(opts, "float32") {
        Kind::Nil => {}
        Kind::Boolean => settings.float32 = s.to_bool(-1),
        _ => return Err(bad_argument(F, 1, "float32 must be a boolean")),
    }
    if s.raw_get_field(opts, "buffers") != Kind::Nil {
        settings.buffers_as_strings = crate::args::buffers_option(s, -1, 1, F)?;
    }
    s.pop(3);
    settings.strings = Strings::field(s, opts, F, settings.strings)?;
    settings.path = codec_path(s, opts, settings)?;
    settings.exact_int64 = int64_option(s, opts, settings)?;
    Ok(settings)
}

/// Pushes the settings in force as `nml.config` returns them.
fn push_config(s: &Stack, settings: Settings) {
    let now = s.new_table(0, 6);
    s.push_str(settings.strings.name());
    s.raw_set_field(now, "strings");
    s.push_int(settings.max_depth as i64);
    s.raw_set_field(now, "max_depth");
    s.push_bool(settings.float32);
    s.raw_set_field(now, "float32");
    s.push_str(match settings.buffers_as_strings {
        true => "string",
        false => "message",
    });
    s.raw_set_field(now, "buffers");
    s.push_str(match settings.has_lua_codec() {
        true => settings.path.name(),
        false => CodecPath::Rust.name(),
    });
    s.raw_set_field(now, "codec");
    s.push_str(int64_name(settings));
    s.raw_set_field(now, "int64");
}

/// What integers beyond ±2^53 unpack as: "integer" on 5.3+ (Lua's own), "cdata" or "number"
/// on LuaJIT with its FFI, "number" elsewhere.
fn int64_name(settings: Settings) -> &'static str {
    match (
        cfg!(any(feature = "lua53", feature = "lua54")),
        settings.int64_cdata,
    ) {
        (true, _) => "integer",
        (false, Some(_)) if settings.exact_int64 => "cdata",
        _ => "number",
    }
}

/// The `int64` field of `nml.config`'s options: "cdata" or "number" where LuaJIT's FFI is;
/// elsewhere only the one this interpreter has (so that a saved `nml.config()` goes back in).
fn int64_option(s: &Stack, opts: Table, settings: Settings) -> Result<bool> {
    const WHAT: &str =
        "int64 must be \"cdata\" or \"number\" (LuaJIT with its FFI), or what nml.config() says";
    let exact = match s.raw_get_field(opts, "int64") {
        Kind::Nil => Ok(settings.exact_int64),
        _ => match (s.opt_bytes(-1), settings.int64_cdata) {
            (Some(b"cdata"), Some(_)) => Ok(true),
            (Some(b"number"), Some(_)) => Ok(false),
            (Some(b), _) if b == int64_name(settings).as_bytes() => Ok(settings.exact_int64),
            _ => Err(bad_argument("config", 1, WHAT)),
        },
    };
    s.pop(1);
    exact
}

/// The `codec` field of `nml.config`'s options: "auto", "lua" (LuaJIT only) or "rust".
fn codec_path(s: &Stack, opts: Table, settings: Settings) -> Result<CodecPath> {
    let path = match s.raw_get_field(opts, "codec") {
        Kind::Nil => Ok(settings.path),
        _ => match s.opt_bytes(-1) {
            Some(b"auto") => Ok(CodecPath::Auto),
            Some(b"rust") => Ok(CodecPath::Rust),
            Some(b"lua") if settings.has_lua_codec() => Ok(CodecPath::Lua),
            Some(b"lua") if cfg!(feature = "luajit") => Err(bad_argument(
                "config",
                1,
                "codec = \"lua\" needs LuaJIT's FFI (and its bit and table.new), which this LuaJIT leaves out",
            )),
            Some(b"lua") => Err(bad_argument(
                "config",
                1,
                "codec = \"lua\" needs LuaJIT (this is a build for another Lua)",
            )),
            _ => Err(bad_argument(
                "config",
                1,
                "codec must be \"auto\", \"lua\" or \"rust\"",
            )),
        },
    };
    s.pop(1);
    path
}

/// `nml.map([t]) -> t`: marks `t` (or a new table) to pack as a map, even when empty.
fn map_impl(s: &Stack) -> Returns {
    mark_table(s, Mark::Map, "map")
}

/// `nml.array([t]) -> t`: marks `t` (or a new table) to pack as an array of `#t` elements.
fn array_impl(s: &Stack) -> Returns {
    mark_table(s, Mark::Array, "array")
}

fn mark_table(s: &Stack, mark: Mark, func: &str) -> Returns {
    match s.kind(1) {
        Kind::None | Kind::Nil => {
            s.set_top(0);
            s.new_table(0, 0);
        }
        Kind::Table => {
            s.set_top(1);
            if s.get_metatable(1) {
                let ours = Module::of(s)?.settings().marks.of(s.to_pointer(-1));
                if !ours.is_container() {
                    return Err(bad_argument(func, 1, "table already has a metatable"));
                }
                s.pop(1);
            }
        }
        k => {
            return Err(bad_argument(
                func,
                1,
                format!("table expected, got {}", k.name()),
            ))
        }
    }
    s.set_metatable(1, marker(s, mark)?);
    Ok(1)
}

/// `nml.bin(s)`: a string that packs as MessagePack bin.
fn bin_impl(s: &Stack) -> Returns {
    check_bytes(s, 1, "bin")?;
    let bin = s.new_table(1, 0);
    s.push_value(1);
    s.raw_set_index(bin, 1);
    s.set_metatable(bin.index(), marker(s, Mark::Bin)?);
    Ok(1)
}

/// `nml.ext(type, data)`: a MessagePack extension value, `{type = t, data = s}`.
fn ext_impl(s: &Stack) -> Returns {
    let ty = match (s.kind(1), s.to_f64(1)) {
        (Kind::Number, Some(t)) if t.fract() == 0.0 && (-128.0..=127.0).contains(&t) => t as i64,
        _ => return Err(bad_argument("ext", 1, "integer from -128 to 127 expected")),
    };
    check_bytes(s, 2, "ext")?;
    let ext = s.new_table(0, 2);
    s.push_int(ty);
    s.raw_set_field(ext, "type");
    s.push_value(2);
    s.raw_set_field(ext, "data");
    s.set_metatable(ext.index(), marker(s, Mark::Ext)?);
    Ok(1)
}

// --- message bodies ------------------------------------------------------------------------

/// `nml.wrap(value [, protocol [, {topic = t, strings = "auto"}]]) -> bytes`: the body of the message
/// `sock:send` would make (the envelope, then the encoded value), as a string, for transports
/// that are not NNG sockets (`nml.stream`, files, queues).
fn wrap_impl(s: &Stack) -> Returns {
    const F: &str = "wrap";
    let module = Module::of(s)?;
    if s.kind(1) == Kind::None {
        return Err(bad_argument(F, 1, "value expected"));
    }
    let protocol = opt_protocol(s, module, 2, F)?;
    let topic = match crate::args::options(s, 3, F, &["topic", "strings"])? {
        Some(opts) => topic_field(s, opts, F)?,
        None => None,
    };
    let codec = codec_with_options(s, module, 3, F, &["topic", "strings"])?;
    let header = crate::envelope::header(topic.unwrap_or(b""), Some(&protocol));
    let packed = module.with_scratch(|buf| {
        buf.extend_from_slice(&header);
        protocol
            .encode(s, codec, 1, buf)
            .map_err(|e| e.context("nml.wrap: "))?;
        s.hand_out(buf)
    })?;
    packed.push(s);
    Ok(1)
}

/// The module's codec, with the `strings` of the options at `idx` (which may know `known`).
fn codec_with_options<'m>(
    s: &Stack,
    module: &'m Module,
    idx: c_int,
    func: &str,
    known: &[&str],
) -> Result<msgpack::Codec<'m>> {
    let mut codec = module.codec();
    if let Some(opts) = crate::args::options(s, idx, func, known)? {
        codec.settings.strings = Strings::field(s, opts, func, codec.settings.strings)?;
    }
    Ok(codec)
}

/// The `topic` of the options at `opts`, if it has one.
fn topic_field<'a>(s: &'a Stack, opts: Table, func: &str) -> Result<Option<&'a [u8]>> {
    let topic = match s.raw_get_field(opts, "topic") {
        Kind::Nil => None,
        _ => Some(crate::payload::topic_on_top(s, opts.index(), func)?),
    };
    // The value stays referenced from the options table, so `topic` stays valid.
    s.pop(1);
    Ok(topic)
}

/// `nml.unwrap(bytes [, {buffers = "string"}]) -> value, protocol, topic | nil, err, code, raw`:
/// decodes a message body as `sock:recv` does (by its tag; an unknown tag gives the payload's
/// bytes and the tag's name; no envelope gives the bytes and nil). Descriptors' buffers become
/// new messages, or strings.
fn unwrap_impl(s: &Stack) -> Returns {
    const F: &str = "unwrap";
    let module = Module::of(s)?;
    let body = check_bytes(s, 1, F)?;
    let as_strings = module.settings().buffers_as_strings;
    let as_strings = match crate::args::options(s, 2, F, &["buffers"])? {
        Some(opts) => crate::args::buffers_field(s, opts, F, as_strings)?,
        None => as_strings,
    };
    let parsed = crate::envelope::parse(body, true).map_err(|why| {
        Error::malformed(format!("malformed envelope: {why}")).with_raw(body.to_vec())
    })?;
    let carried = Carried::by_tag(module, &parsed.tag);
    let buffers = match as_strings {
        true => Buffers::Strings,
        false => Buffers::Copies,
    };
    // Decoding makes Lua values, which may raise: protected, as `carried` may own a protocol.
    s.protect(0, 0, |p| {
        carried.push(p, (body, parsed.payload_at), buffers, SharedRefs::Keep)?;
        match parsed.topic {
            [] => p.push_nil(),
            topic => p.push_bytes(topic),
        }
        Ok(3)
    })
}

// --- argument helpers ----------------------------------------------------------------------

fn check_bytes<'a>(s: &'a Stack, idx: c_int, func: &str) -> Result<&'a [u8]> {
    s.opt_bytes(idx).ok_or_else(|| {
        bad_argument(
            func,
            idx as usize,
            format!("string expected, got {}", s.kind(idx).name()),
        )
    })
}

/// The protocol named by argument `idx`; MessagePack when absent.
fn opt_protocol(s: &Stack, module: &Module, idx: c_int, func: &str) -> Result<Protocol> {
    Ok(crate::payload::protocol_arg(s, module, idx, func)?.unwrap_or(Protocol::MessagePack))
}
