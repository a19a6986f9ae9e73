//! Waits that Ctrl-C ends (the manual's "Interrupts").
//!
//! The standalone `lua` and `luajit` catch SIGINT with a handler that only sets a hook, which
//! raises "interrupted!" at the next Lua instruction. While nml waits inside NNG no instruction
//! runs, so a blocking `recv` ignored Ctrl-C until a second one killed the process. Around each
//! wait that really blocks, nml now puts a handler of its own in front of the one there: it
//! notes the interrupt, has a watcher thread end the wait (a signal handler may not call NNG),
//! and calls the previous handler, so that the interpreter's own handling runs once nml has
//! returned `nil, msg, "interrupted"`. With SIGINT at its default action (Ctrl-C ends the
//! process) or ignored, nothing is installed. The handler that was there is put back after the
//! wait, unless someone changed it meanwhile (Lua's own handler sets the default once called).
//!
//! (Leaving nml's handler in place between waits saves three `sigaction` calls per blocking
//! wait, about half a microsecond, and was tried: a host library that installs a handler
//! calling the one before it, between two waits, then made the two call each other until the
//! stack overflowed, and a Lua state that closed took Ctrl-C away from another state's wait.)

#![allow(unsafe_code)] // signal handlers, pipes and NNG's C API (see lib.rs)

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use nng_sys as sys;

/// How many SIGINTs nml's handler has had. A wait notes the count when it begins
/// ([`begin`]); it was interrupted if the count moved since. (A flag set by the handler and
/// cleared by the wait was not enough: the watcher, which runs apart, could take a Ctrl-C that
/// had already ended a `poll` through EINTR for the next wait, and end that one too.)
static SIGNALS: AtomicU32 = AtomicU32::new(0);
/// Set while nml's handler calls the previous one (see `on_sigint`).
static CALLING_PREVIOUS: AtomicBool = AtomicBool::new(false);
/// The handler that was there before nml's, for nml's to call: its address and flags.
static PREVIOUS_HANDLER: AtomicUsize = AtomicUsize::new(libc::SIG_DFL);
static PREVIOUS_FLAGS: AtomicI32 = AtomicI32::new(0);
/// The write end of the pipe the handler wakes the watcher through; -1 where this process has
/// no watcher of its own yet.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);
/// The watcher's read end, and the pipe it wakes a `poll` waiter through (read, write ends).
static SIGNAL_READ: AtomicI32 = AtomicI32::new(-1);
static WAKE_READ: AtomicI32 = AtomicI32::new(-1);
static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);
/// The process that made the pipes and the watcher. A child forked after them has the pipes,
/// shared with its parent, but no watcher (threads do not survive fork): its Ctrl-C would wake
/// the parent's watcher, which ended the parent's wait. It makes its own at its first wait.
static PLUMBED_BY: AtomicU32 = AtomicU32::new(0);
/// What blocks now, for the watcher to end.
static WAITING: Mutex<Waiting> = Mutex::new(Waiting::Nothing);
/// The whole action that was there, to put back.
static PREVIOUS: Mutex<Option<Action>> = Mutex::new(None);

struct Action(libc::sigaction);
// SAFETY: a plain C struct of a handler address, flags and a signal mask; no pointer in it is
// dereferenced by this code.
unsafe impl Send for Action {}

/// What blocks, with the count of SIGINTs when it began.
enum Waiting {
    Nothing,
    Aio(AioPtr, u32),
    Poll(u32),
}

struct AioPtr(*mut sys::nng_aio);
// SAFETY: NNG's aio functions may be called from any thread; the pointer is used only while
// the wait that registered it runs (it is taken out under the same lock before the wait
// returns).
unsafe impl Send for AioPtr {}

fn waiting() -> MutexGuard<'static, Waiting> {
    WAITING.lock().unwrap_or_else(|e| e.into_inner())
}

extern "C" fn on_sigint(sig: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    SIGNALS.fetch_add(1, Ordering::SeqCst);
    let fd = SIGNAL_PIPE.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write is async-signal-safe; one byte from a local.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    let previous = PREVIOUS_HANDLER.load(Ordering::SeqCst);
    if previous == libc::SIG_DFL || previous == libc::SIG_IGN {
        return;
    }
    // A handler that took nml's for the one before it and calls it would call back here, and
    // the two would call each other until the stack ran out: the previous one is called once.
    // (A previous handler that never returns leaves this set until the next wait clears it.)
    if CALLING_PREVIOUS.swap(true, Ordering::SeqCst) {
        return;
    }
    // SAFETY: `previous` is the handler the process had installed for SIGINT, called as its
    // flags say it expects to be called.
    unsafe {
        if PREVIOUS_FLAGS.load(Ordering::SeqCst) & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                std::mem::transmute(previous);
            f(sig, info, context);
        } else {
            let f: extern "C" fn(c_int) = std::mem::transmute(previous);
            f(sig);
        }
    }
    CALLING_PREVIOUS.store(false, Ordering::SeqCst);
}

/// Called in the child right after a fork (nng::watch_forks): until it makes its own, the
/// child's handler writes to no pipe. Async-signal-safe: one atomic store.
pub(super) fn forget_parents_watcher() {
    SIGNAL_PIPE.store(-1, Ordering::SeqCst);
}

/// Makes this process's watcher thread and pipes, once per process; false if they cannot be
/// made. A forked child closes its copies of its parent's (the parent keeps its own).
fn watcher_running() -> bool {
    static MAKING: Mutex<()> = Mutex::new(());
    let pid = std::process::id();
    if PLUMBED_BY.load(Ordering::SeqCst) == pid {
        return true;
    }
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    if PLUMBED_BY.load(Ordering::SeqCst) == pid {
        return true;
    }
    for inherited in [&SIGNAL_READ, &WAKE_READ, &WAKE_WRITE] {
        let fd = inherited.swap(-1, Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: this process's copy of a descriptor its parent made for the same use.
            unsafe { libc::close(fd) };
        }
    }
    let Some(((signal_read, signal_write), (wake_read, wake_write))) = pipe().zip(pipe()) else {
        return false;
    };
    // SAFETY: making our own pipe's read end non-blocking, to drain it.
    unsafe { libc::fcntl(wake_read, libc::F_SETFL, libc::O_NONBLOCK) };
    let started = std::thread::Builder::new()
        .name("nml-interrupt".into())
        .spawn(move || watch(signal_read, wake_write));
    if started.is_err() {
        return false;
    }
    SIGNAL_READ.store(signal_read, Ordering::SeqCst);
    WAKE_READ.store(wake_read, Ordering::SeqCst);
    WAKE_WRITE.store(wake_write, Ordering::SeqCst);
    SIGNAL_PIPE.store(signal_write, Ordering::SeqCst);
    PLUMBED_BY.store(pid, Ordering::SeqCst);
    true
}

/// The watcher: ends whatever waits each time the handler says Ctrl-C was pressed.
fn watch(read_end: c_int, wake_write: c_int) {
    // SAFETY: sigset_t is plain data; this thread never takes SIGINT, so the handler never runs
    // on it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: reading into a local buffer of its length.
        let n = unsafe { libc::read(read_end, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        end(&waiting(), wake_write);
    }
}

/// Ends what waits, if a Ctrl-C came since it began: aborts its aio, or wakes its `poll`.
/// Called with the lock of WAITING held.
fn end(what: &Waiting, wake_write: c_int) {
    let since = match what {
        Waiting::Aio(_, since) | Waiting::Poll(since) => *since,
        Waiting::Nothing => return,
    };
    if SIGNALS.load(Ordering::SeqCst) == since {
        return; // the Ctrl-C that woke the watcher came before this wait began
    }
    match what {
        // SAFETY: the aio is live while it is registered (see AioPtr); aborting one whose
        // operation has finished does nothing.
        Waiting::Aio(aio, _) => unsafe { sys::nng_aio_abort(aio.0, sys::nng_err::NNG_EINTR) },
        Waiting::Poll(_) => {
            let byte = 1u8;
            // SAFETY: one byte from a local, to a pipe of ours.
            unsafe { libc::write(wake_write, (&byte as *const u8).cast(), 1) };
        }
        Waiting::Nothing => {}
    }
}

/// A wait begins: a Ctrl-C before this point is not this wait's; one after it ends the wait,
/// even if it lands before the wait is armed.
#[derive(Clone, Copy)]
pub struct Begun(u32);

pub fn begin() -> Begun {
    Begun(SIGNALS.load(Ordering::SeqCst))
}

fn pipe() -> Option<(c_int, c_int)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    (unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == 0).then_some((fds[0], fds[1]))
}

/// The read end of the pipe a `poll` waiter watches beside its own descriptors.
pub fn wake_fd() -> Option<c_int> {
    watcher_running().then(|| WAKE_READ.load(Ordering::SeqCst))
}

/// Empties the wake pipe after a poll it ended.
pub fn drain_wake() {
    if let Some(read_end) = wake_fd() {
        let mut buf = [0u8; 64];
        // SAFETY: a non-blocking read into a local buffer of its length.
        while unsafe { libc::read(read_end, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    }
}

/// Ctrl-C armed for one wait; put back as it was when dropped.
pub struct Armed {
    installed: bool,
    since: u32,
}

impl Armed {
    /// Arms Ctrl-C for an NNG operation that is about to be waited for.
    pub(super) fn aio(aio: *mut sys::nng_aio, begun: Begun) -> Option<Armed> {
        arm(Waiting::Aio(AioPtr(aio), begun.0))
    }

    /// Arms Ctrl-C for a `poll` that also watches [`wake_fd`].
    pub fn poll(begun: Begun) -> Option<Armed> {
        wake_fd()?;
        arm(Waiting::Poll(begun.0))
    }

    /// Whether Ctrl-C was pressed during the wait.
    pub fn interrupted(&self) -> bool {
        SIGNALS.load(Ordering::SeqCst) != self.since
    }
}

/// Puts nml's handler in front of SIGINT's for one wait, where there is a handler to call.
fn arm(what: Waiting) -> Option<Armed> {
    // SAFETY: sigaction is plain data, for which all zeros is valid.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: with no new action, sigaction only reads the current one into `current`.
    if unsafe { libc::sigaction(libc::SIGINT, std::ptr::null(), &mut current) } != 0 {
        return None;
    }
    let handler = current.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN || !watcher_running() {
        return None;
    }
    let since = match what {
        Waiting::Aio(_, since) | Waiting::Poll(since) => since,
        Waiting::Nothing => return None,
    };
    {
        let mut registered = waiting();
        *registered = what;
        // A Ctrl-C since the wait began but before it was registered here found nothing for
        // the watcher to end: end it now.
        end(&registered, WAKE_WRITE.load(Ordering::SeqCst));
    }
    if handler == ours() {
        return Some(Armed {
            installed: false,
            since,
        });
    }
    CALLING_PREVIOUS.store(false, Ordering::SeqCst);
    PREVIOUS_HANDLER.store(handler, Ordering::SeqCst);
    PREVIOUS_FLAGS.store(current.sa_flags, Ordering::SeqCst);
    // SAFETY: sigaction_t is plain data; the new action calls `on_sigint`, which does only
    // async-signal-safe work before it calls the previous handler.
    let installed = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ours();
        action.sa_flags =
            libc::SA_SIGINFO | libc::SA_RESTART | (current.sa_flags & libc::SA_ONSTACK);
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut()) == 0
    };
    if installed {
        *PREVIOUS.lock().unwrap_or_else(|e| e.into_inner()) = Some(Action(current));
    }
    Some(Armed { installed, since })
}

/// nml's SIGINT handler, as `sigaction` reports it.
fn ours() -> usize {
    on_sigint as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) as usize
}

impl Drop for Armed {
    fn drop(&mut self) {
        *waiting() = Waiting::Nothing;
        if !self.installed {
            return;
        }
        let Some(Action(previous)) = PREVIOUS.lock().unwrap_or_else(|e| e.into_inner()).take()
        else {
            return;
        };
        // SAFETY: reading the current action, then putting the previous one back only if nml's
        // is still the one there (Lua's handler, once called, sets the default: that stays).
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGINT, std::ptr::null(), &mut current);
            if current.sa_sigaction == ours() {
                libc::sigaction(libc::SIGINT, &previous, std::ptr::null_mut());
            }
        }
    }
}
