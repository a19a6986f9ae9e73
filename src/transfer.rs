//! Sending and receiving through sockets and contexts: `sock:send(value, protocol, options)` and
//! `sock:recv(options)` (the manual's "Sockets"). The nanomsg-style `nml.send`/`nml.recv` are
//! in `compat.rs`, polling in `poll.rs`; what goes into a message is `payload.rs`'s and the
//! protocol's, and what a socket allows is `SocketState`'s.
//!
//! Every message is built once at its final size: the envelope, then the payload written in
//! place (MessagePack is sized by a counting pass and packed straight into the message body).
//! Received payloads are decoded from the message body, without a Lua string in between.

use std::cell::RefCell;
use std::ffi::c_int;
use std::rc::Rc;

use crate::codec::Strings;
use crate::context::{self, ContextBox};
use crate::envelope;
use crate::error::{bad_argument, Error, Result};
use crate::lua::{Kind, LuaFn, Returns, Stack};
use crate::message::{Held, SharedMsg};
use crate::msgpack::unpack::Buffers;
use crate::nng::{Happened, Message, NngError, Pattern, Refusal};
use crate::payload::{self, Carried};
use crate::socket::{self, SocketState};
use crate::state::Module;

crate::lua_functions! {
    sock_send => sock_send_impl;
    sock_recv => sock_recv_impl;
}

/// The socket methods of this file. Contexts have the same.
pub const SOCKET_METHODS: &[(&str, LuaFn)] = &[("send", sock_send), ("recv", sock_recv)];
pub const CONTEXT_METHODS: &[(&str, LuaFn)] = SOCKET_METHODS;

/// Where `send` and `recv` go: a socket, or one of its contexts, which shares the socket's
/// state (protocol, envelope, limits, counters).
pub struct Endpoint<'a> {
    pub state: &'a SocketState,
    context: Option<&'a ContextBox>,
}

impl<'a> Endpoint<'a> {
    /// The socket or context at `idx`.
    pub fn at(s: &'a Stack, idx: c_int, func: &str) -> Result<Endpoint<'a>> {
        crate::error::usable_here(func)?;
        if let Some(c) = s.test_udata::<ContextBox>(idx, context::METATABLE) {
            return Ok(Endpoint {
                state: &c.socket,
                context: Some(c),
            });
        }
        match s.test_udata::<socket::SocketBox>(idx, socket::METATABLE) {
            Some(b) => Ok(Endpoint::socket(b.cooked(func)?)),
            None => Err(bad_argument(
                func,
                idx as usize,
                format!("nml socket or context expected, got {}", s.kind(idx).name()),
            )),
        }
    }

    pub fn socket(state: &'a SocketState) -> Endpoint<'a> {
        Endpoint {
            state,
            context: None,
        }
    }

    /// Sends `msg`, counted.
    fn send(&self, msg: Message, dontwait: bool) -> Result<()> {
        self.send_or_return(msg, dontwait).map_err(|(e, _msg)| e)
    }

    /// Sends `msg`, counted; on failure it comes back, untouched, with the error.
    pub fn send_or_return(
        &self,
        msg: Message,
        dontwait: bool,
    ) -> std::result::Result<(), (Error, Message)> {
        let dontwait = self.state.may_give_up(dontwait);
        let bytes = msg.len() as u64;
        let sent = match self.context {
            Some(c) => match c.open() {
                Ok(context) => context.send(msg, dontwait),
                Err(closed) => return Err((closed, msg)),
            },
            None => match self.state.open() {
                Ok(socket) => socket.send(msg, dontwait),
                Err(closed) => return Err((closed, msg)),
            },
        };
        match sent {
            Ok(()) => {
                self.state.count_sent(bytes);
                Ok(())
            }
            Err((e, msg)) => Err((self.explained(e, Direction::Send), msg)),
        }
    }

    /// Sends `msg`, first placing a hold on each shared buffer it references (`share = true`),
    /// one per receiver the pattern gives it to, so that a pool lends the buffer again only
    /// once each of them has let go of its view; the holds are given back if the send fails.
    pub fn send_holding(&self, module: &Module, msg: Message, dontwait: bool) -> Result<()> {
        if !self.state.shares() {
            return self.send(msg, dontwait);
        }
        let shared = module.codec().cache.take_shared();
        let receivers = self.state.receivers()?;
        for control in &shared {
            control.add_in_flight(receivers);
        }
        let sent = self.send(msg, dontwait);
        if sent.is_err() {
            for control in &shared {
                control.drop_in_flight(receivers);
            }
        }
        sent
    }

    /// The socket's poll descriptor for `direction` (a context's is its socket's).
    pub fn fd(&self, direction: Direction) -> Result<c_int> {
        if let Some(c) = self.context {
            c.open()?;
        }
        let socket = self.state.open()?;
        Ok(match direction {
            Direction::Recv => socket.recv_fd()?,
            Direction::Send => socket.send_fd()?,
        })
    }

    /// Receives a message, counted (or refused for its size), its envelope read.
    pub fn receive(&self, s: &Stack, dontwait: bool) -> Result<Received> {
        let msg = self.recv_collected(s, dontwait)?;
        self.state.admit(msg.len())?;
        if !self.state.tagged() {
            let carried = Carried::Known(self.state.default_protocol());
            return Ok(Received {
                msg,
                payload_at: 0,
                topic_len: 0,
                carried,
            });
        }
        let parsed = match envelope::parse(msg.body(), self.state.pattern == Pattern::Sub) {
            Ok(p) => (
                p.payload_at,
                p.topic.len(),
                Carried::by_tag(Module::of(s)?, &p.tag),
            ),
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

    /// A receiver that dropped views of shared buffers without freeing them keeps them from
    /// their pool until its collector runs, which it may not while it sits here waiting: so
    /// before waiting, with views open (and one opened since the last such collection, or
    /// that a second ago), a full collection gives back those no longer used.
    fn recv_collected(&self, s: &Stack, dontwait: bool) -> Result<Message> {
        if dontwait || !crate::shm::collection_may_help() {
            return self.recv(dontwait);
        }
        match self.recv(true) {
            Err(e) if e.code() == Some(crate::error::code::AGAIN) => {
                s.collect_garbage();
                crate::shm::collected();
                self.recv(false)
            }
            received => received,
        }
    }

    fn recv(&self, dontwait: bool) -> Result<Message> {
        let received = match self.context {
            Some(c) => c.open()?.recv(dontwait),
            None => self.state.open()?.recv(dontwait),
        };
        received.map_err(|e| self.explained(e, Direction::Recv))
    }

    /// NNG's error, with what nml knows of its cause where NNG's words do not say it: why a
    /// wait found nothing, whose turn it is.
    fn explained(&self, e: NngError, direction: Direction) -> Error {
        if e.code() != "timeout" {
            return out_of_turn(e, self.state.pattern, direction);
        }
        let why = match (self.alone(), direction) {
            (Some(why), _) => why,
            // A context subscribes apart from its socket.
            (None, Direction::Recv)
                if self.context.is_none() && self.state.subscribes_to_nothing() =>
            {
                "this sub socket subscribes to nothing, so nothing reaches it: \
                 sock:subscribe(\"\") takes every topic"
                    .to_string()
            }
            (None, _) => return Error::from(e),
        };
        Error::returned("timeout", format!("{} ({why})", e.describe()))
    }

    /// Why no peer is there, when the last to connect was refused (`pipe_events` says each).
    fn alone(&self) -> Option<String> {
        let refused = self.state.open().ok()?.refused_while_alone()?;
        let Happened::Refused(why) = refused.happened else {
            return None;
        };
        let ours = self.state.pattern;
        let reason = match why {
            Refusal::Protocol => format!(
                "it is {}, and a {} talks to a {}",
                refused
                    .peer
                    .map_or("of a pattern NNG does not know".to_string(), |p| {
                        format!("a {} socket", p.name())
                    }),
                ours.name(),
                ours.peer().name()
            ),
            Refusal::Allow => "sock:allow does not list it".to_string(),
            Refusal::Taken => "this pair had its peer".to_string(),
        };
        Some(format!(
            "no peer is connected: the last to connect, {}, was refused: {reason}; \
             sock:pipe_events() tells each",
            refused.address
        ))
    }
}

/// A received message and what its envelope says.
pub struct Received {
    pub msg: Message,
    pub payload_at: usize,
    pub topic_len: usize,
    pub carried: Carried,
}

#[derive(Clone, Copy)]
pub enum Direction {
    Recv,
    Send,
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

/// `sock:send(value [, protocol [, {dontwait = bool, topic = string}]]) -> true | nil, err, code`.
fn sock_send_impl(s: &Stack) -> Returns {
    const F: &str = "send";
    let endpoint = Endpoint::at(s, 1, F)?;
    let b = endpoint.state;
    let module = Module::of(s)?;
    let protocol = payload::protocol_arg(s, module, 3, F)?.unwrap_or_else(|| b.default_protocol());
    if s.kind(2) == Kind::None {
        return Err(bad_argument(F, 2, "value expected"));
    }
    let options = send_options(s, b, 4, F)?;
    let header = b.envelope(options.topic.unwrap_or(b""), &protocol);
    let codec = b.codec(module, options.strings);
    let msg = module
        .with_scratch(|buf| protocol.encode_message(s, codec, &header, 2, buf))
        .map_err(|e| e.context("send: "))?;
    endpoint.send_holding(module, msg, options.dontwait)?;
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
    let strings = Strings::opt_field(s, opts, func)?;
    let topic = match s.raw_get_field(opts, "topic") {
        Kind::Nil => None,
        kind => {
            if kind == Kind::String {
                b.may_carry_topic(func)?;
            }
            Some(payload::topic_on_top(s, idx, func)?)
        }
    };
    // The value stays referenced from the options table, so `topic` stays valid.
    Ok(SendOptions {
        dontwait,
        topic,
        strings,
    })
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
    let r = endpoint.receive(s, dontwait)?;
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
        r.carried.push(s, (body, r.payload_at), buffers, shared)?;
        let topic = &body[..r.topic_len];
        if topic.is_empty() {
            s.push_nil();
        } else {
            s.push_bytes(topic);
        }
        Ok(3)
    })
}
