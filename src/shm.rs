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
//! The first page is a control block (a magic number, a random token that tells this buffer
//! from a later one under the same pid and fd, the data's length, and the count of holds:
//! the sender adds one per receiver before it sends a reference, each receiver's view gives
//! one back when it goes); the data starts at the second page.

#![allow(unsafe_code)] // the OS's memfd and mmap (see lib.rs)

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};

const MAGIC: u64 = u64::from_be_bytes(*b"nml.shm1");
/// Where the data starts: one page for the control block.
pub const DATA_AT: usize = 4096;

/// The control block at the start of every segment.
#[repr(C)]
struct ControlBlock {
    magic: u64,
    token: u64,
    len: u64,
    /// References sent and not yet let go of by their receivers.
    holds: AtomicU32,
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

/// Why a reference could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The creator has exited or closed the buffer (or the reference is not of this host).
    Gone,
    /// The kernel refused: the creator is another user.
    Refused,
    /// What is there is not the buffer the reference names (another segment, a wrong size).
    Mismatch(&'static str),
    Io(io::Error),
}

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
        // written by `Segment::create`; `holds` is atomic, the other fields are never written
        // again.
        unsafe { &*self.block }
    }

    /// References sent and not yet let go of.
    pub fn holds(&self) -> u32 {
        self.block().holds.load(Ordering::Acquire)
    }

    pub fn add_holds(&self, n: u32) {
        self.block().holds.fetch_add(n, Ordering::AcqRel);
    }

    /// Gives back `n` holds (never below zero, whatever a peer wrote there).
    pub fn drop_holds(&self, n: u32) {
        let holds = &self.block().holds;
        let _ = holds.fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
            Some(h.saturating_sub(n))
        });
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
    fd: OwnedFd,
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
        let name = CString::new("nml-shared-buffer").expect("no NUL in the name");
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
                token,
                len: len as u64,
                holds: AtomicU32::new(0),
            });
        }
        let base = map(&fd, total, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        Ok(Segment {
            fd,
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
            fd: self.fd.as_raw_fd() as u32,
            token: self.token,
            len: self.len as u64,
        }
    }

    /// The segment's control page, to count holds with.
    pub fn control(&self) -> Rc<Control> {
        Rc::clone(&self.control)
    }

    /// Opens the segment `r` names, of a process of this user on this host: its data
    /// read-only, its control page read-write (to give back the hold its sender placed for
    /// this view, when the view is dropped).
    pub fn open(r: &Reference) -> Result<Segment, OpenError> {
        let path = CString::new(format!("/proc/{}/fd/{}", r.pid, r.fd)).expect("no NUL in a path");
        // SAFETY: open takes a NUL-terminated path; it returns a new fd or -1.
        let raw = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ESRCH) => OpenError::Gone,
                Some(libc::EACCES) | Some(libc::EPERM) => OpenError::Refused,
                _ => OpenError::Io(e),
            });
        }
        // SAFETY: `raw` was just opened by this process.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        check_sealed(&fd, r.len)?;
        let control = Control::map(&fd).map_err(OpenError::Io)?;
        let block = control.block();
        if block.magic != MAGIC {
            return Err(OpenError::Mismatch("not an nml shared buffer"));
        }
        if block.token != r.token || block.len != r.len {
            return Err(OpenError::Mismatch(
                "another buffer than the one sent (it was replaced)",
            ));
        }
        let total = DATA_AT + r.len as usize;
        let base = map(&fd, total, libc::PROT_READ, 0).map_err(OpenError::Io)?;
        Ok(Segment {
            fd,
            base,
            mapped: total,
            len: r.len as usize,
            token: r.token,
            writable: false,
            control,
        })
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
            self.control.drop_holds(1); // a receiver's view gives back its hold
        }
        // SAFETY: `base` was mapped with `mapped` bytes by this Segment and nothing refers to it
        // once the Segment is gone; the fd closes with `self.fd`.
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

/// A segment opened from another process must have its size sealed, and the size sent.
fn check_sealed(fd: &OwnedFd, len: u64) -> Result<(), OpenError> {
    // SAFETY: F_GET_SEALS and fstat only read the state of an fd this process owns.
    let (seals, size) = unsafe {
        let seals = libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS);
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd.as_raw_fd(), &mut st) != 0 {
            return Err(OpenError::Io(io::Error::last_os_error()));
        }
        (seals, st.st_size as u64)
    };
    let needed = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW;
    if seals < 0 || seals & needed != needed {
        return Err(OpenError::Mismatch(
            "not a sealed buffer: it could shrink under a mapping",
        ));
    }
    if size != DATA_AT as u64 + len {
        return Err(OpenError::Mismatch("its size is not the size sent"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_sees_the_creators_bytes_and_gives_back_its_hold() {
        let mut s = Segment::create(10_000).unwrap();
        s.data_mut().unwrap()[..5].copy_from_slice(b"hello");
        let r = s.reference();
        let view = Segment::open(&r).unwrap();
        assert_eq!(&view.data()[..5], b"hello");
        assert!(!view.is_creator());
        s.data_mut().unwrap()[0] = b'j';
        assert_eq!(&view.data()[..5], b"jello", "the same memory, not a copy");
        // the sender places a hold per receiver; each view gives its own back
        s.control().add_holds(2);
        let second = Segment::open(&r).unwrap();
        assert_eq!(s.control().holds(), 2);
        drop(view);
        assert_eq!(s.control().holds(), 1);
        drop(second);
        drop(Segment::open(&r).unwrap()); // a view without a hold takes nothing below zero
        assert_eq!(s.control().holds(), 0);
    }

    #[test]
    fn its_size_is_sealed() {
        let s = Segment::create(100).unwrap();
        // SAFETY: ftruncate on a descriptor the segment owns; it must fail.
        let shrunk = unsafe { libc::ftruncate(s.fd.as_raw_fd(), 10) };
        assert_eq!(shrunk, -1);
        assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EPERM));
    }

    #[test]
    fn a_reference_to_another_buffer_or_a_gone_one_is_refused() {
        let s = Segment::create(100).unwrap();
        let mut r = s.reference();
        r.token ^= 1;
        assert!(matches!(Segment::open(&r), Err(OpenError::Mismatch(_))));
        let mut r = s.reference();
        r.len = 99;
        assert!(matches!(Segment::open(&r), Err(OpenError::Mismatch(_))));
        let r = s.reference();
        drop(s);
        // gone; or, if another test's file took the same fd number meanwhile, not this buffer
        assert!(matches!(
            Segment::open(&r),
            Err(OpenError::Gone | OpenError::Mismatch(_))
        ));
    }
}
