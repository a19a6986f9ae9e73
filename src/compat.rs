//! The nanomsg-style functions `nml.send(sock, buffer, flags, size, protocol)` and
//! `nml.recv(sock, flags [, buffer, size])`, with `nml.NN_MSG` and `nml.NN_DONTWAIT` (the
//! manual's "Messages"): strings, userdata and nml messages sent as bytes or handed over
//! whole, and received into a string, a buffer or a message. nanomsg's names, as NNG keeps its
//! nanomsg API apart in `compat`. They go through a socket's own path (`transfer.rs`); the
//! messages they use (`nml.allocmsg`, `nml.freemsg`) are `message.rs`'s, shared with the rest.

use std::ffi::c_int;

use crate::error::{bad_argument, Result};
use crate::lua::{Inline, Kind, LuaFn, Returns, Stack};
use crate::message::{self, MsgBox};
use crate::payload;
use crate::protocol::{bytes_message, Protocol};
use crate::socket::{self, SocketState};
use crate::state::Module;
use crate::transfer::{Endpoint, Received};

/// `nml.NN_MSG`: "the buffer is an nml message; hand it over without copying".
pub const NN_MSG: i64 = -1;
/// `nml.NN_DONTWAIT`: do not block.
pub const NN_DONTWAIT: i64 = 1;

crate::lua_functions! {
    send => send_impl;
    recv => recv_impl;
}

/// The functions of this file, as `nml.<name>`.
pub const FUNCTIONS: &[(&str, LuaFn)] = &[("send", send), ("recv", recv)];

/// `nml.send(sock, buffer, flags, size, protocol) -> 0 | nil, err, code`.
fn send_impl(s: &Stack) -> Returns {
    const F: &str = "send";
    let b = socket::check(s, 1, F)?.cooked(F)?;
    let module = Module::of(s)?;
    let dontwait = flags_dontwait(s, 3, F)?;
    let size = opt_size(s, 4, F)?;
    let protocol_arg = payload::protocol_arg(s, module, 5, F)?;
    // Bytes handed over are taken as already encoded; they are "string" unless said otherwise.
    let bytes_header = || b.envelope(b"", protocol_arg.as_ref().unwrap_or(&Protocol::String));
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
            bytes_message(&bytes_header(), bytes)?
        }
        Kind::Userdata if message::is_message(s, 2) => {
            let mb = message::check(s, 2, F)?;
            let header = bytes_header();
            if size == Size::Whole {
                return send_whole_message(s, b, mb, &header, dontwait);
            }
            mb.bytes(|body| bytes_message(&header, prefix(body, size, "send")?))?
        }
        Kind::Userdata | Kind::LightUserdata => {
            bytes_message(&bytes_header(), userdata_bytes(s, 2, size)?)?
        }
        Kind::None => return Err(bad_argument(F, 2, "buffer expected (nil to send nil)")),
        Kind::Table | Kind::Number | Kind::Boolean | Kind::Nil => {
            let protocol = protocol_arg.unwrap_or_else(|| b.default_protocol());
            let header = b.envelope(b"", &protocol);
            let codec = b.codec(module, None);
            module
                .with_scratch(|buf| protocol.encode_message(s, codec, &header, 2, buf))
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
    Endpoint::socket(b).send_holding(module, msg, dontwait)?;
    s.push_int(0);
    Ok(1)
}

/// The first `size` bytes of the userdata at `idx` (a size is required: Lua does not know
/// what a userdata holds).
fn userdata_bytes(s: &Stack, idx: c_int, size: Size) -> Result<&[u8]> {
    let n = match size {
        Size::Bytes(n) if n > 0 => n,
        _ => {
            return Err(bad_argument(
                "send",
                4,
                "a userdata buffer needs a size greater than 0",
            ))
        }
    };
    s.userdata_bytes(idx, n).ok_or_else(|| {
        bad_argument(
            "send",
            4,
            format!(
                "size {n} is larger than the userdata ({} bytes)",
                s.raw_len(idx)
            ),
        )
    })
}

/// The optional `size` of `nml.send` and `nml.recv`.
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
    let mut msg = mb.take_for_send()?;
    if let Err(e) = msg.prepend(header) {
        mb.restore(msg);
        return Err(e.into());
    }
    if let Err((e, mut back)) = Endpoint::socket(b).send_or_return(msg, dontwait) {
        back.trim_front(header.len());
        mb.restore(back);
        return Err(e);
    }
    s.push_int(0);
    Ok(1)
}

/// `nml.recv(sock, flags [, ud, size]) -> buffer, bytes, protocol | nil, err, code`.
fn recv_impl(s: &Stack) -> Returns {
    const F: &str = "recv";
    let b = socket::check(s, 1, F)?.cooked(F)?;
    let dontwait = flags_dontwait(s, 2, F)?;
    let size = opt_size(s, 4, F)?;
    let into_ud = !s.is_none_or_nil(3);
    // Checked before anything is received, so that a call that cannot succeed takes nothing.
    let capacity = recv_capacity(s, into_ud, size)?;
    let Received {
        msg,
        payload_at,
        carried,
        ..
    } = Endpoint::socket(b).receive(s, dontwait)?;
    let payload_len = msg.len() - payload_at;
    let protocol_name = carried.name();
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

/// How many bytes `nml.recv` may write into the caller's buffer (argument 3): its `size`
/// argument, once checked against the buffer; 0 without a buffer.
fn recv_capacity(s: &Stack, into_ud: bool, size: Size) -> Result<usize> {
    match (into_ud, size) {
        (true, Size::Bytes(n)) => writable_buffer(s, 3, n),
        (true, _) => Err(bad_argument("recv", 4, "size expected with a buffer")),
        (false, Size::Bytes(_)) => Err(bad_argument(
            "recv",
            4,
            "size is for a buffer (argument 3): without one the whole payload comes back as a \
             string",
        )),
        (false, _) => Ok(0),
    }
}

/// Checks that `nml.recv` may write `n` bytes into the buffer at `idx`: an nml message, a
/// plain userdata block (no metatable) or a lightuserdata (trusted, as documented), of at
/// least `n` bytes. A userdata with a metatable is its module's object (an `io.open` file,
/// written over, crashed the interpreter at its next use). Returns `n`.
fn writable_buffer(s: &Stack, idx: c_int, n: usize) -> Result<usize> {
    let len = match s.kind(idx) {
        Kind::Userdata if message::is_message(s, idx) => message::check(s, idx, "recv")?.size()?,
        Kind::Userdata if s.get_metatable(idx) => {
            s.pop(1);
            return Err(bad_argument(
                "recv",
                idx as usize,
                "a userdata with a metatable belongs to its module (a file, a socket): \
                 nml.recv writes only into nml messages, plain userdata blocks and \
                 lightuserdata",
            ));
        }
        Kind::Userdata => s.raw_len(idx),
        Kind::LightUserdata => return Ok(n),
        k => {
            return Err(bad_argument(
                "recv",
                idx as usize,
                format!(
                    "buffer must be an nml message or a userdata, got {}",
                    k.name()
                ),
            ))
        }
    };
    if n > len {
        return Err(bad_argument(
            "recv",
            4,
            format!("size {n} is larger than the buffer ({len} bytes)"),
        ));
    }
    Ok(n)
}

/// Copies up to `capacity` bytes of `payload` into the message or userdata at `idx`, which
/// `writable_buffer` checked before the message was received (no Lua code runs in between);
/// the checks here only keep the copy in bounds.
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
