//! Waiting on many sockets at once: `nml.poll`, and the descriptors an event loop watches,
//! `sock:recv_fd()` and `sock:send_fd()` (the manual's "Event loops and coroutines").

use std::ffi::c_int;

use crate::error::{bad_argument, Error, Result};
use crate::lua::{Kind, LuaFn, Returns, Stack, Table};
use crate::transfer::{Direction, Endpoint};

crate::lua_functions! {
    poll => poll_impl;
    recv_fd => recv_fd_impl;
    send_fd => send_fd_impl;
}

/// The functions of this file, as `nml.<name>`.
pub const FUNCTIONS: &[(&str, LuaFn)] =
    &[("poll", poll), ("recv_fd", recv_fd), ("send_fd", send_fd)];

/// The socket methods of this file. Contexts have the same.
pub const SOCKET_METHODS: &[(&str, LuaFn)] = &[("recv_fd", recv_fd), ("send_fd", send_fd)];
pub const CONTEXT_METHODS: &[(&str, LuaFn)] = SOCKET_METHODS;

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
