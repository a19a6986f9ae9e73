//! Forwarders: `nml.forward(front, back)` joins two raw sockets with NNG's device, which runs
//! on NNG's threads (the Lua state stays free) until either socket closes. NNG's own scaling
//! tool: nml grows no broker of its own (the manual's "Across machines").

use crate::error::Error;
use crate::lua::{LuaFn, Returns, Stack};
use crate::nng::{is_local_url, reaches, Device};
use crate::socket::{self, SocketState};

crate::lua_functions! {
    forward => forward_impl;
}

/// The functions of this file, as `nml.<name>`.
pub const FUNCTIONS: &[(&str, LuaFn)] = &[("forward", forward)];

/// `nml.forward(front, back) -> true | nil, err, code`: forwards between two raw sockets of
/// protocols that pair (a raw sub in front of a raw pub, pull before push, rep before req, ...),
/// in both directions the protocols have.
fn forward_impl(s: &Stack) -> Returns {
    let front = socket::check(s, 1, "forward")?;
    let back = socket::check(s, 2, "forward")?;
    for (b, arg) in [(front, 1), (back, 2)] {
        if !b.raw {
            return Err(crate::error::bad_argument(
                "forward",
                arg,
                "a raw socket expected (nml.socket(kind, {raw = true}))",
            ));
        }
    }
    if let Some(why) = feeds_itself(front, back) {
        return Err(Error::returned(
            "state",
            format!("cannot forward: {why}, so every message would go round forever"),
        ));
    }
    if let Some(why) = joins_inproc_to_network(front, back) {
        return Err(Error::returned(
            "state",
            format!(
                "cannot forward between {why}: shared-buffer references of this process would \
                 leave the host, and a remote peer could send them back to be opened; forward \
                 between inproc and ipc, or between network addresses"
            ),
        ));
    }
    let device = Device::start(&*front.open()?, &*back.open()?).map_err(|e| {
        Error::returned(
            e.code(),
            format!(
                "cannot forward between a raw {} and a raw {} socket: {}",
                front.pattern.name(),
                back.pattern.name(),
                e.describe()
            ),
        )
    })?;
    front.keep_forwarder(back, device);
    s.push_bool(true);
    Ok(1)
}

/// Says how the two sockets are joined already, if one dials the other: a forwarder between
/// them would then feed itself. (A loop through other processes cannot be seen from here.)
fn feeds_itself(front: &SocketState, back: &SocketState) -> Option<String> {
    let (front_listens, front_dials) = front.urls();
    let (back_listens, back_dials) = back.urls();
    let pairs = [
        ("the back", &back_dials, "the front", &front_listens),
        ("the front", &front_dials, "the back", &back_listens),
    ];
    let found = pairs
        .into_iter()
        .find_map(|(dialer, dials, listener, listens)| {
            let (d, l) = dials
                .iter()
                .find_map(|d| listens.iter().find(|l| reaches(d, l)).map(|l| (d, l)))?;
            Some(format!(
                "{dialer} dials {d}, where {listener} listens ({l})"
            ))
        });
    found
}

/// Says which addresses join, if one socket is on an inproc address and the other on one that
/// leaves the host. Such a forwarder would carry this process's shared-buffer references (pid,
/// descriptor, token) to the network, and the network's into an inproc socket of this process,
/// where a reference naming this process is opened (docs/design.md, "Threat model").
fn joins_inproc_to_network(front: &SocketState, back: &SocketState) -> Option<String> {
    let all = |b: &SocketState| {
        let (listens, dials) = b.urls();
        listens.into_iter().chain(dials).collect::<Vec<_>>()
    };
    let (front, back) = (all(front), all(back));
    let inproc = |urls: &[String]| urls.iter().find(|u| u.starts_with("inproc://")).cloned();
    let network = |urls: &[String]| urls.iter().find(|u| !is_local_url(u)).cloned();
    let joined = |a: &[String], b: &[String]| Some((inproc(a)?, network(b)?));
    joined(&front, &back)
        .or_else(|| joined(&back, &front))
        .map(|(local, remote)| format!("{local} and {remote}"))
}
