//! nml messages: NNG-owned buffers as Lua userdata (API.md section 4).
//!
//! `nml.allocmsg(size)` gives a full userdata that owns an `nng_msg`. It can be filled from Lua
//! (`write`) or C (`ptr`), packed into (`nml.pack_into`), and handed to `nml.send` with
//! `nml.NN_MSG`, which gives the `nng_msg` to NNG without a copy. Once freed or sent, every use
//! returns `nil, message, "freed"`; the GC frees what a script forgets.

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, CStr};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{bad_argument, Error, Result};
use crate::lua::{Kind, Returns, Stack};
use crate::nng::Message;

pub const METATABLE: &CStr = c"nml.msg";

/// Bytes kept free before the body of a message from `nml.allocmsg`: the envelope of a
/// built-in protocol is 2 bytes, of a named one 3 plus the name.
const HEADROOM: usize = 32;

pub enum State {
    Live(Message),
    Freed,
    Sent,
}

/// Bytes of NNG messages held by Lua values in this process, and the level at which the next
/// full collection runs. Lua's collector does not see memory NNG allocates, so a script that
/// drops large messages without freeing them would otherwise grow without bound; a collection
/// when the held bytes double (as Lua's own pause does) bounds that without costing anything to
/// scripts that free or send what they allocate.
static HELD: AtomicUsize = AtomicUsize::new(0);
static NEXT_COLLECTION: AtomicUsize = AtomicUsize::new(MIN_COLLECTION);
const MIN_COLLECTION: usize = 64 << 20;

/// The Lua userdata of a message.
pub struct MsgBox {
    pub state: RefCell<State>,
    /// What this box adds to HELD.
    held: Cell<usize>,
}

impl MsgBox {
    pub fn push(s: &Stack, msg: Message) {
        let len = msg.len();
        let b = MsgBox {
            state: RefCell::new(State::Live(msg)),
            held: Cell::new(0),
        };
        b.hold(len);
        s.push_udata(b, METATABLE);
        if HELD.load(Ordering::Relaxed) > NEXT_COLLECTION.load(Ordering::Relaxed) {
            s.collect_garbage();
            let next = (2 * HELD.load(Ordering::Relaxed)).max(MIN_COLLECTION);
            NEXT_COLLECTION.store(next, Ordering::Relaxed);
        }
    }

    /// Records that this box now holds `len` bytes of NNG memory.
    fn hold(&self, len: usize) {
        let old = self.held.replace(len);
        if len >= old {
            HELD.fetch_add(len - old, Ordering::Relaxed);
        } else {
            HELD.fetch_sub(old - len, Ordering::Relaxed);
        }
    }

    /// Runs `f` on the live message, or says why there is none.
    pub fn with<R>(&self, f: impl FnOnce(&mut Message) -> Result<R>) -> Result<R> {
        match &mut *self.state.borrow_mut() {
            State::Live(m) => f(m),
            State::Freed => Err(freed("the message was freed")),
            State::Sent => Err(freed("the message was sent (sending hands it to NNG)")),
        }
    }

    /// Takes the message out (to send it); the box is then `Sent`.
    pub fn take_for_send(&self) -> Result<Message> {
        let state = std::mem::replace(&mut *self.state.borrow_mut(), State::Sent);
        match state {
            State::Live(m) => {
                self.hold(0);
                Ok(m)
            }
            other => {
                let what = matches!(other, State::Freed);
                *self.state.borrow_mut() = other;
                Err(freed(if what {
                    "the message was freed"
                } else {
                    "the message was already sent"
                }))
            }
        }
    }

    /// Puts back a message that NNG refused to send.
    pub fn restore(&self, msg: Message) {
        self.hold(msg.len());
        *self.state.borrow_mut() = State::Live(msg);
    }
}

impl Drop for MsgBox {
    fn drop(&mut self) {
        self.hold(0);
    }
}

fn freed(what: &str) -> Error {
    Error::returned("freed", what)
}

fn range(what: String) -> Error {
    Error::returned(crate::error::code::RANGE, what)
}

pub fn check<'a>(s: &'a Stack, idx: c_int, func: &str) -> Result<&'a MsgBox> {
    crate::error::check_udata(s, idx, METATABLE, func, "nml message")
}

/// A size argument: a non-negative integer.
pub fn check_size(s: &Stack, idx: c_int, func: &str) -> Result<usize> {
    match s.to_f64(idx) {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n < 9.0e15 => Ok(n as usize),
        _ => Err(bad_argument(
            func,
            idx as usize,
            "size must be a non-negative integer",
        )),
    }
}

crate::lua_functions! {
    allocmsg => allocmsg_impl;
    reallocmsg => reallocmsg_impl;
    freemsg => freemsg_impl;
    msg_size => size_impl;
    msg_ptr => ptr_impl;
    msg_tostring => tostring_impl;
    msg_read => read_impl;
    msg_write => write_impl;
    msg_describe => describe_impl;
}

/// `nml.allocmsg(size) -> msg | nil, err, code`.
fn allocmsg_impl(s: &Stack) -> Returns {
    let size = check_size(s, 1, "allocmsg")?;
    // Room in front for the envelope `nml.send(..., nml.NN_MSG)` puts there.
    let msg = Message::alloc_with_headroom(size, HEADROOM).map_err(crate::transfer::nng_error)?;
    MsgBox::push(s, msg);
    Ok(1)
}

/// `nml.reallocmsg(msg, size) -> msg | nil, err, code`: the same message, resized.
fn reallocmsg_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "reallocmsg")?;
    let size = check_size(s, 2, "reallocmsg")?;
    b.with(|m| m.resize(size).map_err(crate::transfer::nng_error))?;
    b.hold(size);
    s.set_top(1);
    Ok(1)
}

/// `nml.freemsg(msg) -> 0 | nil, err, "freed"`.
fn freemsg_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "freemsg")?;
    let old = std::mem::replace(&mut *b.state.borrow_mut(), State::Freed);
    match old {
        State::Live(m) => {
            drop(m);
            b.hold(0);
        }
        other => {
            *b.state.borrow_mut() = other;
            return Err(freed("the message was already freed or sent"));
        }
    }
    s.push_int(0);
    Ok(1)
}

/// `#msg`, `msg:size()`.
fn size_impl(s: &Stack) -> Returns {
    let n = check(s, 1, "size")?.with(|m| Ok(m.len()))?;
    s.push_int(n as i64);
    Ok(1)
}

/// `msg:ptr()`: a lightuserdata to the first byte, for other C modules.
fn ptr_impl(s: &Stack) -> Returns {
    let p = check(s, 1, "ptr")?.with(|m| Ok(m.body_ptr()))?;
    s.push_light(p);
    Ok(1)
}

/// `msg:tostring([i [, j]])`: the bytes from i to j, as `string.sub` counts them.
fn tostring_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "tostring")?;
    let i = opt_index(s, 2, 1, "tostring")?;
    let j = opt_index(s, 3, -1, "tostring")?;
    b.with(|m| {
        let body = m.body();
        let (from, to) = sub_range(body.len(), i, j);
        s.push_bytes(&body[from..to]);
        Ok(())
    })?;
    Ok(1)
}

/// `msg:read(offset, n) -> string | nil, err, "range"`, offset 0-based.
fn read_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "read")?;
    let offset = check_size(s, 2, "read")?;
    let n = check_size(s, 3, "read")?;
    b.with(|m| {
        let body = m.body();
        match offset.checked_add(n).filter(|&end| end <= body.len()) {
            Some(end) => {
                s.push_bytes(&body[offset..end]);
                Ok(())
            }
            None => Err(range(format!(
                "read of {n} bytes at offset {offset} is outside the message ({} bytes)",
                body.len()
            ))),
        }
    })?;
    Ok(1)
}

/// `msg:write(offset, string) -> msg | nil, err, "range"`, offset 0-based.
fn write_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "write")?;
    let offset = check_size(s, 2, "write")?;
    let data = s
        .opt_bytes(3)
        .ok_or_else(|| bad_argument("write", 3, "string expected"))?;
    b.with(|m| {
        let len = m.len();
        match offset.checked_add(data.len()).filter(|&end| end <= len) {
            Some(end) => {
                m.body_mut()[offset..end].copy_from_slice(data);
                Ok(())
            }
            None => Err(range(format!(
                "write of {} bytes at offset {offset} is outside the message ({len} bytes)",
                data.len()
            ))),
        }
    })?;
    s.set_top(1);
    Ok(1)
}

/// `tostring(msg)`.
fn describe_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "__tostring")?;
    let text = match &*b.state.borrow() {
        State::Live(m) => format!("nml.msg ({} bytes)", m.len()),
        State::Freed => "nml.msg (freed)".to_string(),
        State::Sent => "nml.msg (sent)".to_string(),
    };
    s.push_str(&text);
    Ok(1)
}

fn opt_index(s: &Stack, idx: c_int, default: i64, func: &str) -> Result<i64> {
    if s.is_none_or_nil(idx) {
        return Ok(default);
    }
    match s.to_f64(idx) {
        Some(n) if n.fract() == 0.0 => Ok(n as i64),
        _ => Err(bad_argument(func, idx as usize, "integer expected")),
    }
}

/// `string.sub`'s reading of i and j over `len` bytes, as a Rust range.
fn sub_range(len: usize, i: i64, j: i64) -> (usize, usize) {
    let len = len as i64;
    let from = if i < 0 {
        (len + i + 1).max(1)
    } else {
        i.max(1)
    };
    let to = if j < 0 { len + j + 1 } else { j.min(len) };
    if from > to {
        (0, 0)
    } else {
        ((from - 1) as usize, to as usize)
    }
}

/// The methods of messages, and their metamethods.
pub const METHODS: &[(&str, crate::LuaFn)] = &[
    ("size", msg_size),
    ("ptr", msg_ptr),
    ("tostring", msg_tostring),
    ("read", msg_read),
    ("write", msg_write),
    ("free", freemsg),
];
pub const METAMETHODS: &[(&str, crate::LuaFn)] =
    &[("__len", msg_size), ("__tostring", msg_describe)];

/// True when the value at `idx` is an nml message (live or not).
pub fn is_message(s: &Stack, idx: c_int) -> bool {
    s.kind(idx) == Kind::Userdata && s.test_udata::<MsgBox>(idx, METATABLE).is_some()
}

#[cfg(test)]
mod tests {
    use super::sub_range;

    #[test]
    fn sub_range_counts_like_string_sub() {
        assert_eq!(sub_range(5, 1, -1), (0, 5));
        assert_eq!(sub_range(5, 2, 3), (1, 3));
        assert_eq!(sub_range(5, -2, -1), (3, 5));
        assert_eq!(sub_range(5, 4, 2), (0, 0));
        assert_eq!(sub_range(5, 0, 100), (0, 5));
        assert_eq!(sub_range(0, 1, -1), (0, 0));
    }
}
