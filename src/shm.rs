//! Shared memory between processes on one host, for buffers that cross without their bytes
//! (docs/design.md, "Shared buffers"). Each buffer is a sealed memfd:
//!
//! - the creator maps it read-write; a receiver opens it through `/proc/<pid>/fd/<fd>` of the
//!   creator, which the kernel allows only to processes of the creator's user, and maps its
//!   data read-only;
//! - its size is sealed (`F_SEAL_SHRINK | F_SEAL_GROW`) before anyone else can open it, so no
//!   mapping can ever reach past its end: no SIGBUS, whatever the creator does later;
//! - it has no name: the kernel frees it when the last descriptor and mapping are gone, so a
//!   crash of either side leaves nothing behind in `/dev/shm` or anywhere else.
//!
//! The first page is a control block: a magic number, a random token that tells this buffer
//! from a later one under the same pid and fd (a pool draws a new one each time it lends the
//! buffer again), the data's length, and two counts that keep it out of a pool while anyone may
//! read it: references sent and not yet opened (the sender adds one per receiver it counts), and
//! receivers' views open now.
//!
//! A reference is bytes from a peer (docs/design.md, "Threat model"): `Segment::open` takes
//! only one naming the process it came from, pins the descriptor without opening it, opens it
//! only once it is shown to be a memfd of nml's of this user, and fails the same way whatever
//! is wrong, so that a peer learns nothing of this host's processes and descriptors. A
//! receiver's view keeps its mappings, not the descriptor.

#![allow(unsafe_code)] // the OS's memfd and mmap (see lib.rs)

use std::cell::UnsafeCell;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Once;

const MAGIC: u64 = u64::from_be_bytes(*b"nml.shm2");
/// The memfd's name, which `/proc/<pid>/fd/<fd>` shows as `/memfd:<name> (deleted)`.
const NAME: &str = "nml-shared-buffer";
/// The largest data length a reference may claim: far beyond any real buffer, and small enough
/// that no size computed from it overflows.
const MAX_LEN: u64 = 1 << 46;
/// Where the data starts: one page for the control block.
pub const DATA_AT: usize = 4096;

/// The control block at the start of every segment.
#[repr(C)]
struct ControlBlock {
    magic: u64,
    token: AtomicU64,
    len: u64,
    /// References sent and not yet opened: one per receiver the sender counted.
    in_flight: AtomicU32,
    /// Receivers' views open now (a forwarder's fan-out may open more than were counted).
    views: AtomicU32,
    /// Who holds those views: up to HOLDER_SLOTS processes, each slot a pid (high 32 bits) and
    /// its views (low 32), so that a pool can name them and give back the views of one that
    /// died (docs/wire-format.md, "Shared buffers").
    holders: [AtomicU64; HOLDER_SLOTS],
}

/// Receiving processes a control page names; more still count in `views`.
const HOLDER_SLOTS: usize = 16;

/// Views of shared buffers this process holds now, in every Lua state.
static VIEWS_OPEN: AtomicUsize = AtomicUsize::new(0);

/// Where the control pages of this process's views are mapped, so that a child forked now
/// counts the views it inherits: it can read them as well as its parent, and its parent
/// letting go must not make the pool lend them while the child reads (found by an outside
/// attack). They are counted before the fork, in the parent, under the forking process's
/// pid, and handed to the child's pid in the child: counted in the child alone, a parent that
/// let go at once could bring the count to 0 before the child ran (the second attack).
static VIEW_PAGES: ViewPages = ViewPages {
    locked: AtomicBool::new(false),
    pages: UnsafeCell::new(Vec::new()),
};

/// A list behind a spin lock, held from before a fork to after it on both sides (a std
/// Mutex's guard cannot outlive the handler that takes it).
struct ViewPages {
    locked: AtomicBool,
    pages: UnsafeCell<Vec<usize>>,
}

// SAFETY: `pages` is only reached with `locked` held (see `lock`).
unsafe impl Sync for ViewPages {}

impl ViewPages {
    fn lock(&self) {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::thread::yield_now();
        }
    }

    fn unlock(&self) {
        self.locked.store(false, Ordering::Release);
    }

    /// The views' control pages; only while the lock is held.
    fn blocks(&self) -> impl Iterator<Item = &ControlBlock> {
        // SAFETY: callers hold the lock, so the list does not change meanwhile.
        let pages = unsafe { &*self.pages.get() };
        pages.iter().map(|&page| {
            // SAFETY: the control page of a view this process holds, mapped until the view is
            // dropped, which takes it out of this list first (under the lock); mappings are
            // inherited by a forked child, with the view.
            unsafe { &*(page as *const ControlBlock) }
        })
    }

    /// Adds or removes a view's control page.
    fn note(&self, block: *mut ControlBlock, opened: bool) {
        self.lock();
        // SAFETY: the lock is held: no one else reaches the list meanwhile.
        let pages = unsafe { &mut *self.pages.get() };
        match opened {
            true => pages.push(block as usize),
            false => {
                if let Some(i) = pages.iter().position(|&p| p == block as usize) {
                    pages.swap_remove(i);
                }
            }
        }
        self.unlock();
    }
}

/// The pid that forked, as its prepare handler saw it, for the child's handler.
static FORKING_PID: AtomicU32 = AtomicU32::new(0);

/// Before a fork, in the parent: each view counted once more, under this process's pid,
/// and the list locked until the fork is done on both sides.
extern "C" fn before_fork() {
    VIEW_PAGES.lock();
    let me = std::process::id();
    FORKING_PID.store(me, Ordering::SeqCst);
    for block in VIEW_PAGES.blocks() {
        block.views.fetch_add(1, Ordering::SeqCst);
        change_holder(block, me, true);
    }
    // SAFETY: errno is this thread's; 0 lets the parent's handler tell a failed fork.
    unsafe { *libc::__errno_location() = 0 };
}

/// After a fork, in the parent: if the fork failed (no child has the views), the counts
/// taken for it go back. (A fork that succeeds leaves errno alone.)
extern "C" fn after_fork_in_parent() {
    // SAFETY: reads this thread's errno.
    let failed = unsafe { *libc::__errno_location() } != 0;
    if failed {
        let me = FORKING_PID.load(Ordering::SeqCst);
        for block in VIEW_PAGES.blocks() {
            change_holder(block, me, false);
            saturating_sub(&block.views, 1);
        }
    }
    VIEW_PAGES.unlock();
}

/// After a fork, in the child (only atomics and getpid, as is safe there): the counts taken
/// before the fork become this process's own.
extern "C" fn after_fork_in_child() {
    let parent = FORKING_PID.load(Ordering::SeqCst);
    let me = std::process::id();
    for block in VIEW_PAGES.blocks() {
        change_holder(block, parent, false);
        change_holder(block, me, true);
    }
    VIEW_PAGES.unlock();
}

fn note_view_page(block: *mut ControlBlock, opened: bool) {
    static AT_FORK: Once = Once::new();
    // SAFETY: registers handlers that are safe around a fork in a multithreaded process (see
    // each); the library is never unloaded (nng::pin_library).
    AT_FORK.call_once(|| unsafe {
        libc::pthread_atfork(
            Some(before_fork),
            Some(after_fork_in_parent),
            Some(after_fork_in_child),
        );
    });
    VIEW_PAGES.note(block, opened);
}

/// Takes `n` from a count in one step, never below zero.
fn saturating_sub(count: &AtomicU32, n: u32) {
    let _ = count.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
        Some(v.saturating_sub(n))
    });
}

/// Views opened by this process so far, and how many had been when a receive last ran the
/// collector for them (`collection_may_help`).
static VIEWS_OPENED: AtomicUsize = AtomicUsize::new(0);
static OPENED_AT_COLLECTION: AtomicUsize = AtomicUsize::new(0);
/// When that collection ran, in ms from the first one.
static COLLECTED_MS: AtomicU64 = AtomicU64::new(0);

/// Whether a collection before a receive waits might give views back: some are open, and
/// one was opened since the last such collection, or that was over a second ago. Only then:
/// a view kept open while small messages arrive made every wait a full collection, which a
/// peer could use to spend this process's time (found by an outside attack).
pub fn collection_may_help() -> bool {
    if VIEWS_OPEN.load(Ordering::Relaxed) == 0 {
        return false;
    }
    let opened = VIEWS_OPENED.load(Ordering::Relaxed);
    opened != OPENED_AT_COLLECTION.load(Ordering::Relaxed)
        || since_start_ms() >= COLLECTED_MS.load(Ordering::Relaxed) + 1000
}

/// Notes that a receive ran the collector for the views.
pub fn collected() {
    OPENED_AT_COLLECTION.store(VIEWS_OPENED.load(Ordering::Relaxed), Ordering::Relaxed);
    COLLECTED_MS.store(since_start_ms(), Ordering::Relaxed);
}

fn since_start_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

fn slot(pid: u32, views: u32) -> u64 {
    (u64::from(pid) << 32) | u64::from(views)
}

fn slot_parts(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

/// Whether process `pid` no longer exists, or is a zombie: exited, its mappings gone, not yet
/// reaped (a process whose first thread alone exited is a zombie too, of more than one
/// thread, and its other threads still read). Anything else that keeps /proc from saying,
/// this process out of descriptors for one, counts as alive: an outside attack exhausted the
/// lender's descriptors and had it take back the views of a live reader.
fn is_gone(pid: u32) -> bool {
    let stat = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat,
        Err(e) => return e.kind() == io::ErrorKind::NotFound,
    };
    // "pid (comm) S ppid ...": the state follows the command's closing parenthesis, and the
    // number of threads is the 18th field after it.
    let Some((_, fields)) = stat.rsplit_once(") ") else {
        return false;
    };
    let mut fields = fields.split(' ');
    let zombie = fields.next() == Some("Z");
    zombie && fields.nth(16).and_then(|n| n.parse::<u32>().ok()) == Some(1)
}

/// Counts one view more (or fewer) in process `pid`'s holder slot: its own, else (one more)
/// a free one (no views). With every slot taken the view counts in `views` alone.
fn change_holder(block: &ControlBlock, pid: u32, opened: bool) {
    let slots = &block.holders;
    let its = |v: u64| slot_parts(v).0 == pid && slot_parts(v).1 > 0;
    for s in slots.iter() {
        let update = |v: u64| match opened {
            true if its(v) => Some(v + 1),
            false if its(v) => Some(v - 1),
            _ => None,
        };
        if s.fetch_update(Ordering::SeqCst, Ordering::SeqCst, update)
            .is_ok()
        {
            return;
        }
    }
    if opened {
        let free = |v: u64| (slot_parts(v).1 == 0).then_some(slot(pid, 1));
        for s in slots.iter() {
            if s.fetch_update(Ordering::SeqCst, Ordering::SeqCst, free)
                .is_ok()
            {
                return;
            }
        }
    }
}

/// What crosses instead of the bytes: enough for a process of the same user on this host to
/// open the segment, and to be sure it is the one meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reference {
    pub pid: u32,
    pub fd: u32,
    pub token: u64,
    pub len: u64,
}

impl Reference {
    /// Its size on the wire.
    pub const WIRE_LEN: usize = 24;

    /// pid, fd (4 bytes each), token, length (8 bytes each), big-endian.
    pub fn to_bytes(&self) -> [u8; Reference::WIRE_LEN] {
        let mut out = [0u8; Reference::WIRE_LEN];
        out[0..4].copy_from_slice(&self.pid.to_be_bytes());
        out[4..8].copy_from_slice(&self.fd.to_be_bytes());
        out[8..16].copy_from_slice(&self.token.to_be_bytes());
        out[16..24].copy_from_slice(&self.len.to_be_bytes());
        out
    }

    pub fn from_bytes(b: &[u8]) -> Option<Reference> {
        let b: &[u8; Reference::WIRE_LEN] = b.try_into().ok()?;
        let u32_at = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        Some(Reference {
            pid: u32_at(0),
            fd: u32_at(4),
            token: u64_at(8),
            len: u64_at(16),
        })
    }
}

/// A reference that was not opened. Why is kept for this crate's tests only: the receiver says
/// the same thing whatever it is.
#[derive(Debug)]
pub struct Refused(#[allow(dead_code)] pub &'static str);

/// A segment's control page, mapped read-write on its own, so that whoever keeps a handle
/// (the sender at send time, a pool) can count holds for as long as it keeps it.
pub struct Control {
    block: *mut ControlBlock,
}

impl Control {
    fn map(fd: &OwnedFd) -> io::Result<Rc<Control>> {
        let block = map(fd, DATA_AT, libc::PROT_READ | libc::PROT_WRITE, 0)?.cast();
        Ok(Rc::new(Control { block }))
    }

    fn block(&self) -> &ControlBlock {
        // SAFETY: the page is mapped for as long as `self` lives and holds the ControlBlock
        // written by `Segment::create`; the counts and the token are atomic, the other fields
        // are never written again.
        unsafe { &*self.block }
    }

    /// Whether anyone may still read the buffer: a reference on its way, or a view open by a
    /// process that still exists.
    pub fn is_held(&self) -> bool {
        let b = self.block();
        if b.in_flight.load(Ordering::SeqCst) > 0 {
            return true;
        }
        if b.views.load(Ordering::SeqCst) == 0 {
            return false;
        }
        self.release_gone_holders();
        b.views.load(Ordering::SeqCst) > 0
    }

    /// Whether a reference sent is not yet opened (on its way, or lost, refused or received
    /// by a socket that does not open them).
    pub fn has_in_flight(&self) -> bool {
        self.block().in_flight.load(Ordering::SeqCst) > 0
    }

    /// Counts `n` references about to be sent.
    pub fn add_in_flight(&self, n: u32) {
        self.block().in_flight.fetch_add(n, Ordering::SeqCst);
    }

    /// Takes back `n` references that were not sent after all, or one a receiver opened (never
    /// below zero: a forwarder may fan one reference out to more receivers than were counted).
    pub fn drop_in_flight(&self, n: u32) {
        saturating_sub(&self.block().in_flight, n);
    }

    /// Counts a receiver's view, if the buffer is still the one `token` names: false (and
    /// nothing counted) once it was lent again under a new token. With `renew` this is the
    /// order that keeps a reader and a pool apart (both SeqCst): the view is counted before the
    /// token is read, the pool writes the token before it reads the count, so at least one of
    /// them sees the other.
    fn open_view(&self, token: u64) -> bool {
        let b = self.block();
        b.views.fetch_add(1, Ordering::SeqCst);
        if b.token.load(Ordering::SeqCst) != token {
            b.views.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        self.drop_in_flight(1);
        change_holder(b, std::process::id(), true);
        note_view_page(self.block, true);
        VIEWS_OPEN.fetch_add(1, Ordering::Relaxed);
        VIEWS_OPENED.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn close_view(&self) {
        VIEWS_OPEN.fetch_sub(1, Ordering::Relaxed);
        note_view_page(self.block, false);
        change_holder(self.block(), std::process::id(), false);
        saturating_sub(&self.block().views, 1);
    }

    /// The processes holding views now, with how many each.
    pub fn holders(&self) -> Vec<(u32, u32)> {
        let slots = &self.block().holders;
        let held = slots.iter().map(|s| slot_parts(s.load(Ordering::SeqCst)));
        held.filter(|&(_, views)| views > 0).collect()
    }

    /// Gives back the views of holders that no longer exist (killed while reading): they can
    /// read nothing now. A pid in use again by another process is left alone, which only keeps
    /// the buffer out of the pool longer.
    fn release_gone_holders(&self) {
        let b = self.block();
        for s in b.holders.iter() {
            let v = s.load(Ordering::SeqCst);
            let (pid, views) = slot_parts(v);
            if views == 0 || pid == std::process::id() || !is_gone(pid) {
                continue;
            }
            if s.compare_exchange(v, 0, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                saturating_sub(&b.views, views);
            }
        }
    }

    /// For a pool about to lend the buffer again: a new token, so that a reference to the old
    /// contents no longer opens; false if someone may still read it.
    fn renew(&self, token: u64) -> bool {
        if self.is_held() {
            return false;
        }
        let b = self.block();
        b.token.store(token, Ordering::SeqCst);
        b.views.load(Ordering::SeqCst) == 0
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        // SAFETY: the page was mapped by `Control::map` and nothing refers to it once the
        // Control is gone (every handle is an Rc of it).
        unsafe {
            libc::munmap(self.block.cast(), DATA_AT);
        }
    }
}

/// One mapping of a segment: the creator's (writable) or a receiver's (data read-only).
pub struct Segment {
    /// The creator's descriptor, which receivers open through /proc; a receiver keeps none
    /// (its mappings keep the memory), so that views cost no descriptors.
    fd: Option<OwnedFd>,
    base: *mut u8,
    mapped: usize,
    len: usize,
    token: u64,
    writable: bool,
    control: Rc<Control>,
}

fn last_error<T>() -> io::Result<T> {
    Err(io::Error::last_os_error())
}

fn random_token() -> u64 {
    let mut token = 0u64;
    // SAFETY: getrandom writes at most 8 bytes into the u64 it is given.
    let n = unsafe { libc::getrandom((&mut token as *mut u64).cast(), 8, 0) };
    if n != 8 {
        // No entropy source: the time and the address of a stack value still differ per buffer.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        token = now.as_nanos() as u64 ^ (&token as *const u64 as u64).rotate_left(32);
    }
    token
}

impl Segment {
    /// A new segment of `len` data bytes, zeroed, mapped read-write, its size sealed.
    pub fn create(len: usize) -> io::Result<Segment> {
        let name = CString::new(NAME).expect("no NUL in the name");
        // SAFETY: memfd_create takes a NUL-terminated name and flags; it returns a new fd or -1.
        let raw = unsafe {
            libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
        };
        if raw < 0 {
            return last_error();
        }
        // SAFETY: `raw` is a descriptor memfd_create just gave this process, owned by no one else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let total = DATA_AT
            .checked_add(len)
            .ok_or(io::ErrorKind::InvalidInput)?;
        // SAFETY: ftruncate and fcntl act on the fd this function owns.
        unsafe {
            if libc::ftruncate(fd.as_raw_fd(), total as libc::off_t) != 0 {
                return last_error();
            }
            let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
            if libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) != 0 {
                return last_error();
            }
        }
        let control = Control::map(&fd)?;
        let token = random_token();
        // SAFETY: the control page is mapped read-write and no other process has the fd yet.
        unsafe {
            control.block.write(ControlBlock {
                magic: MAGIC,
                token: AtomicU64::new(token),
                len: len as u64,
                in_flight: AtomicU32::new(0),
                views: AtomicU32::new(0),
                holders: Default::default(),
            });
        }
        let base = map(&fd, total, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        Ok(Segment {
            fd: Some(fd),
            base,
            mapped: total,
            len,
            token,
            writable: true,
            control,
        })
    }

    /// What a receiver needs to open this segment.
    pub fn reference(&self) -> Reference {
        Reference {
            pid: std::process::id(),
            fd: self
                .fd
                .as_ref()
                .map_or(u32::MAX, |fd| fd.as_raw_fd() as u32),
            token: self.token,
            len: self.len as u64,
        }
    }

    /// The segment's control page, to count holds with.
    pub fn control(&self) -> Rc<Control> {
        Rc::clone(&self.control)
    }

    /// Opens the segment `r` names, made by process `sender` (the peer the reference came
    /// from) of this user: its data read-only, its control page read-write (to count this view
    /// while it lives). The descriptor is pinned with `O_PATH`, which opens nothing (no FIFO
    /// end, no device, no terminal), and checked there: a memfd of nml's, a regular file of
    /// this user, of the size sent. Only then is it opened for reading and writing, through
    /// that pin, so it cannot be swapped meanwhile; then the seals, magic and token.
    pub fn open(r: &Reference, sender: u32) -> Result<Segment, Refused> {
        if r.pid != sender || r.pid == 0 || r.fd > i32::MAX as u32 || r.len > MAX_LEN {
            return Err(Refused(
                "another pid than the sender's, or a field out of range",
            ));
        }
        let pinned = open_path(&format!("/proc/{}/fd/{}", r.pid, r.fd), libc::O_PATH)
            .ok_or(Refused("no such descriptor"))?;
        if !names_our_memfd(&format!("/proc/self/fd/{}", pinned.as_raw_fd())) {
            return Err(Refused("not a memfd of nml's"));
        }
        check_file(&pinned, r.len)?;
        // O_NOCTTY and O_NONBLOCK, though what is pinned was just shown to be a regular file.
        let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK;
        let fd = open_path(&format!("/proc/self/fd/{}", pinned.as_raw_fd()), flags)
            .ok_or(Refused("cannot open the pinned descriptor"))?;
        check_sealed(&fd, r.len)?;
        let control = Control::map(&fd).map_err(|_| Refused("cannot map the control page"))?;
        let block = control.block();
        if block.magic != MAGIC || block.len != r.len {
            return Err(Refused("not an nml shared buffer of the length sent"));
        }
        let total = DATA_AT + r.len as usize;
        let base =
            map(&fd, total, libc::PROT_READ, 0).map_err(|_| Refused("cannot map the data"))?;
        if !control.open_view(r.token) {
            // SAFETY: mapped just above, referred to by nothing else.
            unsafe { libc::munmap(base.cast(), total) };
            return Err(Refused(
                "another buffer than the one sent (it was lent again)",
            ));
        }
        Ok(Segment {
            fd: None,
            base,
            mapped: total,
            len: r.len as usize,
            token: r.token,
            writable: false,
            control,
        })
    }

    /// For a pool about to lend this buffer again: true, under a new token, if no reference to
    /// it is on its way and no view is open.
    pub fn renew(&mut self) -> bool {
        let token = random_token();
        if !self.control.renew(token) {
            return false;
        }
        self.token = token;
        true
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn data_ptr(&self) -> *mut u8 {
        self.base.wrapping_add(DATA_AT)
    }

    pub fn data(&self) -> &[u8] {
        // SAFETY: DATA_AT..DATA_AT + len is mapped (readable) for as long as `self` lives, and
        // its size is sealed, so it cannot shrink under the mapping. Its bytes may change while
        // read (the creator writes them); they are plain bytes, valid in any state.
        unsafe { std::slice::from_raw_parts(self.data_ptr(), self.len) }
    }

    /// The data to fill, for the creator only.
    pub fn data_mut(&mut self) -> Option<&mut [u8]> {
        match self.writable {
            // SAFETY: as in `data`, and mapped writable in `create`; `&mut self` keeps this
            // process from reading it through `data` at the same time.
            true => Some(unsafe { std::slice::from_raw_parts_mut(self.data_ptr(), self.len) }),
            false => None,
        }
    }

    /// True for the creator's mapping, false for a receiver's view.
    pub fn is_creator(&self) -> bool {
        self.writable
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if !self.writable {
            self.control.close_view();
        }
        // SAFETY: `base` was mapped with `mapped` bytes by this Segment and nothing refers to it
        // once the Segment is gone; the creator's fd closes with `self.fd`.
        unsafe {
            libc::munmap(self.base.cast(), self.mapped);
        }
    }
}

fn map(fd: &OwnedFd, len: usize, prot: libc::c_int, offset: libc::off_t) -> io::Result<*mut u8> {
    // SAFETY: a new shared mapping of `len` bytes of the fd, placed by the kernel.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            offset,
        )
    };
    if p == libc::MAP_FAILED {
        return last_error();
    }
    Ok(p.cast())
}

/// Whether the link at `path` (in /proc) names a memfd made by `Segment::create`.
fn names_our_memfd(path: &str) -> bool {
    std::fs::read_link(path).is_ok_and(|target| {
        let target = target.as_os_str().as_encoded_bytes();
        target
            .strip_prefix(b"/memfd:")
            .and_then(|rest| rest.strip_prefix(NAME.as_bytes()))
            .is_some_and(|rest| rest.is_empty() || rest == b" (deleted)")
    })
}

/// `path` opened with `flags` (and O_CLOEXEC), or None.
fn open_path(path: &str, flags: libc::c_int) -> Option<OwnedFd> {
    let path = CString::new(path).ok()?;
    // SAFETY: open takes a NUL-terminated path; it returns a new fd or -1.
    let raw = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    // SAFETY: `raw`, when not -1, was just opened by this process and is owned by no one else.
    (raw >= 0).then(|| unsafe { OwnedFd::from_raw_fd(raw) })
}

/// What a receiver is about to open must be a regular file (a memfd is one) of this user, of
/// the size sent.
fn check_file(fd: &OwnedFd, len: u64) -> Result<(), Refused> {
    let st = stat_of(fd)?;
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_uid != me {
        return Err(Refused("not a regular file of this user"));
    }
    if st.st_size as u64 != DATA_AT as u64 + len {
        return Err(Refused("its size is not the size sent"));
    }
    Ok(())
}

fn stat_of(fd: &OwnedFd) -> Result<libc::stat, Refused> {
    // SAFETY: fstat only reads the state of an fd this process owns (O_PATH ones included);
    // all zeros is a valid stat to overwrite.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd.as_raw_fd(), &mut st) != 0 {
            return Err(Refused("fstat failed"));
        }
        Ok(st)
    }
}

/// A segment opened from another process must have its size sealed, and only then is its
/// size checked again: checked before the seals only, a sender could shrink the file and seal
/// it in between (an outside attack did, from a thread woken by the receiver's open), and the
/// mapping would reach past its end (SIGBUS).
fn check_sealed(fd: &OwnedFd, len: u64) -> Result<(), Refused> {
    // SAFETY: F_GET_SEALS only reads the state of an fd this process owns.
    let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    let needed = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW;
    if seals < 0 || seals & needed != needed {
        return Err(Refused(
            "not a sealed buffer: it could shrink under a mapping",
        ));
    }
    if stat_of(fd)?.st_size as u64 != DATA_AT as u64 + len {
        return Err(Refused("its size is not the size sent"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_sees_the_creators_bytes_and_counts_its_view() {
        let mut s = Segment::create(10_000).unwrap();
        s.data_mut().unwrap()[..5].copy_from_slice(b"hello");
        let r = s.reference();
        let view = Segment::open(&r, std::process::id()).unwrap();
        assert_eq!(&view.data()[..5], b"hello");
        assert!(!view.is_creator());
        s.data_mut().unwrap()[0] = b'j';
        assert_eq!(&view.data()[..5], b"jello", "the same memory, not a copy");
        // the sender counts a reference per receiver; opening turns it into a view
        s.control().add_in_flight(1);
        assert!(!s.renew(), "a reference is on its way");
        let second = Segment::open(&r, std::process::id()).unwrap();
        assert!(!s.renew(), "two views are open");
        drop(view);
        assert!(!s.renew(), "a view is open");
        drop(second);
        assert!(s.renew(), "no one reads it");
        let gone = Segment::open(&r, std::process::id());
        assert!(
            gone.is_err(),
            "a reference from before the renewal no longer opens"
        );
        drop(Segment::open(&s.reference(), std::process::id()).unwrap()); // no count below zero
        assert!(s.renew());
    }

    #[test]
    fn its_size_is_sealed() {
        let s = Segment::create(100).unwrap();
        let fd = s.fd.as_ref().unwrap().as_raw_fd();
        // SAFETY: ftruncate on a descriptor the segment owns; it must fail.
        let shrunk = unsafe { libc::ftruncate(fd, 10) };
        assert_eq!(shrunk, -1);
        assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EPERM));
    }

    #[test]
    fn a_reference_to_another_buffer_or_a_gone_one_is_refused() {
        let s = Segment::create(100).unwrap();
        let mut r = s.reference();
        r.token ^= 1;
        assert!(Segment::open(&r, std::process::id()).is_err());
        let mut r = s.reference();
        r.len = 99;
        assert!(Segment::open(&r, std::process::id()).is_err());
        let mut r = s.reference();
        r.len = u64::MAX;
        assert!(Segment::open(&r, std::process::id()).is_err());
        let r = s.reference();
        drop(s);
        assert!(Segment::open(&r, std::process::id()).is_err());
    }

    #[test]
    fn a_file_shrunk_and_sealed_after_its_size_was_checked_is_refused() {
        let s = Segment::create(65536).unwrap();
        let shrunk = {
            let name = CString::new(NAME).unwrap();
            // SAFETY: a new memfd for this test, owned by the OwnedFd below.
            let raw = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_ALLOW_SEALING) };
            // SAFETY: `raw` was just made by this test.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            // SAFETY: ftruncate and fcntl on the fd this test owns.
            unsafe {
                assert_eq!(libc::ftruncate(fd.as_raw_fd(), DATA_AT as libc::off_t), 0);
                let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW;
                assert_eq!(libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals), 0);
            }
            fd
        };
        assert!(check_sealed(s.fd.as_ref().unwrap(), 65536).is_ok());
        assert!(matches!(
            check_sealed(&shrunk, 65536),
            Err(Refused("its size is not the size sent"))
        ));
    }

    #[test]
    fn nothing_but_a_memfd_of_nmls_is_opened() {
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        let r = Reference {
            pid: std::process::id(),
            fd: file.as_raw_fd() as u32,
            token: 0,
            len: 0,
        };
        assert!(matches!(
            Segment::open(&r, std::process::id()),
            Err(Refused("not a memfd of nml's"))
        ));
        let s = Segment::create(100).unwrap();
        assert!(
            Segment::open(&s.reference(), std::process::id() + 1).is_err(),
            "a reference is opened only from the process it names"
        );
    }
}
