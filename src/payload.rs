//! What a message carries, for every path that makes or reads one: `sock:send`/`sock:recv`
//! (sockets and contexts), the nanomsg-style `nml.send`/`nml.recv` (compat.rs) and
//! `nml.wrap`/`nml.unwrap` (api.rs). The arguments that name what goes in (a protocol, a
//! topic) are checked here, once; how a value is encoded and decoded is the protocol's
//! (protocol.rs).

use std::ffi::c_int;

use crate::envelope::{self, Tag};
use crate::error::{bad_argument, code, Result};
use crate::lua::{Kind, Stack};
use crate::msgpack::unpack::{Buffers, SharedRefs};
use crate::protocol::Protocol;
use crate::state::Module;

/// The protocol named by argument `idx`, or `None` when the argument is absent or nil.
pub fn protocol_arg(
    s: &Stack,
    module: &Module,
    idx: c_int,
    func: &str,
) -> Result<Option<Protocol>> {
    match s.kind(idx) {
        Kind::None | Kind::Nil => Ok(None),
        Kind::String => {
            let name = s.to_bytes(idx);
            let resolved = module.protocols.borrow().resolve(name);
            resolved
                .map(Some)
                .ok_or_else(|| crate::protocol::unknown(name))
        }
        Kind::Table if func == "send" => Err(bad_argument(
            func,
            idx as usize,
            "protocol name expected, got table (options come after the protocol: \
             sock:send(value, nil, {dontwait = true}))",
        )),
        k => Err(bad_argument(
            func,
            idx as usize,
            format!("protocol name expected, got {}", k.name()),
        )),
    }
}

/// The topic at the top of the stack, the `topic` field of the options at argument `arg`: UTF-8
/// text without the byte that ends a topic in the envelope.
pub fn topic_on_top<'a>(s: &'a Stack, arg: c_int, func: &str) -> Result<&'a [u8]> {
    if s.kind(-1) != Kind::String {
        return Err(bad_argument(func, arg as usize, "topic must be a string"));
    }
    let topic = s.to_bytes(-1);
    if topic.contains(&envelope::TAG) || std::str::from_utf8(topic).is_err() {
        return Err(bad_argument(func, arg as usize, "topic must be UTF-8 text"));
    }
    Ok(topic)
}

/// What a received message says it carries.
pub enum Carried {
    Known(Protocol),
    /// A tag naming no protocol known here: the payload comes back as bytes, with this name.
    Unknown(String),
    /// No envelope.
    Bare,
}

impl Carried {
    /// What the envelope's `tag` names, among the protocols `module` knows.
    pub fn by_tag(module: &Module, tag: &Tag) -> Carried {
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

    /// The name of what is carried (`None` for a bare payload).
    pub fn name(&self) -> Option<&str> {
        match self {
            Carried::Known(p) => Some(p.name()),
            Carried::Unknown(name) => Some(name),
            Carried::Bare => None,
        }
    }

    /// Pushes the decoded payload, `body` from `payload_at` on (or its bytes, for what is not
    /// known here), and the name of its protocol (nil for a bare payload). A decoding error
    /// carries the whole body, envelope and topic included, so that nothing received is lost;
    /// a malformed one counts bytes in the payload, and says so where an envelope came first.
    pub fn push(
        &self,
        s: &Stack,
        (body, payload_at): (&[u8], usize),
        buffers: Buffers,
        shared: SharedRefs,
    ) -> Result<()> {
        let payload = &body[payload_at..];
        let Carried::Known(p) = self else {
            s.push_bytes(payload);
            match self.name() {
                Some(name) => s.push_str(name),
                None => s.push_nil(),
            }
            return Ok(());
        };
        let codec = Module::of(s)?.codec();
        p.decode_received(s, codec, payload, buffers, shared)
            .map_err(|e| {
                let e = match (payload_at, e.code()) {
                    (n @ 1.., Some(code::MALFORMED)) => e.noted(&format!(
                        " (bytes of the payload, after a {n}-byte envelope)"
                    )),
                    _ => e,
                };
                e.with_raw(body.to_vec())
            })?;
        if s.kind(-1) == Kind::Nil {
            // A sent nil: nml.null, so that a successful receive is never nil.
            s.pop(1);
            s.push_light(std::ptr::null_mut());
        }
        s.push_str(p.name());
        Ok(())
    }
}
