//! Argument checks every Lua function shares: one rule for byte offsets and counts, and options
//! tables whose every key is known.
//!
//! The rule (the manual's "Offsets and sizes"):
//! - offsets are 0-based byte positions and counts are byte counts, both integers;
//! - a value of the wrong type (a string, a fraction) is a mistake and raises, naming the
//!   argument;
//! - an integer outside the data (a negative offset or count, a span past the end) is a run-time
//!   failure: `nil, message, "range"`.

use std::ffi::c_int;
use std::ops::Range;

use crate::error::{bad_argument, code, Error, Result};
use crate::lua::{Kind, Number, Stack, Table};

/// The integer at `idx`, or a raised "`what` must be an integer" naming argument `idx`. Exact
/// on 5.3 and 5.4; elsewhere an integral float, whatever its size, so that one beyond every
/// length is a range failure, not a mistake.
fn integer(s: &Stack, idx: c_int, func: &str, what: &str) -> Result<i128> {
    if s.kind(idx) == Kind::Number {
        match s.to_number(idx) {
            Number::Int(n) => return Ok(n as i128),
            Number::Float(f) if f.fract() == 0.0 => return Ok(f as i128),
            Number::Float(_) => {}
        }
    }
    Err(bad_argument(
        func,
        idx as usize,
        format!("{what} must be an integer, got {}", describe(s, idx)),
    ))
}

fn describe(s: &Stack, idx: c_int) -> String {
    match s.to_f64(idx) {
        Some(n) => format!("{n}"),
        None => s.kind(idx).name().to_string(),
    }
}

fn out_of_range(message: String) -> Error {
    Error::returned(code::RANGE, message)
}

/// A 0-based byte offset into `len` bytes (`default` when absent): from 0 to `len`.
pub fn offset(s: &Stack, idx: c_int, len: usize, default: usize, func: &str) -> Result<usize> {
    if s.is_none_or_nil(idx) {
        return Ok(default);
    }
    let at = integer(s, idx, func, "offset")?;
    if at < 0 || at > len as i128 {
        return Err(out_of_range(format!(
            "offset {at} is outside the data ({len} bytes)"
        )));
    }
    Ok(at as usize)
}

/// A byte count (`None` when absent): an integer from 0.
pub fn count(s: &Stack, idx: c_int, func: &str) -> Result<Option<usize>> {
    bytes(s, idx, func, "count")
}

/// A number of bytes the errors call `what` ("count", "size"), `None` when absent: an
/// integer from 0.
pub fn bytes(s: &Stack, idx: c_int, func: &str, what: &str) -> Result<Option<usize>> {
    if s.is_none_or_nil(idx) {
        return Ok(None);
    }
    let n = integer(s, idx, func, what)?;
    match usize::try_from(n) {
        Ok(n) => Ok(Some(n)),
        Err(_) if n < 0 => Err(out_of_range(format!("{what} {n} is negative"))),
        Err(_) => Err(out_of_range(format!("{what} {n} is beyond any size"))),
    }
}

/// The bytes from `offset` to `offset + count` of `len`, or `nil, msg, "range"` saying what
/// does not fit.
pub fn span(offset: usize, count: usize, len: usize, what: &str) -> Result<Range<usize>> {
    match offset.checked_add(count).filter(|&end| end <= len) {
        Some(end) => Ok(offset..end),
        None => Err(out_of_range(format!(
            "{what} of {count} bytes at offset {offset} is outside the data ({len} bytes)"
        ))),
    }
}

/// Checks that argument `idx` is absent or an options table whose keys are all in `known`;
/// the table when one is there. An unknown key raises, naming it and the known ones.
pub fn options(s: &Stack, idx: c_int, func: &str, known: &[&str]) -> Result<Option<Table>> {
    let Some(table) = s.table(idx) else {
        return match s.kind(idx) {
            Kind::None | Kind::Nil => Ok(None),
            k => Err(bad_argument(
                func,
                idx as usize,
                format!("options table expected, got {}", k.name()),
            )),
        };
    };
    check_keys(s, table, (func, idx as usize), "option", known)?;
    Ok(Some(table))
}

/// Checks that every key of `table` is a string in `known`; else raises, naming the key (a
/// `what`: "option", "tls setting") and the known ones, as argument `arg` of `func`.
pub fn check_keys(
    s: &Stack,
    table: Table,
    (func, arg): (&str, usize),
    what: &str,
    known: &[&str],
) -> Result<()> {
    if !s.check_stack(2) {
        return Err(Error::raise("stack overflow"));
    }
    s.push_nil();
    while s.next(table) {
        let key = match s.kind(-2) {
            Kind::String => s.to_bytes(-2),
            _ => {
                s.pop(2);
                return Err(bad_argument(
                    func,
                    arg,
                    format!("{what} names must be strings"),
                ));
            }
        };
        if !known.iter().any(|k| k.as_bytes() == key) {
            let name = String::from_utf8_lossy(key).into_owned();
            s.pop(2);
            return Err(bad_argument(
                func,
                arg,
                format!("unknown {what} {name:?}; known: {}", known.join(", ")),
            ));
        }
        s.pop(1);
    }
    Ok(())
}

/// The raised error for an option nobody knows, listing the ones there are.
pub fn unknown_option(func: &str, idx: c_int, name: &str, known: &[&str]) -> Error {
    bad_argument(
        func,
        idx as usize,
        format!("unknown option {name:?}; known: {}", known.join(", ")),
    )
}

/// The boolean field `key` of the options table `opts`; `None` when absent.
pub fn boolean_field(s: &Stack, opts: Table, key: &str, func: &str) -> Result<Option<bool>> {
    let value = match s.raw_get_field(opts, key) {
        Kind::Nil => Ok(None),
        Kind::Boolean => Ok(Some(s.to_bool(-1))),
        k => Err(bad_argument(
            func,
            opts.index() as usize,
            format!("{key} must be a boolean, got {}", k.name()),
        )),
    };
    s.pop(1);
    value
}

/// The `buffers` field of the options table `opts` (an argument of `func`): true for
/// "string"; when absent, `default` (what `nml.config` set). Leaves the stack as it was.
pub fn buffers_field(s: &Stack, opts: Table, func: &str, default: bool) -> Result<bool> {
    let as_strings = match s.raw_get_field(opts, "buffers") {
        Kind::Nil => Ok(default),
        _ => buffers_option(s, -1, opts.index() as usize, func),
    };
    s.pop(1);
    as_strings
}

/// The `buffers` option at `idx` (argument `arg` of `func`): true for "string", false for
/// "message".
pub fn buffers_option(s: &Stack, idx: c_int, arg: usize, func: &str) -> Result<bool> {
    match s.opt_bytes(idx) {
        Some(b"string") => Ok(true),
        Some(b"message") => Ok(false),
        _ => Err(bad_argument(
            func,
            arg,
            "buffers must be \"message\" or \"string\"",
        )),
    }
}

/// The userdata of type `T` at `idx`, or a "bad argument" error naming `what` was expected.
pub fn check_udata<'a, T: 'static>(
    s: &'a Stack,
    idx: c_int,
    metatable: &std::ffi::CStr,
    func: &str,
    what: &str,
) -> Result<&'a T> {
    s.test_udata::<T>(idx, metatable).ok_or_else(|| {
        bad_argument(
            func,
            idx as usize,
            format!("{what} expected, got {}", s.kind(idx).name()),
        )
    })
}
