//! Errors, split as the manual's "Errors" says.
//!
//! - A run-time failure (bad bytes, sizes, unknown protocol, network) is returned to Lua as
//!   `nil, message, code`, `code` being a stable string.
//! - A programming mistake (wrong argument type, a value that cannot be encoded) is raised as a
//!   Lua error naming the function.

use std::fmt;

/// Boxed, so that a `Result<()>` is one word: the codec's recursive calls return one on every
/// value, and the failure is the rare case.
#[derive(Debug)]
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    message: String,
    code: Option<&'static str>,
    /// Bytes that could not be decoded, returned as a fourth value so nothing received is lost.
    raw: Option<Vec<u8>>,
    /// For a bad argument: its position and what is wrong with it, so that it is raised as
    /// `luaL_argerror` words it (counting from after `self` in a method call).
    argument: Option<(usize, String)>,
}

pub type Result<T> = std::result::Result<T, Error>;

/// Stable codes returned as the third value.
pub mod code {
    pub const MALFORMED: &str = "malformed";
    pub const UNKNOWN_PROTOCOL: &str = "unknown_protocol";
    pub const TOO_LARGE: &str = "too_large";
    pub const RANGE: &str = "range";
    /// A shared buffer whose creator has exited or freed it.
    pub const GONE: &str = "gone";
    pub const PERMISSION: &str = "permission";
    pub const NOMEM: &str = "nomem";
    pub const AGAIN: &str = "again";
}

impl Error {
    /// A failure the caller handles at run time: returned as `nil, message, code`.
    pub fn returned(code: &'static str, message: impl Into<String>) -> Error {
        Error(Box::new(Inner {
            message: message.into(),
            code: Some(code),
            raw: None,
            argument: None,
        }))
    }

    /// A programming mistake: raised as a Lua error.
    pub fn raise(message: impl Into<String>) -> Error {
        Error(Box::new(Inner {
            message: message.into(),
            code: None,
            raw: None,
            argument: None,
        }))
    }

    pub fn malformed(message: impl Into<String>) -> Error {
        Error::returned(code::MALFORMED, message)
    }

    /// The same error carrying the bytes it is about.
    pub fn with_raw(mut self, raw: Vec<u8>) -> Error {
        self.0.raw = Some(raw);
        self
    }

    pub fn raw(&self) -> Option<&[u8]> {
        self.0.raw.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn code(&self) -> Option<&'static str> {
        self.0.code
    }

    /// A bad argument's position and what is wrong with it.
    pub fn argument(&self) -> Option<(usize, &str)> {
        self.0
            .argument
            .as_ref()
            .map(|(n, what)| (*n, what.as_str()))
    }

    /// The same error with `prefix` in front of its message (a function name, a place). It is
    /// then raised as that message, no longer as a bad argument of the function called.
    /// The error with `note` after its message.
    pub fn noted(mut self, note: &str) -> Error {
        self.0.message.push_str(note);
        self
    }

    pub fn context(mut self, prefix: &str) -> Error {
        self.0.message = format!("{prefix}{}", self.0.message);
        self.0.argument = None;
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.code {
            Some(code) => write!(f, "{} ({code})", self.0.message),
            None => f.write_str(&self.0.message),
        }
    }
}

impl std::error::Error for Error {}

/// A failed NNG call is a run-time failure: `nil, message, code`, the code named after NNG's.
impl From<crate::nng::NngError> for Error {
    fn from(e: crate::nng::NngError) -> Error {
        Error::returned(e.code(), e.describe())
    }
}

/// Out of memory for what nml was writing into a vector that could not grow: an error to
/// return, where growing it the usual way would abort the process.
pub fn out_of_memory(what: &str) -> Error {
    Error::returned(code::NOMEM, format!("out of memory: {what}"))
}

/// A "bad argument" error, raised by `luaL_argerror` (which names the function as Lua called it
/// and counts arguments after `self` for methods); `func` names it in the message kept here.
pub fn bad_argument(func: &str, arg: usize, what: impl fmt::Display) -> Error {
    let what = what.to_string();
    let mut e = Error::raise(format!("bad argument #{arg} to '{func}' ({what})"));
    e.0.argument = Some((arg, what));
    e
}

/// Raises in a process forked after NNG started in it (nng::forked): NNG's threads stayed in
/// the parent and NNG would abort the process at its first lock. Every function that calls
/// NNG asks this first; `close` and `tostring` of an object from before the fork work, and do
/// not touch NNG.
pub fn usable_here(func: &str) -> Result<()> {
    match crate::nng::forked() {
        false => Ok(()),
        true => Err(Error::raise(format!(
            "{func}: this process was forked after nml started NNG in it, and NNG cannot run \
             in a forked child (its threads stayed in the parent): open sockets after the fork, \
             in the process that uses them (in OpenResty, in init_worker_by_lua, not \
             init_by_lua)"
        ))),
    }
}
