//! Listeners as Lua values: `sock:listen(url)` returns one, to learn the port the system chose
//! (`tcp://127.0.0.1:0`) and to stop listening without closing the socket.

use std::ffi::{c_int, CStr};

use crate::error::Result;
use crate::lua::{LuaFn, Returns, Stack};
use crate::nng::Endpoint;

pub const METATABLE: &CStr = c"nml.listener";

pub struct ListenerBox {
    pub endpoint: Endpoint,
}

/// The listener (or dialer) at `idx`, for a method that calls NNG (see error::usable_here).
pub fn check<'a>(s: &'a Stack, idx: c_int, func: &str) -> Result<&'a ListenerBox> {
    crate::error::usable_here(func)?;
    held(s, idx, func)
}

/// The listener at `idx`, for `close` and `tostring`, which work in a forked child too.
fn held<'a>(s: &'a Stack, idx: c_int, func: &str) -> Result<&'a ListenerBox> {
    crate::args::check_udata(s, idx, METATABLE, func, "nml listener")
}

/// Pushes a listener object for `endpoint`.
pub fn push(s: &Stack, endpoint: Endpoint) -> Result<()> {
    s.push_udata(ListenerBox { endpoint }, METATABLE)?;
    Ok(())
}

crate::lua_functions! {
    port => port_impl;
    url => url_impl;
    close => close_impl;
    describe => describe_impl;
}

/// Methods of listeners, and their metamethods.
pub const METHODS: &[(&str, LuaFn)] = &[("port", port), ("url", url), ("close", close)];
pub const METAMETHODS: &[(&str, LuaFn)] = &[("__tostring", describe), ("__close", close)];

/// `listener:port() -> port | nil, err, code`: the TCP port it is bound to.
fn port_impl(s: &Stack) -> Returns {
    let port = check(s, 1, "port")?.endpoint.port()?;
    s.push_int(port as i64);
    Ok(1)
}

/// `listener:url() -> url | nil, err, code`: its URL, with the port the system chose.
fn url_impl(s: &Stack) -> Returns {
    let url = check(s, 1, "url")?.endpoint.url()?;
    s.push_str(&url);
    Ok(1)
}

/// `listener:close() -> true`: stops listening and ends the connections it accepted; the socket
/// stays open.
fn close_impl(s: &Stack) -> Returns {
    held(s, 1, "close")?.endpoint.close();
    s.push_bool(true);
    Ok(1)
}

fn describe_impl(s: &Stack) -> Returns {
    let l = held(s, 1, "tostring")?;
    let text = match l.endpoint.url() {
        Ok(url) => format!("nml.listener ({url})"),
        Err(_) => "nml.listener (closed)".to_string(),
    };
    s.push_str(&text);
    Ok(1)
}
