//! Lua values to MessagePack, straight from the Lua stack.
//!
//! One pass, no intermediate tree. A table is packed as an array when its keys are exactly
//! 1..n, else as a map. The common array (a sequence in Lua's array part) is checked while it is
//! written: its header is written for `#t` elements and the traversal must then meet the keys
//! 1..n in order; on any surprise what was written is undone and the table is classified by a
//! full scan. A map's header is a one-byte placeholder that grows once the entries are counted.

use std::ffi::{c_int, c_void};

use super::format::Sink;
use super::format::{self, TooLong};
use super::keys::Name;
use super::{Cache, Codec};
use crate::codec::{self, Mark, Marks, Strings};
use crate::error::{code, Error, Result};
use crate::lua::{Int64, Kind, Number, Stack, Table};
use crate::message::{self, MsgBox};

pub struct Packer<'a, S: Sink> {
    stack: &'a Stack,
    cache: &'a Cache,
    pub out: S,
    marks: Marks,
    max_depth: usize,
    float32: bool,
    strings: Strings,
    share: bool,
    buffer_span: Option<c_int>,
    int64_parts: Option<c_int>,
    /// The tables being packed, outermost first: their number is the depth, and a table met
    /// again while it is on this path is a cycle.
    path: Vec<*const c_void>,
    /// Where an error happened, innermost key first, filled while the error travels out.
    error_path: Vec<String>,
}

impl<'a, S: Sink> Packer<'a, S> {
    pub fn new(stack: &'a Stack, codec: Codec<'a>, out: S) -> Self {
        Packer {
            stack,
            cache: codec.cache,
            out,
            marks: codec.settings.marks,
            max_depth: codec.settings.max_depth,
            float32: codec.settings.float32,
            strings: codec.settings.strings,
            share: codec.settings.share,
            buffer_span: codec.settings.buffer_span,
            int64_parts: codec.settings.int64_cdata.map(|c| c.parts),
            path: {
                // A new pass: only the last pass's references are the message's.
                codec.cache.shared.borrow_mut().clear();
                codec.cache.take_path()
            },
            error_path: Vec::new(),
        }
    }

    /// Packs the value at `idx`. The error names where in the value it happened.
    pub fn pack(&mut self, idx: c_int) -> Result<()> {
        let idx = self.stack.abs(idx);
        self.value(idx)
            .map_err(|e| match self.error_path.is_empty() {
                true => e,
                false => {
                    let place: String = self.error_path.drain(..).rev().collect();
                    Error::raise(format!("{} (at value{place})", e.message()))
                }
            })
    }

    fn value(&mut self, idx: c_int) -> Result<()> {
        self.value_of(idx, self.stack.kind(idx))
    }

    /// Packs the value at `idx`, whose kind the caller has read.
    fn value_of(&mut self, idx: c_int, kind: Kind) -> Result<()> {
        let s = self.stack;
        match kind {
            Kind::Nil => format::nil(&mut self.out),
            Kind::Boolean => format::bool(&mut self.out, s.to_bool(idx)),
            Kind::Number => match s.to_number(idx) {
                Number::Int(i) => format::int(&mut self.out, i),
                Number::Float(f) => format::float(&mut self.out, f, self.float32),
            },
            Kind::String => self.string(s.to_bytes(idx))?,
            Kind::Table => match s.table(idx) {
                Some(t) => self.table(t)?,
                None => return Err(Error::raise("the value changed while it was being packed")),
            },
            // nml.null (and cjson.null, which is the same NULL lightuserdata)
            Kind::LightUserdata if s.to_userdata(idx).is_null() => format::nil(&mut self.out),
            Kind::LightUserdata | Kind::Userdata => {
                return Err(Error::raise(format!(
                    "cannot pack a {} outside a buffer descriptor",
                    kind.name()
                )))
            }
            Kind::None => return Err(Error::raise("nothing to pack: no value was given")),
            Kind::Other => self.cdata(idx)?,
            k => return Err(Error::raise(format!("cannot pack a {} value", k.name()))),
        }
        Ok(())
    }

    /// LuaJIT's FFI cdata: an `int64_t` or `uint64_t` packs as an integer, exact.
    fn cdata(&mut self, idx: c_int) -> Result<()> {
        let int = match self.int64_parts {
            Some(parts) => self.stack.luajit_int64(idx, parts).map_err(Error::raise)?,
            None => None,
        };
        match int {
            Some(Int64::Signed(i)) => format::int(&mut self.out, i),
            Some(Int64::Unsigned(u)) => format::uint(&mut self.out, u),
            None => return Err(Error::raise("cannot pack a cdata value")),
        }
        Ok(())
    }

    fn table(&mut self, t: Table) -> Result<()> {
        let s = self.stack;
        let id = s.to_pointer(t.index());
        if self.path.contains(&id) {
            return Err(Error::raise(
                "cannot pack a table that contains itself (cycle)",
            ));
        }
        if self.path.len() >= self.max_depth {
            return Err(Error::raise(format!(
                "cannot pack a value nested deeper than {} levels (nml.config max_depth)",
                self.max_depth
            )));
        }
        if !s.check_stack(4) {
            return Err(Error::raise("cannot pack: Lua stack exhausted"));
        }
        self.path.push(id);
        let result = match self.mark(t.index()) {
            Mark::None => self.plain_table(t),
            Mark::Map => self.map(t),
            Mark::Array => self.array_by_index(t, s.raw_len(t.index())),
            Mark::Bin => self.bin(t),
            Mark::Ext => self.ext(t),
        };
        self.path.pop();
        result
    }

    fn mark(&self, idx: c_int) -> Mark {
        let s = self.stack;
        if !s.get_metatable(idx) {
            return Mark::None;
        }
        let mark = self.marks.of(s.to_pointer(-1));
        s.pop(1);
        mark
    }

    /// A table with no marker: an array if its keys are exactly 1..n, else a map.
    fn plain_table(&mut self, t: Table) -> Result<()> {
        let s = self.stack;
        let n = s.raw_len(t.index());
        s.push_nil();
        let key = s.top();
        if n == 0 {
            if !s.next(t) {
                // Empty (lua_next popped the key): an array, as every Lua MessagePack library does.
                return format::array_header(&mut self.out, 0).map_err(too_long);
            }
            return self.map_entries(t, key, true);
        }
        let start = self.out.pos();
        format::array_header(&mut self.out, n).map_err(too_long)?;
        let mut expected = 1;
        while s.next(t) {
            if expected > n
                || s.kind(key) != Kind::Number
                || s.to_number(key) != Number::Int(expected as i64)
            {
                s.pop(2);
                self.out.truncate(start);
                return self.unordered_table(t);
            }
            self.entry_value(expected, key + 1)?;
            s.pop(1);
            expected += 1;
        }
        Ok(())
    }

    /// The slow path: a table whose traversal did not meet 1..n in order. Scan it all.
    fn unordered_table(&mut self, t: Table) -> Result<()> {
        match codec::sequence_length(self.stack, t) {
            Some(n) => self.array_by_index(t, n),
            None => self.map(t),
        }
    }

    /// `t[1] .. t[n]` as an array; nil holes pack as nil (for `nml.array` tables).
    fn array_by_index(&mut self, t: Table, n: usize) -> Result<()> {
        let s = self.stack;
        format::array_header(&mut self.out, n).map_err(too_long)?;
        for i in 1..=n {
            s.raw_get_index(t, i as i64);
            self.entry_value(i, s.top())?;
            s.pop(1);
        }
        Ok(())
    }

    fn map(&mut self, t: Table) -> Result<()> {
        self.stack.push_nil();
        let key = self.stack.top();
        self.map_entries(t, key, false)
    }

    /// Packs the entries of `t` as a map. The traversal key sits at `key`;
    /// `started` says the first entry is already pushed (its value at `key + 1`).
    fn map_entries(&mut self, t: Table, key: c_int, started: bool) -> Result<()> {
        let s = self.stack;
        let header = self.out.begin_map();
        let mut count = 0;
        if started || s.next(t) {
            loop {
                let is_buffer = self.key(key).map_err(|e| self.at_key_of(key, e))?;
                self.entry(t, key, is_buffer)
                    .map_err(|e| self.at_key_of(key, e))?;
                s.pop(1);
                count += 1;
                if !s.next(t) {
                    break;
                }
            }
        }
        self.out.end_map(header, count).map_err(too_long)
    }

    /// A Lua string: str, or with `strings = "auto"` bin when it is not UTF-8.
    #[inline]
    fn string(&mut self, bytes: &[u8]) -> Result<()> {
        match self.strings == Strings::Auto && simdutf8::basic::from_utf8(bytes).is_err() {
            true => format::bin(&mut self.out, bytes),
            false => format::str(&mut self.out, bytes),
        }
        .map_err(too_long)
    }

    /// Packs the key at `key`; true when it is the string "buffer" (read from the bytes the key
    /// is packed from anyway, so spotting descriptors costs a length compare per entry).
    fn key(&mut self, key: c_int) -> Result<bool> {
        let s = self.stack;
        match s.kind(key) {
            Kind::String => {
                let bytes = s.to_bytes(key);
                self.string(bytes)?;
                Ok(bytes == b"buffer")
            }
            kind => self.value_of(key, kind).map(|()| false),
        }
    }

    /// Packs the value of a map entry. Under `buffer`, a table that also has `buffer_ud_type`
    /// is a buffer descriptor (the manual, "Buffers in tables"): a userdata, lightuserdata or
    /// (LuaJIT) FFI cdata or string.buffer there goes out as a bin, copied once from its
    /// memory. A string, `nml.bin`, nil or `nml.null` there packs as itself.
    fn entry(&mut self, t: Table, key: c_int, is_buffer: bool) -> Result<()> {
        let s = self.stack;
        let at = key + 1;
        let kind = s.kind(at);
        if !is_buffer {
            return self.value_of(at, kind);
        }
        let holds_memory = match kind {
            Kind::Userdata | Kind::Other => true,
            Kind::LightUserdata => !s.to_userdata(at).is_null(), // NULL is nml.null: nil
            Kind::Number | Kind::Boolean | Kind::Function | Kind::Thread => false,
            Kind::Table if self.mark(at) != Mark::Bin => false,
            _ => return self.value_of(at, kind), // a string, nml.bin, nil
        };
        if kind == Kind::LightUserdata && !holds_memory {
            return self.value_of(at, kind);
        }
        if !has_type(s, t) {
            if holds_memory {
                return Err(Error::raise(format!(
                    "a table with a {} under buffer needs buffer_ud_type to be a buffer \
                     descriptor (and buffer_ud_size, unless the buffer is an nml message)",
                    kind.name()
                )));
            }
            return self.value_of(at, kind);
        }
        if !holds_memory {
            return Err(Error::raise(format!(
                "a buffer descriptor's buffer must be an nml message, a userdata or \
                 lightuserdata with buffer_ud_size, an FFI cdata or string.buffer (LuaJIT), a \
                 string or nml.bin, not a {}",
                kind.name()
            )));
        }
        self.buffer(t, at, kind)
    }

    /// Writes the buffer at `buffer` of the descriptor `t`.
    fn buffer(&mut self, t: Table, buffer: c_int, kind: Kind) -> Result<()> {
        let s = self.stack;
        let size = descriptor_size(s, t)?;
        if let Some(m) = s.test_udata::<MsgBox>(buffer, message::METATABLE) {
            let shared = match self.share {
                true => m.shared_reference()?,
                false => None,
            };
            if let Some((r, control)) = shared {
                let mut references = self.cache.shared.borrow_mut();
                if references.len() == codec::MAX_SHARED_PER_MESSAGE {
                    return Err(Error::returned(
                        code::TOO_LARGE,
                        format!(
                            "more than {} shared buffers in one message (a receiver opens no \
                             more)",
                            codec::MAX_SHARED_PER_MESSAGE
                        ),
                    ));
                }
                references.push(control);
                drop(references);
                let reference = r.to_bytes();
                return format::ext(&mut self.out, codec::SHARED_EXT_TYPE, &reference)
                    .map_err(too_long);
            }
            let out = &mut self.out;
            return m.bytes(|bytes| {
                let n = size.unwrap_or(bytes.len());
                let bytes = bytes.get(..n).ok_or_else(|| larger(n, bytes.len()))?;
                format::bin_header(out, n).map_err(too_long)?;
                out.put_buffer(bytes);
                Ok(())
            });
        }
        let bytes = match self.luajit_buffer(buffer, size)? {
            Some(bytes) => bytes,
            None => foreign_bytes(s, buffer, kind, size)?,
        };
        format::bin_header(&mut self.out, bytes.len()).map_err(too_long)?;
        self.out.put_buffer(bytes);
        Ok(())
    }

    /// On LuaJIT, the bytes of an FFI cdata or a string.buffer at `buffer`.
    fn luajit_buffer(&self, buffer: c_int, size: Option<usize>) -> Result<Option<&'a [u8]>> {
        let Some(span) = self.buffer_span else {
            return Ok(None);
        };
        self.stack
            .luajit_buffer(buffer, span, size)
            .map_err(|why| Error::raise(format!("buffer descriptor: {why}")))
    }

    /// `nml.bin(s)`: `{s}` with the bin metatable.
    fn bin(&mut self, t: Table) -> Result<()> {
        let s = self.stack;
        if s.raw_get_index(t, 1) != Kind::String {
            return Err(Error::raise("nml.bin value holds no string"));
        }
        let bytes = s.to_bytes(-1);
        format::bin_header(&mut self.out, bytes.len()).map_err(too_long)?;
        self.out.put(bytes);
        s.pop(1);
        Ok(())
    }

    /// `nml.ext(type, data)`: `{type = t, data = s}` with the ext metatable.
    fn ext(&mut self, t: Table) -> Result<()> {
        let s = self.stack;
        let ty = match (raw_get_name(s, t, Name::Type), s.to_number(-1)) {
            (Kind::Number, Number::Int(t)) if (-128..=127).contains(&t) => t as i8,
            _ => {
                return Err(Error::raise(
                    "nml.ext value's type must be an integer from -128 to 127",
                ))
            }
        };
        if raw_get_name(s, t, Name::Data) != Kind::String {
            return Err(Error::raise("nml.ext value's data must be a string"));
        }
        format::ext(&mut self.out, ty, s.to_bytes(-1)).map_err(too_long)?;
        s.pop(2);
        Ok(())
    }

    /// Packs an array element (at absolute index `idx`), naming its index if it fails.
    fn entry_value(&mut self, i: usize, idx: c_int) -> Result<()> {
        self.value(idx)
            .inspect_err(|_| self.error_path.push(format!("[{i}]")))
    }

    fn at_key_of(&mut self, key: c_int, e: Error) -> Error {
        let s = self.stack;
        let segment = match s.kind(key) {
            Kind::String => {
                let k = String::from_utf8_lossy(s.to_bytes(key));
                if is_identifier(&k) {
                    format!(".{k}")
                } else {
                    format!("[{k:?}]")
                }
            }
            Kind::Number => match s.to_number(key) {
                Number::Int(i) => format!("[{i}]"),
                Number::Float(f) => format!("[{f}]"),
            },
            k => format!("[{}]", k.name()),
        };
        self.error_path.push(segment);
        e
    }
}

impl<S: Sink> Drop for Packer<'_, S> {
    fn drop(&mut self) {
        self.cache.return_path(std::mem::take(&mut self.path));
        self.cache.return_map_counts(self.out.take_map_counts());
    }
}

/// The `buffer_ud_size` of the descriptor `t`, if it has one.
fn descriptor_size(s: &Stack, t: Table) -> Result<Option<usize>> {
    let size = match raw_get_name(s, t, Name::BufferUdSize) {
        Kind::Nil => None,
        Kind::Number => match s.to_f64(-1) {
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 => Some(n as usize),
            _ => return Err(Error::raise("buffer descriptor: buffer_ud_size must be a whole number of bytes, from 0 to 2^32 - 1")),
        },
        k => return Err(Error::raise(format!("buffer descriptor: buffer_ud_size must be a number, not a {}", k.name()))),
    };
    s.pop(1);
    Ok(size)
}

/// True when `t` has a `buffer_ud_type`.
fn has_type(s: &Stack, t: Table) -> bool {
    let found = raw_get_name(s, t, Name::BufferUdType) != Kind::Nil;
    s.pop(1);
    found
}

/// The `size` bytes of a userdata made by another module (checked against its block) or of a
/// lightuserdata (vouched for by the caller). Both need the size: only an nml message tells
/// nml how many of its bytes are data.
fn foreign_bytes(s: &Stack, buffer: c_int, kind: Kind, size: Option<usize>) -> Result<&[u8]> {
    let what = match kind {
        Kind::LightUserdata => "a lightuserdata",
        Kind::Userdata => "a userdata made by another module",
        _ => "this cdata",
    };
    let n = size.ok_or_else(|| {
        Error::raise(format!(
            "buffer descriptor: {what} needs buffer_ud_size (how many of its bytes to send)"
        ))
    })?;
    match kind {
        Kind::Userdata | Kind::LightUserdata => {
            s.userdata_bytes(buffer, n).ok_or_else(|| match kind {
                Kind::Userdata => larger(n, s.raw_len(buffer)),
                _ => Error::raise("buffer descriptor: the lightuserdata is NULL"),
            })
        }
        _ => Err(Error::raise(format!(
            "buffer descriptor: cannot send {what}"
        ))),
    }
}

fn larger(size: usize, block: usize) -> Error {
    Error::raise(format!(
        "buffer descriptor: buffer_ud_size {size} is larger than the buffer ({block} bytes)"
    ))
}

fn is_identifier(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn too_long(e: TooLong) -> Error {
    Error::returned(
        crate::error::code::TOO_LARGE,
        format!(
            "{} bytes or elements do not fit in MessagePack (at most 2^32 - 1)",
            e.0
        ),
    )
}

/// Pushes `t[name]` without metamethods; never raises.
fn raw_get_name(s: &Stack, t: Table, name: Name) -> Kind {
    super::keys::push_name(s, name);
    s.raw_get(t)
}
