//! Pipe events: peers connecting to and leaving a socket.
//!
//! NNG reports them by calling a function on its own threads, where no Lua may run. So the
//! callback only records each event in a queue per socket, here, and Lua takes them on its own
//! thread (`sock:pipe_events()`). The queues live in one process-wide table keyed by socket id,
//! not behind a pointer handed to NNG, so that a callback NNG makes while (or after) a socket
//! closes finds no queue and does nothing, instead of touching freed memory.

#![allow(unsafe_code)] // NNG's C API (see lib.rs)

use std::collections::{HashMap, VecDeque};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Mutex;

use nng_sys as sys;

use super::NngError;

/// What a queue keeps at most; older events go first, and are counted.
const MAX_QUEUED: usize = 1024;

/// What happened to a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Happened {
    Connected,
    Disconnected,
    /// Refused by the socket's allow list (`sock:allow`).
    Refused,
}

/// Which peers may connect, by the credentials ipc gives: a peer whose uid is in `uids` or whose
/// gid is in `gids`. Peers in this process (inproc) always may; peers whose transport gives no
/// credentials (tcp, ws) may not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allow {
    pub uids: Vec<u64>,
    pub gids: Vec<u64>,
}

/// A peer connected, left, or was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipeEvent {
    pub happened: Happened,
    /// NNG's id of the connection, the same in both events of one peer.
    pub pipe: u32,
    /// The peer's address as NNG writes it ("127.0.0.1:5555", an ipc path, an inproc name).
    pub address: String,
    /// On ipc, the peer process's id, user id and group id, when the system tells them.
    pub peer_pid: Option<u64>,
    pub peer_uid: Option<u64>,
    pub peer_gid: Option<u64>,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<PipeEvent>,
    /// Events dropped because the queue was full.
    dropped: u64,
    /// What each open pipe's connect event said, for its disconnect event (NNG can no longer
    /// tell the address of a pipe that is gone).
    open: HashMap<u32, PipeEvent>,
    allow: Option<Allow>,
}

static QUEUES: Mutex<Option<HashMap<u32, Queue>>> = Mutex::new(None);

fn with_queues<R>(f: impl FnOnce(&mut HashMap<u32, Queue>) -> R) -> R {
    // A poisoned lock only means a thread panicked while recording; the queues stand.
    let mut guard = QUEUES.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(HashMap::new))
}

/// Starts recording the pipe events of socket `id`.
pub(super) fn watch(socket: sys::nng_socket, id: u32) -> Result<(), NngError> {
    with_queues(|q| q.insert(id, Queue::default()));
    for event in [
        sys::NNG_PIPE_EV_ADD_PRE,
        sys::NNG_PIPE_EV_ADD_POST,
        sys::NNG_PIPE_EV_REM_POST,
    ] {
        // SAFETY: a plain function that never unwinds; its argument is unused (the socket id
        // comes from the pipe).
        let rv =
            unsafe { sys::nng_pipe_notify(socket, event, Some(on_pipe), std::ptr::null_mut()) };
        if rv != sys::nng_err::NNG_OK {
            forget(id);
            return Err(NngError(rv));
        }
    }
    Ok(())
}

/// Stops recording for socket `id` (it closed) and drops what was queued.
pub(super) fn forget(id: u32) {
    with_queues(|q| q.remove(&id));
}

/// Sets (or with `None` lifts) the allow list of socket `id`, for peers that connect from now.
pub(super) fn set_allow(id: u32, allow: Option<Allow>) {
    with_queues(|q| {
        if let Some(queue) = q.get_mut(&id) {
            queue.allow = allow;
        }
    });
}

/// Takes the events of socket `id` recorded so far, and how many were dropped before them.
pub(super) fn take(id: u32) -> (Vec<PipeEvent>, u64) {
    with_queues(|q| match q.get_mut(&id) {
        Some(queue) => (
            queue.events.drain(..).collect(),
            std::mem::take(&mut queue.dropped),
        ),
        None => (Vec::new(), 0),
    })
}

/// NNG's callback, on NNG's threads.
unsafe extern "C" fn on_pipe(pipe: sys::nng_pipe, event: sys::nng_pipe_ev, _arg: *mut c_void) {
    // SAFETY: NNG hands a pipe that is valid for the callback.
    let (socket, pipe_id) = unsafe { (sys::nng_pipe_socket(pipe), sys::nng_pipe_id(pipe)) };
    // SAFETY: reading the id of the pipe's socket.
    let socket_id = unsafe { sys::nng_socket_id(socket) };
    if socket_id < 0 || pipe_id < 0 {
        return;
    }
    let (socket_id, pipe_id) = (socket_id as u32, pipe_id as u32);
    match event {
        sys::NNG_PIPE_EV_ADD_PRE => admit(pipe, socket_id, pipe_id),
        sys::NNG_PIPE_EV_ADD_POST => {
            // Read from NNG before the lock is taken: the queues' lock is never held across a
            // call into NNG.
            let event = describe(pipe, pipe_id, Happened::Connected);
            record(socket_id, |queue| {
                queue.open.insert(pipe_id, event.clone());
                Some(event)
            });
        }
        _ => record(socket_id, |queue| {
            let opened = queue.open.remove(&pipe_id)?;
            Some(PipeEvent {
                happened: Happened::Disconnected,
                ..opened
            })
        }),
    }
}

/// Before a pipe joins its socket: closes it if the socket's allow list refuses its peer.
fn admit(pipe: sys::nng_pipe, socket_id: u32, pipe_id: u32) {
    let Some(allow) = with_queues(|q| q.get(&socket_id).and_then(|queue| queue.allow.clone()))
    else {
        return;
    };
    let event = describe(pipe, pipe_id, Happened::Refused);
    let in_process = scheme(pipe).as_deref() == Some("inproc");
    let allowed = in_process
        || event.peer_uid.is_some_and(|uid| allow.uids.contains(&uid))
        || event.peer_gid.is_some_and(|gid| allow.gids.contains(&gid));
    if allowed {
        return;
    }
    // SAFETY: closing the pipe NNG is about to add; it then never joins the socket.
    unsafe { sys::nng_pipe_close(pipe) };
    record(socket_id, |_| Some(event));
}

/// Adds the event `make` gives (if any) to the queue of socket `socket_id`.
fn record(socket_id: u32, make: impl FnOnce(&mut Queue) -> Option<PipeEvent>) {
    with_queues(|queues| {
        let Some(queue) = queues.get_mut(&socket_id) else {
            return;
        };
        let Some(event) = make(queue) else {
            return;
        };
        if queue.events.len() == MAX_QUEUED {
            queue.events.pop_front();
            queue.dropped += 1;
        }
        queue.events.push_back(event);
    });
}

/// The transport of `pipe` ("tcp", "ipc", "inproc", ...); `None` once the pipe has closed.
pub(super) fn scheme(pipe: sys::nng_pipe) -> Option<String> {
    let mut name = std::ptr::null();
    // SAFETY: NNG points `name` at a static string.
    if unsafe { sys::nng_pipe_get_scheme(pipe, &mut name) } != sys::nng_err::NNG_OK
        || name.is_null()
    {
        return None;
    }
    // SAFETY: a static NUL-terminated string.
    Some(
        unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// An event of `pipe`: its peer's address, and on ipc the peer's ids.
fn describe(pipe: sys::nng_pipe, id: u32, happened: Happened) -> PipeEvent {
    PipeEvent {
        happened,
        pipe: id,
        address: peer_address(pipe).unwrap_or_default(),
        peer_pid: peer_id(pipe, sys::NNG_OPT_PEER_PID),
        peer_uid: peer_id(pipe, sys::NNG_OPT_PEER_UID),
        peer_gid: peer_id(pipe, sys::NNG_OPT_PEER_GID),
    }
}

fn peer_address(pipe: sys::nng_pipe) -> Option<String> {
    // SAFETY: all zeros is a valid (unspecified) address for NNG to overwrite.
    let mut addr: sys::nng_sockaddr = unsafe { std::mem::zeroed() };
    // SAFETY: NNG writes the peer's address into `addr`.
    if unsafe { sys::nng_pipe_peer_addr(pipe, &mut addr) } != sys::nng_err::NNG_OK {
        return None;
    }
    let mut buf = [0 as c_char; 256];
    // SAFETY: NNG writes at most `buf.len()` bytes, NUL-terminated, and returns `buf`.
    let text = unsafe { sys::nng_str_sockaddr(&addr, buf.as_mut_ptr(), buf.len()) };
    if text.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string in `buf`, alive here.
    Some(
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// An integer option of the pipe (the ipc peer ids), if its transport has it.
pub(super) fn peer_id(pipe: sys::nng_pipe, name: &'static [u8]) -> Option<u64> {
    let name = CStr::from_bytes_with_nul(name).ok()?;
    let mut v: c_int = 0;
    // SAFETY: NNG writes one int; transports without the option say so.
    let rv = unsafe { sys::nng_pipe_get_int(pipe, name.as_ptr(), &mut v) };
    (rv == sys::nng_err::NNG_OK && v >= 0).then_some(v as u64)
}
