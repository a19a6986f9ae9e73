//! `nml.unpacker`: MessagePack values out of a byte stream that comes in pieces (a pipe, a
//! socket read, a file), with no frames around them, as Python's `msgpack.Unpacker` reads.
//!
//! `feed` hands the new bytes to a [`Scanner`], which finds where values end by reading each
//! byte once; a value is decoded once, when it is asked for, from the bytes held. Bytes of
//! values already taken are let go of as feeding goes on, so memory holds the values not yet
//! taken and the one being read, which `max_size` bounds.

use std::cell::RefCell;
use std::ffi::{c_int, CStr};

use crate::error::{bad_argument, code, out_of_memory, Error, Result};
use crate::lua::{Kind, LuaFn, Number, Returns, Stack};
use crate::msgpack::scan::{ScanError, Scanner};
use crate::msgpack::unpack::{expect_end, Buffers, Unpacker};
use crate::state::Module;

pub const METATABLE: &CStr = c"nml.unpacker";
const DEFAULT_MAX_SIZE: u64 = 64 * 1024 * 1024;

pub struct UnpackerBox {
    stream: RefCell<Stream>,
    /// Descriptors' buffers unpack as strings, not new messages.
    buffers_as_strings: bool,
}

struct Stream {
    /// The bytes of the stream from `held_from` on.
    held: Vec<u8>,
    held_from: u64,
    /// Where the first value not yet taken starts.
    taken: u64,
    scanner: Scanner,
    /// Why the stream cannot be read on, once it cannot (its code and message): where values
    /// end is lost for good. The values complete before it are still given.
    failed: Option<(&'static str, String)>,
}

crate::lua_functions! {
    unpacker => new_impl;
    feed => feed_impl;
    next => next_impl;
    values => values_impl;
    pending => pending_impl;
    step => step_impl;
    describe => describe_impl;
}

pub const FUNCTIONS: &[(&str, LuaFn)] = &[("unpacker", unpacker)];
pub const METHODS: &[(&str, LuaFn)] = &[
    ("feed", feed),
    ("next", next),
    ("values", values),
    ("pending", pending),
];
/// The unpacker is its own iterator: `for v in u:values()` calls it.
pub const METAMETHODS: &[(&str, LuaFn)] = &[("__call", step), ("__tostring", describe)];

fn check<'a>(s: &'a Stack, idx: c_int, func: &str) -> Result<&'a UnpackerBox> {
    crate::args::check_udata(s, idx, METATABLE, func, "nml unpacker")
}

/// `nml.unpacker([{max_size = bytes, buffers = "string"}]) -> unpacker`.
fn new_impl(s: &Stack) -> Returns {
    const F: &str = "unpacker";
    let module = Module::of(s)?;
    let settings = module.settings();
    let mut max_size = DEFAULT_MAX_SIZE;
    let mut as_strings = settings.buffers_as_strings;
    if let Some(opts) = crate::args::options(s, 1, F, &["max_size", "buffers"])? {
        match s.raw_get_field(opts, "max_size") {
            Kind::Nil => {}
            Kind::Number => match s.to_number(-1) {
                Number::Int(n) if n >= 0 => max_size = n as u64,
                _ => {
                    return Err(bad_argument(
                        F,
                        1,
                        "max_size must be a whole number of bytes",
                    ))
                }
            },
            _ => return Err(bad_argument(F, 1, "max_size must be a number")),
        }
        s.pop(1);
        as_strings = crate::args::buffers_field(s, opts, F, as_strings)?;
    }
    let stream = Stream {
        held: Vec::new(),
        held_from: 0,
        taken: 0,
        scanner: Scanner::new(max_size, settings.max_depth),
        failed: None,
    };
    s.push_udata(
        UnpackerBox {
            stream: RefCell::new(stream),
            buffers_as_strings: as_strings,
        },
        METATABLE,
    )?;
    Ok(1)
}

/// `u:feed(bytes) -> true | nil, err, code`: takes the next piece of the stream, of any size.
fn feed_impl(s: &Stack) -> Returns {
    let u = check(s, 1, "feed")?;
    let chunk = s.opt_bytes(2).ok_or_else(|| {
        bad_argument(
            "feed",
            2,
            format!("string expected, got {}", s.kind(2).name()),
        )
    })?;
    let mut stream = u.stream.try_borrow_mut().map_err(|_| busy())?;
    stream.feed(chunk)?;
    s.push_bool(true);
    Ok(1)
}

/// `u:next() -> value | nil | nil, err, "malformed", bytes`: the next complete value (a
/// MessagePack nil as `nml.null`), or nil when none is complete yet.
fn next_impl(s: &Stack) -> Returns {
    let u = check(s, 1, "next")?;
    take(s, u)
}

/// `u:values() -> u`: for `for value in u:values() do ... end`, which raises on a value that
/// cannot be decoded (`next` returns the error instead).
fn values_impl(s: &Stack) -> Returns {
    check(s, 1, "values")?;
    s.push_value(1);
    Ok(1)
}

/// The unpacker called as an iterator: as `next`, raising what `next` returns as an error.
fn step_impl(s: &Stack) -> Returns {
    let u = check(s, 1, "values")?;
    take(s, u).map_err(|e| Error::raise(e.message().to_string()))
}

/// `u:pending() -> bytes`: bytes held for a value not yet complete.
fn pending_impl(s: &Stack) -> Returns {
    let u = check(s, 1, "pending")?;
    let stream = u.stream.try_borrow().map_err(|_| busy())?;
    s.push_int(stream.pending() as i64);
    Ok(1)
}

fn describe_impl(s: &Stack) -> Returns {
    let u = check(s, 1, "tostring")?;
    let text = match u.stream.try_borrow() {
        Ok(stream) => format!("nml.unpacker ({} bytes pending)", stream.pending()),
        Err(_) => "nml.unpacker (busy)".to_string(),
    };
    s.push_str(&text);
    Ok(1)
}

/// Decodes the next complete value onto the stack.
fn take(s: &Stack, u: &UnpackerBox) -> Returns {
    let mut stream = u.stream.try_borrow_mut().map_err(|_| busy())?;
    if stream.failed.is_none() && stream.scanner.queued() == 0 {
        // the scan paused with values found ahead: it goes on from there (a failure found
        // now comes once the values before it are taken, as one found by feed does)
        let _ = stream.scan();
    }
    let Some(end) = stream.scanner.next_end() else {
        if let Some(e) = stream.failure() {
            return Err(e);
        }
        s.push_nil();
        return Ok(1);
    };
    let (from, to) = (
        (stream.taken - stream.held_from) as usize,
        (end - stream.held_from) as usize,
    );
    stream.taken = end;
    let stream = std::cell::RefMut::map(stream, |st| &mut st.held);
    let bytes = &stream[from..to];
    let module = Module::of(s)?;
    let buffers = match u.buffers_as_strings {
        true => Buffers::Strings,
        false => Buffers::Copies,
    };
    // Decoding makes Lua values, which may raise: protected, the held bytes lent by reference.
    s.protect(0, 0, |p| {
        let mut unpacker = Unpacker::new(p, module.codec(), bytes, 0).buffers(buffers);
        unpacker.value()?;
        expect_end(&unpacker)?;
        if p.kind(-1) == Kind::Nil {
            p.pop(1);
            p.push_light(std::ptr::null_mut());
        }
        Ok(1)
    })
    .map_err(|e| e.with_raw(bytes.to_vec()))
}

/// Raised when a value's own `__gc` (or the like) feeds or reads the unpacker that is
/// decoding it.
fn busy() -> Error {
    Error::raise("nml.unpacker: used again while it is decoding")
}

impl Stream {
    fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        self.let_go();
        if self.held.try_reserve(chunk.len()).is_err() {
            return Err(out_of_memory(&format!(
                "nml.unpacker cannot hold {} more bytes",
                chunk.len()
            )));
        }
        self.held.extend_from_slice(chunk);
        self.scan()
    }

    /// Finds where the next values end in what is held (the scanner pauses once it has
    /// found `MAX_QUEUED` ahead of those taken; `take` has it go on).
    fn scan(&mut self) -> Result<()> {
        if let Err(e) = self.scanner.scan(&self.held, self.held_from) {
            self.failed = Some(match e {
                ScanError::TooLarge(why) => (code::TOO_LARGE, why),
                ScanError::Malformed(why) => (code::MALFORMED, why),
            });
            // Keep the complete values, not the bytes of the one that failed.
            let complete = (self.scanner.value_start() - self.held_from) as usize;
            self.held.truncate(complete);
            self.held.shrink_to_fit();
            return Err(self.failure().expect("just failed"));
        }
        Ok(())
    }

    fn failure(&self) -> Option<Error> {
        let (code, why) = self.failed.as_ref()?;
        Some(Error::returned(code, why.clone()))
    }

    /// Drops the bytes of values already taken, once they are half of what is held (so each
    /// byte is moved a bounded number of times).
    fn let_go(&mut self) {
        let done = (self.taken - self.held_from) as usize;
        if done > 0 && done * 2 >= self.held.len() {
            self.held.drain(..done);
            self.held_from = self.taken;
        }
    }

    fn pending(&self) -> u64 {
        (self.held_from + self.held.len() as u64).saturating_sub(self.scanner.value_start())
    }
}
