//! Pipe events: peers connecting to and leaving a socket.
//!
//! NNG reports them by calling a function on its own threads, where no Lua may run. So the
//! callback only records each event in a queue per socket, here, and Lua takes them on its own
//! thread (`sock:pipe_events()`). The queues live in one process-wide table keyed by socket id,
//! not behind a pointer handed to NNG, so that a callback NNG makes while (or after) a socket
//! closes finds no queue and does nothing, instead of touching freed memory.
//!
//! NNG turns some peers away as soon as they connect, saying so only in its log: one that speaks
//! another pattern, a second peer of a pair. Each pipe is seen before it joins (ADD_PRE), so
//! the refusal is reported here too, with the reason, instead of a silent redial loop.
//!
//! The socket's connection counts (`stats()`) are kept here too, under the same lock as the
//! events: NNG's own are summed over the endpoints still open (a closed listener takes its
//! accepts with it) and count a refused pipe as open until it is reaped, so they did not add
//! up.

#![allow(unsafe_code)] // NNG's C API (see lib.rs)

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Mutex;

use nng_sys as sys;

use super::{NngError, Pattern};

/// What a queue keeps at most; older events go first, and are counted.
const MAX_QUEUED: usize = 1024;

/// What happened to a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Happened {
    Connected,
    Disconnected,
    Refused(Refusal),
}

/// Why a peer was turned away as soon as it connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The socket's allow list (`sock:allow`) does not name it.
    Allow,
    /// It speaks a pattern this socket's does not talk to (NNG refuses it).
    Protocol,
    /// It is a second peer of a pair, which takes one (NNG refuses it).
    Taken,
}

impl Refusal {
    pub fn name(self) -> &'static str {
        match self {
            Refusal::Allow => "allow",
            Refusal::Protocol => "protocol",
            Refusal::Taken => "taken",
        }
    }
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
    /// The pattern the peer announced, when it is one NNG knows.
    pub peer: Option<Pattern>,
    /// The peer's address as NNG writes it ("127.0.0.1:5555", an ipc path, an inproc name).
    pub address: String,
    /// On ipc, the peer process's id, user id and group id, when the system tells them.
    pub peer_pid: Option<u64>,
    pub peer_uid: Option<u64>,
    pub peer_gid: Option<u64>,
}

/// A socket's connections: made, open, ended after joining, and refused, so that `connects =
/// pipes + disconnects + refused` at every moment (a connection is counted made once its fate
/// is known: joined, refused, or lost at once). `joining` are being added still.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub pipes: u64,
    pub joining: u64,
    pub connects: u64,
    pub disconnects: u64,
    pub refused: u64,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<PipeEvent>,
    /// Events dropped because the queue was full.
    dropped: u64,
    /// What each open pipe's connect event said, for its disconnect event (NNG can no longer
    /// tell the address of a pipe that is gone).
    open: HashMap<u32, PipeEvent>,
    /// Pipes admitted and not yet joined, as their connect event would say: one that leaves
    /// from here was refused by the pair it tried (or lost at once).
    joining: HashMap<u32, PipeEvent>,
    /// Of those, on a pair, the ones admitted while another pipe was open or joining: NNG
    /// refuses such a pipe when the other is its peer, so one that leaves before joining was
    /// refused as taken (any other was lost at once).
    behind: HashSet<u32>,
    /// The last peer refused since one last joined: why a send or receive finds nobody.
    last_refused: Option<PipeEvent>,
    allow: Option<Allow>,
    /// Whether the socket is a pair, which takes one peer.
    pair: bool,
    /// The pattern the socket's peers must speak (NNG's protocol id).
    peer: u16,
    /// Connections that joined, were refused or were lost at once; those that joined and
    /// ended, or were lost at once; those refused.
    connects: u64,
    disconnects: u64,
    refused: u64,
}

static QUEUES: Mutex<Option<HashMap<u32, Queue>>> = Mutex::new(None);

fn with_queues<R>(f: impl FnOnce(&mut HashMap<u32, Queue>) -> R) -> R {
    // A poisoned lock only means a thread panicked while recording; the queues stand.
    let mut guard = QUEUES.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(HashMap::new))
}

/// Starts recording the pipe events of socket `id`, a socket of `pattern`.
pub(super) fn watch(socket: sys::nng_socket, id: u32, pattern: Pattern) -> Result<(), NngError> {
    let mut peer = 0;
    // SAFETY: NNG writes one u16 for a socket we opened.
    super::check(unsafe { sys::nng_socket_peer_id(socket, &mut peer) })?;
    let queue = Queue {
        pair: matches!(pattern, Pattern::Pair0 | Pattern::Pair1),
        peer,
        ..Queue::default()
    };
    with_queues(|q| q.insert(id, queue));
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

/// The connection counts of socket `id`.
pub(super) fn counts(id: u32) -> Counts {
    with_queues(|q| {
        q.get(&id).map_or(Counts::default(), |queue| Counts {
            pipes: queue.open.len() as u64,
            joining: queue.joining.len() as u64,
            connects: queue.connects,
            disconnects: queue.disconnects,
            refused: queue.refused,
        })
    })
}

/// When socket `id` has no peer: the last one refused since one last joined, if any.
pub(super) fn refused_while_alone(id: u32) -> Option<PipeEvent> {
    with_queues(|q| {
        q.get(&id)
            .filter(|queue| queue.open.is_empty())
            .and_then(|queue| queue.last_refused.clone())
    })
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
        sys::NNG_PIPE_EV_ADD_POST => record(socket_id, |queue| {
            let joined = queue.joining.remove(&pipe_id)?;
            queue.behind.remove(&pipe_id);
            queue.connects += 1;
            queue.last_refused = None;
            queue.open.insert(pipe_id, joined.clone());
            Some(joined)
        }),
        _ => record(socket_id, |queue| {
            if let Some(opened) = queue.open.remove(&pipe_id) {
                queue.disconnects += 1;
                return Some(PipeEvent {
                    happened: Happened::Disconnected,
                    ..opened
                });
            }
            // It left before joining: refused by a pair that had its peer (which may itself be
            // leaving at this moment), or else lost at once, and reported as a connection
            // that came and went.
            let joining = queue.joining.remove(&pipe_id)?;
            queue.connects += 1;
            if queue.behind.remove(&pipe_id) {
                queue.refused += 1;
                return Some(PipeEvent {
                    happened: Happened::Refused(Refusal::Taken),
                    ..joining
                });
            }
            queue.disconnects += 1;
            queue.push(joining.clone());
            Some(PipeEvent {
                happened: Happened::Disconnected,
                ..joining
            })
        }),
    }
}

/// Before a pipe joins its socket: reports a peer NNG will refuse, closes it if the socket's
/// allow list refuses it, and otherwise keeps what its connect event will say.
fn admit(pipe: sys::nng_pipe, socket_id: u32, pipe_id: u32) {
    let Some((allow, peer)) = with_queues(|q| {
        q.get(&socket_id)
            .map(|queue| (queue.allow.clone(), queue.peer))
    }) else {
        return;
    };
    // Read from NNG before the lock is taken: the queues' lock is never held across a call
    // into NNG.
    let announced = peer_protocol(pipe);
    let mut event = describe(pipe, pipe_id, announced);
    let in_process = || scheme(pipe).as_deref() == Some("inproc");
    let refusal = if announced.is_some_and(|id| id != peer) {
        Some(Refusal::Protocol) // NNG's protocol refuses it when it starts the pipe
    } else if allow.is_some_and(|allow| {
        !(in_process()
            || event.peer_uid.is_some_and(|uid| allow.uids.contains(&uid))
            || event.peer_gid.is_some_and(|gid| allow.gids.contains(&gid)))
    }) {
        // SAFETY: closing the pipe NNG is about to add; it then never joins the socket.
        unsafe { sys::nng_pipe_close(pipe) };
        Some(Refusal::Allow)
    } else {
        None
    };
    record(socket_id, |queue| match refusal {
        Some(why) => {
            queue.connects += 1;
            queue.refused += 1;
            event.happened = Happened::Refused(why);
            Some(event)
        }
        None => {
            if queue.pair && !(queue.open.is_empty() && queue.joining.is_empty()) {
                queue.behind.insert(pipe_id);
            }
            queue.joining.insert(pipe_id, event);
            None
        }
    });
}

/// Adds the event `make` gives (if any) to the queue of socket `socket_id`.
fn record(socket_id: u32, make: impl FnOnce(&mut Queue) -> Option<PipeEvent>) {
    with_queues(|queues| {
        let Some(queue) = queues.get_mut(&socket_id) else {
            return;
        };
        if let Some(event) = make(queue) {
            queue.push(event);
        }
    });
}

impl Queue {
    /// Queues `event`, dropping (and counting) the oldest when full.
    fn push(&mut self, event: PipeEvent) {
        if let Happened::Refused(_) = event.happened {
            self.last_refused = Some(event.clone());
        }
        if self.events.len() == MAX_QUEUED {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(event);
    }
}

/// The protocol id the pipe's peer announced (patch 0030), `None` once the pipe has closed.
fn peer_protocol(pipe: sys::nng_pipe) -> Option<u16> {
    extern "C" {
        // Patch 0030's; the crate's bindings are NNG 2.0's, which lacks it.
        fn nng_pipe_peer_id(pipe: sys::nng_pipe, id: *mut u16) -> sys::nng_err;
    }
    let mut id = 0;
    // SAFETY: NNG writes one u16 for a pipe it knows, and refuses one it does not.
    (unsafe { nng_pipe_peer_id(pipe, &mut id) } == sys::nng_err::NNG_OK).then_some(id)
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

/// The connect event of `pipe`, whose peer announced protocol `announced`: its peer's
/// address and pattern, and on ipc the peer's ids.
fn describe(pipe: sys::nng_pipe, id: u32, announced: Option<u16>) -> PipeEvent {
    PipeEvent {
        happened: Happened::Connected,
        pipe: id,
        peer: announced.and_then(Pattern::from_protocol_id),
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
