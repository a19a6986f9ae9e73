//! Contexts: `sock:context()`, one state of a socket's protocol each, so that a server holds
//! many requests at once and each reply reaches the client that asked (the manual's
//! "Contexts"). Sending and receiving are in `transfer.rs`, shared with sockets.

use std::cell::RefCell;
use std::ffi::{c_int, CStr};
use std::rc::Rc;

use crate::error::{bad_argument, Error, Result};
use crate::lua::{LuaFn, Returns, Stack};
use crate::nng::Context;
use crate::options::{self, Setting, Value};
use crate::socket::{self, SocketState};

pub const METATABLE: &CStr = c"nml.context";

pub struct ContextBox {
    /// The socket's state: its protocol, envelope and limits hold for the context too, and
    /// the context keeps the NNG socket open while it lives.
    pub socket: Rc<SocketState>,
    pub context: RefCell<Context>,
}

impl ContextBox {
    /// The open context, or `nil, msg, "closed"` (closing the socket closes its contexts).
    pub fn open(&self) -> Result<std::cell::Ref<'_, Context>> {
        let context = self.context.borrow();
        match context.is_open() && self.socket.open().is_ok() {
            true => Ok(context),
            false => Err(Error::returned("closed", "the context is closed")),
        }
    }
}

/// The context at `idx`, for a method that calls NNG (see error::usable_here).
pub fn check<'a>(s: &'a Stack, idx: c_int, func: &str) -> Result<&'a ContextBox> {
    crate::error::usable_here(func)?;
    held(s, idx, func)
}

/// The context at `idx`, for `close` and `tostring`, which work in a forked child too.
fn held<'a>(s: &'a Stack, idx: c_int, func: &str) -> Result<&'a ContextBox> {
    crate::args::check_udata(s, idx, METATABLE, func, "nml context")
}

crate::lua_functions! {
    context => context_impl;
    setopt => setopt_impl;
    getopt => getopt_impl;
    close => close_impl;
    describe => describe_impl;
    subscribe => subscribe_impl;
    unsubscribe => unsubscribe_impl;
}

/// The socket method of this file: `sock:context()`.
pub const SOCKET_METHODS: &[(&str, LuaFn)] = &[("context", context)];

/// Methods of contexts (with `send` and `recv`, `transfer::CONTEXT_METHODS`), and their
/// metamethods.
pub const METHODS: &[(&str, LuaFn)] = &[
    ("setopt", setopt),
    ("getopt", getopt),
    ("close", close),
    ("subscribe", subscribe),
    ("unsubscribe", unsubscribe),
];
pub const METAMETHODS: &[(&str, LuaFn)] = &[("__tostring", describe), ("__close", close)];

/// `sock:context() -> context | nil, err, code`.
fn context_impl(s: &Stack) -> Returns {
    let b = socket::check(s, 1, "context")?;
    let context = b.open()?.context().map_err(|e| {
        Error::returned(
            e.code(),
            format!(
                "a {} socket has no contexts: {}",
                b.pattern.name(),
                e.describe()
            ),
        )
    })?;
    s.push_udata(
        ContextBox {
            socket: b.share(),
            context: RefCell::new(context),
        },
        METATABLE,
    )?;
    Ok(1)
}

/// `ctx:setopt(name, value) -> true | nil, err, code`: the context's own timeouts
/// (`recv_timeout`, `send_timeout`, `resend_time`, `survey_time`); the socket's options are set
/// on the socket.
fn setopt_impl(s: &Stack) -> Returns {
    let c = check(s, 1, "setopt")?;
    let o = options::named(s, 2, "setopt")?;
    let (true, Value::Ms(nng_name, _)) = (o.per_context, o.value) else {
        return Err(bad_argument(
            "setopt",
            2,
            format!(
                "{} is the socket's option, for all its contexts: set it with sock:setopt",
                o.name
            ),
        ));
    };
    let Setting::Integer(ms) = options::read(s, o, (3, 3), "setopt")? else {
        return Err(Error::raise(format!(
            "nml: {} read as another kind",
            o.name
        )));
    };
    c.open()?.set_ms(nng_name(), ms as i32).map_err(|e| {
        Error::returned(
            e.code(),
            format!("cannot set {} on a context: {}", o.name, e.describe()),
        )
    })?;
    s.push_bool(true);
    Ok(1)
}

/// `ctx:getopt(name) -> value | nil, err, code`: the context's timeouts, else the socket's
/// option.
fn getopt_impl(s: &Stack) -> Returns {
    let c = check(s, 1, "getopt")?;
    let o = options::named(s, 2, "getopt")?;
    let (true, Value::Ms(nng_name, _)) = (o.per_context, o.value) else {
        options::push(s, &c.socket.option(s, o)?);
        return Ok(1);
    };
    let ms = c.open()?.get_ms(nng_name()).map_err(|e| {
        Error::returned(
            e.code(),
            format!("cannot get {} of a context: {}", o.name, e.describe()),
        )
    })?;
    s.push_int(ms as i64);
    Ok(1)
}

/// `ctx:subscribe(prefix)`, `ctx:unsubscribe(prefix)` -> `true | nil, err, code`: a sub
/// context's own subscriptions (a new one has none, whatever its socket's).
fn subscription(s: &Stack, func: &str, subscribe: bool) -> Returns {
    let c = check(s, 1, func)?;
    let prefix = socket::topic_prefix(s, &c.socket, func)?;
    c.open()?.subscription(prefix, subscribe)?;
    s.push_bool(true);
    Ok(1)
}

fn subscribe_impl(s: &Stack) -> Returns {
    subscription(s, "subscribe", true)
}

fn unsubscribe_impl(s: &Stack) -> Returns {
    subscription(s, "unsubscribe", false)
}

/// `ctx:close() -> true`; again does nothing. The socket stays open.
fn close_impl(s: &Stack) -> Returns {
    let c = held(s, 1, "close")?;
    c.context
        .try_borrow_mut()
        .map_err(|_| Error::returned("busy", "the context is in use by the call in progress"))?
        .close();
    s.push_bool(true);
    Ok(1)
}

fn describe_impl(s: &Stack) -> Returns {
    let c = held(s, 1, "tostring")?;
    let state = match c.open() {
        Ok(_) => "open",
        Err(_) => "closed",
    };
    s.push_str(&format!(
        "nml.context ({} socket, {state})",
        c.socket.pattern.name()
    ));
    Ok(1)
}
