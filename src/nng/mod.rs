//! NNG, wrapped once.
//!
//! With `lua.rs`, the only place with unsafe code: a thin safe layer over nng-sys (NNG 2.0,
//! built from source by the crate) with exactly what nml uses: sockets of each pattern and
//! their contexts, options, and `nng_msg` buffers that are owned by exactly one Rust value at a
//! time (freed on drop, or handed to NNG by `send`). Listeners and dialers are in
//! `endpoint.rs`, pipe events in `pipes.rs`.

#![allow(unsafe_code)] // NNG's C API (lib.rs lists the files where unsafe code is allowed)

mod address;
mod endpoint;
pub mod interrupt;
mod pipes;
mod tls;

pub use address::reaches;
pub use endpoint::{Endpoint, EndpointError, TcpOptions};
pub use pipes::{Allow, Counts, Happened, PipeEvent, Refusal};
pub use tls::{AuthMode, TlsOptions};

/// Whether a transport stays within this host: inproc, and ipc under each of its names.
pub fn is_local_scheme(scheme: &str) -> bool {
    matches!(scheme, "inproc" | "ipc" | "unix" | "abstract")
}

/// Whether an endpoint's URL is of a transport that stays within this host.
pub fn is_local_url(url: &str) -> bool {
    url.split_once("://")
        .is_some_and(|(scheme, _)| is_local_scheme(scheme))
}

use std::cell::OnceCell;
use std::ffi::{c_int, c_void, CStr};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use nng_sys as sys;

/// An NNG error number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NngError(sys::nng_err);

impl NngError {
    const CLOSED: NngError = NngError(sys::nng_err::NNG_ECLOSED);
    const NOMEM: NngError = NngError(sys::nng_err::NNG_ENOMEM);
    const NOT_SUPPORTED: NngError = NngError(sys::nng_err::NNG_ENOTSUP);

    /// This error, for an operation that did not do its work; NNG's "internal error" should
    /// it have said OK (no protocol does).
    fn or_failed(self) -> NngError {
        match self.0 {
            sys::nng_err::NNG_OK => NngError(sys::nng_err::NNG_EINTERNAL),
            _ => self,
        }
    }

    /// nml's stable code for it (the manual's error-code table).
    pub fn code(self) -> &'static str {
        match self.0 {
            sys::nng_err::NNG_ETIMEDOUT => "timeout",
            sys::nng_err::NNG_EAGAIN => "again",
            sys::nng_err::NNG_ECLOSED | sys::nng_err::NNG_ESTOPPED => "closed",
            sys::nng_err::NNG_ECONNREFUSED => "refused",
            sys::nng_err::NNG_EMSGSIZE => "too_large",
            sys::nng_err::NNG_ENOMEM => "nomem",
            sys::nng_err::NNG_EADDRINUSE => "address_in_use",
            sys::nng_err::NNG_EADDRINVAL => "bad_address",
            sys::nng_err::NNG_ESTATE => "state",
            sys::nng_err::NNG_ENOTSUP => "not_supported",
            sys::nng_err::NNG_ENOENT => "not_found",
            sys::nng_err::NNG_EUNREACHABLE => "unreachable",
            sys::nng_err::NNG_ECONNRESET | sys::nng_err::NNG_ECONNSHUT => "reset",
            sys::nng_err::NNG_EPROTO => "protocol",
            sys::nng_err::NNG_EINVAL => "invalid",
            sys::nng_err::NNG_ECRYPTO => "crypto",
            sys::nng_err::NNG_EPEERAUTH => "peer_auth",
            sys::nng_err::NNG_EPERM => "permission",
            sys::nng_err::NNG_EINTR => "interrupted",
            _ => "error",
        }
    }

    /// NNG's own words for it.
    pub fn describe(self) -> String {
        // SAFETY: nng_strerror returns a pointer to a static, NUL-terminated string.
        unsafe { CStr::from_ptr(sys::nng_strerror(self.0)) }
            .to_string_lossy()
            .into_owned()
    }
}

/// NNG 2.0 returns `nng_err` from some calls and a plain int from others; both mean the same.
trait Status {
    fn into_err(self) -> sys::nng_err;
}
impl Status for c_int {
    fn into_err(self) -> sys::nng_err {
        sys::nng_err(self as u32)
    }
}
impl Status for sys::nng_err {
    fn into_err(self) -> sys::nng_err {
        self
    }
}

fn check(rv: impl Status) -> Result<(), NngError> {
    match rv.into_err() {
        sys::nng_err::NNG_OK => Ok(()),
        e => Err(NngError(e)),
    }
}

/// Set once NNG has started in this process (or in the parent it was forked from).
static STARTED: AtomicBool = AtomicBool::new(false);
/// Set in a child forked after NNG started: NNG's threads stayed in the parent, and NNG aborts
/// the process at the first lock it takes in the child (its own pthread_atfork handler).
static FORKED: AtomicBool = AtomicBool::new(false);

/// Whether this process was forked after NNG started: then no NNG call may be made here (the
/// Lua API raises, and dropping an object leaves its NNG side to the parent).
pub fn forked() -> bool {
    FORKED.load(Ordering::Relaxed)
}

extern "C" fn in_forked_child() {
    if STARTED.load(Ordering::Relaxed) {
        FORKED.store(true, Ordering::Relaxed);
    }
    interrupt::forget_parents_watcher();
}

/// Watches for forks, once per process (from `require "nml"`): see [`forked`].
pub fn watch_forks() {
    static WATCHING: std::sync::Once = std::sync::Once::new();
    // SAFETY: registers a child handler that only stores atomics (async-signal-safe, as a
    // handler run after fork in a multithreaded process must be).
    WATCHING.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(in_forked_child));
    });
}

/// NNG 2.0 must be initialised once before any other call; later calls are no-ops here.
fn init() {
    static INIT: std::sync::Once = std::sync::Once::new();
    STARTED.store(true, Ordering::Relaxed);
    INIT.call_once(|| {
        // SAFETY: null asks for NNG's default parameters; nml never calls nng_fini, so the
        // library stays up until the process ends (NNG's threads may outlive a Lua state).
        let rv = unsafe { sys::nng_init(std::ptr::null()) };
        assert!(
            matches!(rv, sys::nng_err::NNG_OK | sys::nng_err::NNG_EBUSY),
            "nng_init failed: {rv:?}"
        );
        // SAFETY: the logger is a plain function that never unwinds (see `count_warnings`).
        unsafe {
            sys::nng_log_set_logger(Some(count_warnings));
            sys::nng_log_set_level(sys::nng_log_level::NNG_LOG_WARN);
        }
    });
}

/// Messages NNG dropped for being larger than the receiving socket's `recv_max_size`, by socket
/// id. NNG counts them nowhere: it logs a warning and reads the message past (patched NNG,
/// third_party/patches/0003 and 0004), so nml's logger counts the warnings.
static OVERSIZE_DROPS: std::sync::Mutex<Vec<(u32, u64)>> = std::sync::Mutex::new(Vec::new());

/// NNG's logger, called on NNG's threads: counts "NNG-RCVMAX" warnings by the socket id in
/// their text ("Oversize message of N bytes (> M) on socket<ID> pipe<P> from ...", or over ws
/// "Oversize message (over the receive limit) on socket<ID> pipe<P> from WS ...").
unsafe extern "C" fn count_warnings(
    _level: sys::nng_log_level,
    _facility: sys::nng_log_facility,
    msgid: *const std::ffi::c_char,
    msg: *const std::ffi::c_char,
) {
    if msgid.is_null() || msg.is_null() {
        return;
    }
    // SAFETY: NNG passes NUL-terminated strings that live for the call.
    let (msgid, msg) = unsafe { (CStr::from_ptr(msgid), CStr::from_ptr(msg)) };
    if msgid.to_bytes() != b"NNG-RCVMAX" {
        return;
    }
    let Some(id) = socket_id_in(msg.to_bytes()) else {
        return;
    };
    // A poisoned lock only means another thread panicked while counting; the counts stand.
    let mut drops = OVERSIZE_DROPS.lock().unwrap_or_else(|e| e.into_inner());
    match drops.iter_mut().find(|(sock, _)| *sock == id) {
        Some((_, n)) => *n += 1,
        None => drops.push((id, 1)),
    }
}

fn socket_id_in(text: &[u8]) -> Option<u32> {
    const MARK: &[u8] = b"socket<";
    let at = text.windows(MARK.len()).position(|w| w == MARK)? + MARK.len();
    let digits = text[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&text[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// What NNG's statistics say a socket dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropStats {
    /// Messages NNG dropped for exceeding `recv_max_size`.
    pub oversize_drops: u64,
    /// Messages a pub, bus, surveyor or respondent socket dropped on the way out: for a peer
    /// whose queue was full, with no subscriber, or for a surveyor gone.
    pub send_drops: u64,
    /// Messages a sub, bus or surveyor socket dropped on the way in: its queue full, or (surveyor)
    /// an answer to no current survey or left unread.
    pub recv_drops: u64,
}

/// A snapshot of NNG's statistics, freed on drop.
struct Snapshot(*mut sys::nng_stat);

impl Snapshot {
    fn take() -> Result<Snapshot, NngError> {
        let mut root = std::ptr::null_mut();
        // SAFETY: nng_stats_get writes a new snapshot into root.
        check(unsafe { sys::nng_stats_get(&mut root) })?;
        Ok(Snapshot(root))
    }

    /// Calls `f` on every item of the tree, depth first.
    fn walk(&self, f: &mut impl FnMut(*const sys::nng_stat)) {
        fn visit(item: *const sys::nng_stat, f: &mut impl FnMut(*const sys::nng_stat)) {
            f(item);
            // SAFETY: items of a live snapshot; child and next return null at the end.
            let mut child = unsafe { sys::nng_stat_child(item) };
            while !child.is_null() {
                visit(child, f);
                // SAFETY: as above.
                child = unsafe { sys::nng_stat_next(child) };
            }
        }
        visit(self.0, f);
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if forked() {
            return; // the parent's NNG made it; the child may not call NNG
        }
        // SAFETY: freeing the snapshot nng_stats_get made, once.
        unsafe { sys::nng_stats_free(self.0) };
    }
}

fn stat_name(item: *const sys::nng_stat) -> &'static [u8] {
    // SAFETY: NNG's statistic names are static strings.
    unsafe { CStr::from_ptr(sys::nng_stat_name(item)) }.to_bytes()
}

/// The value of the child of `item` named `name` (0 when it has none).
fn child_value(item: *const sys::nng_stat, name: &CStr) -> u64 {
    // SAFETY: searching the subtree of a live item by a NUL-terminated name.
    let found = unsafe { sys::nng_stat_find(item, name.as_ptr()) };
    if found.is_null() {
        0
    } else {
        // SAFETY: a live item.
        unsafe { sys::nng_stat_value(found) }
    }
}

/// The scalability protocols nml opens sockets for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    Pair0,
    Pair1,
    Req,
    Rep,
    Pub,
    Sub,
    Push,
    Pull,
    Bus,
    Surveyor,
    Respondent,
}

impl Pattern {
    /// Whether NNG's protocol keeps a receive queue that `recv_buffer` sizes.
    pub fn keeps_recv_queue(self) -> bool {
        matches!(
            self,
            Pattern::Bus | Pattern::Pair0 | Pattern::Pair1 | Pattern::Sub
        )
    }

    /// Whether NNG's protocol keeps a send queue that `send_buffer` sizes.
    pub fn keeps_send_queue(self) -> bool {
        matches!(
            self,
            Pattern::Bus | Pattern::Pair0 | Pattern::Pair1 | Pattern::Push | Pattern::Pub
        )
    }

    pub fn from_name(name: &[u8]) -> Option<Pattern> {
        Some(match name {
            b"pair" | b"pair0" => Pattern::Pair0,
            b"pair1" => Pattern::Pair1,
            b"req" => Pattern::Req,
            b"rep" => Pattern::Rep,
            b"pub" => Pattern::Pub,
            b"sub" => Pattern::Sub,
            b"push" => Pattern::Push,
            b"pull" => Pattern::Pull,
            b"bus" => Pattern::Bus,
            b"surveyor" => Pattern::Surveyor,
            b"respondent" => Pattern::Respondent,
            _ => return None,
        })
    }

    /// The pattern its sockets talk to.
    pub fn peer(self) -> Pattern {
        match self {
            Pattern::Req => Pattern::Rep,
            Pattern::Rep => Pattern::Req,
            Pattern::Pub => Pattern::Sub,
            Pattern::Sub => Pattern::Pub,
            Pattern::Push => Pattern::Pull,
            Pattern::Pull => Pattern::Push,
            Pattern::Surveyor => Pattern::Respondent,
            Pattern::Respondent => Pattern::Surveyor,
            Pattern::Pair0 | Pattern::Pair1 | Pattern::Bus => self,
        }
    }

    /// The pattern of NNG's protocol id `id` (what a peer announces in its handshake).
    pub fn from_protocol_id(id: u16) -> Option<Pattern> {
        Some(match id {
            0x10 => Pattern::Pair0,
            0x11 => Pattern::Pair1,
            0x20 => Pattern::Pub,
            0x21 => Pattern::Sub,
            0x30 => Pattern::Req,
            0x31 => Pattern::Rep,
            0x50 => Pattern::Push,
            0x51 => Pattern::Pull,
            0x62 => Pattern::Surveyor,
            0x63 => Pattern::Respondent,
            0x70 => Pattern::Bus,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Pattern::Pair0 => "pair",
            Pattern::Pair1 => "pair1",
            Pattern::Req => "req",
            Pattern::Rep => "rep",
            Pattern::Pub => "pub",
            Pattern::Sub => "sub",
            Pattern::Push => "push",
            Pattern::Pull => "pull",
            Pattern::Bus => "bus",
            Pattern::Surveyor => "surveyor",
            Pattern::Respondent => "respondent",
        }
    }

    fn opener(self) -> unsafe extern "C" fn(*mut sys::nng_socket) -> c_int {
        match self {
            Pattern::Pair0 => sys::nng_pair0_open,
            Pattern::Pair1 => sys::nng_pair1_open,
            Pattern::Req => sys::nng_req0_open,
            Pattern::Rep => sys::nng_rep0_open,
            Pattern::Pub => sys::nng_pub0_open,
            Pattern::Sub => sys::nng_sub0_open,
            Pattern::Push => sys::nng_push0_open,
            Pattern::Pull => sys::nng_pull0_open,
            Pattern::Bus => sys::nng_bus0_open,
            Pattern::Surveyor => sys::nng_surveyor0_open,
            Pattern::Respondent => sys::nng_respondent0_open,
        }
    }

    /// The raw form: no protocol state, messages keep their headers (for forwarders).
    fn raw_opener(self) -> unsafe extern "C" fn(*mut sys::nng_socket) -> c_int {
        match self {
            Pattern::Pair0 => sys::nng_pair0_open_raw,
            Pattern::Pair1 => sys::nng_pair1_open_raw,
            Pattern::Req => sys::nng_req0_open_raw,
            Pattern::Rep => sys::nng_rep0_open_raw,
            Pattern::Pub => sys::nng_pub0_open_raw,
            Pattern::Sub => sys::nng_sub0_open_raw,
            Pattern::Push => sys::nng_push0_open_raw,
            Pattern::Pull => sys::nng_pull0_open_raw,
            Pattern::Bus => sys::nng_bus0_open_raw,
            Pattern::Surveyor => sys::nng_surveyor0_open_raw,
            Pattern::Respondent => sys::nng_respondent0_open_raw,
        }
    }
}

/// An open NNG socket. Closing is explicit (`close`) or on drop; NNG ids are never reused
/// within a process, so a closed id only ever yields `NNG_ECLOSED`.
pub struct Socket {
    id: sys::nng_socket,
    open: bool,
    channel: Channel,
}

impl Socket {
    /// Opens a socket of `pattern`; `raw` opens its raw form, which only forwards.
    pub fn open(pattern: Pattern, raw: bool) -> Result<Socket, NngError> {
        init();
        let mut id = sys::nng_socket::default();
        let opener = match raw {
            true => pattern.raw_opener(),
            false => pattern.opener(),
        };
        // SAFETY: the opener writes the new socket's id into `id`.
        check(unsafe { opener(&mut id) })?;
        let socket = Socket {
            id,
            open: true,
            channel: Channel::default(),
        };
        pipes::watch(id, socket.numeric_id(), pattern)?;
        Ok(socket)
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Opens a context on this socket: its own state of the protocol (a request in flight, a
    /// request being answered), so that several can be under way at once. Req, rep,
    /// surveyor, respondent and sub sockets have contexts; others say `not_supported`.
    pub fn context(&self) -> Result<Context, NngError> {
        let mut ctx = sys::nng_ctx::default();
        // SAFETY: nng_ctx_open writes the new context's id into `ctx`.
        check(unsafe { sys::nng_ctx_open(&mut ctx, self.id) })?;
        Ok(Context {
            ctx,
            open: true,
            channel: Channel::default(),
        })
    }

    pub fn close(&mut self) {
        if std::mem::replace(&mut self.open, false) && !forked() {
            // SAFETY: closing a socket id we opened; NNG tolerates ids already closed.
            unsafe { sys::nng_socket_close(self.id) };
            pipes::forget(self.numeric_id());
        }
    }

    pub fn listen(
        &self,
        url: &CStr,
        tcp: TcpOptions,
        tls: Option<&TlsOptions>,
    ) -> Result<Endpoint, EndpointError> {
        Endpoint::listen(self.id, url, tcp, tls)
    }

    /// Dials `url`. Blocking: the first connection attempt must succeed (a refused dial is an
    /// error). Non-blocking: NNG keeps trying in the background.
    pub fn dial(
        &self,
        url: &CStr,
        blocking: bool,
        tcp: TcpOptions,
        tls: Option<&TlsOptions>,
    ) -> Result<Endpoint, EndpointError> {
        Endpoint::dial(self.id, url, blocking, tcp, tls)
    }

    /// The peers that connected and left since the last call, and how many such events were
    /// dropped for want of room (the queue keeps the last 1024).
    pub fn pipe_events(&self) -> (Vec<PipeEvent>, u64) {
        pipes::take(self.numeric_id())
    }

    /// When no peer is connected: the last one refused since one last joined, if any.
    pub fn refused_while_alone(&self) -> Option<PipeEvent> {
        pipes::refused_while_alone(self.numeric_id())
    }

    /// Lets only the peers `allow` names connect from now on (`None`: everyone).
    pub fn set_allow(&self, allow: Option<Allow>) {
        pipes::set_allow(self.numeric_id(), allow);
    }

    fn numeric_id(&self) -> u32 {
        // SAFETY: reading the id of a socket we own.
        unsafe { sys::nng_socket_id(self.id) as u32 }
    }

    pub fn set_ms(&self, name: &CStr, ms: i32) -> Result<(), NngError> {
        // SAFETY: name is NUL-terminated.
        check(unsafe { sys::nng_socket_set_ms(self.id, name.as_ptr(), ms) })
    }

    pub fn get_ms(&self, name: &CStr) -> Result<i32, NngError> {
        let mut v = 0;
        // SAFETY: NNG writes one nng_duration.
        check(unsafe { sys::nng_socket_get_ms(self.id, name.as_ptr(), &mut v) })?;
        Ok(v)
    }

    pub fn set_size(&self, name: &CStr, size: usize) -> Result<(), NngError> {
        // SAFETY: name is NUL-terminated.
        check(unsafe { sys::nng_socket_set_size(self.id, name.as_ptr(), size) })
    }

    pub fn get_size(&self, name: &CStr) -> Result<usize, NngError> {
        let mut v = 0;
        // SAFETY: NNG writes one size_t.
        check(unsafe { sys::nng_socket_get_size(self.id, name.as_ptr(), &mut v) })?;
        Ok(v)
    }

    pub fn set_int(&self, name: &CStr, value: c_int) -> Result<(), NngError> {
        // SAFETY: name is NUL-terminated.
        check(unsafe { sys::nng_socket_set_int(self.id, name.as_ptr(), value) })
    }

    pub fn get_int(&self, name: &CStr) -> Result<c_int, NngError> {
        let mut v = 0;
        // SAFETY: NNG writes one int.
        check(unsafe { sys::nng_socket_get_int(self.id, name.as_ptr(), &mut v) })?;
        Ok(v)
    }

    /// Sends `msg`. On success NNG owns it; on failure it comes back with the error.
    pub fn send(&self, msg: Message, nonblocking: bool) -> Result<(), (NngError, Message)> {
        if !self.open {
            return Err((NngError::CLOSED, msg));
        }
        self.channel.send(Target::Socket(self.id), msg, nonblocking)
    }

    pub fn recv(&self, nonblocking: bool) -> Result<Message, NngError> {
        if !self.open {
            return Err(NngError::CLOSED);
        }
        self.channel.recv(Target::Socket(self.id), nonblocking)
    }

    /// Its connections: made, open, ended and refused.
    pub fn connections(&self) -> Counts {
        pipes::counts(self.numeric_id())
    }

    /// What it dropped, from NNG's statistics and its warnings.
    pub fn drop_stats(&self) -> Result<DropStats, NngError> {
        // SAFETY: reading the id of a socket we own.
        let id = unsafe { sys::nng_socket_id(self.id) } as u64;
        let snapshot = Snapshot::take()?;
        let mut stats = DropStats::default();
        snapshot.walk(&mut |item| match stat_name(item) {
            b"socket" if child_value(item, c"id") == id => {
                // pub (NNG's own), bus (patch 0009), surveyor and respondent (0011): what went
                // to no peer (a full queue, no subscriber, a surveyor gone); push, pair, pub and
                // bus (0014): what a connection took with it when it broke (pair1 counts that
                // in its own tx_drop, which NNG declared and never counted)
                stats.send_drops = child_value(item, c"tx_discard") + child_value(item, c"tx_drop");
                // sub (0008), bus (0009), surveyor and respondent (0011), pull (0020): what
                // arrived and was dropped (a full queue, an answer too late, a survey over the
                // hop limit, a pull's read-ahead when its connection closed)
                stats.recv_drops = child_value(item, c"rx_discard");
            }
            _ => {}
        });
        let drops = OVERSIZE_DROPS.lock().unwrap_or_else(|e| e.into_inner());
        stats.oversize_drops = drops
            .iter()
            .find(|(sock, _)| *sock as u64 == id)
            .map_or(0, |(_, n)| *n);
        Ok(stats)
    }

    /// A descriptor that polls readable while a message can be received.
    pub fn recv_fd(&self) -> Result<c_int, NngError> {
        let mut fd = -1;
        // SAFETY: NNG writes one int.
        check(unsafe { sys::nng_socket_get_recv_poll_fd(self.id, &mut fd) })?;
        Ok(fd)
    }

    /// A descriptor that polls readable while a message can be sent without waiting.
    pub fn send_fd(&self) -> Result<c_int, NngError> {
        let mut fd = -1;
        // SAFETY: NNG writes one int.
        check(unsafe { sys::nng_socket_get_send_poll_fd(self.id, &mut fd) })?;
        Ok(fd)
    }

    /// Adds (or with `subscribe` false, removes) a topic prefix on a sub socket.
    pub fn subscription(&self, prefix: &[u8], subscribe: bool) -> Result<(), NngError> {
        let change = if subscribe {
            sys::nng_sub0_socket_subscribe
        } else {
            sys::nng_sub0_socket_unsubscribe
        };
        // SAFETY: NNG copies `prefix.len()` bytes from `prefix`.
        check(unsafe { change(self.id, prefix.as_ptr() as *const c_void, prefix.len()) })
    }
}

/// A context of a socket (`nng_ctx`): sends and receives as the socket does, keeping its own
/// protocol state (a sub context, its own subscriptions). Closed explicitly or on drop;
/// closing its socket closes it too.
pub struct Context {
    ctx: sys::nng_ctx,
    open: bool,
    channel: Channel,
}

impl Context {
    pub fn is_open(&self) -> bool {
        self.open
    }

    pub fn close(&mut self) {
        if std::mem::replace(&mut self.open, false) && !forked() {
            // SAFETY: closing a context we opened; NNG tolerates one its socket closed.
            unsafe { sys::nng_ctx_close(self.ctx) };
        }
    }

    /// Subscribes a sub context to messages whose topic starts with `prefix`, or stops.
    pub fn subscription(&self, prefix: &[u8], subscribe: bool) -> Result<(), NngError> {
        let change = if subscribe {
            sys::nng_sub0_ctx_subscribe
        } else {
            sys::nng_sub0_ctx_unsubscribe
        };
        // SAFETY: NNG copies `prefix.len()` bytes from `prefix`.
        check(unsafe { change(self.ctx, prefix.as_ptr() as *const c_void, prefix.len()) })
    }

    pub fn send(&self, msg: Message, nonblocking: bool) -> Result<(), (NngError, Message)> {
        if !self.open {
            return Err((NngError::CLOSED, msg));
        }
        self.channel
            .send(Target::Context(self.ctx), msg, nonblocking)
    }

    pub fn recv(&self, nonblocking: bool) -> Result<Message, NngError> {
        if !self.open {
            return Err(NngError::CLOSED);
        }
        self.channel.recv(Target::Context(self.ctx), nonblocking)
    }

    pub fn set_ms(&self, name: &CStr, ms: i32) -> Result<(), NngError> {
        // SAFETY: name is NUL-terminated.
        check(unsafe { sys::nng_ctx_set_ms(self.ctx, name.as_ptr(), ms) })
    }

    pub fn get_ms(&self, name: &CStr) -> Result<i32, NngError> {
        let mut v = 0;
        // SAFETY: NNG writes one nng_duration.
        check(unsafe { sys::nng_ctx_get_ms(self.ctx, name.as_ptr(), &mut v) })?;
        Ok(v)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        self.close();
    }
}

/// A forwarder between two raw sockets (`nng_device_aio`): it runs on NNG's threads until
/// either socket closes. Dropping it stops it.
pub struct Device(Aio);

impl Device {
    pub fn start(front: &Socket, back: &Socket) -> Result<Device, NngError> {
        if !front.open || !back.open {
            return Err(NngError::CLOSED);
        }
        let device = Device(Aio::new()?);
        // SAFETY: starting a device on our new aio; NNG checks that both are raw sockets of
        // protocols that pair.
        unsafe { sys::nng_device_aio(device.0 .0.as_ptr(), front.id, back.id) };
        if !device.is_running() {
            // It ended at once: NNG refused the pair (or a socket closed meanwhile).
            // SAFETY: the operation has finished, so its result is set.
            check(unsafe { sys::nng_aio_result(device.0 .0.as_ptr()) })?;
        }
        Ok(device)
    }

    /// False once either socket has closed.
    pub fn is_running(&self) -> bool {
        // SAFETY: asks whether the operation on our aio is still under way.
        unsafe { sys::nng_aio_busy(self.0 .0.as_ptr()) }
    }
}

/// Where an operation goes: a socket, or one of its contexts.
#[derive(Clone, Copy)]
enum Target {
    Socket(sys::nng_socket),
    Context(sys::nng_ctx),
}

/// One aio per direction, made on first use and reused for every message (see [`Aio`]), for a
/// socket or a context.
#[derive(Default)]
struct Channel {
    send_aio: OnceCell<Aio>,
    recv_aio: OnceCell<Aio>,
}

impl Channel {
    fn send(&self, to: Target, msg: Message, nonblocking: bool) -> Result<(), (NngError, Message)> {
        let aio = match Aio::get(&self.send_aio) {
            Ok(aio) => aio,
            Err(e) => return Err((e, msg)),
        };
        let raw = msg.into_raw();
        let rv = aio.run(nonblocking, |a| {
            // SAFETY: raw is a live message we own, attached to our idle aio; on success NNG
            // takes it, on failure it stays ours (and attached).
            unsafe {
                sys::nng_aio_set_msg(a, raw);
                match to {
                    Target::Socket(id) => sys::nng_socket_send(id, a),
                    Target::Context(ctx) => sys::nng_ctx_send(ctx, a),
                }
            }
        });
        // Whether NNG took the message tells whether it was sent, not the result: an abort
        // (Ctrl-C) that lands just after the send finished still writes its error there.
        match aio.detach_msg().is_null() {
            true => Ok(()),
            // SAFETY: not taken, so the message is still ours (and was attached until now).
            false => Err((NngError(rv).or_failed(), unsafe { Message::from_raw(raw) })),
        }
    }

    fn recv(&self, from: Target, nonblocking: bool) -> Result<Message, NngError> {
        let aio = Aio::get(&self.recv_aio)?;
        // SAFETY: starting a receive on our idle aio.
        let rv = aio.run(nonblocking, |a| unsafe {
            match from {
                Target::Socket(id) => sys::nng_socket_recv(id, a),
                Target::Context(ctx) => sys::nng_ctx_recv(ctx, a),
            }
        });
        // A message on the aio is one received, whatever the result says (see `send`).
        let raw = aio.detach_msg();
        match raw.is_null() {
            true => Err(NngError(rv).or_failed()),
            // SAFETY: a receive that left a message hands it over; it is ours now.
            false => Ok(unsafe { Message::from_raw(raw) }),
        }
    }
}

/// An NNG asynchronous operation, started and waited for in place, and reused.
///
/// `nng_sendmsg` and `nng_recvmsg` do the same, but set up an aio for every call and tear it
/// down after; setting one up draws a random number, which glibc 2.36 gets with a `getrandom`
/// system call, and makes a mutex and a condition variable. A socket keeps one aio per
/// direction instead. Calls on a socket never overlap: `Socket` is neither `Send` nor `Sync`
/// (this type holds a raw pointer), and nothing between start and wait calls back into Lua.
struct Aio(NonNull<sys::nng_aio>);

impl Aio {
    fn new() -> Result<Aio, NngError> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: nng_aio_alloc writes a new aio, with no callback, into raw.
        check(unsafe { sys::nng_aio_alloc(&mut raw, None, std::ptr::null_mut()) })?;
        Ok(Aio(NonNull::new(raw).expect("NNG returned a null aio")))
    }

    /// The aio in `cell`, made on first use.
    fn get(cell: &OnceCell<Aio>) -> Result<&Aio, NngError> {
        if let Some(aio) = cell.get() {
            return Ok(aio);
        }
        let aio = Aio::new()?;
        Ok(cell.get_or_init(|| aio))
    }

    /// Starts an operation on this aio with the socket's timeout (none at all if
    /// `nonblocking`), waits for it, and returns its result as `nng_sendmsg` would: a
    /// non-blocking attempt that cannot proceed is NNG_EAGAIN.
    fn run(&self, nonblocking: bool, start: impl FnOnce(*mut sys::nng_aio)) -> sys::nng_err {
        let a = self.0.as_ptr();
        let timeout = if nonblocking {
            sys::NNG_DURATION_ZERO as sys::nng_duration
        } else {
            sys::NNG_DURATION_DEFAULT as sys::nng_duration
        };
        // SAFETY: the aio is ours and idle (the last operation was waited for).
        unsafe { sys::nng_aio_set_timeout(a, timeout) };
        // An operation that completes at once (a message queued, room to send) is then
        // reported through `skipped`, with no task dispatched to wake a waiter: the common
        // case, and about a third of the cost of a small message (NNG patch 0018 keeps the
        // request through nng_socket_send and its kin).
        let mut skipped = false;
        // SAFETY: NNG writes `skipped` only while `start` runs: when the operation completes
        // at once; when it goes on in the background NNG forgets the pointer first.
        unsafe { sys::nng_aio_skip_callback(a, &mut skipped) };
        let begun = interrupt::begin();
        start(a);
        if skipped {
            // SAFETY: the operation is over; reading its result.
            return match unsafe { sys::nng_aio_result(a) } {
                sys::nng_err::NNG_ETIMEDOUT if nonblocking => sys::nng_err::NNG_EAGAIN,
                rv => rv,
            };
        }
        // A wait that blocks can be ended by Ctrl-C (interrupt.rs); one that is over at once,
        // the common case when messages are queued, costs nothing more.
        // SAFETY: asking about the operation just started on our aio.
        let armed = match nonblocking || !unsafe { sys::nng_aio_busy(a) } {
            true => None,
            false => interrupt::Armed::aio(a, begun),
        };
        // SAFETY: waiting for the operation just started on our aio.
        let rv = unsafe {
            sys::nng_aio_wait(a);
            sys::nng_aio_result(a)
        };
        let interrupted = armed.is_some_and(|armed| armed.interrupted());
        if interrupted && rv != sys::nng_err::NNG_OK {
            sys::nng_err::NNG_EINTR
        } else if nonblocking && rv == sys::nng_err::NNG_ETIMEDOUT {
            sys::nng_err::NNG_EAGAIN
        } else {
            rv
        }
    }

    /// The message the last operation left on the aio (null if none), which the aio no longer
    /// holds after this.
    fn detach_msg(&self) -> *mut sys::nng_msg {
        // SAFETY: the aio is ours and idle; this only reads and clears its message pointer.
        unsafe {
            let raw = sys::nng_aio_get_msg(self.0.as_ptr());
            sys::nng_aio_set_msg(self.0.as_ptr(), std::ptr::null_mut());
            raw
        }
    }
}

impl Drop for Aio {
    fn drop(&mut self) {
        if forked() {
            return; // left to the parent's NNG: freeing it here would take NNG's locks
        }
        // SAFETY: freeing our aio once; nng_aio_free waits for any operation on it, and none is
        // running (every one is waited for).
        unsafe { sys::nng_aio_free(self.0.as_ptr()) };
    }
}

/// Keeps this shared library loaded until the process ends.
///
/// NNG runs threads of its own (timers, transports) whose code lives in this library. When a
/// Lua state closes, Lua unloads the C modules it loaded (`dlclose`); if that unloaded nml
/// while NNG's threads still ran, they would jump into unmapped memory. Opening ourselves once
/// more with RTLD_NODELETE makes the unload a no-op.
pub fn pin_library() {
    static PINNED: std::sync::Once = std::sync::Once::new();
    PINNED.call_once(|| {
        // SAFETY: Dl_info is plain C data (pointers and integers), for which all zeros is valid.
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        let here = pin_library as *const c_void;
        // SAFETY: dladdr fills `info` for an address inside a loaded object; dlopen with
        // RTLD_NOLOAD only adds a reference (and the NODELETE flag) to an object already loaded.
        unsafe {
            if libc::dladdr(here, &mut info) != 0 && !info.dli_fname.is_null() {
                libc::dlopen(
                    info.dli_fname,
                    libc::RTLD_NOW | libc::RTLD_NOLOAD | libc::RTLD_NODELETE,
                );
            }
        }
    });
}

/// Waits until one of `fds` is readable or `timeout_ms` passes (-1: forever); returns which are.
/// Ctrl-C ends a wait that may block with an error of kind `Interrupted` (interrupt.rs).
pub fn poll_readable(fds: &[c_int], timeout_ms: c_int) -> std::io::Result<Vec<bool>> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let armed = match timeout_ms {
        0 => None,
        _ => interrupt::Armed::poll(interrupt::begin()),
    };
    if armed.is_some() {
        polled.extend(interrupt::wake_fd().map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        }));
    }
    loop {
        // SAFETY: polled is a valid array of pollfd of the length given.
        let n = unsafe {
            libc::poll(
                polled.as_mut_ptr(),
                polled.len() as libc::nfds_t,
                timeout_ms,
            )
        };
        let failed = (n < 0).then(std::io::Error::last_os_error);
        let woken = n > 0 && armed.is_some() && polled[fds.len()].revents & libc::POLLIN != 0;
        if woken {
            interrupt::drain_wake();
        }
        if armed.as_ref().is_some_and(|a| a.interrupted()) {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        match failed {
            None if !woken => {
                return Ok(polled[..fds.len()]
                    .iter()
                    .map(|p| p.revents & libc::POLLIN != 0)
                    .collect())
            }
            Some(err) if err.kind() != std::io::ErrorKind::Interrupted => return Err(err),
            _ => {} // another signal, or a wake left from before: wait again
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.close();
    }
}

/// An `nng_msg` owned by this value: freed on drop unless handed to NNG by `Socket::send`.
pub struct Message(NonNull<sys::nng_msg>);

impl Message {
    pub fn alloc(size: usize) -> Result<Message, NngError> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: nng_msg_alloc writes a new message (body of `size` bytes) into raw.
        check(unsafe { sys::nng_msg_alloc(&mut raw, size) })?;
        // SAFETY: success means raw is live.
        Ok(unsafe { Message::from_raw(raw) })
    }

    /// A message whose body of `size` bytes has `headroom` free bytes in front of it, so that
    /// `prepend` of up to that many bytes moves nothing (NNG reuses room before the body; a
    /// message without it is reallocated and copied whole on insert).
    pub fn alloc_with_headroom(size: usize, headroom: usize) -> Result<Message, NngError> {
        let mut msg = Message::alloc(size.checked_add(headroom).ok_or(NngError::NOMEM)?)?;
        msg.trim_front(headroom);
        Ok(msg)
    }

    /// # Safety
    /// `raw` must be a live message that nobody else owns.
    unsafe fn from_raw(raw: *mut sys::nng_msg) -> Message {
        Message(NonNull::new(raw).expect("NNG returned a null message"))
    }

    fn into_raw(self) -> *mut sys::nng_msg {
        let raw = self.0.as_ptr();
        std::mem::forget(self);
        raw
    }

    /// Grows or shrinks the body, keeping its bytes; new bytes are zero.
    pub fn resize(&mut self, size: usize) -> Result<(), NngError> {
        let old = self.len();
        // SAFETY: we own the message; realloc keeps the first min(old, size) bytes.
        check(unsafe { sys::nng_msg_realloc(self.0.as_ptr(), size) })?;
        if size > old {
            self.body_mut()[old..].fill(0);
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        // SAFETY: we own a live message.
        unsafe { sys::nng_msg_len(self.0.as_ptr()) }
    }

    /// The transport of the pipe a received message came through ("tcp", "ipc", ...); `None`
    /// for a message not received, or once its pipe has closed.
    pub fn pipe_scheme(&self) -> Option<String> {
        pipes::scheme(self.pipe())
    }

    /// The pid of the process at the other end of the ipc connection a received message came
    /// through, as the kernel tells it; `None` on other transports or once the pipe closed.
    pub fn pipe_peer_pid(&self) -> Option<u32> {
        pipes::peer_id(self.pipe(), sys::NNG_OPT_PEER_PID).and_then(|pid| pid.try_into().ok())
    }

    fn pipe(&self) -> sys::nng_pipe {
        // SAFETY: we own a live message; its pipe is an id, checked by NNG when used.
        unsafe { sys::nng_msg_get_pipe(self.0.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn body(&self) -> &[u8] {
        let len = self.len();
        if len == 0 {
            return &[];
        }
        // SAFETY: the body holds len bytes, alive as long as the message, which &self borrows.
        unsafe { std::slice::from_raw_parts(sys::nng_msg_body(self.0.as_ptr()) as *const u8, len) }
    }

    pub fn body_mut(&mut self) -> &mut [u8] {
        let len = self.len();
        if len == 0 {
            return &mut [];
        }
        // SAFETY: as body, and &mut self makes the borrow unique.
        unsafe {
            std::slice::from_raw_parts_mut(sys::nng_msg_body(self.0.as_ptr()) as *mut u8, len)
        }
    }

    /// Address of the first body byte, for C modules (`msg:ptr()`).
    pub fn body_ptr(&self) -> *mut c_void {
        // SAFETY: a live message always has a body pointer.
        unsafe { sys::nng_msg_body(self.0.as_ptr()) }
    }

    /// Puts `bytes` in front of the body. NNG keeps room ahead of every body, so a short
    /// envelope goes in without moving the payload.
    pub fn prepend(&mut self, bytes: &[u8]) -> Result<(), NngError> {
        // SAFETY: NNG copies bytes.len() bytes from bytes.
        check(unsafe {
            sys::nng_msg_insert(
                self.0.as_ptr(),
                bytes.as_ptr() as *const c_void,
                bytes.len(),
            )
        })
    }

    /// Drops the first `n` bytes of the body (`n` at most `len`).
    pub fn trim_front(&mut self, n: usize) {
        assert!(n <= self.len());
        // SAFETY: n is within the body.
        unsafe { sys::nng_msg_trim(self.0.as_ptr(), n) };
    }
}

impl Drop for Message {
    fn drop(&mut self) {
        // SAFETY: we own the message and nobody uses it after this.
        unsafe { sys::nng_msg_free(self.0.as_ptr()) }
    }
}

/// Option names, as NNG spells them.
pub mod opt {
    use std::ffi::CStr;

    fn name(bytes: &'static [u8]) -> &'static CStr {
        CStr::from_bytes_with_nul(bytes).expect("NNG option names are NUL-terminated")
    }

    pub fn recv_timeout() -> &'static CStr {
        name(nng_sys::NNG_OPT_RECVTIMEO)
    }
    pub fn send_timeout() -> &'static CStr {
        name(nng_sys::NNG_OPT_SENDTIMEO)
    }
    pub fn recv_max_size() -> &'static CStr {
        name(nng_sys::NNG_OPT_RECVMAXSZ)
    }
    pub fn recv_buffer() -> &'static CStr {
        name(nng_sys::NNG_OPT_RECVBUF)
    }
    pub fn send_buffer() -> &'static CStr {
        name(nng_sys::NNG_OPT_SENDBUF)
    }
    pub fn reconnect_min() -> &'static CStr {
        name(nng_sys::NNG_OPT_RECONNMINT)
    }
    pub fn reconnect_max() -> &'static CStr {
        name(nng_sys::NNG_OPT_RECONNMAXT)
    }
    pub fn survey_time() -> &'static CStr {
        name(nng_sys::NNG_OPT_SURVEYOR_SURVEYTIME)
    }
    pub fn resend_time() -> &'static CStr {
        name(nng_sys::NNG_OPT_REQ_RESENDTIME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_travels_over_inproc() {
        let url = c"inproc://nml-unit-test";
        let rep = Socket::open(Pattern::Pair0, false).unwrap();
        rep.listen(url, TcpOptions::default(), None).unwrap();
        let req = Socket::open(Pattern::Pair0, false).unwrap();
        req.dial(url, true, TcpOptions::default(), None).unwrap();
        let mut msg = Message::alloc(3).unwrap();
        msg.body_mut().copy_from_slice(b"abc");
        req.send(msg, false).map_err(|(e, _)| e).unwrap();
        rep.set_ms(opt::recv_timeout(), 1000).unwrap();
        let got = rep.recv(false).unwrap();
        assert_eq!(got.body(), b"abc");
    }

    #[test]
    fn errors_have_stable_codes() {
        let s = Socket::open(Pattern::Pull, false).unwrap();
        s.set_ms(opt::recv_timeout(), 10).unwrap();
        assert_eq!(s.recv(false).err().unwrap().code(), "timeout");
        assert_eq!(s.recv(true).err().unwrap().code(), "again");
        let refused = Socket::open(Pattern::Push, false).unwrap();
        assert_eq!(
            refused
                .dial(c"tcp://127.0.0.1:1", true, TcpOptions::default(), None)
                .unwrap_err()
                .error
                .code(),
            "refused"
        );
    }

    #[test]
    fn oversize_warnings_name_their_socket() {
        let ipc = b"Oversize message of 2002 bytes (> 1000) on socket<17> pipe<3> from IPC";
        assert_eq!(socket_id_in(ipc), Some(17));
        let ws =
            b"Oversize message (over the receive limit) on socket<4> pipe<9> from WS 127.0.0.1:5";
        assert_eq!(socket_id_in(ws), Some(4));
        assert_eq!(socket_id_in(b"on socket<> pipe"), None);
        assert_eq!(socket_id_in(b"nothing here"), None);
    }

    #[test]
    fn headroom_takes_a_prepend_in_place() {
        let mut m = Message::alloc_with_headroom(1 << 20, 32).unwrap();
        let before = m.body_ptr() as usize;
        m.prepend(b"\xc1\x01").unwrap();
        assert_eq!(m.body_ptr() as usize, before - 2);
        assert_eq!(m.len(), (1 << 20) + 2);
    }

    #[test]
    fn messages_resize_and_trim() {
        let mut m = Message::alloc(2).unwrap();
        m.body_mut().copy_from_slice(b"hi");
        m.resize(4).unwrap();
        assert_eq!(m.body(), b"hi\0\0");
        m.trim_front(1);
        assert_eq!(m.body(), b"i\0\0");
        assert!(!m.is_empty());
    }
}
