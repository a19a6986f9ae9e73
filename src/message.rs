//! nml messages: NNG-owned buffers as Lua userdata (the manual's "Messages").
//!
//! `nml.allocmsg(size)` gives a full userdata that owns an `nng_msg`. It can be filled from Lua
//! (`write`) or C (`ptr`), packed into (`nml.pack_into`), and handed to `nml.send` with
//! `nml.NN_MSG`, which gives the `nng_msg` to NNG without a copy. Once freed or sent, every use
//! returns `nil, message, "freed"`; the GC frees what a script forgets.

use std::cell::RefCell;
use std::ffi::{c_int, c_void, CStr};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::args;
use crate::error::{bad_argument, Error, Result};
use crate::lua::{Kind, LuaFn, Returns, Stack};
use crate::nng::Message;
use crate::shm::{self, Segment};

pub const METATABLE: &CStr = c"nml.msg";

/// Bytes kept free before the body of a message from `nml.allocmsg`: the envelope of a
/// built-in protocol is 2 bytes, of a named one 3 plus the name.
pub const HEADROOM: usize = 32;

pub enum State {
    Live(Body),
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

fn count_held(added: usize, removed: usize) {
    if added >= removed {
        HELD.fetch_add(added - removed, Ordering::Relaxed);
    } else {
        HELD.fetch_sub(removed - added, Ordering::Relaxed);
    }
}

/// An NNG message held by Lua values, counted in HELD while it lives.
pub struct Held(Option<Message>);

impl Held {
    pub fn new(msg: Message) -> Held {
        count_held(msg.len(), 0);
        Held(Some(msg))
    }

    pub fn get(&self) -> &Message {
        self.0
            .as_ref()
            .expect("a Held message is present until taken")
    }

    fn get_mut(&mut self) -> &mut Message {
        self.0
            .as_mut()
            .expect("a Held message is present until taken")
    }

    fn resize(&mut self, size: usize) -> Result<()> {
        let old = self.get().len();
        self.get_mut().resize(size)?;
        count_held(size, old);
        Ok(())
    }

    /// The message, no longer counted (it goes to NNG).
    fn take(mut self) -> Message {
        let msg = self
            .0
            .take()
            .expect("a Held message is present until taken");
        count_held(0, msg.len());
        msg
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(m) = &self.0 {
            count_held(0, m.len());
        }
    }
}

/// A message whose bytes buffers unpacked from it point into.
pub type SharedMsg = Rc<RefCell<Held>>;

/// What a live nml message holds: a message of its own, or a range of a message it shares
/// with the views unpacked from it (the manual's "Buffers in tables"). A shared message lives as long as any
/// message or view refers to it, so a view never points at freed memory.
pub enum Body {
    Owned(Held),
    Shared {
        msg: SharedMsg,
        at: usize,
        len: usize,
    },
    /// A shared buffer (`nml.shm_alloc`, a pool's, writable), or a receiver's view of one
    /// (read-only).
    Mapped(Mapped),
}

/// The free segments of a pool (`nml.shm_pool`), where a lent one goes back.
pub type PoolHome = Rc<RefCell<Vec<Segment>>>;

/// A shared buffer held by a message.
pub struct Mapped {
    seg: Option<Segment>,
    /// The pool it goes back to when the message is freed or collected.
    home: Option<Weak<RefCell<Vec<Segment>>>>,
}

impl Mapped {
    fn seg(&self) -> &Segment {
        self.seg
            .as_ref()
            .expect("a Mapped holds its segment until dropped")
    }

    fn seg_mut(&mut self) -> &mut Segment {
        self.seg
            .as_mut()
            .expect("a Mapped holds its segment until dropped")
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        let (Some(seg), Some(home)) = (self.seg.take(), self.home.take()) else {
            return;
        };
        // Back to its pool, if the pool is still there and not in the middle of a call (a
        // collection inside `take`); else the segment is unmapped here, as any other.
        if let Some(home) = home.upgrade() {
            if let Ok(mut free) = home.try_borrow_mut() {
                free.push(seg);
            }
        }
    }
}

impl Body {
    fn len(&self) -> usize {
        match self {
            Body::Owned(h) => h.get().len(),
            Body::Shared { len, .. } => *len,
            Body::Mapped(m) => m.seg().len(),
        }
    }

    fn bytes<R>(&self, f: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
        match self {
            Body::Owned(h) => f(h.get().body()),
            Body::Shared { msg, at, len } => {
                let held = msg.try_borrow().map_err(|_| busy())?;
                f(&held.get().body()[*at..at + len])
            }
            Body::Mapped(m) => f(m.seg().data()),
        }
    }

    fn bytes_mut<R>(&mut self, f: impl FnOnce(&mut [u8]) -> Result<R>) -> Result<R> {
        match self {
            Body::Owned(h) => f(h.get_mut().body_mut()),
            Body::Shared { msg, at, len } => {
                let mut held = msg.try_borrow_mut().map_err(|_| busy())?;
                f(&mut held.get_mut().body_mut()[*at..*at + *len])
            }
            Body::Mapped(m) => match m.seg_mut().data_mut() {
                Some(bytes) => f(bytes),
                None => Err(Error::raise(
                    "a shared buffer received is read-only: copy it (msg:tostring()) to change it",
                )),
            },
        }
    }

    fn ptr(&self) -> Result<*mut c_void> {
        match self {
            Body::Owned(h) => Ok(h.get().body_ptr()),
            Body::Shared { msg, at, .. } => {
                let held = msg.try_borrow().map_err(|_| busy())?;
                Ok(held.get().body_ptr().wrapping_byte_add(*at))
            }
            Body::Mapped(m) => Ok(m.seg().data_ptr().cast()),
        }
    }

    /// True when this is part of a message (a buffer unpacked from it).
    fn is_view(&self) -> bool {
        match self {
            Body::Owned(_) => false,
            Body::Mapped(m) => !m.seg().is_creator(),
            Body::Shared { msg, at, len } => msg
                .try_borrow()
                .map_or(true, |m| *at != 0 || *len != m.get().len()),
        }
    }

    /// True when this is a shared message that nothing else refers to, whole.
    fn is_alone(&self) -> bool {
        match self {
            Body::Owned(_) | Body::Mapped(_) => false,
            Body::Shared { msg, at, len } => {
                Rc::strong_count(msg) == 1
                    && *at == 0
                    && msg.try_borrow().is_ok_and(|m| *len == m.get().len())
            }
        }
    }

    /// Makes this a message of its own: the shared message itself when nothing else refers to
    /// it, else a copy of the range (as `realloc` may move a block). On failure nothing changes.
    fn make_owned(&mut self) -> Result<()> {
        let copy = match self {
            Body::Owned(_) => return Ok(()),
            _ if self.is_alone() => None,
            Body::Shared { msg, at, len } => {
                let held = msg.try_borrow().map_err(|_| busy())?;
                Some(copy_of(&held.get().body()[*at..*at + *len])?)
            }
            Body::Mapped(m) => Some(copy_of(m.seg().data())?),
        };
        let owned = match copy {
            Some(h) => h,
            None => match std::mem::replace(self, Body::Owned(Held(None))) {
                Body::Shared { msg, .. } => match Rc::try_unwrap(msg) {
                    Ok(cell) => cell.into_inner(),
                    Err(_) => unreachable!("is_alone saw one owner"),
                },
                Body::Owned(_) | Body::Mapped(_) => unreachable!(),
            },
        };
        *self = Body::Owned(owned);
        Ok(())
    }

    /// Makes this a shared message (if it is not one) and gives its message and range. A
    /// shared buffer is copied into a message first (views of it would outlive its mapping).
    fn share(&mut self) -> Result<(SharedMsg, usize, usize)> {
        if let Body::Mapped(_) = self {
            self.make_owned()?;
        }
        if let Body::Owned(_) = self {
            let Body::Owned(h) = std::mem::replace(self, Body::Owned(Held(None))) else {
                unreachable!()
            };
            let len = h.get().len();
            *self = Body::Shared {
                msg: Rc::new(RefCell::new(h)),
                at: 0,
                len,
            };
        }
        match self {
            Body::Shared { msg, at, len } => Ok((Rc::clone(msg), *at, *len)),
            Body::Owned(_) | Body::Mapped(_) => unreachable!("made shared above"),
        }
    }
}

fn copy_of(bytes: &[u8]) -> Result<Held> {
    let mut msg = Message::alloc_with_headroom(bytes.len(), HEADROOM)?;
    msg.body_mut().copy_from_slice(bytes);
    Ok(Held::new(msg))
}

/// The Lua userdata of a message.
pub struct MsgBox {
    state: RefCell<State>,
}

impl MsgBox {
    pub fn push(s: &Stack, msg: Message) -> Result<()> {
        MsgBox::push_body(s, Body::Owned(Held::new(msg)))
    }

    /// Pushes a view of `len` bytes at `at` in a shared message.
    pub fn push_view(s: &Stack, msg: &SharedMsg, at: usize, len: usize) -> Result<()> {
        let body = Body::Shared {
            msg: Rc::clone(msg),
            at,
            len,
        };
        MsgBox::push_body(s, body)
    }

    /// Pushes a shared buffer, or a receiver's view of one; `home` is the pool it goes back to.
    pub fn push_mapped(s: &Stack, segment: Segment, home: Option<&PoolHome>) -> Result<()> {
        let mapped = Mapped {
            seg: Some(segment),
            home: home.map(Rc::downgrade),
        };
        MsgBox::push_body(s, Body::Mapped(mapped))
    }

    /// The reference that stands for this message when it is a shared buffer of this
    /// process, and its control page, to count the holds of the receivers it goes to.
    pub fn shared_reference(&self) -> Result<Option<(shm::Reference, Rc<shm::Control>)>> {
        self.live(|body| match body {
            Body::Mapped(m) if m.seg().is_creator() => {
                Ok(Some((m.seg().reference(), m.seg().control())))
            }
            _ => Ok(None),
        })
    }

    fn push_body(s: &Stack, body: Body) -> Result<()> {
        let b = MsgBox {
            state: RefCell::new(State::Live(body)),
        };
        s.push_udata(b, METATABLE)?;
        if HELD.load(Ordering::Relaxed) > NEXT_COLLECTION.load(Ordering::Relaxed) {
            s.collect_garbage();
            let next = (2 * HELD.load(Ordering::Relaxed)).max(MIN_COLLECTION);
            NEXT_COLLECTION.store(next, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Runs `f` on the live body, or says why there is none.
    fn live<R>(&self, f: impl FnOnce(&mut Body) -> Result<R>) -> Result<R> {
        let mut state = self.state.try_borrow_mut().map_err(|_| busy())?;
        match &mut *state {
            State::Live(body) => f(body),
            State::Freed => Err(freed("the message was freed")),
            State::Sent => Err(freed("the message was sent (sending hands it to NNG)")),
        }
    }

    pub fn size(&self) -> Result<usize> {
        self.live(|b| Ok(b.len()))
    }

    /// Runs `f` on the message's bytes.
    pub fn bytes<R>(&self, f: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
        self.live(|b| b.bytes(f))
    }

    pub fn bytes_mut<R>(&self, f: impl FnOnce(&mut [u8]) -> Result<R>) -> Result<R> {
        self.live(|b| b.bytes_mut(f))
    }

    /// Grows or shrinks the message; a view becomes a message of its own.
    pub fn resize(&self, size: usize) -> Result<()> {
        self.live(|body| {
            body.make_owned()?;
            match body {
                Body::Owned(h) => h.resize(size),
                Body::Shared { .. } | Body::Mapped(_) => unreachable!("made owned above"),
            }
        })
    }

    /// The message this one's bytes are in, to unpack views from: `(message, at, len)`. A
    /// message of its own becomes shared; `settle` makes it its own again if no view was made.
    pub fn share(&self) -> Result<(SharedMsg, usize, usize)> {
        self.live(|body| body.share())
    }

    /// Makes a shared message its own again when no view refers to it, so that sending it
    /// with `NN_MSG` still hands it over without a copy.
    pub fn settle(&self) {
        let _ = self.live(|body| match body.is_alone() {
            true => body.make_owned(),
            false => Ok(()),
        });
    }

    /// Takes the message out (to send it); the box is then `Sent`. A view is copied first.
    pub fn take_for_send(&self) -> Result<Message> {
        self.live(|body| body.make_owned())?;
        let mut state = self.state.borrow_mut();
        match std::mem::replace(&mut *state, State::Sent) {
            State::Live(Body::Owned(h)) => Ok(h.take()),
            _ => unreachable!("live and owned, checked above"),
        }
    }

    /// Puts back a message that NNG refused to send.
    pub fn restore(&self, msg: Message) {
        *self.state.borrow_mut() = State::Live(Body::Owned(Held::new(msg)));
    }

    /// Frees the message now (a shared one lives on while views refer to it).
    pub fn free(&self) -> Result<()> {
        let mut state = self.state.try_borrow_mut().map_err(|_| busy())?;
        match std::mem::replace(&mut *state, State::Freed) {
            State::Live(_) => Ok(()),
            other => {
                *state = other;
                Err(freed("the message was already freed or sent"))
            }
        }
    }
}

pub fn busy() -> Error {
    Error::returned(
        "busy",
        "the message is in use by the call in progress (packing a message into itself?)",
    )
}

fn freed(what: &str) -> Error {
    Error::returned("freed", what)
}

pub fn check<'a>(s: &'a Stack, idx: c_int, func: &str) -> Result<&'a MsgBox> {
    crate::args::check_udata(s, idx, METATABLE, func, "nml message")
}

/// A required size argument: a byte count (see `args`).
fn required_size(s: &Stack, idx: c_int, func: &str) -> Result<usize> {
    crate::args::bytes(s, idx, func, "size")?
        .ok_or_else(|| bad_argument(func, idx as usize, "size expected"))
}

crate::lua_functions! {
    allocmsg => allocmsg_impl;
    shm_alloc => shm_alloc_impl;
    reallocmsg => reallocmsg_impl;
    freemsg => freemsg_impl;
    msg_size => size_impl;
    msg_len => len_impl;
    msg_ptr => ptr_impl;
    msg_tostring => tostring_impl;
    msg_read => read_impl;
    msg_write => write_impl;
    msg_describe => describe_impl;
}

/// `nml.allocmsg(size) -> msg | nil, err, code`.
fn allocmsg_impl(s: &Stack) -> Returns {
    let size = required_size(s, 1, "allocmsg")?;
    // Room in front for the envelope `nml.send(..., nml.NN_MSG)` puts there.
    let msg = Message::alloc_with_headroom(size, HEADROOM)?;
    MsgBox::push(s, msg)?;
    Ok(1)
}

/// `nml.shm_alloc(size) -> msg | nil, err, code`: a shared buffer, which a socket with
/// `share = true` sends as a reference to its memory, not as its bytes.
fn shm_alloc_impl(s: &Stack) -> Returns {
    let size = required_size(s, 1, "shm_alloc")?;
    let segment = Segment::create(size).map_err(|e| {
        Error::returned(
            crate::error::code::NOMEM,
            format!("cannot make a shared buffer of {size} bytes: {e}"),
        )
    })?;
    MsgBox::push_mapped(s, segment, None)?;
    Ok(1)
}

/// `nml.reallocmsg(msg, size) -> msg | nil, err, code`: the same message, resized.
fn reallocmsg_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "reallocmsg")?;
    let size = required_size(s, 2, "reallocmsg")?;
    b.resize(size)?;
    s.set_top(1);
    Ok(1)
}

/// `nml.freemsg(msg) -> 0 | nil, err, "freed"`.
fn freemsg_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "freemsg")?;
    b.free()?;
    s.push_int(0);
    Ok(1)
}

/// `#msg`, `msg:size()`.
fn size_impl(s: &Stack) -> Returns {
    let n = check(s, 1, "size")?.size()?;
    s.push_int(n as i64);
    Ok(1)
}

/// `#msg`: its size. An operator gives Lua one value, so a freed message raises here where
/// `msg:size()` returns `nil, message, "freed"` (`#msg` was nil, and `#msg + 1` then blamed
/// arithmetic on nil).
fn len_impl(s: &Stack) -> Returns {
    let n = check(s, 1, "__len")?
        .size()
        .map_err(|e| Error::raise(format!("#msg: {}", e.message())))?;
    s.push_int(n as i64);
    Ok(1)
}

/// `msg:ptr()`: a lightuserdata to the first byte, for other C modules.
fn ptr_impl(s: &Stack) -> Returns {
    let p = check(s, 1, "ptr")?.live(|b| b.ptr())?;
    s.push_light(p);
    Ok(1)
}

/// `msg:tostring([offset [, count]]) -> string | nil, err, "range"`: `count` bytes from the
/// 0-based `offset` (default 0), to the end when `count` is absent.
fn tostring_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "tostring")?;
    b.bytes(|body| {
        let offset = args::offset(s, 2, body.len(), 0, "tostring")?;
        let count = args::count(s, 3, "tostring")?.unwrap_or(body.len() - offset);
        s.push_bytes_protected(&body[args::span(offset, count, body.len(), "tostring")?])
    })?;
    Ok(1)
}

/// `msg:read(offset, count) -> string | nil, err, "range"`.
fn read_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "read")?;
    let count = required_count(s, 3, "read")?;
    // The body stays borrowed while its string is made (a finalizer run by the allocation
    // cannot free it meanwhile); push_bytes_protected ends the borrow even if Lua raises.
    b.bytes(|body| {
        let offset = required_offset(s, 2, body.len(), "read")?;
        s.push_bytes_protected(&body[args::span(offset, count, body.len(), "read")?])
    })?;
    Ok(1)
}

/// `msg:write(offset, string) -> msg | nil, err, "range"`.
fn write_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "write")?;
    let data = s
        .opt_bytes(3)
        .ok_or_else(|| bad_argument("write", 3, "string expected"))?;
    b.bytes_mut(|body| {
        let len = body.len();
        let offset = required_offset(s, 2, len, "write")?;
        body[args::span(offset, data.len(), len, "write")?].copy_from_slice(data);
        Ok(())
    })?;
    s.set_top(1);
    Ok(1)
}

fn required_offset(s: &Stack, idx: c_int, len: usize, func: &str) -> Result<usize> {
    if s.is_none_or_nil(idx) {
        return Err(bad_argument(
            func,
            idx as usize,
            "offset must be an integer, got nil",
        ));
    }
    args::offset(s, idx, len, 0, func)
}

fn required_count(s: &Stack, idx: c_int, func: &str) -> Result<usize> {
    args::count(s, idx, func)?
        .ok_or_else(|| bad_argument(func, idx as usize, "count must be an integer, got nil"))
}

/// `tostring(msg)`.
fn describe_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "__tostring")?;
    let text = match &*b.state.borrow() {
        State::Live(Body::Mapped(m)) => match m.seg().is_creator() {
            true => format!("nml.msg ({} bytes, shared)", m.seg().len()),
            false => format!("nml.msg ({} bytes, shared view)", m.seg().len()),
        },
        State::Live(body) if body.is_view() => format!("nml.msg ({} bytes, view)", body.len()),
        State::Live(body) => format!("nml.msg ({} bytes)", body.len()),
        State::Freed => "nml.msg (freed)".to_string(),
        State::Sent => "nml.msg (sent)".to_string(),
    };
    s.push_bytes_protected(text.as_bytes())?;
    Ok(1)
}

/// The functions of this file, as `nml.<name>`.
pub const FUNCTIONS: &[(&str, LuaFn)] = &[
    ("allocmsg", allocmsg),
    ("shm_alloc", shm_alloc),
    ("reallocmsg", reallocmsg),
    ("freemsg", freemsg),
];

/// The methods of messages, and their metamethods.
pub const METHODS: &[(&str, LuaFn)] = &[
    ("size", msg_size),
    ("ptr", msg_ptr),
    ("tostring", msg_tostring),
    ("read", msg_read),
    ("write", msg_write),
    ("free", freemsg),
];
pub const METAMETHODS: &[(&str, LuaFn)] = &[("__len", msg_len), ("__tostring", msg_describe)];

/// True when the value at `idx` is an nml message (live or not).
pub fn is_message(s: &Stack, idx: c_int) -> bool {
    s.kind(idx) == Kind::Userdata && s.test_udata::<MsgBox>(idx, METATABLE).is_some()
}
