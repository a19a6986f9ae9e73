//! Sending and receiving: the idiomatic pair `sock:send(value, protocol, options)` /
//! `sock:recv(options)`, the seed functions `nml.send` / `nml.recv` with their buffer cases
//! (the manual's "Messages"), and `nml.poll`.
//!
//! Every message is built once at its final size: the envelope, then the payload written in
//! place (MessagePack is sized by a counting pass and packed straight into the message body).
//! Received payloads are decoded from the message body, without a Lua string in between.

use std::cell::RefCell;
use std::ffi::c_int;
use std::rc::Rc;

use crate::codec::Strings;
use crate::context::{self, ContextBox};
use crate::envelope::{self, Tag};
use crate::error::{bad_argument, Error, Result};
use crate::lua::{Inline, Kind, LuaFn, Returns, Stack, Table};
use crate::message::{self, Held, MsgBox, SharedMsg};
use crate::msgpack;
use crate::msgpack::unpack::{Buffers, SharedRefs, Unpacker};
use crate::nng::{Message, NngError, Pattern};
use crate::protocol::Protocol;
use crate::socket::{self, SocketState};
use crate::state::Module;

/// `nml.NN_MSG`: "the buffer is an nml message; hand it over without copying".
pub const NN_MSG: i64 = -1;
/// `nml.NN_DONTWAIT`: do not block.
pub const NN_DONTWAIT: i64 = 1;

crate::lua_functions! {
    sock_send => sock_send_impl;
    sock_recv => sock_recv_impl;
    send => send_impl;
    recv => recv_impl;
    poll => poll_impl;
    recv_fd => recv_fd_impl;
    send_fd => send_fd_impl;
}

/// The functions of this file, as `nml.<name>`: the seed's send and recv, with their buffer
/// cases, and poll.
pub const FUNCTIONS: &[(&str, LuaFn)] = &[
    ("send", send),
    ("recv", recv),
    ("poll", poll),
    ("recv_fd", recv_fd),
    ("send_fd", send_fd),
];

/// The socket methods of this file: the idiomatic send and recv. Contexts have the same.
pub const SOCKET_METHODS: &[(&str, LuaFn)] = &[
    ("send", sock_send),
    ("recv", sock_recv),
    ("recv_fd", recv_fd),
    ("send_fd", send_fd),
];
pub const CONTEXT_METHODS: &[(&str, LuaFn)] = SOCKET_METHODS;

// --- sending -------------------------------------------------------------------------------

/// A message holding `header` then the encoding of the value at `idx`.
fn encode_message(
    s: &Stack,
    module: &Module,
    codec: msgpack::Codec<'_>,
    header: &[u8],
    protocol: &Protocol,
    idx: c_int,
) -> Result<Message> {
    if let (Protocol::MessagePack, Some(pack)) = (protocol, codec.settings.lua_packer()) {
        // LuaJIT: the Lua codec packs into its own buffer, copied once into the message; it
        // leaves buffer descriptors (and anything else it does not take) to the Rust codec.
        if let Some(bytes) = s.lua_packed(pack, idx) {
            return bytes_message(header, bytes);
        }
    }
    module.with_scratch(|buf| {
        if let Protocol::MessagePack = protocol {
            let Some(measured) = msgpack::stage(s, codec, idx, buf)? else {
                return bytes_message(header, buf);
            };
            let mut msg = Message::alloc(header.len() + measured.size)?;
            let (head, payload) = msg.body_mut().split_at_mut(header.len());
            head.copy_from_slice(header);
            msgpack::pack_measured(s, codec, idx, idx, measured, payload)?;
            return Ok(msg);
        }
        protocol.encode(s, codec, idx, buf)?;
        bytes_message(header, buf)
    })
}

fn bytes_message(header: &[u8], payload: &[u8]) -> Result<Message> {
    let mut msg = Message::alloc(header.len() + payload.len())?;
    let body = msg.body_mut();
    body[..header.len()].copy_from_slice(header);
    body[header.len()..].copy_from_slice(payload);
    Ok(msg)
}

/// Where `send` and `recv` go: a socket, or one of its contexts, which shares the socket's
/// state (protocol, envelope, limits, counters).
struct Endpoint<'a> {
    state: &'a SocketState,
    context: Option<&'a ContextBox>,
}

impl<'a> Endpoint<'a> {
    /// The socket or context at `idx`.
    fn at(s: &'a Stack, idx: c_int, func: &str) -> Result<Endpoint<'a>> {
        crate::error::usable_here(func)?;
        if let Some(c) = s.test_udata::<ContextBox>(idx, context::METATABLE) {
            return Ok(Endpoint {
                state: &c.socket,
                context: Some(c),
            });
        }
        match s.test_udata::<socket::SocketBox>(idx, socket::METATABLE) {
            Some(b) => Ok(Endpoint::socket(cooked(b, func)?)),
            None => Err(bad_argument(
                func,
                idx as usize,
                format!("nml socket or context expected, got {}", s.kind(idx).name()),
            )),
        }
    }

    fn socket(state: &'a SocketState) -> Endpoint<'a> {
        Endpoint {
            state,
            context: None,
        }
    }

    /// Sends `msg`; on failure it comes back with the error. No borrow outlives the call.
    fn send(&self, msg: Message, dontwait: bool) -> Result<()> {
        let dontwait = may_give_up(self.state.pattern, dontwait);
        let sent = match self.context {
            Some(c) => c.open()?.send(msg, dontwait),
            None => self.state.open()?.send(msg, dontwait),
        };
        sent.map_err(|(e, _msg)| out_of_turn(e, self.state.pattern, Direction::Send))
    }

    /// The socket's poll descriptor for `direction` (a context's is its socket's).
    fn fd(&self, direction: Direction) -> Result<c_int> {
        if let Some(c) = self.context {
            c.open()?;
        }
        let socket = self.state.open()?;
        Ok(match direction {
            Direction::Recv => socket.recv_fd()?,
            Direction::Send => socket.send_fd()?,
        })
    }

    fn recv(&self, dontwait: bool) -> Result<Message> {
        let received = match self.context {
            Some(c) => c.open()?.recv(dontwait),
            None => self.state.open()?.recv(dontwait),
        };
        received.map_err(|e| match e.code() {
            "timeout" if self.subscribes_to_nothing() => Error::returned(
                "timeout",
                format!(
                    "{} (this sub socket subscribes to nothing, so nothing reaches it: \
                     sock:subscribe(\"\") takes every topic)",
                    e.describe()
                ),
            ),
            _ => out_of_turn(e, self.state.pattern, Direction::Recv),
        })
    }
}

impl Endpoint<'_> {
    /// A sub socket (not a context: those subscribe apart) with no subscription.
    fn subscribes_to_nothing(&self) -> bool {
        self.state.pattern == Pattern::Sub
            && self.context.is_none()
            && self.state.subscriptions.borrow().is_empty()
    }
}

/// NNG's error, saying what the pattern expects where NNG says only "Incorrect state": the
/// request/reply and survey patterns take turns.
fn out_of_turn(e: NngError, pattern: Pattern, direction: Direction) -> Error {
    let turn = match (e.code(), pattern, direction) {
        ("state", Pattern::Rep, Direction::Send) => {
            "a rep socket (or context) sends one reply per request, after recv took it"
        }
        ("state", Pattern::Req, Direction::Recv) => {
            "a req socket (or context) receives a reply only after it sent a request"
        }
        ("state", Pattern::Surveyor, Direction::Recv) => {
            "a surveyor receives answers only after it sent a survey, until survey_time passes"
        }
        ("state", Pattern::Respondent, Direction::Send) => {
            "a respondent sends one answer per survey, after recv took it"
        }
        _ => return Error::from(e),
    };
    Error::returned("state", format!("{turn} ({})", e.describe()))
}

/// `b`, if it is not a raw socket: raw sockets carry NNG's headers and only forward.
fn cooked<'b>(b: &'b SocketState, func: &str) -> Result<&'b SocketState> {
    match b.raw {
        true => Err(Error::raise(format!(
            "{func}: a raw socket only forwards (nml.forward); open it without raw to {func}"
        ))),
        false => Ok(b),
    }
}

/// Whether a send with `dontwait` may give up at once. Not a reply (rep, respondent): NNG
/// forgets the request's return route on the first attempt, so a reply that gave up could never
/// be sent; it waits instead for the pipe to finish writing the last one (the send timeout
/// bounds the wait).
fn may_give_up(pattern: Pattern, dontwait: bool) -> bool {
    dontwait && !matches!(pattern, Pattern::Rep | Pattern::Respondent)
}

/// Sends `msg`, first placing a hold on each shared buffer it references (`share = true`), one
/// per receiver the pattern gives it to, so that a pool lends the buffer again only once each
/// of them has let go of its view; the holds are given back if the send fails.
fn send_holding(module: &Module, e: &Endpoint, msg: Message, dontwait: bool) -> Result<()> {
    if !e.state.share.get() {
        return send_message(e, msg, dontwait);
    }
    let shared = module.codec().cache.take_shared();
    let receivers = match e.state.pattern {
        Pattern::Pub | Pattern::Bus | Pattern::Surveyor => {
            e.state.open()?.pipe_stats()?.pipes.min(u32::MAX as u64) as u32
        }
        _ => 1,
    };
    for control in &shared {
        control.add_in_flight(receivers);
    }
    let sent = send_message(e, msg, dontwait);
    if sent.is_err() {
        for control in &shared {
            control.drop_in_flight(receivers);
        }
    }
    sent
}

fn send_message(e: &Endpoint, msg: Message, dontwait: bool) -> Result<()> {
    let bytes = msg.len() as u64;
    e.send(msg, dontwait)?;
    count_sent(e.state, bytes);
    Ok(())
}

fn count_sent(b: &SocketState, bytes: u64) {
    b.count(|t| {
        t.sent += 1;
        t.sent_bytes += bytes;
    });
}

fn envelope(b: &SocketState, topic: &[u8], protocol: &Protocol) -> envelope::Header {
    envelope::header(topic, b.tagged.get().then_some(protocol))
}

/// `sock:send(value [, protocol [, {dontwait = bool, topic = string}]]) -> true | nil, err, code`.
fn sock_send_impl(s: &Stack) -> Returns {
    const F: &str = "send";
    let endpoint = Endpoint::at(s, 1, F)?;
    let b = endpoint.state;
    let module = Module::of(s)?;
    let protocol = match s.kind(3) {
        Kind::None | Kind::Nil => b.protocol.borrow().clone(),
        Kind::String => resolve(module, s.to_bytes(3))?,
        k => {
            return Err(bad_argument(
                F,
                3,
                format!("protocol name expected, got {}", k.name()),
            ))
        }
    };
    if s.kind(2) == Kind::None {
        return Err(bad_argument(F, 2, "value expected"));
    }
    let options = send_options(s, b, 4, F)?;
    let header = envelope(b, options.topic.unwrap_or(b""), &protocol);
    let codec = codec_for(module, b, options.strings);
    let msg =
        encode_message(s, module, codec, &header, &protocol, 2).map_err(|e| e.context("send: "))?;
    send_holding(module, &endpoint, msg, options.dontwait)?;
    s.push_bool(true);
    Ok(1)
}

/// The options of `send`.
struct SendOptions<'a> {
    dontwait: bool,
    topic: Option<&'a [u8]>,
    /// How strings pack, when the call says.
    strings: Option<Strings>,
}

/// The codec a send packs with: the call's `strings`, else the socket's, else `nml.config`'s;
/// shared buffers as references when the socket says so.
fn codec_for<'m>(
    module: &'m Module,
    b: &SocketState,
    strings: Option<Strings>,
) -> msgpack::Codec<'m> {
    let mut codec = module.codec();
    if let Some(strings) = strings.or(b.strings.get()) {
        codec.settings.strings = strings;
    }
    codec.settings.share = b.share.get();
    codec
}

fn send_options<'a>(
    s: &'a Stack,
    b: &SocketState,
    idx: c_int,
    func: &str,
) -> Result<SendOptions<'a>> {
    let known = &["dontwait", "topic", "strings"];
    let Some(opts) = crate::args::options(s, idx, func, known)? else {
        return Ok(SendOptions {
            dontwait: false,
            topic: None,
            strings: None,
        });
    };
    let dontwait = crate::args::boolean_field(s, opts, "dontwait", func)?.unwrap_or(false);
    let strings = match s.raw_get_field(opts, "strings") {
        Kind::Nil => None,
        _ => Some(Strings::from_arg(s, -1, idx as usize, func)?),
    };
    s.pop(1);
    let topic = match s.raw_get_field(opts, "topic") {
        Kind::Nil => None,
        Kind::String if !b.tagged.get() => {
            return Err(Error::raise(format!(
                "{func}: a topic needs the envelope, and this socket is tagged = false \
                 (it sends bare payloads: put a prefix in the payload itself)"
            )))
        }
        Kind::String if b.pattern == Pattern::Pub => {
            let t = s.to_bytes(-1);
            if t.contains(&envelope::TAG) || std::str::from_utf8(t).is_err() {
                return Err(bad_argument(func, idx as usize, "topic must be UTF-8 text"));
            }
            Some(t)
        }
        Kind::String => {
            return Err(Error::raise(format!(
                "{func}: topics are for pub sockets, not {}",
                b.pattern.name()
            )))
        }
        _ => return Err(bad_argument(func, idx as usize, "topic must be a string")),
    };
    // The value stays referenced from the options table, so `topic` stays valid.
    Ok(SendOptions {
        dontwait,
        topic,
        strings,
    })
}

fn resolve(module: &Module, name: &[u8]) -> Result<Protocol> {
    let resolved = module.protocols.borrow().resolve(name);
    resolved.ok_or_else(|| crate::protocol::unknown(name))
}

fn flags_dontwait(s: &Stack, idx: c_int, func: &str) -> Result<bool> {
    match s.kind(idx) {
        Kind::None | Kind::Nil => Ok(false),
        Kind::Number => match s.to_f64(idx) {
            Some(0.0) => Ok(false),
            Some(f) if f == NN_DONTWAIT as f64 => Ok(true),
            _ => Err(bad_argument(
                func,
                idx as usize,
                "flags must be 0 or nml.NN_DONTWAIT",
            )),
        },
        k => Err(bad_argument(
            func,
            idx as usize,
            format!("flags must be a number, got {}", k.name()),
        )),
    }
}

/// `nml.send(sock, buffer, flags, size, protocol) -> 0 | nil, err, code`.
fn send_impl(s: &Stack) -> Returns {
    const F: &str = "send";
    let b = cooked(socket::check(s, 1, F)?, F)?;
    let module = Module::of(s)?;
    let dontwait = flags_dontwait(s, 3, F)?;
    let size = opt_size(s, 4, F)?;
    let protocol_arg = match s.kind(5) {
        Kind::None | Kind::Nil => None,
        Kind::String => Some(resolve(module, s.to_bytes(5))?),
        k => {
            return Err(bad_argument(
                F,
                5,
                format!("protocol name expected, got {}", k.name()),
            ))
        }
    };
    // Bytes handed over are taken as already encoded; they are "string" unless said otherwise.
    let bytes_protocol = || protocol_arg.clone().unwrap_or(Protocol::String);
    let msg = match s.kind(2) {
        Kind::String => {
            if size == Size::Whole {
                return Err(bad_argument(
                    F,
                    4,
                    "nml.NN_MSG is for nml messages, not strings",
                ));
            }
            let bytes = prefix(s.to_bytes(2), size, "send")?;
            bytes_message(&envelope(b, b"", &bytes_protocol()), bytes)?
        }
        Kind::Userdata if message::is_message(s, 2) => {
            let mb = message::check(s, 2, F)?;
            let header = envelope(b, b"", &bytes_protocol());
            if size == Size::Whole {
                return send_whole_message(s, b, mb, &header, dontwait);
            }
            mb.bytes(|body| bytes_message(&header, prefix(body, size, "send")?))?
        }
        Kind::Userdata | Kind::LightUserdata => {
            let n = match size {
                Size::Bytes(n) if n > 0 => n,
                _ => {
                    return Err(bad_argument(
                        F,
                        4,
                        "a userdata buffer needs a size greater than 0",
                    ))
                }
            };
            let bytes = s.userdata_bytes(2, n).ok_or_else(|| {
                bad_argument(
                    F,
                    4,
                    format!(
                        "size {n} is larger than the userdata ({} bytes)",
                        s.raw_len(2)
                    ),
                )
            })?;
            bytes_message(&envelope(b, b"", &bytes_protocol()), bytes)?
        }
        Kind::Table | Kind::Number | Kind::Boolean | Kind::Nil | Kind::None => {
            if s.kind(2) == Kind::None {
                s.set_top(2); // a missing value is nil
            }
            let protocol = protocol_arg.unwrap_or_else(|| b.protocol.borrow().clone());
            let header = envelope(b, b"", &protocol);
            encode_message(s, module, codec_for(module, b, None), &header, &protocol, 2)
                .map_err(|e| e.context("nml.send: "))?
        }
        k => {
            return Err(bad_argument(
                F,
                2,
                format!("cannot send a {} value", k.name()),
            ))
        }
    };
    send_holding(module, &Endpoint::socket(b), msg, dontwait)?;
    s.push_int(0);
    Ok(1)
}

/// The seed functions' optional `size`.
#[derive(Clone, Copy, PartialEq)]
enum Size {
    Absent,
    /// `nml.NN_MSG`: the message itself.
    Whole,
    Bytes(usize),
}

fn opt_size(s: &Stack, idx: c_int, func: &str) -> Result<Size> {
    if s.kind(idx) == Kind::Number && s.to_f64(idx) == Some(NN_MSG as f64) {
        return Ok(Size::Whole);
    }
    Ok(match crate::args::count(s, idx, func)? {
        Some(n) => Size::Bytes(n),
        None => Size::Absent,
    })
}

/// The first `size` bytes of `data` (all when absent), or `nil, msg, "range"`.
fn prefix<'d>(data: &'d [u8], size: Size, what: &str) -> Result<&'d [u8]> {
    match size {
        Size::Absent | Size::Whole => Ok(data),
        Size::Bytes(n) => Ok(&data[crate::args::span(0, n, data.len(), what)?]),
    }
}

/// The NN_MSG case: the message itself goes to NNG, envelope put in front in its headroom.
fn send_whole_message(
    s: &Stack,
    b: &SocketState,
    mb: &MsgBox,
    header: &[u8],
    dontwait: bool,
) -> Returns {
    let socket = b.open()?;
    let mut msg = mb.take_for_send()?;
    if let Err(e) = msg.prepend(header) {
        mb.restore(msg);
        return Err(e.into());
    }
    let bytes = msg.len() as u64;
    if let Err((e, mut back)) = socket.send(msg, may_give_up(b.pattern, dontwait)) {
        back.trim_front(header.len());
        mb.restore(back);
        return Err(e.into());
    }
    count_sent(b, bytes);
    s.push_int(0);
    Ok(1)
}

// --- receiving -----------------------------------------------------------------------------

/// What a received message says it carries.
pub enum Carried {
    Known(Protocol),
    /// A tag naming no protocol known here: the payload comes back as bytes, with this name.
    Unknown(String),
    /// No envelope.
    Bare,
}

struct Received {
    msg: Message,
    payload_at: usize,
    topic_len: usize,
    carried: Carried,
}

fn receive(s: &Stack, e: &Endpoint, dontwait: bool) -> Result<Received> {
    let msg = e.recv(dontwait)?;
    let b = e.state;
    let (len, max) = (msg.len(), b.recv_max_size.get());
    // NNG enforces the limit on the wire (ipc, tcp); inproc hands over any message.
    if max > 0 && len > max {
        b.count(|t| t.oversize_drops += 1);
        return Err(Error::returned(
            crate::error::code::TOO_LARGE,
            format!("dropped a message of {len} bytes: larger than recv_max_size ({max})"),
        ));
    }
    b.count(|t| {
        t.received += 1;
        t.received_bytes += len as u64;
    });
    if !b.tagged.get() {
        return Ok(Received {
            msg,
            payload_at: 0,
            topic_len: 0,
            carried: Carried::Known(b.protocol.borrow().clone()),
        });
    }
    let parsed = match envelope::parse(msg.body(), b.pattern == Pattern::Sub) {
        Ok(p) => (p.payload_at, p.topic.len(), carried(Module::of(s)?, &p.tag)),
        Err(why) => {
            // Nothing is dropped: the raw body comes back as the fourth value.
            let raw = msg.body().to_vec();
            return Err(Error::malformed(format!("malformed envelope: {why}")).with_raw(raw));
        }
    };
    Ok(Received {
        msg,
        payload_at: parsed.0,
        topic_len: parsed.1,
        carried: parsed.2,
    })
}

pub fn carried(module: &Module, tag: &Tag) -> Carried {
    match tag {
        Tag::None => Carried::Bare,
        Tag::Builtin(id) => match Protocol::from_wire_id(*id) {
            Some(p) => Carried::Known(p),
            None => Carried::Unknown(format!("#{id}")),
        },
        Tag::Named(name) => match module.protocols.borrow().resolve(name) {
            Some(p) => Carried::Known(p),
            None => Carried::Unknown(String::from_utf8_lossy(name).into_owned()),
        },
    }
}

/// `sock:recv`'s options: `(dontwait, buffers as strings)`.
fn recv_options(s: &Stack, idx: c_int, func: &str) -> Result<(bool, bool)> {
    let as_strings = Module::of(s)?.settings().buffers_as_strings;
    let Some(opts) = crate::args::options(s, idx, func, &["dontwait", "buffers"])? else {
        return Ok((false, as_strings));
    };
    let dontwait = crate::args::boolean_field(s, opts, "dontwait", func)?.unwrap_or(false);
    Ok((
        dontwait,
        crate::args::buffers_field(s, opts, func, as_strings)?,
    ))
}

/// `sock:recv([{dontwait = bool}]) -> value, protocol, topic | nil, err, code [, raw]`.
fn sock_recv_impl(s: &Stack) -> Returns {
    let endpoint = Endpoint::at(s, 1, "recv")?;
    let (dontwait, as_strings) = recv_options(s, 2, "recv")?;
    let r = receive(s, &endpoint, dontwait)?;
    let shared = endpoint.state.shared_refs_from(&r.msg);
    // Shared, so that descriptors' buffers can be views into it; it is
    // freed on return unless a view refers to it.
    let msg: SharedMsg = Rc::new(RefCell::new(Held::new(r.msg)));
    let held = msg.borrow();
    let body = held.get().body();
    // Decoding makes Lua values, which may raise: protected, so that the message (held here)
    // is freed or kept by its views whatever happens.
    s.protect(0, 0, |s| {
        let buffers = match as_strings {
            true => Buffers::Strings,
            false => Buffers::Views(&msg, r.payload_at),
        };
        push_received(s, &r.carried, &body[r.payload_at..], buffers, shared)?;
        let topic = &body[..r.topic_len];
        if topic.is_empty() {
            s.push_nil();
        } else {
            s.push_bytes(topic);
        }
        Ok(3)
    })
}

/// Pushes the decoded payload (or its bytes) and its protocol name.
pub fn push_received(
    s: &Stack,
    carried: &Carried,
    payload: &[u8],
    buffers: Buffers,
    shared: SharedRefs,
) -> Result<()> {
    match carried {
        Carried::Known(p) => {
            let module = Module::of(s)?;
            let lua_unpacker = module.settings().lua_unpacker();
            let decoded = match p {
                // LuaJIT: the Lua codec reads the message in place, unless it holds descriptors.
                Protocol::MessagePack
                    if lua_unpacker.is_some_and(|f| s.lua_unpacked(f, payload)) =>
                {
                    Ok(())
                }
                Protocol::MessagePack => {
                    let unpacker = Unpacker::new(s, module.codec(), payload, 0);
                    decode_msgpack(unpacker.buffers(buffers).shared(shared))
                }
                _ => p.decode(s, module.codec(), payload),
            };
            if let Err(e) = decoded {
                return Err(e.with_raw(payload.to_vec()));
            }
            if s.kind(-1) == Kind::Nil {
                // A sent nil: nml.null, so that a successful receive is never nil.
                s.pop(1);
                s.push_light(std::ptr::null_mut());
            }
            s.push_str(p.name());
        }
        Carried::Unknown(name) => {
            s.push_bytes(payload);
            s.push_str(name);
        }
        Carried::Bare => {
            s.push_bytes(payload);
            s.push_nil();
        }
    }
    Ok(())
}

fn decode_msgpack(mut u: Unpacker) -> Result<()> {
    u.value()?;
    crate::msgpack::unpack::expect_end(&u)
}

/// `nml.recv(sock, flags [, ud, size]) -> buffer, bytes, protocol | nil, err, code`.
fn recv_impl(s: &Stack) -> Returns {
    const F: &str = "recv";
    let b = cooked(socket::check(s, 1, F)?, F)?;
    let dontwait = flags_dontwait(s, 2, F)?;
    let size = opt_size(s, 4, F)?;
    let into_ud = !s.is_none_or_nil(3);
    let capacity = match (into_ud, size) {
        (true, Size::Bytes(n)) => n,
        (true, _) => return Err(bad_argument(F, 4, "size expected with a buffer")),
        (false, _) => 0,
    };
    let Received {
        msg,
        payload_at,
        carried,
        ..
    } = receive(s, &Endpoint::socket(b), dontwait)?;
    let payload_len = msg.len() - payload_at;
    let protocol_name = match &carried {
        Carried::Known(p) => Some(p.name()),
        Carried::Unknown(name) => Some(name.as_str()),
        Carried::Bare => None,
    };
    // The common case, a short payload returned as a string: copied out with its protocol's
    // name, so that the message and `carried` go before anything is pushed, unprotected.
    if size != Size::Whole && !into_ud {
        let payload = Inline::copy(&msg.body()[payload_at..]);
        let name = protocol_name.map(|n| Inline::copy(n.as_bytes()));
        if let (Some(payload), None | Some(Some(_))) = (payload, &name) {
            drop((msg, carried));
            s.push_bytes(payload.as_bytes());
            s.push_int(payload_len as i64);
            match name.flatten() {
                Some(name) => s.push_bytes(name.as_bytes()),
                None => s.push_nil(),
            }
            return Ok(3);
        }
    }
    if size == Size::Whole && !into_ud {
        let mut msg = msg;
        msg.trim_front(payload_at);
        MsgBox::push(s, msg)?; // protected: on failure the message is freed
    } else if into_ud {
        copy_into(s, 3, &msg.body()[payload_at..], capacity)?;
        s.push_value(3);
    } else {
        s.push_bytes_protected(&msg.body()[payload_at..])?; // the message is held here
    }
    s.push_int(payload_len as i64);
    match protocol_name {
        Some(name) => s.push_bytes_protected(name.as_bytes())?,
        None => s.push_nil(),
    }
    Ok(3)
}

/// Copies up to `capacity` bytes of `payload` into the message or userdata at `idx`.
fn copy_into(s: &Stack, idx: c_int, payload: &[u8], capacity: usize) -> Result<()> {
    let copy = capacity.min(payload.len());
    if message::is_message(s, idx) {
        return message::check(s, idx, "recv")?.bytes_mut(|body| {
            let copy = copy.min(body.len());
            body[..copy].copy_from_slice(&payload[..copy]);
            Ok(())
        });
    }
    let dst = s.userdata_bytes_mut(idx, copy).ok_or_else(|| {
        bad_argument(
            "recv",
            idx as usize,
            format!("buffer of {} bytes cannot hold {copy}", s.raw_len(idx)),
        )
    })?;
    dst.copy_from_slice(&payload[..copy]);
    Ok(())
}

// --- polling -------------------------------------------------------------------------------

/// `nml.poll(sockets, timeout_ms [, send_sockets]) -> readable, writable`: waits until one of
/// `sockets` can receive or one of `send_sockets` can send, or the timeout passes (-1 or nil:
/// forever), and returns the ready ones of each list, in order.
fn poll_impl(s: &Stack) -> Returns {
    const F: &str = "poll";
    let recv_list = s
        .table(1)
        .ok_or_else(|| bad_argument(F, 1, "table of sockets expected"))?;
    let timeout = poll_timeout(s, 2)?;
    let send_list = match s.kind(3) {
        Kind::None | Kind::Nil => None,
        _ => Some(
            s.table(3)
                .ok_or_else(|| bad_argument(F, 3, "table of sockets expected"))?,
        ),
    };
    let mut fds = socket_fds(s, recv_list, Direction::Recv)?;
    let receivers = fds.len();
    if let Some(list) = send_list {
        fds.extend(socket_fds(s, list, Direction::Send)?);
    }
    let ready = crate::nng::poll_readable(&fds, timeout).map_err(|e| {
        let code = match (e.kind(), e.raw_os_error()) {
            (std::io::ErrorKind::Interrupted, _) => "interrupted",
            (_, Some(libc::ENOMEM)) => "nomem",
            _ => "invalid",
        };
        Error::returned(code, format!("poll: {e}"))
    })?;
    // The lists are made while `ready` is ours: protected, with the argument tables as 1 and 2.
    s.push_value(recv_list.index());
    match send_list {
        Some(list) => s.push_value(list.index()),
        None => s.push_nil(),
    }
    s.protect(s.top() - 1, 2, |p| {
        let (recv_ready, send_ready) = ready.split_at(receivers);
        ready_of(p, p.table(1), recv_ready);
        ready_of(p, p.table(2), send_ready);
        Ok(2)
    })
}

fn poll_timeout(s: &Stack, idx: c_int) -> Result<c_int> {
    match s.kind(idx) {
        Kind::None | Kind::Nil => Ok(-1),
        Kind::Number => match s.to_f64(idx) {
            Some(t) if t.fract() == 0.0 && (-1.0..=i32::MAX as f64).contains(&t) => Ok(t as c_int),
            _ => Err(bad_argument(
                "poll",
                idx as usize,
                "timeout must be -1 or a number of milliseconds",
            )),
        },
        k => Err(bad_argument(
            "poll",
            idx as usize,
            format!("timeout expected, got {}", k.name()),
        )),
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Recv,
    Send,
}

/// `x:recv_fd() -> fd | nil, err, code` on a socket or context: readable when a message can
/// be received (on rep and respondent sockets, when a request waits for any context; req and
/// surveyor contexts get their replies without it).
fn recv_fd_impl(s: &Stack) -> Returns {
    let fd = Endpoint::at(s, 1, "recv_fd")?.fd(Direction::Recv)?;
    s.push_int(fd as i64);
    Ok(1)
}

/// `x:send_fd() -> fd | nil, err, code`: readable (not writable: NNG signals both directions
/// as readable) when a message can be sent without waiting.
fn send_fd_impl(s: &Stack) -> Returns {
    let fd = Endpoint::at(s, 1, "send_fd")?.fd(Direction::Send)?;
    s.push_int(fd as i64);
    Ok(1)
}

/// The poll descriptors of the sockets in `list` (a context stands for its socket), for
/// `direction`.
fn socket_fds(s: &Stack, list: Table, direction: Direction) -> Result<Vec<c_int>> {
    crate::error::usable_here("poll")?;
    let arg = list.index() as usize;
    let n = s.raw_len(list.index());
    let mut fds = Vec::with_capacity(n);
    for i in 1..=n {
        s.raw_get_index(list, i as i64);
        let b = Endpoint::at(s, s.top(), "poll").map_err(|_| {
            bad_argument(
                "poll",
                arg,
                format!("element {i} is not an nml socket or context"),
            )
        })?;
        fds.push(b.fd(direction)?);
        s.pop(1);
    }
    Ok(fds)
}

/// Pushes a list of the elements of `list` whose `ready` is true (an empty list without one).
fn ready_of(s: &Stack, list: Option<Table>, ready: &[bool]) {
    let out = s.new_table(ready.iter().filter(|r| **r).count(), 0);
    let Some(list) = list else {
        return;
    };
    let mut k = 0;
    for (i, r) in ready.iter().enumerate() {
        if *r {
            k += 1;
            s.raw_get_index(list, i as i64 + 1);
            s.raw_set_index(out, k);
        }
    }
}
